"""Raw capture: every response a crawl receives, with its request, kept in WARC files.

    <STATE_DIR>/warc/qq-<UTC start of the run>-<pid>-<n>.warc.gz

One file per run, a new one (`n` + 1) once a file reaches WARC_MAX_BYTES; records are never
split across files. Each file starts with a `warcinfo` record. Each exchange is a `response`
record, a `request` record (`WARC-Concurrent-To` the response) and, for an article page, a
`metadata` record (`application/json`, also concurrent to the response) holding the article id
and what discovery knew of it (the `Listing`: feed title, publish time, thumbnail), so that
`archiver rebuild` can re-read the page with no network and no feed.

Bodies are kept as the server sent them, Content-Encoding (gzip, br...) and all, as web archives
keep them: the capture sits before the decompression middleware, and `archiver fetch` reads
the raw stream. Only the chunked transfer coding is undone (the HTTP clients undo it as they
read): the recorded headers lose Transfer-Encoding and carry the recorded body's Content-Length.
Each file's `warcinfo` record says so. `decode_body` undoes the Content-Encoding for the page
reader (`archiver fetch`, `archiver rebuild`). Keeping the encoded body is also what keeps
capture cheap: a gzipped page is a quarter of the bytes to digest, and its record is stored in
its gzip member without being compressed a second time.

WARC/1.1, each record its own gzip member, with sha1 block and payload digests. The records and
their HTTP header blocks are formatted here as warcio formats them (warcio percent-encodes a
header that is not ASCII, builds the `warcinfo` record and reads the files back).

In a crawl the files are written by a child process (`CaptureProcess`): the crawl's thread only
hands each exchange over a pipe, and the digests, the gzip and the writes happen on the other
core. `archiver fetch` writes its few exchanges itself (`WarcFileWriter`); both write the same
records with the same code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

import zlib as stdlib_zlib  # reads what servers sent: its errors are the ones documented
try:
    # ISA-L's deflate writes the same gzip format several times faster than zlib.
    from isal import isal_zlib as zlib
except ImportError:  # a platform with no isal wheel: slower, same files
    import zlib

from archiver.ids import ArticleRef
from archiver.items import Listing

WARC_SUBDIR = "warc"
WARC_VERSION = "1.1"
FILE_PREFIX = "qq-"
FILE_SUFFIX = ".warc.gz"
# The metadata record of an article capture: this profile says how to read its JSON.
ARTICLE_PROFILE = "urn:x-qq-archiver:article-listing:1"
# ISA-L's level 1 gzips a page to ~38 % of its size (zlib's 6: ~32 %) in a seventh of the time.
GZIP_LEVEL = 1
# A body the server already compressed (gzip, br...) does not shrink again: its record is kept
# in stored deflate blocks, written here (a CRC and a copy: ~3 us for a 25 KB gzipped page,
# where zlib's level 0 took 22-58 us), for a record 0.1 % larger than a compressor's.
_STORED_BLOCK = 65535  # the most a stored deflate block holds
# gzip's header: deflate, no name nor time, "fastest" (as zlib's level 0 writes it), Unix.
_GZIP_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\x03"
_DROPPED_RESPONSE_HEADERS = ("transfer-encoding", "content-length")
_BODY_NOTE = ("as received: HTTP bodies are recorded as the server sent them, with any "
              "Content-Encoding; the chunked Transfer-Encoding is undone and that header dropped, "
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
    """A `requests` response (read with `stream=True`, its `body` as received: not decoded) as an
    Exchange: for `archiver fetch`, which downloads outside Scrapy."""
    request = response.request
    request_body = request.body or b""
    version = getattr(response.raw, "version", 11)
    return Exchange(
        url=response.url or request.url, method=request.method,
        request_headers=list(request.headers.items()),
        request_body=request_body.encode("utf-8") if isinstance(request_body, str) else request_body,
        status=response.status_code, response_headers=list(response.headers.items()), body=body,
        protocol="HTTP/1.0" if version == 10 else "HTTP/1.1")


def open_capture(settings, writer_class=None):
    """This run's WARC writer, or None when WARC_ENABLED is off; close it when done. A
    WarcFileWriter (`archiver fetch` writes its few exchanges itself), or `writer_class`
    (the crawl's CaptureProcess), which takes the same arguments."""
    if not settings.getbool("WARC_ENABLED"):
        return None
    return (writer_class or WarcFileWriter)(warc_dir(settings), settings.getint("WARC_MAX_BYTES"), software_name())


def software_name() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"qq-archiver/{version('qq-archiver')}"
    except PackageNotFoundError:
        return "qq-archiver"


def _scrapy_headers(headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


def decode_body(body: bytes, content_encoding: str | None, max_size: int = 0) -> bytes:
    """`body` with its Content-Encoding undone (codings listed first were applied first, so they
    are undone last). Raises ValueError for a coding it cannot undo, a damaged body, or one that
    decodes to more than `max_size` bytes (0: no limit)."""
    for coding in reversed([part.strip().lower() for part in (content_encoding or "").split(",")]):
        if coding in ("", "identity"):
            continue
        if coding in ("gzip", "x-gzip", "deflate"):
            body = _inflate(body, coding, max_size)
        elif coding == "br":
            body = _unbrotli(body, max_size)
        else:
            raise ValueError(f"cannot undo the Content-Encoding {coding!r}")
    return body


def _inflate(body: bytes, coding: str, max_size: int) -> bytes:
    # gzip (wbits 16+) or, for deflate, the zlib format most servers send (else raw deflate).
    formats = (stdlib_zlib.MAX_WBITS | 16,) if coding != "deflate" else (stdlib_zlib.MAX_WBITS, -stdlib_zlib.MAX_WBITS)
    for wbits in formats:
        inflater = stdlib_zlib.decompressobj(wbits)
        try:
            decoded = inflater.decompress(body, max_size + 1) if max_size else inflater.decompress(body)
        except stdlib_zlib.error as error:
            problem = error
            continue
        _check_size(decoded, max_size)
        return decoded
    raise ValueError(f"damaged {coding} body: {problem}")


def _unbrotli(body: bytes, max_size: int) -> bytes:
    try:
        import brotli
    except ImportError:
        raise ValueError("cannot undo the Content-Encoding 'br': brotli is not installed") from None
    decompressor = brotli.Decompressor()
    try:
        decoded = (decompressor.process(body, output_buffer_limit=max_size + 1) if max_size
                   else decompressor.process(body))
    except brotli.error as error:
        raise ValueError(f"damaged br body: {error}") from None
    _check_size(decoded, max_size)
    return decoded


def _check_size(decoded: bytes, max_size: int) -> None:
    if max_size and len(decoded) > max_size:
        raise ValueError(f"the body decodes to more than {max_size} bytes")


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
                 started: dt.datetime | None = None, pid: int | None = None):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.software = software
        started = started or dt.datetime.now(dt.timezone.utc)
        # `pid`: the crawl's, when a capture process writes for it.
        self.stem = f"{FILE_PREFIX}{started.strftime('%Y%m%dT%H%M%SZ')}-{pid or os.getpid()}"
        self._builder = WARCWriter(None, warc_version=WARC_VERSION)
        self._file = None
        self._sequence = 0
        self.paths: list[Path] = []
        self.records = 0

    @property
    def path(self) -> Path | None:
        return self.paths[-1] if self._file is not None else None

    def write_exchange(self, exchange: Exchange, listing: Listing | None = None,
                       received: dt.datetime | None = None) -> None:
        """The response, its request and, for an article page, its listing; `received` (UTC,
        default now) is the records' WARC-Date."""
        if self._file is None:
            self._open()
        received = received or dt.datetime.now(dt.timezone.utc)
        date = datetime_to_iso_date(received.replace(tzinfo=None), use_micros=True)
        response_id = StatusAndHeadersParser.make_warc_id()
        ip = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
        members = [self._member("response", exchange.url, date, response_id, _response_head(exchange),
                                exchange.body, "application/http; msgtype=response", ip,
                                stored=_is_content_encoded(exchange))]
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
                content_type: str, extra: list[tuple[str, str]], stored: bool = False) -> bytes:
        """One record as one gzip member. Written here rather than by warcio's WARCWriter, with
        the record's header block formatted as warcio formats it but without its per-header
        conversions, and compressed in one call: capture must stay cheap. `stored`: the member
        holds the record in stored deflate blocks (a body already compressed by the server)."""
        # A request's empty body has one digest; a record with no HTTP head (the metadata) is
        # its payload: the same digest twice.
        payload_label = _sha1_label(hashlib.sha1(body)) if body else _EMPTY_SHA1_LABEL
        if http_head:
            block_digest = hashlib.sha1(http_head)
            block_digest.update(body)
            block_label = _sha1_label(block_digest)
        else:
            block_label = payload_label
        headers = [("WARC-Type", record_type), ("WARC-Record-ID", record_id), ("WARC-Date", date),
                   ("WARC-Target-URI", url), *extra,
                   ("WARC-Payload-Digest", payload_label), ("WARC-Block-Digest", block_label),
                   ("Content-Type", content_type), ("Content-Length", str(len(http_head) + len(body)))]
        head = "".join([f"WARC/{WARC_VERSION}\r\n", *(f"{name}: {value}\r\n" for name, value in headers), "\r\n"])
        # One copy of the body into the record costs less than a streaming compressor's set-up.
        record = b"".join((head.encode("utf-8"), http_head, body, b"\r\n\r\n"))
        if stored:
            return _stored_gzip(record)
        return zlib.compress(record, GZIP_LEVEL, zlib.MAX_WBITS + 16)

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


