"""Raw capture: every response a crawl receives, with its request, kept in WARC files.

    <STATE_DIR>/warc/qq-<UTC start of the run>-<pid>-<n>.warc.gz

One file per run, a new one (`n` + 1) once a file reaches WARC_MAX_BYTES; records are never
split across files. Each file starts with a `warcinfo` record. Each exchange is a `response`
record, a `request` record (`WARC-Concurrent-To` the response) and, for an article page, a
`metadata` record (`application/json`, also concurrent to the response) holding the article id
and what discovery knew of it (the `Listing`: feed title, publish time, thumbnail), so that
`archiver rebuild` can re-read the page with no network and no feed.

Bodies are kept as the page reader saw them: Scrapy has already undone any Content-Encoding
(gzip, br...) and the chunked transfer coding, so the recorded HTTP headers lose those and carry
the decoded body's Content-Length. Each file's `warcinfo` record says so.

WARC/1.1, each record its own gzip member, with sha1 block and payload digests; warcio builds the
HTTP header blocks and the `warcinfo` record, and reads the files back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

try:
    # ISA-L's deflate writes the same gzip format several times faster than zlib.
    from isal import isal_zlib as zlib
except ImportError:  # a platform with no isal wheel: slower, same files
    import zlib

from archiver.items import Listing

WARC_SUBDIR = "warc"
WARC_VERSION = "1.1"
FILE_PREFIX = "qq-"
FILE_SUFFIX = ".warc.gz"
# The metadata record of an article capture: this profile says how to read its JSON.
ARTICLE_PROFILE = "urn:x-qq-archiver:article-listing:1"
# ISA-L's level 1 gzips a page to ~38 % of its size (zlib's 6: ~32 %) in a seventh of the time.
GZIP_LEVEL = 1
_DROPPED_RESPONSE_HEADERS = ("transfer-encoding", "content-length")
_BODY_NOTE = ("decoded: HTTP bodies are recorded as the crawler read them, after any "
              "Content-Encoding and Transfer-Encoding were undone; those headers are dropped "
              "and Content-Length is the length of the recorded body")

logger = logging.getLogger(__name__)


def warc_dir(settings) -> Path:
    """Where a run's WARC files go: the `warc` folder of STATE_DIR."""
    return Path(settings.get("STATE_DIR")) / WARC_SUBDIR


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and the response to it, as plain values (Scrapy's or requests')."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    protocol: str = "HTTP/1.1"
    ip_address: str = ""


def exchange_from_scrapy(request, response) -> Exchange:
    """A Scrapy response (and the request it answers) as an Exchange."""
    return Exchange(
        url=response.url, method=request.method,
        request_headers=_scrapy_headers(request.headers), request_body=request.body or b"",
        status=response.status, response_headers=_scrapy_headers(response.headers), body=response.body,
        protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address is not None else "")


def exchange_from_requests(response, body: bytes) -> Exchange:
    """A `requests` response (read with `stream=True`, its decoded `body` given) as an Exchange:
    for `archiver fetch`, which downloads outside Scrapy."""
    request = response.request
    request_body = request.body or b""
    version = getattr(response.raw, "version", 11)
    return Exchange(
        url=response.url or request.url, method=request.method,
        request_headers=list(request.headers.items()),
        request_body=request_body.encode("utf-8") if isinstance(request_body, str) else request_body,
        status=response.status_code, response_headers=list(response.headers.items()), body=body,
        protocol="HTTP/1.0" if version == 10 else "HTTP/1.1")


def open_capture(settings) -> WarcFileWriter | None:
    """This run's WARC writer, or None when WARC_ENABLED is off; close it when done."""
    if not settings.getbool("WARC_ENABLED"):
        return None
    return WarcFileWriter(warc_dir(settings), settings.getint("WARC_MAX_BYTES"), software_name())


def software_name() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"qq-archiver/{version('qq-archiver')}"
    except PackageNotFoundError:
        return "qq-archiver"


