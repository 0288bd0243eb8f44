"""Downloader middleware: no request leaves qq.com (and the configured endpoints), redirects
included; retries back off; a compressed page is decompressed without a charset guess."""

from __future__ import annotations

import gzip

import pytest
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from archiver import settings as live_settings
from stand_in import StandIn, Reply
from archiver.middlewares import IMAGE_REQUEST, CompressedAsBytesMiddleware, SiteOnlyMiddleware, backoff_delay
from crawling import crawl

ID = "20250212A03JWP00"


def guard(**settings) -> SiteOnlyMiddleware:
    crawler = get_crawler(settings_dict={"QQ_ARTICLE_URL": "http://127.0.0.1:8000/rain/a/{id}",
                                         "IMAGE_HOST_DOMAINS": live_settings.IMAGE_HOST_DOMAINS, **settings})
    crawler.stats.open_spider()
    return SiteOnlyMiddleware.from_crawler(crawler)


@pytest.mark.parametrize("url", [f"https://new.qq.com/rain/a/{ID}", "https://i.news.qq.com/web_feed/getPCList",
                                 "http://127.0.0.1:8000/sitemap/index.xml"])
def test_requests_to_the_site_and_its_endpoints_pass(url):
    assert guard().process_request(Request(url)) is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:8001/rain/a/x", "https://example.com/",
                                 f"http://evil.example\\@new.qq.com/rain/a/{ID}", "https://inews.gtimg.com/om_bt/X/641"])
def test_requests_off_the_site_are_refused_and_counted(url):
    middleware = guard()
    with pytest.raises(IgnoreRequest):
        middleware.process_request(Request(url, dont_filter=True))
    assert middleware.stats.get_value("qq/offsite_requests") == 1


def test_images_may_come_from_tencents_image_hosts():
    middleware = guard()
    assert middleware.process_request(Request("https://inews.gtimg.com/om_bt/X/641", meta={IMAGE_REQUEST: True})) is None
    with pytest.raises(IgnoreRequest):
        middleware.process_request(Request("https://example.com/x.png", meta={IMAGE_REQUEST: True}))


def test_a_feed_redirected_to_another_host_is_not_followed(tmp_path):
    with StandIn() as server, StandIn() as other:
        server.script("/web_feed/getPCList", [Reply(307, headers={"Location": other.url("/web_feed/getPCList")})] * 8)
        server.script("/sitemap/index.xml", [Reply(302, headers={"Location": other.url("/sitemap/index.xml")})])
        result = crawl(server, tmp_path / "archive", "discover=feed,sitemap")
        assert other.count() == 0, [request.path for request in other.requests]
    assert "refused a request off the site" in result.log
    assert result.returncode == 1  # no feed and no sitemap could be read


@pytest.mark.parametrize("attempt, ceiling", [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)])
def test_backoff_grows_and_is_capped(attempt, ceiling):
    delays = [backoff_delay(attempt, 2.0, 60.0) for _ in range(200)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert max(delays) - min(delays) > 0  # jittered



def test_a_compressed_legacy_page_is_decompressed_without_a_charset_guess(monkeypatch):
    """A GBK page served gzipped with no charset arrives as Scrapy's decompression alone would give
    it, and nothing guesses the charset of the gzip bytes on the way."""
    page = "<html><body><p>腾讯新闻</p></body></html>".encode("gbk")
    url = "http://news.qq.com/a/20180101/000001.htm"
    request = Request(url)
    compressed = HtmlResponse(url, body=gzip.compress(page), request=request,
                              headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    guesses = []
    monkeypatch.setattr(TextResponse, "_body_inferred_encoding", lambda self: guesses.append(self.body) or "ascii")
    decompression = HttpCompressionMiddleware.from_crawler(get_crawler())

    response = decompression.process_response(request, CompressedAsBytesMiddleware().process_response(request, compressed))

    assert (type(response), response.body, response.url) == (HtmlResponse, page, url)
    assert b"Content-Encoding" not in response.headers
    assert guesses == []
