"""Raw capture: every response a crawl receives, with its request, in this run's WARC files,
`<STATE_DIR>/warc/qq-<UTC start of the run>-<host>-<pid>-<n>.warc.gz` (host and pid: the machines of a
shared backfill may share the folder), the next `n` once a file reaches WARC_MAX_BYTES.

Each exchange is a `response` and a `request` record and, for an article page, a `metadata` record holding
its `Listing`, so that `archiver rebuild` can re-read the page with no network and no feed. Bodies are kept
as the server sent them, Content-Encoding and all, as web archives keep them; only the chunked transfer
coding is undone (`_BODY_NOTE`, in each file's `warcinfo` record). warcio's WARCWriter frames each record;
the gzip module makes it a gzip member of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import http.client
import json
import logging
import os
import re
import socket
import time
import zlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from archiver.items import Listing

WARC_VERSION = "1.1"
FILE_PREFIX = "qq-"
FILE_SUFFIX = ".warc.gz"
# The metadata record of an article capture: this profile says how to read its JSON.
ARTICLE_PROFILE = "urn:x-qq-archiver:article-listing:1"
_DROPPED_RESPONSE_HEADERS = ("transfer-encoding", "content-length")
_BODY_NOTE = ("as received: HTTP bodies are recorded as the server sent them, with any "
              "Content-Encoding; the chunked Transfer-Encoding is undone and that header dropped, "
              "and Content-Length is the length of the recorded body")

logger = logging.getLogger(__name__)


def warc_dir(settings) -> Path:
    return Path(settings.get("STATE_DIR")) / "warc"


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
    return Exchange(
        url=response.url, method=request.method,
        request_headers=_scrapy_headers(request.headers), request_body=request.body or b"",
        status=response.status, response_headers=_scrapy_headers(response.headers), body=response.body,
        protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address is not None else "")


def exchange_from_requests(response, body: bytes) -> Exchange:
    """A `requests` response (read with `stream=True`, its `body` as received: not decoded)."""
    request = response.request
    request_body = request.body or b""
    return Exchange(
        url=response.url or request.url, method=request.method, request_headers=list(request.headers.items()),
        request_body=request_body.encode("utf-8") if isinstance(request_body, str) else request_body,
        status=response.status_code, response_headers=list(response.headers.items()), body=body,
        protocol="HTTP/1.0" if getattr(response.raw, "version", 11) == 10 else "HTTP/1.1")


def open_capture(settings) -> WarcFileWriter | None:
    """This run's WARC writer, or None when WARC_ENABLED is off; close it when done."""
    if not settings.getbool("WARC_ENABLED"):
        return None
    try:
        software = f"qq-archiver/{version('qq-archiver')}"
    except PackageNotFoundError:
        software = "qq-archiver"
    return WarcFileWriter(warc_dir(settings), settings.getint("WARC_MAX_BYTES"), software)


