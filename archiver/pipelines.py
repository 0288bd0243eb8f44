"""Item pipelines, one concern each: refuse what must not be archived, then store."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from archiver.archive import NotArchivable, archive_article, check_archivable
from archiver.extensions import record_failure
from archiver.items import Article
from archiver.store import ArchiveStore, StoreError

logger = logging.getLogger(__name__)


def store_for(crawler) -> ArchiveStore:
    """One store per crawl, shared by the spider (what is known) and the pipeline (writing)."""
    store = getattr(crawler, "qq_archive_store", None)
    if store is None:
        settings = crawler.settings
        store = ArchiveStore(settings.get("ARCHIVE_DIR"), group_files=settings.getint("STORE_GROUP_FILES"),
                             group_seconds=settings.getfloat("STORE_GROUP_SECONDS"))
        crawler.qq_archive_store = store
    return store


class RequireBodyPipeline:
    """An article with no body text or no title is never archived: it would be an empty file,
    or would overwrite a good one."""

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
    """Renders each article and stores it in the archive, atomically, committed in groups
    (STORE_GROUP_FILES, STORE_GROUP_SECONDS; the rest when the crawl closes)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self._timer = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        store = store_for(self.crawler)
        if store.group_files > 1 and store.group_seconds > 0:
            from twisted.internet.task import LoopingCall

            # A group waiting on a crawl that has stalled (slow pages, a long backoff) is
            # committed anyway once it is due.
            self._timer = LoopingCall(self._commit_due)
            self._timer.start(store.group_seconds, now=False)

    def _commit_due(self) -> None:
        try:
            store_for(self.crawler).commit_due()
        except StoreError as error:
            self._count_unstored(error)
            logger.error("cannot store the archived articles: %s; stopping the crawl", error)
            self._stop_timer()
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_error"))

    def _stop_timer(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def process_item(self, item: Article):
        store = store_for(self.crawler)
        try:
            outcome = archive_article(store, item)
        except StoreError as error:
            self._count_unstored(error, item.article_id)
            record_failure(self.stats, "store")
            logger.error("cannot store %s: %s; stopping the crawl", item.article_id, error)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_error"))
            raise DropItem(f"{item.article_id}: {error}") from None
        self.stats.inc_value(f"qq/{outcome.value}")
        logger.info("%s %s (%s)", outcome.value, item.article_id, item.layout)
        return item

    def close_spider(self):
        self._stop_timer()
        try:
            store_for(self.crawler).sync()
        except StoreError as error:
            self._count_unstored(error)

    def _count_unstored(self, error: StoreError, current: str | None = None) -> None:
        """Articles counted as archived or updated whose group could not be committed: failed
        instead, each logged (`current`, the article being stored, is the caller's to count)."""
        for entry in error.unstored:
            if entry.article_id == current:
                continue
            self.stats.inc_value(f"qq/{entry.outcome.value}", -1)
            record_failure(self.stats, "store")
            logger.error("cannot store %s: %s", entry.article_id, error)
