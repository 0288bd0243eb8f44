import frontmatter

from archiver.archive import archive_article
from archiver.ids import ArticleRef
from archiver.items import Article
from archiver.store import ArchiveStore, Outcome

REF = ArticleRef("20251120A01ABC00")
FEED_IMAGE = "https://inews.gtimg.com/om_ls/FEED_640360/0"
PAGE_IMAGE = "https://inews.gtimg.com/om_bt/PAGE/641"


def article(thumbnail: str, from_page: bool) -> Article:
    return Article(ref=REF, title="标题", date="2025-11-20 08:00:00", body_html="<p>正文</p>",
                   thumbnail=thumbnail, thumbnail_from_page=from_page)


def thumbnail(store: ArchiveStore) -> str:
    return frontmatter.loads(store.find(REF).data.decode("utf-8"))["thumbnail"]


def test_known_thumbnail_is_kept_over_the_page_image_and_over_none(tmp_path):
    store = ArchiveStore(tmp_path)
    assert archive_article(store, article(FEED_IMAGE, from_page=False)) is Outcome.ARCHIVED
    assert archive_article(store, article(PAGE_IMAGE, from_page=True)) is Outcome.UNCHANGED
    assert archive_article(store, article("", from_page=True)) is Outcome.UNCHANGED
    assert thumbnail(store) == FEED_IMAGE


def test_a_fresh_feed_thumbnail_replaces_the_known_one(tmp_path):
    store = ArchiveStore(tmp_path)
    archive_article(store, article(PAGE_IMAGE, from_page=True))
    assert thumbnail(store) == PAGE_IMAGE
    assert archive_article(store, article(FEED_IMAGE, from_page=False)) is Outcome.UPDATED
    assert thumbnail(store) == FEED_IMAGE


def test_an_existing_file_is_found_and_read_once_and_a_damaged_one_is_replaced(tmp_path, monkeypatch):
    """archive_article looks the file up once for the thumbnail and the comparison; a file that
    is not UTF-8 (damaged) neither stops the write nor gives a thumbnail."""
    from pathlib import Path

    store = ArchiveStore(tmp_path)
    path = store.find(REF).path
    path.parent.mkdir(parents=True)
    path.write_bytes(b"---\nthumbnail: \xff\xfe broken\n")
    reads = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read_bytes(self))
    assert archive_article(store, article(PAGE_IMAGE, from_page=True)) is Outcome.UPDATED
    assert reads == [path]
    assert thumbnail(store) == PAGE_IMAGE


def _pipeline(tmp_path, **settings):
    from scrapy.utils.test import get_crawler

    from archiver.pipelines import ArchivePipeline

    crawler = get_crawler(settings_dict={"ARCHIVE_DIR": str(tmp_path), **settings})
    crawler.stats.open_spider()
    return ArchivePipeline.from_crawler(crawler), crawler.stats


def _article(number: int) -> Article:
    return Article(ref=ArticleRef(f"20251120A{number:05d}00"), title="标题", date="2025-11-20 08:00:00",
                   body_html="<p>正文</p>", thumbnail="", thumbnail_from_page=True)


def test_the_pipeline_stores_each_article_at_once(tmp_path):
    pipeline, stats = _pipeline(tmp_path)
    store = ArchiveStore(tmp_path)
    for number in range(3):
        pipeline.process_item(_article(number))
        assert _article(number).ref in store
    pipeline.close_spider()
    assert stats.get_value("qq/archived") == 3 and not stats.get_value("qq/failed")