def _stored_gzip(data: bytes) -> bytes:
    """`data` as one gzip member of stored (uncompressed) deflate blocks (RFC 1951 3.2.4,
    RFC 1952), which any gzip reader reads."""
    view, size = memoryview(data), len(data)
    parts = [_GZIP_HEAD]
    for start in range(0, size or 1, _STORED_BLOCK):
        block = view[start:start + _STORED_BLOCK]
        parts += (struct.pack("<BHH", start + _STORED_BLOCK >= size, len(block), len(block) ^ 0xFFFF), block)
    parts.append(struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(parts)


def _is_content_encoded(exchange: Exchange) -> bool:
    return any(name.lower() == "content-encoding" and value.strip().lower() not in ("", "identity")
               for name, value in exchange.response_headers)


def _response_head(exchange: Exchange) -> bytes:
    headers = [(name, value) for name, value in exchange.response_headers
               if name.lower() not in _DROPPED_RESPONSE_HEADERS]
    headers.append(("Content-Length", str(len(exchange.body))))
    return _http_head(f"{exchange.protocol} {exchange.status} {_reason(exchange.status)}", headers)


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
    return _http_head(f"{exchange.method} {target} {exchange.protocol}", headers)


def _http_head(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP head as warcio's StatusAndHeaders.to_ascii_bytes writes it, formatted here when it
    is all ASCII (nearly always: a fifth of the capture's own time went to warcio's copies and
    conversions); else by warcio, which percent-encodes what is not ASCII."""
    text = "".join([first_line, "\r\n", *[f"{name}: {value}\r\n" for name, value in headers], "\r\n"])
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        protocol, status_line = first_line.split(" ", 1)
        return StatusAndHeaders(status_line, headers, protocol=protocol).to_ascii_bytes()


# Base32 (RFC 4648), ten bits at a time: base64.b32encode is Python code, six calls a page.
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32_PAIRS = [_BASE32[pair >> 5] + _BASE32[pair & 31] for pair in range(1024)]


def _sha1_label(digest) -> str:
    """`sha1:` and the 160-bit digest in base32, as WARC files label their digests."""
    number = int.from_bytes(digest.digest(), "big")
    return "sha1:" + "".join([_BASE32_PAIRS[(number >> shift) & 1023] for shift in range(150, -1, -10)])


_EMPTY_SHA1_LABEL = _sha1_label(hashlib.sha1(b""))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"  # qq's own codes (567 rate limited) have no standard phrase


class CaptureProcess:
    """A WarcFileWriter in a child process, fed through a pipe: `write_exchange` costs the
    crawl's thread the pickling of the headers and one copy of the body into the pipe.

    The child ends when the pipe closes (`close()`, or the crawl dying: every exchange handed over
    whole is still written) and then reports its records, files and CPU time. If it cannot write
    (disk full, no permission), it says why and ends: the next hand-over, or `close()`, raises
    CaptureFailed with its reason.
    """

    def __init__(self, folder: str | os.PathLike, max_bytes: int, software: str = "qq-archiver"):
        self.folder = Path(folder)
        started = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from archiver.warc import serve_capture; serve_capture()",
             str(self.folder), str(max_bytes), software, started, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._pipe = self._process.stdin.fileno()
        try:
            # A page (most are under 300 KB) goes into the pipe without waiting for the child.
            import fcntl

            fcntl.fcntl(self._pipe, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        except (ImportError, AttributeError, OSError):
            pass
        self._report: dict | None = None

    @property
    def report(self) -> dict:
        """What the child said when it ended ({} until then): records, paths, cpu_seconds, and
        `error` or `skipped` (records it could not write) when something went wrong."""
        return self._report or {}

    @property
    def paths(self) -> list[Path]:
        return [Path(path) for path in self.report.get("paths", [])]

    @property
    def records(self) -> int:
        return self.report.get("records", 0)

    @property
    def cpu_seconds(self) -> float:
        return self.report.get("cpu_seconds", 0.0)

    def write_exchange(self, exchange: Exchange, listing: Listing | None = None) -> None:
        if self._report is not None:
            raise CaptureFailed(self._report.get("error") or "the WARC capture process has ended")
        # Plain values (the exchange's fields but its body, the listing's): a dataclass costs
        # more to pickle and to rebuild on the other side.
        fields = (exchange.url, exchange.method, exchange.request_headers, exchange.request_body,
                  exchange.status, exchange.response_headers, exchange.protocol, exchange.ip_address)
        listed = (listing.ref.article_id, listing.title, listing.published, listing.thumbnail,
                  listing.source) if listing is not None else None
        head = pickle.dumps((fields, listed, time.time()), protocol=pickle.HIGHEST_PROTOCOL)
        parts = [struct.pack(_FRAME, len(head), len(exchange.body)), head, exchange.body]
        try:
            _write_all(self._pipe, parts)
        except OSError:  # the child has ended: its report says why
            self._finish()
            raise CaptureFailed(self._report.get("error") or "the WARC capture process has ended") from None

    def close(self) -> None:
        """Let the child write what it was handed, and wait for its report."""
        if self._report is None:
            self._finish()
        if self._report.get("error"):
            raise CaptureFailed(self._report["error"])

    def _finish(self) -> None:
        try:
            self._process.stdin.close()
        except OSError:
            pass
        output = self._process.stdout.read()
        self._process.wait()
        try:
            self._report = json.loads(output)
        except ValueError:
            self._report = {"error": f"the WARC capture process ended with exit code {self._process.returncode}"}

    def __enter__(self) -> CaptureProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class CaptureFailed(OSError):
    """The capture process could not write (its reason is the message)."""


# One exchange in the pipe: the lengths of its pickled head and of its body, then both.
_FRAME = "!II"
_PIPE_BYTES = 1024 * 1024


def _write_all(fd: int, parts: list[bytes]) -> None:
    views = [memoryview(part) for part in parts if part]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _read_exactly(stream, size: int) -> bytearray | None:
    """`size` bytes read straight into one buffer (no copy through a read buffer); None at EOF."""
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        count = stream.readinto(view[got:])
        if not count:
            return None
        got += count
    return data


# How long the capture process sleeps when the pipe is empty.
_IDLE_SECONDS = 0.05


def _next_frame(stream) -> bytearray | None:
    """The next exchange's frame; None once the pipe has closed. While the pipe is empty the
    process sleeps, polling: one blocked in read() is woken by each write, and Linux tends to run
    the woken reader on the writer's core, pushing the crawl off it for every page; a sleeping one
    lets the pages gather and takes them in one go."""
    while not select.select([stream], [], [], 0)[0]:
        time.sleep(_IDLE_SECONDS)
    return _read_exactly(stream, struct.calcsize(_FRAME))


def serve_capture(argv: list[str] | None = None) -> None:
    """The capture process (CaptureProcess): reads exchanges from stdin until it closes, writes
    them with a WarcFileWriter, and prints its report (JSON) on stdout."""
    folder, max_bytes, software, started, pid = argv or sys.argv[1:]
    # Ctrl-C reaches the whole process group: the crawl closes down, and this process writes
    # what it was handed until the crawl closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    writer = WarcFileWriter(folder, int(max_bytes), software,
                            started=dt.datetime.strptime(started, "%Y%m%dT%H%M%S.%fZ"), pid=int(pid))
    report: dict = {}
    stdin = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    try:
        while (frame := _next_frame(stdin)) is not None:
            head_length, body_length = struct.unpack(_FRAME, frame)
            head, body = _read_exactly(stdin, head_length), _read_exactly(stdin, body_length)
            if head is None or body is None:
                break  # the crawl died while handing this one over
            fields, listed, received = pickle.loads(head)
            (url, method, request_headers, request_body, status, response_headers, protocol, ip) = fields
            exchange = Exchange(url, method, request_headers, request_body, status, response_headers, body,
                                protocol, ip)
            listing = Listing(ArticleRef(listed[0]), *listed[1:]) if listed is not None else None
            try:
                writer.write_exchange(exchange, listing,
                                      dt.datetime.fromtimestamp(received, dt.timezone.utc))
            except OSError:
                raise  # the files cannot be written: the capture ends, and says why
            except Exception as error:  # one record that cannot be written must not end the capture
                report.setdefault("skipped", []).append(f"{exchange.url}: {error!r}")
    except OSError as error:
        report["error"] = f"cannot write the WARC capture in {folder}: {error}"
    finally:
        try:
            writer.close()
        except OSError as error:
            report.setdefault("error", f"cannot finish the WARC file {writer.path}: {error}")
        usage = os.times()
        report.update(records=writer.records, paths=[str(path) for path in writer.paths],
                      cpu_seconds=usage.user + usage.system, max_rss_mb=_max_rss_mb())
        try:
            sys.stdout.write(json.dumps(report))
            sys.stdout.flush()
        except BrokenPipeError:  # the crawl died: nobody is left to read the report
            pass


def _max_rss_mb() -> float:
    """This process's peak RSS (VmHWM): not getrusage's, which after a vfork-based spawn still
    counts the parent's memory."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return 0.0  # not on Linux


class WarcCaptureMiddleware:
    """Downloader middleware: writes every response the crawl receives (retried attempts,
    redirects the spider follows, feeds, sitemaps, robots.txt, images) to this run's WARC files.

    It sits just before DecompressionMiddleware (590), so it sees the body as the server sent
    it; a redirect (RedirectMiddleware, 600) is followed before it. The records are written by a
    CaptureProcess. A capture that cannot be written is logged once and capture stops; the crawl
    goes on.
    """

    def __init__(self, writer: CaptureProcess | None, stats):
        self.writer = writer
        self.stats = stats
        self.stopped = False

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("WARC_ENABLED"):
            raise NotConfigured("WARC_ENABLED is off")
        try:
            writer = open_capture(crawler.settings, CaptureProcess)
        except OSError as error:
            logger.error("cannot start the WARC capture (%s): this run is not captured", error)
            writer = None
        middleware = cls(writer, crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request, response):
        if self.writer is None or self.stopped:
            return response
        listing = request.meta.get("listing")
        try:
            exchange = exchange_from_scrapy(request, response)
        except Exception:  # a response the capture cannot represent must not cost the article
            logger.exception("cannot capture %s in the WARC file", response.url)
            return response
        try:
            self.writer.write_exchange(exchange, listing if isinstance(listing, Listing) else None)
        except OSError as error:
            self._stop(error)
        return response

    def spider_closed(self, spider, reason):
        if self.writer is None:
            return
        try:
            self.writer.close()
        except OSError as error:
            self._stop(error)
        writer = self.writer
        for problem in writer.report.get("skipped", []):
            logger.error("cannot capture %s in the WARC file", problem)
        self.stats.set_value("warc/records", writer.records)
        self.stats.set_value("warc/files", len(writer.paths))
        self.stats.set_value("warc/writer_cpu_seconds", round(writer.cpu_seconds, 3))
        self.stats.set_value("warc/writer_max_rss_mb", writer.report.get("max_rss_mb", 0.0))
        if writer.paths:
            logger.info("WARC capture: %d records in %s", writer.records,
                        ", ".join(str(path) for path in writer.paths))

    def _stop(self, error: OSError) -> None:
        if not self.stopped:
            self.stopped = True
            logger.error("%s: capture is off for the rest of this run", error)
