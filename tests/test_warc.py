"""Raw capture: the WARC files a crawl writes (archiver/warc.py)."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from archiver.demo.server import FixtureServer, Reply
from archiver.ids import ref_from_id
from archiver.items import Listing
from archiver.warc import _FRAME, _STORED_BLOCK, ARTICLE_PROFILE, _http_head, _stored_gzip, CaptureFailed, CaptureProcess, Exchange, WarcFileWriter, decode_body
from crawling import archived_files, crawl

FEED_IDS = {"20250212A03JWP00", "20251120A01ABC00", "20251121A02DEF00", "20191105A0GHIJ00",
            "20251122A03KLM00", "20251123A04NOP00"}


@pytest.fixture
def server():
    with FixtureServer() as running:
        yield running


def read_records(path: Path) -> list[dict]:
    """Every record of a WARC file as plain values; digests are checked on the way."""
    records = []
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            headers = record.rec_headers
            records.append({
                "type": record.rec_type,
                "id": headers.get_header("WARC-Record-ID"),
                "uri": headers.get_header("WARC-Target-URI"),
                "date": headers.get_header("WARC-Date"),
                "concurrent_to": headers.get_header("WARC-Concurrent-To"),
                "profile": headers.get_header("WARC-Profile"),
                "content_type": headers.get_header("Content-Type"),
                "http": record.http_headers,
                "body": record.raw_stream.read(),
            })
    return records


def exchange(url: str, body: bytes = b"<html>page</html>", status: int = 200) -> Exchange:
    return Exchange(url=url, method="GET", request_headers=[("User-Agent", "test")], request_body=b"",
                    status=status, response_headers=[("Content-Type", "text/html"),
                                                     ("Transfer-Encoding", "chunked")], body=body)


def test_writer_links_request_and_metadata_records_to_their_response(tmp_path):
    listing = Listing(ref=ref_from_id("20250212A03JWP00"), title="标题", published="2025-02-12 11:09:17",
                      thumbnail="https://inews.gtimg.com/x/0", source="feed")
    with WarcFileWriter(tmp_path, 1 << 30) as writer:
        writer.write_exchange(exchange("http://127.0.0.1:1/rain/a/20250212A03JWP00", "正文".encode()), listing)
        writer.write_exchange(Exchange("http://127.0.0.1:1/web_feed/getPCList", "POST",
                                       [("Content-Type", "application/json")], b'{"flush_num":1}', 567, [], b""))
    [path] = writer.paths
    assert path.name.startswith("qq-") and path.name.endswith("-00000.warc.gz")
    records = read_records(path)
    assert [record["type"] for record in records] == ["warcinfo", "response", "request", "metadata",
                                                      "response", "request"]
    info, page, page_request, metadata, feed, feed_request = records
    assert b"as received" in info["body"]
    assert page["http"].get_statuscode() == "200"
    assert page["http"].get_header("Transfer-Encoding") is None
    assert page["http"].get_header("Content-Length") == str(len("正文".encode()))
    assert page["body"] == "正文".encode()
    assert page_request["concurrent_to"] == page["id"] == metadata["concurrent_to"]
    assert page_request["date"] == page["date"] and page_request["uri"] == page["uri"]
    assert page_request["http"].protocol == "GET"
    assert page_request["http"].get_header("Host") == "127.0.0.1:1"
    assert metadata["profile"] == ARTICLE_PROFILE and metadata["content_type"] == "application/json"
    assert json.loads(metadata["body"]) == {"article_id": "20250212A03JWP00", "listing": {
        "title": "标题", "published": "2025-02-12 11:09:17", "thumbnail": "https://inews.gtimg.com/x/0",
        "source": "feed"}}
    assert feed["http"].get_statuscode() == "567"
    assert feed_request["http"].protocol == "POST" and feed_request["body"] == b'{"flush_num":1}'
    assert feed_request["http"].get_header("Content-Length") == "15"


@pytest.mark.parametrize("size", [0, 15_000, 70_000, 2_500_000])
def test_big_bodies_are_one_gzip_member_whatever_their_size(tmp_path, size):
    """Empty, small and multi-megabyte bodies: one gzip member a record, read back byte for byte,
    digests right (read_records checks them)."""
    rng = random.Random(size)
    words = ["新闻", "<p>", "</p>", "qq", "2025年", "<div class='x'>", " ", "\n"]
    body = "".join(rng.choice(words) for _ in range(size // 4)).encode("utf-8")[:size]
    with WarcFileWriter(tmp_path, 1 << 30) as writer:
        writer.write_exchange(exchange("https://news.qq.com/rain/a/20250212A03JWP00", body))
    path = writer.paths[0]
    data = path.read_bytes()
    # the warcinfo record and the three of the exchange (a listing-less one: response, request)
    members = data.count(b"\x1f\x8b\x08")
    assert members >= 3
    response = [record for record in read_records(path) if record["type"] == "response"][0]
    assert response["body"] == body
    assert gzip.decompress(data).count(b"WARC/1.1\r\n") == 3


def one_gzip_member(member: bytes) -> bytes:
    """The data of `member`, which must be exactly one whole gzip member (its CRC and length
    checked by zlib)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    data = inflater.decompress(member)
    assert inflater.eof and not inflater.unused_data
    return data


