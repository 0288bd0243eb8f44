"""Item pipelines, one concern each: refuse what must not be archived, then store."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from archiver.archive import NotArchivable, archive_article, check_archivable
from archiver.items import Article
from archiver.stats import record_failure
from archiver.store import ArchiveStore, StoreError

logger = logging.getLogger(__name__)


def store_for(crawler) -> ArchiveStore:
    """One store per crawl, shared by the spider (what is known) and the pipeline (writing)."""
    store = getattr(crawler, "qq_archive_store", None)
    if store is None:
        store = crawler.qq_archive_store = ArchiveStore(crawler.settings.get("ARCHIVE_DIR"))
    return store


class RequireBodyPipeline:
    """Drops, and counts by its reason, an article `check_archivable` refuses (no body text or title)."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item: Article):
        try:
            check_archivable(item)
        except NotArchivable as refused:
            record_failure(self.stats, refused.reason)
            raise DropItem(str(refused)) from None
        return item


class ArchivePipeline:
    """Renders and stores each article; an archive that cannot be written stops the crawl."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: Article):
        try:
            outcome = archive_article(store_for(self.crawler), item)
        except StoreError as error:
            record_failure(self.stats, "store")
            logger.error("cannot store %s: %s; stopping the crawl", item.article_id, error)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_error"))
            raise DropItem(f"{item.article_id}: {error}") from None
        self.stats.inc_value(f"qq/{outcome.value}")
        logger.info("%s %s (%s)", outcome.value, item.article_id, item.layout)
        return item

    def close_spider(self):
        store_for(self.crawler).sync()
