"""Reading feeds and sitemaps: listings, skips with reasons, and clear errors naming the endpoint."""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import pytest

from archiver.feeds import FeedError, feed_request_body, parse_feed
from archiver.items import Listing, Skip
from archiver.sitemaps import ChildSitemap, SitemapError, read_sitemap

ENDPOINT = "feed news_news_finance page 1"


def feed(*items, ret=0) -> bytes:
    return json.dumps({"ret": ret, "data": list(items)}, ensure_ascii=False).encode()


def test_request_body_is_the_sites_own():
    body = json.loads(feed_request_body("news_news_tech", 3))
    assert body == {"base_req": {"from": "pc"}, "forward": "1", "qimei36": "qq-archiver",
                    "device_id": "qq-archiver", "flush_num": 3, "channel_id": "news_news_tech",
                    "item_count": 12, "is_local_chlid": "0"}


def test_feed_items_become_listings_or_skips():
    entries = parse_feed(feed(
        {"id": "20251120A01ABC00", "title": "文章", "articletype": "0", "publish_time": "2025-11-20 08:00:00",
         "link_info": {"url": "https://new.qq.com/rain/a/20251120A01ABC00"},
         "pic_info": {"big_img": ["https://inews.gtimg.com/om_ls/T_640360/0"]}},
        {"id": "20251124V05QRS00", "title": "视频", "articletype": "525"},
        {"id": "", "title": "外链", "articletype": "0", "link_info": {"url": "https://example.com/news/1.html"}},
        {"id": "../../etc/passwd", "title": "坏", "articletype": "0"},
        {"id": "20251121A02DEF00"},
        "not an object",
        {"id": "20251122A03KLM00", "articletype": "0", "pic_info": {"big_img": ["javascript:alert(1)"]}},
    ), ENDPOINT)
    assert entries[0] == Listing(ref=entries[0].ref, title="文章", published="2025-11-20 08:00:00",
                                 thumbnail="https://inews.gtimg.com/om_ls/T_640360/0", source="feed")
    assert entries[0].ref.article_id == "20251120A01ABC00"
    assert [type(entry).__name__ for entry in entries] == ["Listing", "Skip", "Skip", "Skip", "Listing",
                                                           "Skip", "Listing"]
    assert [entry.reason for entry in entries if isinstance(entry, Skip)] == [
        "not_article", "offsite", "not_article", "not_article"]
    assert entries[6].thumbnail == ""


@pytest.mark.parametrize("body, message", [
    (b"{not json", "did not answer JSON"),
    (b"<html><body>502 Bad Gateway</body></html>", "did not answer JSON"),
    (feed(ret=-1), "ret=-1"),
    (b"[1, 2]", "not an object"),
    (json.dumps({"ret": 0, "data": {"a": 1}}).encode(), "no item list"),
    (b"\xff\xfe\x00garbage", "did not answer JSON"),
])
def test_bad_feeds_raise_an_error_naming_the_endpoint(body, message):
    with pytest.raises(FeedError, match=message) as caught:
        parse_feed(body, ENDPOINT)
    assert ENDPOINT in str(caught.value)


SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://news.qq.com/rain/a/20251120A01ABC00</loc><lastmod>2025-11-20T08:00:00+08:00</lastmod></url>
<url><loc>https://example.com/rain/a/20251121A02DEF00</loc></url>
<url><loc>https://news.qq.com/ch/tech/</loc></url>
</urlset>"""


def test_sitemap_and_gzipped_sitemap():
    for body in (SITEMAP, gzip.compress(SITEMAP)):
        entries = list(read_sitemap(body, "sitemap_1.xml"))
        assert entries[0].ref.article_id == "20251120A01ABC00"
        assert entries[0].published.startswith("2025-11-20")
        assert [entry.reason for entry in entries[1:]] == ["offsite", "not_article"]


def test_sitemap_index_lists_children():
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://news.qq.com/sitemap/sitemap_1.xml</loc></sitemap></sitemapindex>"""
    assert list(read_sitemap(index, "index")) == [ChildSitemap("https://news.qq.com/sitemap/sitemap_1.xml")]


@pytest.mark.parametrize("body, message", [
    (b"<html><body>not a sitemap</body>", "not a sitemap|not XML"),
    (b"{}", "not XML"),
    (b"\x1f\x8b broken gzip", "not valid gzip"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><urlset><url><loc>&e;</loc></url></urlset>",
     ""),
])
def test_bad_sitemaps_raise_or_read_nothing_dangerous(body, message):
    if not message:
        entries = list(read_sitemap(body, "sitemap_1.xml"))
        assert all("root:" not in str(entry) for entry in entries)
        return
    with pytest.raises(SitemapError, match=message) as caught:
        list(read_sitemap(body, "https://news.qq.com/sitemap/sitemap_9.xml"))
    assert "sitemap_9.xml" in str(caught.value)


