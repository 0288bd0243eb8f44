"""A local stand-in for qq.com: serves the bundled fixture site over HTTP, for `archiver demo` and
the benchmark (the tests extend it with scripted faults and a request log: tests/stand_in.py)."""

from __future__ import annotations

import gzip
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SITE_DIR = Path(__file__).resolve().parent / "site"
# Replaced by the server's base URL in sitemaps and robots.txt, so they can point at this server.
BASE_PLACEHOLDER = b"{{BASE}}"

# Only these characters reach a file name: no request can name a path outside the site.
_CHANNEL_ID = re.compile(r"[a-z0-9_]+")
_SITEMAP_PATH = re.compile(r"/sitemap/([A-Za-z0-9_-]+)\.xml(\.gz)?")
_ARTICLE_PATH = re.compile(r"/rain/a/([0-9A-Za-z_]+)")
_LEGACY_PATH = re.compile(r"/([a-z][a-z0-9]*)/a/([0-9]{8})/([0-9]{6})\.htm")
_EMPTY_FEED = b'{"ret":0,"data":[]}'


@dataclass(frozen=True)
class Reply:
    """One answer; `Content-Type` defaults to HTML and `Content-Length` to the body's length."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] | None = None


_NOT_FOUND = Reply(404, b"<html><head><title>404</title></head><body><h1>404 Not Found</h1></body></html>")


class FixtureServer:
    """Serves a fixture site on `host`:`port` (0: any free port) from a daemon thread: the routes
    of `route`, files of the site folder, anything else a 404. With `gzip_pages`, article pages go
    out gzipped to a client that accepts it, as qq's servers send them (each compressed once)."""

    def __init__(self, site_dir: str | Path = DEFAULT_SITE_DIR, host: str = "127.0.0.1", port: int = 0,
                 gzip_pages: bool = False):
        self.site_dir = Path(site_dir)
        self.host, self.port = host, port
        self.gzip_pages = gzip_pages
        self._gzipped: dict[tuple[str, int, int], bytes] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self):
        if self._httpd is not None:
            raise RuntimeError("the fixture server is already running")
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.fixture = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fixture-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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
        return {"QQ_FEED_URL": f"{base}/web_feed/getPCList", "QQ_SITEMAP_URL": f"{base}/sitemap/index.xml",
                "QQ_ARTICLE_URL": f"{base}/rain/a/{{id}}",
                "QQ_LEGACY_ARTICLE_URL": f"{base}/{{channel}}/a/{{date}}/{{number}}.htm"}

    def precompress(self) -> None:
        """Gzip every article page now (with `gzip_pages`), not as each is first asked for: a
        benchmark's first crawl then finds the server as its later ones do."""
        for folder, pattern in (("pages", "*.html"), ("legacy", "*.htm")):
            for path in sorted((self.site_dir / folder).glob(pattern)):
                self._page(f"{folder}/{path.name}", "text/html", "gzip")

    def handle(self, handler: _Handler) -> None:
        """Answer one request (called on the handler's thread)."""
        handler.send(self.route(handler.command, urlsplit(handler.path).path, handler.read_body(),
                                handler.headers.get("Accept-Encoding", "")))

    def route(self, method: str, path: str, body: bytes, accept_encoding: str = "") -> Reply:
        """The feed (`feed/<channel_id>/<flush_num>.json`, or an empty one), robots.txt, sitemaps,
        `/rain/a/<id>` (`pages/<id>.html`) and legacy GBK pages (`legacy/<channel>_<date>_<n>.htm`)."""
        if method in ("GET", "HEAD"):
            if path == "/robots.txt":
                return self._file("robots.txt", "text/plain; charset=utf-8", substitute=True)
            if match := _SITEMAP_PATH.fullmatch(path):  # a `.xml.gz` is the `.xml` gzipped on the fly
                reply = self._file(f"sitemap/{match.group(1)}.xml", "application/xml; charset=utf-8", substitute=True)
                if match.group(2) and reply.status == 200:
                    return Reply(200, gzip.compress(reply.body, mtime=0), {"Content-Type": "application/x-gzip"})
                return reply
            if match := _ARTICLE_PATH.fullmatch(path):
                return self._page(f"pages/{match.group(1)}.html", "text/html; charset=utf-8", accept_encoding)
            if match := _LEGACY_PATH.fullmatch(path):
                # Old qq servers sent no charset: the page's own meta tag (gb2312) says it.
                return self._page(f"legacy/{'_'.join(match.groups())}.htm", "text/html", accept_encoding)
        elif method == "POST" and path == "/web_feed/getPCList":
            return self._feed(body)
        return _NOT_FOUND

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
        return Reply(200, page.read_bytes() if page.is_file() else _EMPTY_FEED,
                     {"Content-Type": "application/json; charset=utf-8"})

    def _page(self, relative: str, content_type: str, accept_encoding: str) -> Reply:
        path = self.site_dir / relative
        if not (self.gzip_pages and "gzip" in accept_encoding.lower()) or not path.is_file():
            return self._file(relative, content_type)
        stat = path.stat()
        key = (relative, stat.st_mtime_ns, stat.st_size)  # a page rewritten is compressed again
        if key not in self._gzipped:  # two threads may both compress it: to the same bytes
            self._gzipped[key] = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        return Reply(200, self._gzipped[key], {"Content-Type": content_type, "Content-Encoding": "gzip",
                                               "Vary": "Accept-Encoding"})

    def _file(self, relative: str, content_type: str, substitute: bool = False) -> Reply:
        path = self.site_dir / relative
        if not path.is_file():
            return _NOT_FOUND
        data = path.read_bytes()
        if substitute:
            data = data.replace(BASE_PLACEHOLDER, self.base_url.encode("ascii"))
        return Reply(200, data, {"Content-Type": content_type})


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 64  # concurrency tests open many connections at once
    fixture: FixtureServer


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 with a Content-Length on every answer: keep-alive works for Scrapy and requests.
    protocol_version = "HTTP/1.1"
    server_version = "qq-fixture/1.0"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.fixture.handle(self)

    do_HEAD = do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def send(self, reply: Reply) -> None:
        self.send_head(reply, len(reply.body))
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def send_head(self, reply: Reply, length: int) -> None:
        """The status line and headers of `reply`, whose body is `length` bytes."""
        headers = dict(reply.headers or {})
        given = {name.lower() for name in headers}
        for name, value in (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(length))):
            if name.lower() not in given:
                headers[name] = value
        # qq's own codes (567 rate limited, ...) have no standard phrase.
        self.send_response(reply.status, self.responses.get(reply.status, ("Unknown",))[0])
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


def _bad_request(reason: str) -> Reply:
    return Reply(400, json.dumps({"ret": -1, "msg": reason}).encode("utf-8"),
                 {"Content-Type": "application/json; charset=utf-8"})