@pytest.mark.parametrize("size", [0, 1, _STORED_BLOCK - 1, _STORED_BLOCK, _STORED_BLOCK + 1, 2 * _STORED_BLOCK,
                                  2 * _STORED_BLOCK + 7, 1_000_000])
def test_a_stored_member_is_one_gzip_member_at_every_block_boundary(size):
    data = random.Random(size).randbytes(size)
    member = _stored_gzip(data)
    assert one_gzip_member(member) == data
    assert gzip.decompress(member) == data
    blocks = max(1, -(-size // _STORED_BLOCK))
    assert len(member) == 10 + 5 * blocks + size + 8  # header, block headers, the data, CRC and length


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3 * _STORED_BLOCK + 100))
def test_a_stored_member_reads_back_as_what_was_stored(data):
    assert one_gzip_member(_stored_gzip(data)) == data


_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(100, 599), reason=st.sampled_from(["OK", "Not Found", "Unknown"]),
       headers=st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True), _HEADER_TEXT),
                        max_size=8))
def test_http_heads_are_written_as_warcio_writes_them(status, reason, headers):
    """Byte for byte, non-ASCII header values (percent-encoded by warcio) included."""
    expected = StatusAndHeaders(f"{status} {reason}", list(headers), protocol="HTTP/1.1").to_ascii_bytes()
    assert _http_head(f"HTTP/1.1 {status} {reason}", list(headers)) == expected
    request = StatusAndHeaders("GET /rain/a/x?y=1 HTTP/1.1", list(headers), is_http_request=True).to_ascii_bytes()
    assert _http_head("GET /rain/a/x?y=1 HTTP/1.1", list(headers)) == request


def member_block_types(path: Path) -> dict[str, int]:
    """Each record type's deflate block type (0: stored, 1-2: compressed), read from the first
    block header of its gzip member."""
    data = path.read_bytes()
    types = {}
    with open(path, "rb") as stream:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            offset = iterator.get_record_offset()
            record.raw_stream.read()
            # zlib's gzip header is 10 bytes (no name, no comment); BTYPE is bits 1-2 of the next.
            types[record.rec_type] = (data[offset + 10] >> 1) & 3
    return types


@pytest.mark.parametrize("coding, stored, varied", [("gzip", True, False), ("br", True, False), ("identity", False, False),
                                                    (None, False, False), ("gzip", True, True)])
def test_a_compressed_body_is_stored_not_compressed_again(tmp_path, coding, stored, varied):
    """`varied`: text that gzips to several stored blocks' worth."""
    rng = random.Random(5)
    text = "".join(chr(rng.randrange(0x4E00, 0x5200)) for _ in range(200_000)) if varied else "新闻正文 " * 2000
    page = ("<html><body>" + text + "</body></html>").encode("utf-8")
    body = gzip.compress(page) if coding == "gzip" else page
    assert len(body) > 3 * _STORED_BLOCK or not varied
    headers = [("Content-Type", "text/html")] + ([("Content-Encoding", coding)] if coding else [])
    with WarcFileWriter(tmp_path, 1 << 30) as writer:
        writer.write_exchange(Exchange("https://news.qq.com/rain/a/20250212A03JWP00", "GET", [], b"", 200,
                                       headers, body))
    types = member_block_types(writer.paths[0])
    assert (types["response"] == 0) is stored
    assert types["request"] != 0  # the rest is compressed as before
    response = [record for record in read_records(writer.paths[0]) if record["type"] == "response"][0]
    assert response["body"] == body  # and digests check (read_records)


