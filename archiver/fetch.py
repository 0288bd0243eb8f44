"""`archiver fetch` (and `archiver run`'s refresh): articles downloaded one at a time with requests,
retried with tenacity, then read and stored by the spider's own code, so both write the same file."""

from __future__ import annotations

import random
import sys
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TextIO

import requests
import urllib3
from tenacity import (Retrying, retry_if_exception_type, stop_after_attempt, stop_any, stop_before_delay,
                      wait_exponential, wait_random_exponential)

from archiver.archive import NotArchivable, archive_article, check_archivable, with_known_thumbnail
from archiver.ids import (ArticleRef, NotAnArticle, OffSite, endpoint_hosts, is_deleted_page, parse_article_ref,
                          redirect_target)
from archiver.items import Listing
from archiver.reading import ArticleGone, EmptyArticle, PageError, read_article
from archiver.render import render_document
from archiver.stats import DELETED, FAILED, STORED
from archiver.store import ArchiveStore, StoreError
from archiver.warc import Exchange, decode_body, exchange_from_requests, open_capture

GONE_STATUSES = (404, 410)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Besides archiver.stats' words: the document was printed (--stdout), not stored.
PRINTED = "printed"
_CHUNK = 64 * 1024


class FetchError(Exception):
    """An article page that could not be downloaded; the message says why."""


class TemporaryFailure(FetchError):
    """A failure worth retrying: the connection, a timeout, 5xx, 429, 567."""


class DeletedAtSource(FetchError):
    """404/410, or a redirect to the deleted-article page."""


@dataclass(frozen=True)
class PageResponse:
    url: str
    body: bytes
    exchange: Exchange | None = None  # for the WARC capture, when it is on


@dataclass(frozen=True)
class FetchResult:
    """What became of one article: `status` is archived, updated, unchanged, printed, deleted
    or failed; `label` is its id (or the input, when that names no article)."""

    label: str
    status: str
    detail: str = ""
    document: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in STORED or self.status == PRINTED

    def line(self) -> str:
        return f"{self.status} {self.label}" + (f" ({self.detail})" if self.detail else "")