def big_sitemap(urls: int) -> bytes:
    rows = "".join(f"<url><loc>https://news.qq.com/rain/a/2025112{n % 10}A{n:05d}00</loc>"
                   f"<lastmod>2025-11-20</lastmod></url>\n" for n in range(urls))
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'.encode()


def test_a_long_sitemap_is_read_as_a_stream():
    import tracemalloc

    body = big_sitemap(100_000)  # 9 MB
    tracemalloc.start()
    try:
        entries = read_sitemap(body, "sitemap_1.xml")
        first = [next(entries) for _ in range(10)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [entry.ref.article_id for entry in first][:2] == ["20251120A0000000", "20251121A0000100"]
    assert peak < 2_000_000, f"{peak} bytes to read ten entries of a 9 MB sitemap"
    assert sum(1 for _ in entries) == 100_000 - 10


def test_a_sitemap_cut_short_gives_what_it_has_then_fails():
    body = big_sitemap(50)
    entries = read_sitemap(body[: len(body) // 2], "sitemap_1.xml")
    read = []
    with pytest.raises(SitemapError, match="not XML"):
        for entry in entries:
            read.append(entry)
    assert 20 <= len(read) < 50


def test_a_gzip_bomb_is_refused(monkeypatch):
    monkeypatch.setattr("archiver.sitemaps.MAX_SITEMAP_BYTES", 100_000)
    with pytest.raises(SitemapError, match="larger than"):
        list(read_sitemap(gzip.compress(big_sitemap(5_000)), "sitemap_1.xml"))


def test_feeds_and_sitemaps_that_list_twf_articles_give_listings():
    twf = "TWF2020041300303000"
    feed = json.dumps({"ret": 0, "data": [
        {"id": twf, "title": "TWF", "articletype": "0", "publish_time": "2020-04-13 09:12:45",
         "link_info": {"url": f"https://new.qq.com/omn/TWF20200/{twf}.html"}},
        {"id": twf[:-2] + "11", "title": "by id", "articletype": "0"},
        {"id": "20200413V0ABCD00", "title": "a video", "articletype": "525"}]}).encode()
    entries = parse_feed(feed, "feed")
    assert [getattr(entry, "ref", None) and entry.ref.article_id for entry in entries[:2]] == [twf, twf[:-2] + "11"]
    assert entries[2].reason == "not_article"  # a video item stays skipped
    sitemap = (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://new.qq.com/rain/a/{twf}'
               f'</loc></url></urlset>').encode()
    assert [entry.ref.article_id for entry in read_sitemap(sitemap, "sitemap_1.xml")] == [twf]


def test_a_huge_feed_page_is_queued_in_batches(tmp_path):
    """A feed answer of 20,000 items gives QQ_DISCOVERY_BATCH requests at a time, the rest
    handed out as the queue runs dry, never all at once."""
    from scrapy import signals
    from scrapy.http import Request, TextResponse
    from scrapy.utils.test import get_crawler

    from archiver.spiders.qq import QQSpider

    crawler = get_crawler(QQSpider, settings_dict={
        "ARCHIVE_DIR": str(tmp_path / "archive"), "STATE_DIR": str(tmp_path / "state"), "QQ_DISCOVERY_BATCH": 50,
        "QQ_ARTICLE_URL": "http://127.0.0.1:9/rain/a/{id}", "QQ_FEED_URL": "http://127.0.0.1:9/feed"})
    crawler.stats.open_spider()
    spider = QQSpider.from_crawler(crawler)
    items = [{"id": f"20251120A{n:05d}00", "title": "t", "articletype": "0", "publish_time": "2025-11-20 08:00:00"}
             for n in range(20_000)]
    body = json.dumps({"ret": 0, "data": items}).encode()
    request = Request("http://127.0.0.1:9/feed", meta={"endpoint": "feed", "endpoint_label": "feed x page 1",
                                                         "channel": "x"})
    first = list(spider.parse_feed(TextResponse(request.url, body=body, request=request)))
    assert len(first) == 50
    queued = []
    crawler.engine = SimpleNamespace(crawl=queued.append)  # what the spider hands the engine when it idles
    while True:
        before = len(queued)
        crawler.signals.send_catch_log(signals.spider_idle, spider=spider)
        if len(queued) == before:
            break
        assert len(queued) - before <= 50
    assert len(first) + len(queued) == 20_000