def test_writer_rolls_over_at_the_size_limit_without_splitting_records(tmp_path):
    body = random.Random(6).randbytes(10_000)  # does not compress: each exchange adds ~10 kB
    with WarcFileWriter(tmp_path, 25_000) as writer:
        for number in range(7):
            writer.write_exchange(exchange(f"http://127.0.0.1:1/rain/a/2025021{number}A03JWP00", body))
    assert len(writer.paths) >= 3
    assert [path.name[-14:] for path in writer.paths] == [f"-{n:05d}.warc.gz" for n in range(len(writer.paths))]
    responses = 0
    for path in writer.paths:
        records = read_records(path)
        assert records[0]["type"] == "warcinfo"
        assert path.stat().st_size < 25_000 + 12_000, path
        responses += sum(record["type"] == "response" for record in records)
    assert responses == 7


def test_capture_process_writes_what_it_is_handed_with_the_crawls_name_and_time(tmp_path):
    """The crawl's capture: a child process writes the records, rolling over as the writer does."""
    import datetime as dt
    import os

    listing = Listing(ref=ref_from_id("20250212A03JWP00"), title="标题", source="sitemap")
    bodies = [random.Random(number).randbytes(size) for number, size in enumerate([0, 9_000, 2_000_000, 12_000])]
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with CaptureProcess(tmp_path, 30_000, "qq-archiver/test") as capture:
        for number, body in enumerate(bodies):
            capture.write_exchange(exchange(f"http://127.0.0.1:1/rain/a/2025021{number}A03JWP00", body),
                                   listing if number == 1 else None)
    assert capture.report.get("error") is None and capture.records == 9
    assert 5 < capture.report["max_rss_mb"] < 200
    assert len(capture.paths) == 2 and capture.cpu_seconds > 0  # rolled over after the 2 MB body
    assert all(f"-{os.getpid()}-" in path.name for path in capture.paths)  # the crawl's pid, not the child's
    records = [record for path in capture.paths for record in read_records(path)]
    responses = [record for record in records if record["type"] == "response"]
    assert [record["body"] for record in responses] == bodies
    [metadata] = [record for record in records if record["type"] == "metadata"]
    assert metadata["concurrent_to"] == responses[1]["id"]
    assert json.loads(metadata["body"])["listing"]["source"] == "sitemap"
    # WARC-Date is when the crawl handed the exchange over
    from warcio.timeutils import iso_date_to_datetime

    assert all(before <= iso_date_to_datetime(record["date"]) <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
               for record in responses)


def test_capture_process_keeps_every_whole_exchange_when_the_crawl_dies_mid_handover(tmp_path):
    """A crawl killed while handing an exchange over: the ones handed over whole are written."""
    import os
    import struct

    capture = CaptureProcess(tmp_path, 1 << 30)
    for number in range(3):
        capture.write_exchange(exchange(f"http://127.0.0.1:1/rain/a/2025021{number}A03JWP00", b"x" * 5000))
    os.write(capture._pipe, struct.pack(_FRAME, 100, 100) + b"cut short")  # as a crawl killed here leaves it
    capture.close()
    assert capture.report.get("error") is None
    records = read_records(capture.paths[0])
    assert [record["type"] for record in records] == ["warcinfo"] + ["response", "request"] * 3


def test_capture_process_that_cannot_write_says_why(tmp_path):
    blocked = tmp_path / "state"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    capture = CaptureProcess(blocked / "warc", 1 << 30)
    with pytest.raises(CaptureFailed, match=r"cannot write the WARC capture in .*state/warc: .*Not a directory"):
        for number in range(200):  # the child fails on the first; the hand-over notices soon after
            capture.write_exchange(exchange(f"http://127.0.0.1:1/rain/a/2025021{number % 10}A03JWP00"))
        capture.close()
    assert capture.records == 0


