"""Raw capture: the WARC files a crawl writes (archiver/warc.py)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import random
import re
import socket
import zlib
from contextlib import closing
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from stand_in import StandIn, Reply
from archiver.ids import ref_from_id
from archiver.items import Listing
from archiver.warc import ARTICLE_PROFILE, Exchange, WarcFileWriter, decode_body
from crawling import archived_files, crawl

FEED_IDS = {"20250212A03JWP00", "20251120A01ABC00", "20251121A02DEF00", "20191105A0GHIJ00",
            "20251122A03KLM00", "20251123A04NOP00"}


@pytest.fixture
def server():
    with StandIn() as running:
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
    with closing(WarcFileWriter(tmp_path, 1 << 30)) as writer:
        writer.write_exchange(exchange("http://127.0.0.1:1/rain/a/20250212A03JWP00", "正文".encode()), listing)
        writer.write_exchange(Exchange("http://127.0.0.1:1/web_feed/getPCList", "POST",
                                       [("Content-Type", "application/json")], b'{"flush_num":1}', 567, [], b""))
    [path] = writer.paths
    # Host and pid in the name: the workers of a shared backfill may write into one folder.
    assert path.name.startswith("qq-") and path.name.endswith(f"-{os.getpid()}-00000.warc.gz")
    assert f"-{re.sub(r'[^A-Za-z0-9.-]+', '_', socket.gethostname())}-{os.getpid()}-" in path.name
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
    with closing(WarcFileWriter(tmp_path, 1 << 30)) as writer:
        writer.write_exchange(exchange("https://news.qq.com/rain/a/20250212A03JWP00", body))
    path = writer.paths[0]
    # the warcinfo record and the two of the exchange (a listing-less one: response, request)
    members = gzip_members(path.read_bytes())
    assert len(members) == 3 and all(member.startswith(b"WARC/1.1\r\n") for member in members)
    response = [record for record in read_records(path) if record["type"] == "response"][0]
    assert response["body"] == body


@pytest.mark.parametrize("coding, stored", [("gzip", True), ("gzip, br", True), ("identity", False),
                                            (" Identity , ", False), (None, False)])
def test_a_body_the_server_compressed_is_stored_not_deflated_again(tmp_path, coding, stored):
    body = b"<p>" + b"a" * 200_000 + b"</p>"  # as a server labelled it: the writer trusts Content-Encoding
    sent = exchange("https://news.qq.com/rain/a/20250212A03JWP00", body)
    if coding:
        sent = dataclasses.replace(sent, response_headers=[*sent.response_headers, ("Content-Encoding", coding)])
    with closing(WarcFileWriter(tmp_path, 1 << 30)) as writer:
        writer.write_exchange(sent)
    size = writer.paths[0].stat().st_size
    assert (size > len(body)) if stored else (size < len(body) // 20)
    response = [record for record in read_records(writer.paths[0]) if record["type"] == "response"][0]
    assert response["body"] == body


def gzip_members(data: bytes) -> list[bytes]:
    """Each gzip member of a file, decompressed."""
    members = []
    while data:
        member = zlib.decompressobj(zlib.MAX_WBITS | 16)
        members.append(member.decompress(data))
        assert member.eof, "a cut gzip member"
        data = member.unused_data
    return members


@pytest.mark.parametrize("coding", ["gzip", "br", "identity", None])
def test_an_encoded_body_is_recorded_as_given(tmp_path, coding):
    """The writer keeps the body and its Content-Encoding as handed over; digests check."""
    import brotli

    page = ("<html><body>" + "新闻正文 " * 2000 + "</body></html>").encode("utf-8")
    body = {"gzip": gzip.compress, "br": brotli.compress}.get(coding, bytes)(page)
    headers = [("Content-Type", "text/html")] + ([("Content-Encoding", coding)] if coding else [])
    with closing(WarcFileWriter(tmp_path, 1 << 30)) as writer:
        writer.write_exchange(Exchange("https://news.qq.com/rain/a/20250212A03JWP00", "GET", [], b"", 200,
                                       headers, body))
    [response] = [record for record in read_records(writer.paths[0]) if record["type"] == "response"]
    assert response["body"] == body
    assert response["http"].get_header("Content-Encoding") == coding
    assert decode_body(response["body"], coding) == page


def test_a_header_that_is_not_ascii_is_recorded_percent_encoded(tmp_path):
    """As warcio writes it: Scrapy hands over header bytes read as latin-1."""
    title = "标题".encode("utf-8").decode("latin-1")
    with closing(WarcFileWriter(tmp_path, 1 << 30)) as writer:
        writer.write_exchange(Exchange("https://news.qq.com/rain/a/20250212A03JWP00", "GET", [], b"", 200,
                                       [("X-Title", title)], b"page"))
    [response] = [record for record in read_records(writer.paths[0]) if record["type"] == "response"]
    assert response["body"] == b"page"
    value = response["http"].get_header("X-Title")
    assert value.isascii() and "%" in value


def test_writer_rolls_over_at_the_size_limit_without_splitting_records(tmp_path):
    body = random.Random(6).randbytes(10_000)  # does not compress: each exchange adds ~10 kB
    with closing(WarcFileWriter(tmp_path, 25_000)) as writer:
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


def test_writer_names_its_files_after_the_run_and_dates_each_exchange(tmp_path):
    import datetime as dt
    import os

    from warcio.timeutils import iso_date_to_datetime

    listing = Listing(ref=ref_from_id("20250212A03JWP00"), title="标题", source="sitemap")
    bodies = [random.Random(number).randbytes(size) for number, size in enumerate([0, 9_000, 2_000_000, 12_000])]
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with closing(WarcFileWriter(tmp_path, 30_000, "qq-archiver/test")) as writer:
        for number, body in enumerate(bodies):
            writer.write_exchange(exchange(f"http://127.0.0.1:1/rain/a/2025021{number}A03JWP00", body),
                                  listing if number == 1 else None)
    assert writer.records == 9  # the exchanges' records, not the warcinfo ones
    assert len(writer.paths) == 2  # rolled over after the 2 MB body
    assert all(f"-{os.getpid()}-" in path.name for path in writer.paths)
    records = [record for path in writer.paths for record in read_records(path)]
    assert [record["type"] for record in records].count("warcinfo") == 2
    assert b"qq-archiver/test" in records[0]["body"]
    responses = [record for record in records if record["type"] == "response"]
    assert [record["body"] for record in responses] == bodies
    [metadata] = [record for record in records if record["type"] == "metadata"]
    assert metadata["concurrent_to"] == responses[1]["id"]
    assert json.loads(metadata["body"])["listing"]["source"] == "sitemap"
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert all(before <= iso_date_to_datetime(record["date"]) <= now for record in responses)


def test_a_folder_that_cannot_be_written_raises_at_the_first_exchange(tmp_path):
    blocked = tmp_path / "state"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    writer = WarcFileWriter(blocked / "warc", 1 << 30)
    with pytest.raises(OSError):
        writer.write_exchange(exchange("http://127.0.0.1:1/rain/a/20250210A03JWP00"))
    assert writer.records == 0 and writer.paths == []


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
    assert f"'warc/records': {len(records) - 1}" in result.log and "'warc/files': 1" in result.log
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
        with StandIn(gzip_pages=gzip_pages) as server:
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


def test_a_capture_folder_that_cannot_be_written_stops_the_crawl_before_any_request(server, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "warc").write_text("a file where the folder should be", encoding="utf-8")
    result = crawl(server, tmp_path / "archive", "url=20251120A01ABC00", STATE_DIR=str(state))
    assert result.returncode == 1 and result.counts["discovered"] == 0
    errors = [line for line in result.log.splitlines() if "] ERROR:" in line]
    assert errors and all("the WARC folder" in line for line in errors), errors
    assert "Traceback" not in result.log
    assert server.count("/rain/a/") == 0


def test_a_requests_download_is_captured_the_same_way(server, tmp_path):
    """`archiver fetch` downloads with requests: its responses go to the same WARC files."""
    import requests

    from archiver.crawl import load_settings
    from archiver.warc import exchange_from_requests, open_capture

    settings = load_settings({"STATE_DIR": str(tmp_path / "state")})
    url = server.url("/rain/a/20251120A01ABC00")
    with requests.get(url, headers={"User-Agent": "test"}, stream=True, timeout=10) as response:
        body = b"".join(response.iter_content(65536))
    with closing(open_capture(settings)) as writer:
        writer.write_exchange(exchange_from_requests(response, body), Listing(ref=ref_from_id("20251120A01ABC00")))
    records = read_records(writer.paths[0])
    assert [record["type"] for record in records] == ["warcinfo", "response", "request", "metadata"]
    assert records[1]["body"] == body == (server.site_dir / "pages" / "20251120A01ABC00.html").read_bytes()
    assert records[2]["http"].get_header("User-Agent") == "test"
    assert open_capture(load_settings({"WARC_ENABLED": "False"})) is None


def test_warc_files_older_than_warc_keep_days_are_removed_and_nothing_else(tmp_path):
    from archiver.warc import remove_old_captures

    now = 2_000_000_000
    old, young, other = (tmp_path / "qq-20250101T000000Z-1-00000.warc.gz", tmp_path / "qq-20250201T000000Z-1-00000.warc.gz",
                         tmp_path / "keep-me.warc.gz")
    for path, age_days in ((old, 31), (young, 29), (other, 400)):
        path.write_bytes(b"x")
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    assert remove_old_captures(tmp_path, 30, now) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([young.name, other.name])
    assert remove_old_captures(tmp_path, 0, now + 10**9) == 0