def _scrapy_headers(headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


def content_codings(header: str | None) -> list[str]:
    """The codings a Content-Encoding value lists, the first applied first; `identity` left out."""
    return [coding for part in (header or "").split(",") if (coding := part.strip().lower()) not in ("", "identity")]


def decode_body(body: bytes, content_encoding: str | None, max_size: int = 0) -> bytes:
    """`body` with its Content-Encoding undone (codings listed first were applied first, so they
    are undone last). Raises ValueError for a coding it cannot undo, a damaged body, or one that
    decodes to more than `max_size` bytes (0: no limit)."""
    for coding in reversed(content_codings(content_encoding)):
        if coding in ("gzip", "x-gzip", "deflate"):
            body = _inflate(body, coding, max_size)
        elif coding == "br":
            body = _unbrotli(body, max_size)
        else:
            raise ValueError(f"cannot undo the Content-Encoding {coding!r}")
        if max_size and len(body) > max_size:
            raise ValueError(f"the body decodes to more than {max_size} bytes")
    return body


def _inflate(body: bytes, coding: str, max_size: int) -> bytes:
    # gzip (wbits 16+) or, for deflate, the zlib format most servers send (else raw deflate).
    for wbits in (zlib.MAX_WBITS | 16,) if coding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        try:
            return zlib.decompressobj(wbits).decompress(body, max_size + 1 if max_size else 0)
        except zlib.error as error:
            problem = error
    raise ValueError(f"damaged {coding} body: {problem}")


def _unbrotli(body: bytes, max_size: int) -> bytes:
    try:
        import brotli
    except ImportError:
        raise ValueError("cannot undo the Content-Encoding 'br': brotli is not installed") from None
    decompressor = brotli.Decompressor()
    try:
        return decompressor.process(body, output_buffer_limit=max_size + 1) if max_size else decompressor.process(body)
    except brotli.error as error:
        raise ValueError(f"damaged br body: {error}") from None


def listing_json(listing: Listing) -> bytes:
    """The metadata record of an article capture: its id and what discovery knew of it."""
    fields = {"title": listing.title, "published": listing.published, "thumbnail": listing.thumbnail,
              "source": listing.source}
    return json.dumps({"article_id": listing.ref.article_id, "listing": fields},
                      ensure_ascii=False, sort_keys=True).encode("utf-8")


class WarcFileWriter:
    """Appends exchanges to this run's WARC files in `folder`, rolling over at `max_bytes`; a file
    is opened with the first record, and each record flushed (a killed run loses the last only)."""

    def __init__(self, folder: str | os.PathLike, max_bytes: int, software: str = "qq-archiver"):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.software = software
        started = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        host = re.sub(r"[^A-Za-z0-9.-]+", "_", socket.gethostname()) or "host"
        self.stem = f"{FILE_PREFIX}{started}-{host}-{os.getpid()}"
        self._file = None
        self._record = BytesIO()  # one record as warcio frames it, before it is gzipped
        self._warc = WARCWriter(self._record, gzip=False, warc_version=WARC_VERSION)
        self._sequence = 0
        self.paths: list[Path] = []
        self.records = 0

    def write_exchange(self, exchange: Exchange, listing: Listing | None = None) -> None:
        """Write the response, its request and, for an article page, its listing, dated now; raises OSError."""
        if self._file is None:
            self._open()

        def record(kind: str, payload: bytes, headers: dict, **options):
            return self._warc.create_warc_record(exchange.url, kind, payload=BytesIO(payload), length=len(payload),
                                                 warc_headers_dict=headers, **options)

        date = datetime_to_iso_date(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), use_micros=True)
        response_id = StatusAndHeadersParser.make_warc_id()
        response_headers = {"WARC-Record-ID": response_id, "WARC-Date": date}
        if exchange.ip_address:
            response_headers["WARC-IP-Address"] = exchange.ip_address
        linked = {"WARC-Date": date, "WARC-Concurrent-To": response_id}
        records = [record("response", exchange.body, response_headers, http_headers=_response_head(exchange)),
                   record("request", exchange.request_body, linked, http_headers=_request_head(exchange))]
        if listing is not None:
            records.append(record("metadata", listing_json(listing), {**linked, "WARC-Profile": ARTICLE_PROFILE},
                                  warc_content_type="application/json"))
        compressed = any(content_codings(value) for name, value in exchange.response_headers
                         if name.lower() == "content-encoding")
        for record in records:
            # Deflating a body the server already compressed saves no space and costs CPU (BENCHMARKS.md).
            self._write(record, level=0 if compressed and record is records[0] else 6)
            self.records += 1
        self._file.flush()
        if self._file.tell() >= self.max_bytes:
            self.close()

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        while self._file is None:
            path = self.folder / f"{self.stem}-{self._sequence:05d}{FILE_SUFFIX}"
            self._sequence += 1
            # "x": a file of another run (same second, same pid) is never appended to.
            with contextlib.suppress(FileExistsError):
                self._file = open(path, "xb")
        self.paths.append(path)
        info = {"software": self.software, "format": f"WARC File Format {WARC_VERSION}", "http-bodies": _BODY_NOTE}
        self._write(self._warc.create_warcinfo_record(path.name, info), level=6)

    def _write(self, record, level: int) -> None:
        self._record.seek(0)
        self._record.truncate()
        self._warc.write_record(record)
        self._file.write(gzip.compress(self._record.getvalue(), compresslevel=level, mtime=0))