def test_crawl_captures_every_response_with_its_request(server, tmp_path):
    state = tmp_path / "state"
    result = crawl(server, tmp_path / "archive", "since=2019-06-01", STATE_DIR=str(state))
    assert result.returncode == 0, result.log[-3000:]
    [path] = sorted((state / "warc").iterdir())
    records = read_records(path)
    responses = {record["id"]: record for record in records if record["type"] == "response"}
    requests = [record for record in records if record["type"] == "request"]
    # one response record per request the server answered, and one request record per response
    assert len(responses) == len(server.requests) == len(requests)
    assert {record["concurrent_to"] for record in requests} == set(responses)
    served = sorted(record.path for record in server.requests)
    assert sorted("/" + record["uri"].split("/", 3)[3] for record in responses.values()) == served

    feed_bodies = [json.loads(record["body"]) for record in requests if record["http"].protocol == "POST"]
    assert sorted((body["channel_id"], body["flush_num"]) for body in feed_bodies) == [
        ("news_news_finance", 1), ("news_news_finance", 2), ("news_news_tech", 1), ("news_news_tech", 2)]
    feed_answers = [record for record in responses.values() if record["uri"].endswith("/getPCList")]
    assert all(json.loads(record["body"])["ret"] == 0 for record in feed_answers)

    metadata = {json.loads(record["body"])["article_id"]: record for record in records
                if record["type"] == "metadata"}
    assert set(metadata) == FEED_IDS  # the old item was skipped before fetching: never captured
    for article_id, record in metadata.items():
        page = responses[record["concurrent_to"]]
        assert page["uri"].endswith(f"/rain/a/{article_id}")
        assert page["body"] == (server.site_dir / "pages" / f"{article_id}.html").read_bytes(), article_id
        assert int(page["http"].get_header("Content-Length")) == len(page["body"])
    golden = json.loads(metadata["20250212A03JWP00"]["body"])["listing"]
    assert golden["published"] == "2025-02-12 11:09:17" and golden["thumbnail"].endswith("_640360/0")


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_an_encoded_page_is_recorded_as_the_server_sent_it(server, tmp_path, coding):
    """The response record holds the bytes as sent, Content-Encoding and all (as web archives keep
    them); the page reader got them decoded, and warcio decodes the record the same way."""
    import brotli

    page = (server.site_dir / "pages" / "20251120A01ABC00.html").read_bytes()
    sent = gzip.compress(page) if coding == "gzip" else brotli.compress(page)
    server.script("/rain/a/20251120A01ABC00", [Reply(body=sent, headers={
        "Content-Type": "text/html; charset=utf-8", "Content-Encoding": coding})])
    state = tmp_path / "state"
    result = crawl(server, tmp_path / "archive", "url=20251120A01ABC00", STATE_DIR=str(state))
    assert result.counts["archived"] == 1, result.log[-3000:]
    [path] = sorted((state / "warc").iterdir())
    [record] = [record for record in read_records(path)
                if record["type"] == "response" and record["uri"].endswith("/rain/a/20251120A01ABC00")]
    assert record["body"] == sent
    assert record["http"].get_header("Content-Encoding") == coding
    assert record["http"].get_header("Content-Length") == str(len(sent))
    assert decode_body(record["body"], coding) == page
    if coding == "br":
        return  # warcio 1.8's own br reader expects the brotlipy API, not brotli 1.2's
    with open(path, "rb") as stream:
        [decoded] = [entry.content_stream().read() for entry in ArchiveIterator(stream)
                     if entry.rec_type == "response" and entry.rec_headers.get_header("WARC-Target-URI").endswith(
                         "/rain/a/20251120A01ABC00")]
    assert decoded == page