class ArticleFetcher(AbstractContextManager):
    """Downloads, reads and stores articles; `deadline` (a time.monotonic() value) bounds every
    download and retry, so that a refresh never outlasts the run's time limit."""

    def __init__(self, settings, store: ArchiveStore | None = None, deadline: float | None = None):
        self.store = store if store is not None else ArchiveStore(settings.get("ARCHIVE_DIR"))
        self.deadline = deadline
        self.extra_hosts = endpoint_hosts(settings)
        self.article_url = settings.get("QQ_ARTICLE_URL")
        self.legacy_article_url = settings.get("QQ_LEGACY_ARTICLE_URL")
        self.timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        self.max_redirects = settings.getint("REDIRECT_MAX_TIMES")
        self.retry_statuses = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        stops = [stop_after_attempt(max(1, settings.getint("FETCH_RETRY_ATTEMPTS"))),
                 stop_before_delay(settings.getfloat("FETCH_RETRY_MAX_SECONDS"))]
        if deadline is not None:  # no retry whose wait would end after the deadline
            stops.append(lambda state: time.monotonic() + state.upcoming_sleep >= deadline)
        base, cap = settings.getfloat("RETRY_BACKOFF_BASE") / 2, settings.getfloat("RETRY_BACKOFF_MAX") / 2
        # Equal jitter, as the spider's BackoffRetryMiddleware: between half and all of
        # RETRY_BACKOFF_BASE * 2**(attempt-1), capped at RETRY_BACKOFF_MAX.
        self.retrying = Retrying(
            retry=retry_if_exception_type(TemporaryFailure), stop=stop_any(*stops), reraise=True, sleep=time.sleep,
            wait=wait_exponential(multiplier=base, max=cap) + wait_random_exponential(multiplier=base, max=cap))
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.delay_jitter = _delay_jitter(settings)
        self._last_fetch: float | None = None
        # Raw capture, as the crawl's: `archiver rebuild` can re-read what fetch received too.
        self.capture = open_capture(settings)
        self.session = requests.Session()
        # requests would otherwise read proxies and .netrc from the environment; Scrapy's
        # settings are the only configuration here.
        self.session.trust_env = False
        self.session.headers.clear()
        self.session.headers.update(settings.getdict("DEFAULT_REQUEST_HEADERS"))
        self.session.headers["User-Agent"] = settings.get("USER_AGENT")
        self.session.headers.setdefault("Accept-Encoding", "gzip, deflate")

    def __exit__(self, *exc_info) -> None:
        self.session.close()
        self.store.sync()
        if self.capture is not None:
            self.capture.close()

    def fetch(self, ref: ArticleRef, write: bool = True) -> FetchResult:
        """Download, read and store one article (or render it only, when `write` is false)."""
        label = ref.article_id
        self._pace()
        try:
            response = self.download(ref.fetch_url(self.article_url, self.legacy_article_url))
        except DeletedAtSource as error:
            return self._deleted(ref, error)
        except FetchError as error:
            return FetchResult(label, FAILED, str(error))
        if self.capture is not None and response.exchange is not None:
            try:
                self.capture.write_exchange(response.exchange, Listing(ref=ref, source="fetch"))
            except OSError as error:  # as in the crawl: said once, and the article is stored all the same
                sys.stderr.write(f"archiver fetch: cannot write the WARC capture ({error.strerror or error}); "
                                 "capture stops\n")
                self.capture = None
        try:
            article = read_article(response.body, response.url, ref=ref, extra_hosts=self.extra_hosts)
        except ArticleGone as error:
            return self._deleted(ref, error)
        except EmptyArticle as error:
            return FetchResult(label, FAILED, f"{error}; not archived")
        except (PageError, NotAnArticle) as error:
            return FetchResult(label, FAILED, f"unreadable page: {error}")
        except Exception as error:  # one bad page must not end a run over many; it is reported
            return FetchResult(label, FAILED, f"unreadable page: {type(error).__name__}: {error}")
        try:
            check_archivable(article)  # the spider's rule: never a worse file than the one kept
        except NotArchivable as refused:
            return FetchResult(label, FAILED, str(refused).split(": ", 1)[-1])
        if not write:
            document = render_document(with_known_thumbnail(self.store.find(article.ref), article))
            return FetchResult(label, PRINTED, document=document)
        try:
            outcome = archive_article(self.store, article)
        except StoreError as error:
            return FetchResult(label, FAILED, f"cannot store: {error}")
        return FetchResult(label, outcome.value, str(self.store.path_for(ref)))

    def _deleted(self, ref: ArticleRef, error: Exception) -> FetchResult:
        kept = "its archived file is kept as it was" if ref in self.store else "nothing archived"
        return FetchResult(ref.article_id, DELETED, f"{error}; {kept}")

    def _pace(self) -> None:
        """DOWNLOAD_DELAY between articles, randomised as Scrapy does."""
        if self._last_fetch is not None and self.delay > 0:
            delay = self.delay * random.uniform(1 - self.delay_jitter, 1 + self.delay_jitter)
            time.sleep(max(0.0, self._last_fetch + delay - time.monotonic()))
        self._last_fetch = time.monotonic()

    def download(self, url: str) -> PageResponse:
        """The page at `url`, retrying temporary failures; raises FetchError or DeletedAtSource."""
        try:
            return self.retrying(self._download_once, url)
        except TemporaryFailure as error:
            attempts = self.retrying.statistics["attempt_number"]
            raise TemporaryFailure(f"{error}, {attempts} attempt{'s' if attempts != 1 else ''}") from None

    def _download_once(self, url: str) -> PageResponse:
        for _ in range(self.max_redirects + 1):
            started = time.monotonic()
            try:
                response = self.session.get(url, timeout=self._timeout(), allow_redirects=False, stream=True)
            except requests.Timeout as error:
                raise TemporaryFailure(f"{url}: timed out ({type(error).__name__})") from None
            except requests.RequestException as error:
                raise TemporaryFailure(f"{url}: {_connection_reason(error)}") from None
            with response:
                status = response.status_code
                if status in REDIRECT_STATUSES and response.headers.get("Location"):
                    url = self._redirect_target(url, response.headers["Location"])
                    continue
                if status in GONE_STATUSES:
                    raise DeletedAtSource(f"HTTP {status}: deleted at the source")
                if status >= 500 or status in self.retry_statuses:
                    raise TemporaryFailure(f"HTTP {status}")
                if not 200 <= status < 300:
                    raise FetchError(f"HTTP {status} from {url}")
                received = self._read_body(url, response, started)
                try:
                    body = decode_body(received, response.headers.get("Content-Encoding"), self.max_size)
                except ValueError as error:
                    raise FetchError(f"{url}: {error}") from None
                # Captured as received, Content-Encoding and all, as the crawl captures.
                exchange = exchange_from_requests(response, received) if self.capture is not None else None
                return PageResponse(url, body, exchange)
        raise FetchError(f"more than {self.max_redirects} redirects from {url}")

    def _redirect_target(self, url: str, location: str) -> str:
        try:
            target = redirect_target(url, location, self.extra_hosts)
        except OffSite as error:
            raise FetchError(f"redirected off the site: {error}") from None
        if is_deleted_page(target):
            raise DeletedAtSource(f"redirected to the deleted-article page ({target})")
        return target

    def _read_body(self, url: str, response: requests.Response, started: float) -> bytes:
        """The body as sent (decode_body undoes its Content-Encoding), de-chunked, within
        DOWNLOAD_MAXSIZE and within DOWNLOAD_TIMEOUT of `started` as a whole: requests' timeout
        bounds each read only, so a page trickling a byte a second is cut off here."""
        declared = response.headers.get("Content-Length", "")
        if self.max_size and declared.isdigit() and int(declared) > self.max_size:
            raise FetchError(f"{url}: {declared} bytes, more than DOWNLOAD_MAXSIZE ({self.max_size})")
        limit = min(self.timeout, self._timeout() + time.monotonic() - started)
        # urllib3's shutdown() ends a read blocked in another thread.
        watchdog = threading.Timer(max(0.0, started + limit - time.monotonic()), response.raw.shutdown)
        watchdog.daemon = True
        watchdog.start()
        body = bytearray()
        try:
            for chunk in response.raw.stream(_CHUNK, decode_content=False):
                body += chunk
                if self.max_size and len(body) > self.max_size:
                    raise FetchError(f"{url}: more than DOWNLOAD_MAXSIZE ({self.max_size} bytes)")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            if time.monotonic() - started < limit:  # else cut off by the watchdog: said below
                raise TemporaryFailure(f"{url}: {_connection_reason(error)} while reading") from None
        finally:
            watchdog.cancel()
        if time.monotonic() - started >= limit:
            raise TemporaryFailure(f"{url}: the download took longer than {limit:g} s")
        return bytes(body)

    def _timeout(self) -> float:
        if self.deadline is None:
            return self.timeout
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TemporaryFailure("out of time")
        return min(self.timeout, remaining)