def _response_head(exchange: Exchange) -> StatusAndHeaders:
    headers = [(name, value) for name, value in exchange.response_headers
               if name.lower() not in _DROPPED_RESPONSE_HEADERS]
    headers.append(("Content-Length", str(len(exchange.body))))
    reason = http.client.responses.get(exchange.status, "Unknown")  # qq's own codes (567 rate limited) have none
    return StatusAndHeaders(f"{exchange.status} {reason}", headers, protocol=exchange.protocol)


def _request_head(exchange: Exchange) -> StatusAndHeaders:
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = list(exchange.request_headers)
    names = {name.lower() for name, _ in headers}
    # The HTTP client adds these on the wire; Scrapy's request object does not hold them.
    if "host" not in names:
        headers.insert(0, ("Host", parts.netloc))
    if exchange.request_body and "content-length" not in names:
        headers.append(("Content-Length", str(len(exchange.request_body))))
    return StatusAndHeaders(f"{exchange.method} {target} {exchange.protocol}", headers, is_http_request=True)


def remove_old_captures(folder: Path, keep_days: float, now: float | None = None) -> int:
    """Remove this project's WARC files in `folder` last written more than `keep_days` ago (0:
    keep them all); how many went. Files of other names are never touched."""
    if keep_days <= 0:
        return 0
    cutoff = (now if now is not None else time.time()) - keep_days * 86400
    removed = 0
    for path in folder.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError as error:
            logger.warning("cannot remove the old WARC file %s: %s", path, error.strerror or error)
    return removed


class WarcCaptureMiddleware:
    """Writes every response the crawl receives to this run's WARC files, from just before Scrapy's
    HttpCompressionMiddleware (590); a capture that cannot be written is logged once and stops, the crawl goes on."""

    def __init__(self, writer: WarcFileWriter, stats):
        self.writer = writer
        self.stats = stats
        self.stopped = False

    @classmethod
    def from_crawler(cls, crawler):
        writer = open_capture(crawler.settings)
        if writer is None:
            raise NotConfigured("WARC_ENABLED is off")
        removed = remove_old_captures(writer.folder, crawler.settings.getfloat("WARC_KEEP_DAYS"))
        if removed:
            logger.info("removed %d WARC file(s) older than WARC_KEEP_DAYS", removed)
        middleware = cls(writer, crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request, response):
        if self.stopped:
            return response
        listing = request.meta.get("listing")
        try:
            self.writer.write_exchange(exchange_from_scrapy(request, response),
                                       listing if isinstance(listing, Listing) else None)
        except OSError as error:
            self._stop(error)
        except Exception:  # a response the capture cannot represent must not cost the article
            logger.exception("cannot capture %s in the WARC file", response.url)
        return response

    def spider_closed(self, spider, reason):
        try:
            self.writer.close()
        except OSError as error:
            self._stop(error)
        self.stats.set_value("warc/records", self.writer.records)
        self.stats.set_value("warc/files", len(self.writer.paths))
        if self.writer.paths:
            logger.info("WARC capture: %d records in %s", self.writer.records,
                        ", ".join(str(path) for path in self.writer.paths))

    def _stop(self, error: OSError) -> None:
        if not self.stopped:
            self.stopped = True
            logger.error("cannot write the WARC capture in %s (%s): capture is off for the rest of this run",
                         self.writer.folder, error)
            with contextlib.suppress(OSError):  # already reported: the capture has stopped
                self.writer.close()
