"""DecompressionMiddleware: Scrapy's decompression, less the charset guess on compressed bytes."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings, strategies as st
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.test import get_crawler

from archiver import settings as live_settings
from archiver import middlewares
from archiver.middlewares import DecompressionMiddleware, gunzip_whole

LEGACY_PAGE = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">"
               "<title>腾讯科技</title></head><body><div id=\"Cnt-Main-Article-QQ\"><p>正文</p></div>"
               "</body></html>").encode("gb18030")


def gzipped_response(body: bytes = LEGACY_PAGE, url: str = "http://tech.qq.com/a/20161014/006270.htm"):
    # Old qq servers name no charset: the page's meta tag does.
    return HtmlResponse(url=url, status=200, body=gzip.compress(body),
                        headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
                        request=Request(url), ip_address=None, protocol="HTTP/1.1")


def middleware(cls, **settings):
    crawler = get_crawler(settings_dict=settings)
    crawler.stats.open_spider()
    return cls.from_crawler(crawler), crawler.stats


@pytest.fixture
def inferred(monkeypatch) -> list[bytes]:
    """The bodies whose charset TextResponse guessed, in order."""
    bodies: list[bytes] = []
    guess = TextResponse._body_inferred_encoding

    def recording(self):
        bodies.append(self.body)
        return guess(self)

    monkeypatch.setattr(TextResponse, "_body_inferred_encoding", recording)
    return bodies


def test_the_same_response_as_scrapys(inferred):
    ours, our_stats = middleware(DecompressionMiddleware)
    theirs, their_stats = middleware(HttpCompressionMiddleware)
    got = ours.process_response(Request("http://tech.qq.com/a/1.htm"), gzipped_response())
    expected = theirs.process_response(Request("http://tech.qq.com/a/1.htm"), gzipped_response())
    assert type(got) is type(expected) is HtmlResponse
    for name in ("url", "status", "body", "flags", "ip_address", "protocol"):
        assert getattr(got, name) == getattr(expected, name), name
    assert got.body == LEGACY_PAGE
    assert got.request.url == expected.request.url
    assert dict(got.headers) == dict(expected.headers)
    assert b"Content-Encoding" not in got.headers
    assert got.encoding == expected.encoding == "gb18030"
    assert got.text == expected.text
    assert our_stats.get_value("httpcompression/response_count") == 1
    assert our_stats.get_value("httpcompression/response_bytes") == len(LEGACY_PAGE)


def test_no_charset_guess_on_the_compressed_body(inferred):
    compressed = gzipped_response()
    ours, _ = middleware(DecompressionMiddleware)
    ours.process_response(Request(compressed.url), compressed)
    assert compressed.body not in inferred
    # Scrapy's own does guess it, which is what the subclass is for: when that changes, it can go.
    theirs, _ = middleware(HttpCompressionMiddleware)
    theirs.process_response(Request(compressed.url), gzipped_response())
    assert compressed.body in inferred


def test_an_uncompressed_response_passes_untouched():
    response = HtmlResponse(url="http://tech.qq.com/a/1.htm", body=LEGACY_PAGE,
                            headers={"Content-Type": "text/html"})
    ours, _ = middleware(DecompressionMiddleware)
    assert ours.process_response(Request(response.url), response) is response


def test_the_size_limit_still_holds():
    ours, _ = middleware(DecompressionMiddleware, DOWNLOAD_MAXSIZE=len(LEGACY_PAGE) - 1)
    with pytest.raises(IgnoreRequest, match="DOWNLOAD_MAXSIZE"):
        ours.process_response(Request("http://tech.qq.com/a/1.htm"), gzipped_response())


def test_the_live_settings_use_it_in_scrapys_place():
    chain = live_settings.DOWNLOADER_MIDDLEWARES
    assert chain["scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"] is None
    assert chain["archiver.middlewares.DecompressionMiddleware"] == 590
    # The capture sees the body as sent, before it is decompressed.
    assert chain["archiver.warc.WarcCaptureMiddleware"] > 590


def outcome(decode, body: bytes, max_size: int):
    try:
        return "decoded", decode(body, max_size=max_size)
    except Exception as error:  # the kind of failure is what must match
        return "raised", type(error)


@st.composite
def gzip_bodies(draw):
    """Bodies a server might send as gzip: whole, cut short, with bytes after it, two members,
    a byte damaged."""
    data = draw(st.binary(max_size=3000) | st.text(max_size=1500).map(lambda text: text.encode("utf-8")))
    body = gzip.compress(data, compresslevel=draw(st.integers(0, 9)))
    change = draw(st.sampled_from(["whole", "cut", "trailing", "members", "damaged"]))
    if change == "cut":
        body = body[:draw(st.integers(0, len(body) - 1))]
    elif change == "trailing":
        body += draw(st.binary(min_size=1, max_size=20))
    elif change == "members":
        body += gzip.compress(draw(st.binary(max_size=500)))
    elif change == "damaged":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1:]
    return body


@settings(max_examples=400, deadline=None)
@given(gzip_bodies(), st.sampled_from([0, 1, 100, 2999, 3000, 3001, 10**6]))
def test_gunzip_whole_answers_as_scrapys_gunzip(body, max_size):
    assert outcome(gunzip_whole, body, max_size) == outcome(gunzip, body, max_size)


def test_a_whole_body_is_gunzipped_in_one_call(monkeypatch):
    page = LEGACY_PAGE * 500  # over Scrapy's 64 KiB chunk

    def chunked(*args, **kwargs):
        raise AssertionError("Scrapy's chunked gunzip was used for a whole body")

    monkeypatch.setattr(middlewares, "gunzip", chunked)
    assert gunzip_whole(gzip.compress(page)) == page
    assert gunzip_whole(gzip.compress(page), max_size=len(page)) == page


def test_the_middleware_gunzips_in_one_call(monkeypatch):
    # The override is of a Scrapy method (`_decode`): if Scrapy stopped calling it, its own
    # chunked gunzip would run again, silently. Here that gunzip fails, so this test would.
    import scrapy.downloadermiddlewares.httpcompression as scrapy_compression

    def chunked(*args, **kwargs):
        raise AssertionError("Scrapy's chunked gunzip was used")

    monkeypatch.setattr(scrapy_compression, "gunzip", chunked)
    monkeypatch.setattr(middlewares, "gunzip", chunked)
    ours, stats = middleware(DecompressionMiddleware)
    got = ours.process_response(Request("http://tech.qq.com/a/1.htm"), gzipped_response())
    assert got.body == LEGACY_PAGE
    assert stats.get_value("httpcompression/response_bytes") == len(LEGACY_PAGE)


def test_what_is_not_one_whole_member_is_left_to_scrapy():
    page = LEGACY_PAGE * 50
    body = gzip.compress(page)
    # Cut short: as much as can be read, as Scrapy gives it.
    assert gunzip_whole(body[:-100]) == gunzip(body[:-100]) == zlib.decompressobj(31).decompress(body[:-100])
    # Two members: both.
    assert gunzip_whole(body + gzip.compress(b"more")) == page + b"more"
    # Too big: Scrapy's own refusal, which the middleware turns into IgnoreRequest.
    with pytest.raises(ValueError, match="exceeded"):
        gunzip_whole(body, max_size=len(page) - 1)