def _delay_jitter(settings) -> float:
    """Scrapy's rule: DOWNLOAD_DELAY_JITTER, or RANDOMIZE_DOWNLOAD_DELAY (±50% or none) if set higher."""
    randomize = settings.getpriority("RANDOMIZE_DOWNLOAD_DELAY") or 0
    if randomize > (settings.getpriority("DOWNLOAD_DELAY_JITTER") or 0):
        return 0.5 if settings.getbool("RANDOMIZE_DOWNLOAD_DELAY") else 0.0
    return min(1.0, max(0.0, settings.getfloat("DOWNLOAD_DELAY_JITTER")))


def _connection_reason(error: Exception) -> str:
    """The innermost cause of a requests error, in a few words."""
    cause = error
    for _ in range(10):  # urllib3 nests a few levels deep; never follow a cycle forever
        cause = cause.__cause__ or cause.__context__ or cause
    text = str(cause) or type(cause).__name__
    return f"{type(error).__name__}: {text[:200]}"


# --- the command ------------------------------------------------------------------------------

class ProgressBar:
    """A one-line progress bar on a terminal (stderr); nothing at all when it is not one."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO):
        self.total, self.stream = total, stream
        try:
            self.enabled = total > 1 and stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def show(self, done: int, label: str) -> None:
        if self.enabled:
            filled = self.WIDTH * done // self.total
            self.clear(f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {done}/{self.total} {label}")

    def clear(self, line: str = "") -> None:
        if self.enabled:
            print("\r\x1b[K" + line, end="", file=self.stream, flush=True)


def fetch_articles(texts: list[str], settings, to_stdout: bool = False) -> int:
    """`archiver fetch`: one line per article (to stderr with `--stdout`, where stdout carries the
    documents); 0 only when every article was stored (or printed)."""
    report = sys.stderr if to_stdout else sys.stdout
    if not all(text.strip() for text in texts):
        print("archiver fetch: an empty article URL or id was given", file=sys.stderr)
        return 2
    progress = ProgressBar(len(texts), sys.stderr)
    all_ok = bool(texts)
    with ArticleFetcher(settings) as fetcher:
        if not to_stdout:
            try:
                fetcher.store.ensure_writable()  # before any request, not after each
            except StoreError as error:
                print(f"archiver fetch: {error}", file=sys.stderr)
                return 1
        seen: set[str] = set()
        for done, text in enumerate(texts):
            try:
                ref = parse_article_ref(text, fetcher.extra_hosts)
            except (OffSite, NotAnArticle) as error:
                result = FetchResult(text, FAILED, str(error))
            else:
                if ref.article_id in seen:  # two inputs naming one article: one fetch, one line
                    continue
                seen.add(ref.article_id)
                progress.show(done, ref.article_id)
                result = fetcher.fetch(ref, write=not to_stdout)
            progress.clear()
            if result.document is not None:
                print(result.document, end="", flush=True)
            print(result.line(), file=report, flush=True)
            all_ok = all_ok and result.ok
    return 0 if all_ok else 1
