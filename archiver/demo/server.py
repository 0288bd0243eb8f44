"""A local stand-in for qq.com: serves the bundled fixture site over HTTP.

Used by `archiver demo` and by the tests. The routes mirror the real endpoints (feed, sitemaps,
article pages, pre-2019 pages); `FixtureServer.settings()` gives the setting overrides that
point a crawl at it. Tests can script answers per path (errors, redirects, delays, dropped
connections) and read a log of the requests it received.

    python -m archiver.demo.server [--port N]     # serve the bundled site until Ctrl-C
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import signal
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SITE_DIR = Path(__file__).resolve().parent / "site"

# Replaced by the server's base URL in sitemaps and robots.txt, so they can point at this server.
BASE_PLACEHOLDER = b"{{BASE}}"

# A scripted entry that lets the request through to the normal route.
PASS = "pass"

# Only these characters reach a file name: no request can name a path outside the site.
_CHANNEL_ID = re.compile(r"[a-z0-9_]+")
_SITEMAP_PATH = re.compile(r"/sitemap/([A-Za-z0-9_-]+)\.xml(\.gz)?")
_ARTICLE_PATH = re.compile(r"/rain/a/([0-9A-Za-z_]+)")
_LEGACY_PATH = re.compile(r"/([a-z][a-z0-9]*)/a/([0-9]{8})/([0-9]{6})\.htm")

_EMPTY_FEED = b'{"ret":0,"data":[]}'


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `reset=True` drops the connection without answering.

    `headers` are sent as given; `Content-Type` defaults to HTML and `Content-Length` to the
    body's length when they are not among them (a str body is sent as UTF-8). `delay` seconds
    pass before anything is sent; with `trickle`, the body goes a byte at a time, that far apart.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] | None = None
    delay: float = 0.0
    reset: bool = False
    trickle: float = 0.0  # seconds between the body's bytes, sent one at a time


@dataclass
class Logged:
    """One request the server received (headers as the client spelled them)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    started: float  # time.monotonic() when the request was read
    finished: float | None = None  # time.monotonic() when the answer was written (or dropped)