def test_decode_body_undoes_each_coding_and_refuses_what_it_cannot():
    import zlib

    import brotli

    page = "<p>正文</p>".encode() * 500
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert decode_body(page, None) == decode_body(page, "") == decode_body(page, "identity") == page
    assert decode_body(gzip.compress(page), "gzip") == decode_body(gzip.compress(page), "X-Gzip") == page
    assert decode_body(zlib.compress(page), "deflate") == page
    assert decode_body(raw_deflate.compress(page) + raw_deflate.flush(), "deflate") == page
    assert decode_body(brotli.compress(page), "br") == page
    # codings are undone in the reverse of the order they are listed
    assert decode_body(brotli.compress(gzip.compress(page)), "gzip, br") == page
    with pytest.raises(ValueError, match="cannot undo the Content-Encoding 'compress'"):
        decode_body(page, "compress")
    with pytest.raises(ValueError, match="damaged gzip body"):
        decode_body(page, "gzip")
    with pytest.raises(ValueError, match="damaged br body"):
        decode_body(page[:100], "br")
    with pytest.raises(ValueError, match="more than 1000 bytes"):
        decode_body(gzip.compress(page), "gzip", max_size=1000)
    with pytest.raises(ValueError, match="more than 1000 bytes"):
        decode_body(brotli.compress(page), "br", max_size=1000)
    assert decode_body(gzip.compress(page), "gzip", max_size=len(page)) == page


def test_a_gzipping_server_is_captured_compressed_and_read_as_plain(tmp_path):
    """Against a server that gzips every page (as qq's do): the same archive, smaller captures."""
    archives = {}
    for gzip_pages in (False, True):
        with FixtureServer(gzip_pages=gzip_pages) as server:
            state = tmp_path / f"state-{gzip_pages}"
            result = crawl(server, tmp_path / f"archive-{gzip_pages}", "since=2019-06-01", STATE_DIR=str(state))
            # the fixture feed's six pages: five articles and one that does not read, either way
            assert (result.counts["archived"], result.counts["failed"]) == (5, 1), result.log[-3000:]
            [path] = sorted((state / "warc").iterdir())
            pages = [record for record in read_records(path)
                     if record["type"] == "response" and "/rain/a/" in record["uri"]]
            assert len(pages) == 6
            assert {record["http"].get_header("Content-Encoding") for record in pages} == (
                {"gzip"} if gzip_pages else {None})
            archives[gzip_pages] = {name: file.read_bytes()
                                    for name, file in archived_files(tmp_path / f"archive-{gzip_pages}").items()}
    assert archives[True] == archives[False]


def test_capture_can_be_turned_off(server, tmp_path):
    state = tmp_path / "state"
    result = crawl(server, tmp_path / "archive", "url=20251120A01ABC00", STATE_DIR=str(state),
                   WARC_ENABLED="False")
    assert result.counts["archived"] == 1
    assert sorted(archived_files(tmp_path / "archive")) == ["20251120A01ABC00"]
    assert not (state / "warc").exists()


def test_an_unwritable_capture_folder_does_not_stop_the_crawl(server, tmp_path):
    state = tmp_path / "state"
    state.write_text("a file where the folder should be", encoding="utf-8")
    result = crawl(server, tmp_path / "archive", "url=20251120A01ABC00", STATE_DIR=str(state))
    assert result.counts["archived"] == 1
    assert "cannot write the WARC capture" in result.log


def test_a_requests_download_is_captured_the_same_way(server, tmp_path):
    """`archiver fetch` downloads with requests: its responses go to the same WARC files."""
    import requests

    from archiver.crawl import load_settings
    from archiver.warc import exchange_from_requests, open_capture

    settings = load_settings({"STATE_DIR": str(tmp_path / "state")})
    url = server.url("/rain/a/20251120A01ABC00")
    with requests.get(url, headers={"User-Agent": "test"}, stream=True, timeout=10) as response:
        body = b"".join(response.iter_content(65536))
    with open_capture(settings) as writer:
        writer.write_exchange(exchange_from_requests(response, body), Listing(ref=ref_from_id("20251120A01ABC00")))
    records = read_records(writer.paths[0])
    assert [record["type"] for record in records] == ["warcinfo", "response", "request", "metadata"]
    assert records[1]["body"] == body == (server.site_dir / "pages" / "20251120A01ABC00.html").read_bytes()
    assert records[2]["http"].get_header("User-Agent") == "test"
    assert open_capture(load_settings({"WARC_ENABLED": "False"})) is None