def _scrapy_headers(headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


def listing_json(listing: Listing) -> bytes:
    """The metadata record of an article capture: its id and what discovery knew of it."""
    fields = {"title": listing.title, "published": listing.published, "thumbnail": listing.thumbnail,
              "source": listing.source}
    return json.dumps({"article_id": listing.ref.article_id, "listing": fields},
                      ensure_ascii=False, sort_keys=True).encode("utf-8")


class WarcFileWriter:
    """Appends exchanges to this run's WARC files in `folder`, rolling over at `max_bytes`.

    Files are opened when the first record comes, so a run that fetches nothing leaves none.
    Each record is written and flushed in one piece: a killed run loses at most the last one.
    """

    def __init__(self, folder: str | os.PathLike, max_bytes: int, software: str = "qq-archiver",
                 started: dt.datetime | None = None):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.software = software
        started = started or dt.datetime.now(dt.timezone.utc)
        self.stem = f"{FILE_PREFIX}{started.strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"
        self._builder = WARCWriter(None, warc_version=WARC_VERSION)
        self._file = None
        self._sequence = 0
        self.paths: list[Path] = []
        self.records = 0

    @property
    def path(self) -> Path | None:
        return self.paths[-1] if self._file is not None else None

    def write_exchange(self, exchange: Exchange, listing: Listing | None = None) -> None:
        """The response, its request and, for an article page, its listing."""
        if self._file is None:
            self._open()
        date = datetime_to_iso_date(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), use_micros=True)
        response_id = StatusAndHeadersParser.make_warc_id()
        ip = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
        members = [self._member("response", exchange.url, date, response_id, _response_head(exchange),
                                exchange.body, "application/http; msgtype=response", ip)]
        linked = [("WARC-Concurrent-To", response_id)]
        members.append(self._member("request", exchange.url, date, StatusAndHeadersParser.make_warc_id(),
                                    _request_head(exchange), exchange.request_body,
                                    "application/http; msgtype=request", linked))
        if listing is not None:
            members.append(self._member("metadata", exchange.url, date, StatusAndHeadersParser.make_warc_id(),
                                        b"", listing_json(listing), "application/json",
                                        [*linked, ("WARC-Profile", ARTICLE_PROFILE)]))
        self._file.write(b"".join(members))
        self._file.flush()
        self.records += len(members)
        if self._file.tell() >= self.max_bytes:
            self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @staticmethod
    def _member(record_type: str, url: str, date: str, record_id: str, http_head: bytes, body: bytes,
                content_type: str, extra: list[tuple[str, str]]) -> bytes:
        """One record as one gzip member. Written here rather than by warcio's WARCWriter: the
        body is digested and compressed where it lies, never copied, and the record's header
        block is formatted as warcio formats it, without its per-header conversions (capture
        must stay cheap)."""
        block_digest = hashlib.sha1(http_head)
        block_digest.update(body)
        headers = [("WARC-Type", record_type), ("WARC-Record-ID", record_id), ("WARC-Date", date),
                   ("WARC-Target-URI", url), *extra,
                   ("WARC-Payload-Digest", _sha1_label(hashlib.sha1(body))),
                   ("WARC-Block-Digest", _sha1_label(block_digest)),
                   ("Content-Type", content_type), ("Content-Length", str(len(http_head) + len(body)))]
        head = "".join([f"WARC/{WARC_VERSION}\r\n", *(f"{name}: {value}\r\n" for name, value in headers), "\r\n"])
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        return b"".join((compressor.compress(head.encode("utf-8") + http_head), compressor.compress(body),
                         compressor.compress(b"\r\n\r\n"), compressor.flush()))

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = self.folder / f"{self.stem}-{self._sequence:05d}{FILE_SUFFIX}"
            self._sequence += 1
            try:
                # "x": a file of another run (same second, same pid) is never appended to.
                self._file = open(path, "xb")
                break
            except FileExistsError:
                continue
        self.paths.append(path)
        info = {"software": self.software, "format": f"WARC File Format {WARC_VERSION}",
                "http-bodies": _BODY_NOTE}
        buffer = io.BytesIO()
        WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION).write_record(
            self._builder.create_warcinfo_record(path.name, info))
        self._file.write(buffer.getvalue())
        self._file.flush()

    def __enter__(self) -> WarcFileWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _response_head(exchange: Exchange) -> bytes:
    headers = [(name, value) for name, value in exchange.response_headers
               if name.lower() not in _DROPPED_RESPONSE_HEADERS]
    headers.append(("Content-Length", str(len(exchange.body))))
    return StatusAndHeaders(f"{exchange.status} {_reason(exchange.status)}", headers,
                            protocol=exchange.protocol).to_ascii_bytes()


def _request_head(exchange: Exchange) -> bytes:
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = list(exchange.request_headers)
    names = {name.lower() for name, _ in headers}
    # The HTTP client adds these on the wire; Scrapy's request object does not hold them.
    if "host" not in names:
        headers.insert(0, ("Host", parts.netloc))
    if exchange.request_body and "content-length" not in names:
        headers.append(("Content-Length", str(len(exchange.request_body))))
    return StatusAndHeaders(f"{exchange.method} {target} {exchange.protocol}", headers,
                            is_http_request=True).to_ascii_bytes()


def _sha1_label(digest) -> str:
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"  # qq's own codes (567 rate limited) have no standard phrase


class WarcCaptureMiddleware:
    """Downloader middleware: writes every response the crawl receives (retried attempts,
    redirects the spider follows, feeds, sitemaps, robots.txt, images) to this run's WARC files.

    It sits just after HttpCompressionMiddleware (590), so it sees the body the page reader gets.
    Each exchange is written as it arrives, on the crawl's thread: handing it to a writer thread
    cost more (the two threads contending for the GIL: +1.5 ms of CPU a page against +0.6 ms,
    measured on the benchmark's pages). A capture that cannot be written is logged once and
    capture stops; the crawl goes on.
    """

    def __init__(self, writer: WarcFileWriter, stats):
        self.writer = writer
        self.stats = stats
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED"):
            raise NotConfigured("WARC_ENABLED is off")
        middleware = cls(open_capture(settings), crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request, response):
        if self.failed:
            return response
        listing = request.meta.get("listing")
        try:
            exchange = exchange_from_scrapy(request, response)
        except Exception:  # a response the capture cannot represent must not cost the article
            logger.exception("cannot capture %s in the WARC file", response.url)
            return response
        self._write(exchange, listing if isinstance(listing, Listing) else None)
        return response

    def _write(self, exchange: Exchange, listing: Listing | None) -> None:
        """One exchange into the file, or the reason capture stops."""
        try:
            self.writer.write_exchange(exchange, listing)
        except OSError as error:
            self.failed = True
            self._close()
            logger.error("cannot write the WARC capture in %s (%s): capture is off for the rest "
                         "of this run", self.writer.folder, error)
            return
        except Exception:  # one record that cannot be written must not end the capture
            logger.exception("cannot capture %s in the WARC file", exchange.url)

    def spider_closed(self, spider, reason):
        self._close()
        self.stats.set_value("warc/records", self.writer.records)
        self.stats.set_value("warc/files", len(self.writer.paths))
        if self.writer.paths:
            logger.info("WARC capture: %d records in %s", self.writer.records,
                        ", ".join(str(path) for path in self.writer.paths))

    def _close(self) -> None:
        try:
            self.writer.close()
        except OSError as error:
            logger.error("cannot finish the WARC file %s: %s", self.writer.path, error)
