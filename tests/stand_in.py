"""The demo's fixture server with what tests need besides: scripted answers per path (errors,
redirects, delays, dropped connections, a body a byte at a time), chunked request bodies, and a
log of the requests received, with how many were handled at once."""

from __future__ import annotations

import dataclasses
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.demo import server as demo
from archiver.demo.server import DEFAULT_SITE_DIR  # noqa: F401  (re-exported: the demo site)

# A scripted entry that lets the request through to the normal route.
PASS = "pass"


@dataclass(frozen=True)
class Reply(demo.Reply):
    """One scripted answer. `delay` seconds pass before anything is sent; `reset=True` drops the
    connection without answering; with `trickle`, the body goes a byte at a time, that far apart."""

    delay: float = 0.0
    reset: bool = False
    trickle: float = 0.0


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


class StandIn(demo.FixtureServer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._all_answered = threading.Condition(self._lock)
        self._scripts: dict[str, deque[Reply | str]] = {}
        self._log: list[Logged] = []
        self._in_flight = 0
        self._max_in_flight = 0

    def script(self, path: str, responses: list[Reply | str]) -> None:
        """Answer the next requests for `path` (query ignored) with `responses`, one each: a
        `Reply` or `"pass"` (serve normally). Then requests are served normally again. A new
        script for a path replaces the old one."""
        for entry in responses:
            if not (isinstance(entry, demo.Reply) or entry == PASS):
                raise TypeError(f"a scripted response is a Reply or {PASS!r}, not {entry!r}")
        with self._lock:
            self._scripts[urlsplit(path).path] = deque(responses)

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
        """Wait until every request received is answered and logged as such (a client has its
        answer a moment before). False if `timeout` seconds pass first."""
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

    def handle(self, handler) -> None:
        parts = urlsplit(handler.path)
        body = _read_chunked(handler) if "chunked" in handler.headers.get("Transfer-Encoding", "").lower() \
            else handler.read_body()
        record = Logged(handler.command, parts.path, parts.query, dict(handler.headers.items()), body,
                        time.monotonic())
        with self._lock:
            self._log.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            entries = self._scripts.get(parts.path)
            entry = entries.popleft() if entries else None
        try:
            reply = entry if isinstance(entry, demo.Reply) else self.route(
                handler.command, parts.path, body, handler.headers.get("Accept-Encoding", ""))
            time.sleep(getattr(reply, "delay", 0.0))
            if getattr(reply, "reset", False):
                # Linger 0: the close sends RST, and the client sees "connection reset by peer".
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                handler.close_connection = True
                handler.connection.close()
            else:
                self._send(handler, reply)
        except OSError:  # the client gave up first (a timeout test): nobody is left to answer
            handler.close_connection = True
        finally:
            with self._lock:
                record.finished = time.monotonic()
                self._in_flight -= 1
                if not self._in_flight:
                    self._all_answered.notify_all()

    @staticmethod
    def _send(handler, reply: demo.Reply) -> None:
        """A str body goes as UTF-8; with `trickle`, the body a byte at a time."""
        body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        pace = getattr(reply, "trickle", 0.0)
        if not pace:
            return handler.send(dataclasses.replace(reply, body=body))
        handler.send_head(reply, len(body))
        for index in range(len(body) if handler.command != "HEAD" else 0):
            handler.wfile.write(body[index:index + 1])
            handler.wfile.flush()
            time.sleep(pace)


def _read_chunked(handler) -> bytes:
    chunks = []
    while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()
    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
        pass  # trailer fields
    return b"".join(chunks)