class FixtureServer:
    """Serves a fixture site on `host`:`port` (0: any free port) from a daemon thread.

    Routes: `GET /robots.txt`, `POST /web_feed/getPCList` (JSON body with `channel_id` and
    `flush_num`: `feed/<channel_id>/<flush_num>.json`, or an empty feed), `GET
    /sitemap/<name>.xml` (and `.xml.gz`), `GET /rain/a/<id>` (`pages/<id>.html`) and `GET
    /<channel>/a/<YYYYMMDD>/<NNNNNN>.htm` (`legacy/<channel>_<date>_<number>.htm`, GBK bytes,
    no charset in the header). Anything else is a 404.

    With `gzip_pages`, article pages go out gzipped (`Content-Encoding: gzip`) to a client that
    accepts it, as qq's servers send them; each page is compressed once and kept.
    """

    def __init__(self, site_dir: str | Path = DEFAULT_SITE_DIR, host: str = "127.0.0.1", port: int = 0,
                 gzip_pages: bool = False):
        self.site_dir = Path(site_dir)
        self.host = host
        self.port = port
        self.gzip_pages = gzip_pages
        self._gzipped: dict[tuple[str, int, int], bytes] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._all_answered = threading.Condition(self._lock)
        self._scripts: dict[str, deque[Reply | str]] = {}
        self._log: list[Logged] = []
        self._in_flight = 0
        self._max_in_flight = 0

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> FixtureServer:
        if self._httpd is not None:
            raise RuntimeError("the fixture server is already running")
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.fixture = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`; the port is known once the server has started."""
        if not self.port:
            raise RuntimeError("start the fixture server before asking for its URL")
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def settings(self) -> dict[str, str]:
        """The Scrapy setting overrides that point a crawl at this server."""
        base = self.base_url
        return {
            "QQ_FEED_URL": f"{base}/web_feed/getPCList",
            "QQ_SITEMAP_URL": f"{base}/sitemap/index.xml",
            "QQ_ARTICLE_URL": f"{base}/rain/a/{{id}}",
            "QQ_LEGACY_ARTICLE_URL": f"{base}/{{channel}}/a/{{date}}/{{number}}.htm",
        }

    # -- fault injection ----------------------------------------------------------------------

    def script(self, path: str, responses: list[Reply | str]) -> None:
        """Answer the next requests for `path` (query ignored) with `responses`, one each.

        An entry is a `Reply` or `"pass"` (serve normally). Once the list is used up, requests
        are served normally again. A new script for a path replaces the old one.
        """
        entries: deque[Reply | str] = deque()
        for entry in responses:
            if not (isinstance(entry, Reply) or entry == PASS):
                raise TypeError(f"a scripted response is a Reply or {PASS!r}, not {entry!r}")
            entries.append(entry)
        with self._lock:
            self._scripts[urlsplit(path).path] = entries

    # -- request log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[Logged]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    @property
    def max_in_flight(self) -> int:
        """The most requests handled at the same time since the start or `reset_log()`."""
        with self._lock:
            return self._max_in_flight

    def wait_until_answered(self, timeout: float = 5.0) -> bool:
        """Wait until every request received is answered and logged as such. A client has its
        answer a moment before the handler thread logs it `finished`: read the log's `finished`
        times after this. False if `timeout` seconds pass first."""
        with self._all_answered:
            return self._all_answered.wait_for(lambda: self._in_flight == 0, timeout)

    def count(self, path_prefix: str = "/") -> int:
        """How many logged requests have a path starting with `path_prefix`."""
        with self._lock:
            return sum(1 for record in self._log if record.path.startswith(path_prefix))

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._max_in_flight = self._in_flight

    # -- called by the handler threads --------------------------------------------------------

    def _begin(self, record: Logged) -> None:
        with self._lock:
            self._log.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _end(self, record: Logged) -> None:
        with self._lock:
            record.finished = time.monotonic()
            self._in_flight -= 1
            if not self._in_flight:
                self._all_answered.notify_all()

    def _scripted(self, path: str) -> Reply | None:
        with self._lock:
            entries = self._scripts.get(path)
            if not entries:
                return None
            entry = entries.popleft()
        return entry if isinstance(entry, Reply) else None

    def _route(self, method: str, path: str, body: bytes, accept_encoding: str = "") -> Reply:
        if method in ("GET", "HEAD"):
            if path == "/robots.txt":
                return self._file("robots.txt", "text/plain; charset=utf-8", substitute=True)
            if match := _SITEMAP_PATH.fullmatch(path):
                return self._sitemap(match.group(1), gzipped=bool(match.group(2)))
            if match := _ARTICLE_PATH.fullmatch(path):
                return self._page(f"pages/{match.group(1)}.html", "text/html; charset=utf-8", accept_encoding)
            if match := _LEGACY_PATH.fullmatch(path):
                # Old qq servers sent no charset: the page's own meta tag (gb2312) says it.
                return self._page(f"legacy/{'_'.join(match.groups())}.htm", "text/html", accept_encoding)
        elif method == "POST" and path == "/web_feed/getPCList":
            return self._feed(body)
        return _not_found()

    def _feed(self, body: bytes) -> Reply:
        try:
            query = json.loads(body)
        except ValueError:
            return _bad_request("the body is not JSON")
        if not isinstance(query, dict):
            return _bad_request("the body is not a JSON object")
        channel_id, flush_num = query.get("channel_id"), query.get("flush_num")
        if not isinstance(channel_id, str) or not _CHANNEL_ID.fullmatch(channel_id):
            return _bad_request("channel_id must match [a-z0-9_]+")
        if isinstance(flush_num, bool) or not isinstance(flush_num, int):
            return _bad_request("flush_num must be an integer")
        page = self.site_dir / "feed" / channel_id / f"{flush_num}.json"
        data = page.read_bytes() if page.is_file() else _EMPTY_FEED
        return Reply(200, data, {"Content-Type": "application/json; charset=utf-8"})

    def _sitemap(self, name: str, gzipped: bool) -> Reply:
        # A stored `<name>.xml.gz` is sent as it is; otherwise `<name>.xml` is sent, with
        # {{BASE}} replaced, and gzipped on the fly when `.xml.gz` was asked for.
        if gzipped:
            stored = self.site_dir / "sitemap" / f"{name}.xml.gz"
            if stored.is_file():
                return Reply(200, stored.read_bytes(), {"Content-Type": "application/x-gzip"})
        reply = self._file(f"sitemap/{name}.xml", "application/xml; charset=utf-8", substitute=True)
        if gzipped and reply.status == 200:
            return Reply(200, gzip.compress(reply.body, mtime=0), {"Content-Type": "application/x-gzip"})
        return reply

    def precompress(self) -> None:
        """Gzip every article page now (with `gzip_pages`), not as each is first asked for: a
        benchmark's first crawl then finds the server as its later ones do."""
        for folder, pattern in (("pages", "*.html"), ("legacy", "*.htm")):
            for path in sorted((self.site_dir / folder).glob(pattern)):
                self._page(f"{folder}/{path.name}", "text/html", "gzip")

    def _page(self, relative: str, content_type: str, accept_encoding: str) -> Reply:
        if not (self.gzip_pages and "gzip" in accept_encoding.lower()):
            return self._file(relative, content_type)
        try:
            stat = (self.site_dir / relative).stat()
        except OSError:
            return self._file(relative, content_type)
        key = (relative, stat.st_mtime_ns, stat.st_size)  # a page rewritten is compressed again
        with self._lock:
            gzipped = self._gzipped.get(key)
        if gzipped is None:
            reply = self._file(relative, content_type)
            if reply.status != 200:
                return reply
            gzipped = gzip.compress(reply.body, compresslevel=6, mtime=0)
            with self._lock:
                self._gzipped[key] = gzipped
        return Reply(200, gzipped, {"Content-Type": content_type, "Content-Encoding": "gzip",
                                    "Vary": "Accept-Encoding"})

    def _file(self, relative: str, content_type: str, substitute: bool = False) -> Reply:
        path = self.site_dir / relative
        if not path.is_file():
            return _not_found()
        data = path.read_bytes()
        if substitute:
            data = data.replace(BASE_PLACEHOLDER, self.base_url.encode("ascii"))
        return Reply(200, data, {"Content-Type": content_type})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # concurrency tests open many connections at once
    fixture: FixtureServer


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 with a Content-Length on every answer: keep-alive works for Scrapy and requests.
    protocol_version = "HTTP/1.1"
    server_version = "qq-fixture/1.0"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    server: _HTTPServer

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log is in `FixtureServer.requests`."""

    def _answer(self) -> None:
        fixture = self.server.fixture
        parts = urlsplit(self.path)
        body = self._read_body()
        record = Logged(
            self.command, parts.path, parts.query, dict(self.headers.items()), body, time.monotonic()
        )
        fixture._begin(record)
        try:
            reply = fixture._scripted(parts.path) or fixture._route(
                self.command, parts.path, body, self.headers.get("Accept-Encoding", ""))
            if reply.delay > 0:
                time.sleep(reply.delay)
            if reply.reset:
                self._drop_connection()
            else:
                self._send(reply)
        except OSError:
            # The client gave up first (a timeout test): there is nobody left to answer.
            self.close_connection = True
        finally:
            fixture._end(record)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked_body(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(chunks)

    def _send(self, reply: Reply) -> None:
        body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        headers = list((reply.headers or {}).items())
        given = {name.lower() for name, _ in headers}
        if "content-type" not in given:
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        if "content-length" not in given:
            headers.append(("Content-Length", str(len(body))))
        self.send_response(reply.status, _reason(reply.status))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and reply.trickle:
            for index in range(len(body)):
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                time.sleep(reply.trickle)
        elif self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _drop_connection(self) -> None:
        # Linger 0 makes the close send RST: the client sees "connection reset by peer". The
        # socket really closes when the handler lets go of its reader, before any FIN is sent.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"  # qq's own codes (567 rate limited, ...) have no standard phrase


def _not_found() -> Reply:
    return Reply(404, b"<html><head><title>404</title></head><body><h1>404 Not Found</h1></body></html>")


def _bad_request(reason: str) -> Reply:
    body = json.dumps({"ret": -1, "msg": reason}).encode("utf-8")
    return Reply(400, body, {"Content-Type": "application/json; charset=utf-8"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m archiver.demo.server",
        description="Serve the bundled fake qq.com site on this machine until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--site-dir", type=Path, default=DEFAULT_SITE_DIR, help="the site to serve")
    args = parser.parse_args(argv)
    # A process started in the background by a shell without job control (`cmd &` in a script,
    # a CI runner) inherits SIGINT ignored, and Python then leaves it ignored: this command's
    # contract is to serve until SIGINT, so it takes the signal back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with FixtureServer(args.site_dir, args.host, args.port) as server:
        try:  # Ctrl-C may come as soon as the first line is out
            print(f"Serving {server.site_dir} at {server.base_url} (Ctrl-C to stop)", flush=True)
            print("Point a crawl at it with:", flush=True)
            for name, value in server.settings().items():
                print(f"  -s {name}={value}", flush=True)
            # Short sleeps, not one endless wait: a signal that comes just before the main thread
            # blocks on a lock is not seen until the lock is released (never, for an Event no one
            # sets); after a sleep it is seen at the latest when the sleep ends.
            while True:
                time.sleep(_WAKE_SECONDS)
        except KeyboardInterrupt:
            pass
    return 0


_WAKE_SECONDS = 0.2


if __name__ == "__main__":
    raise SystemExit(main())
