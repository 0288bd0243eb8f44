"""`scrapy crawl qq [-a discover=feed,sitemap] [-a url=URL_OR_ID,...] [-a since=YYYY-MM-DD] [-a refetch=1]`
(the channel feeds by default): decides what to fetch. Reading pages and storing them happen elsewhere."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections import deque
from contextlib import suppress
from collections.abc import Iterator

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import JsonRequest

from archiver.stats import SKIP_LABELS, record_deleted, record_failure
from archiver.crawl import check_folders
from archiver.feeds import FeedError, feed_request_body, parse_feed
from archiver.ids import OffSite, endpoint_hosts, is_deleted_page, redirect_target, site_url
from archiver.items import Listing, Skip, listing_or_skip
from archiver.reading import ArticleGone, EmptyArticle, PageError, read_article
from archiver.pipelines import store_for
from archiver.sitemaps import ChildSitemap, SitemapError, read_sitemap
from archiver.store import StoreError
from archiver.unarchivable import REASONS as UNARCHIVABLE_REASONS, UnarchivablePages

logger = logging.getLogger(__name__)

DISCOVERY_SOURCES = ("feed", "sitemap")


def parse_since(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"since must be a date as YYYY-MM-DD, not {text!r}") from None


def listing_date(listing: Listing) -> dt.date | None:
    """The date an article was published (or last changed), as discovery knows it."""
    published = listing.published.strip()
    if len(published) >= 10:
        with suppress(ValueError):
            return dt.date.fromisoformat(published[:10])
    return listing.ref.published_date


class QQSpider(scrapy.Spider):
    name = "qq"

    def __init__(self, discover: str | None = None, url: str | None = None, since: str | None = None,
                 refetch: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.urls = [part.strip() for part in (url or "").split(",") if part.strip()]
        if discover is None:
            discover = "" if self.urls else "feed"
        self.discover = [part.strip() for part in discover.split(",") if part.strip()]
        unknown = [part for part in self.discover if part not in DISCOVERY_SOURCES]
        if unknown:
            raise ValueError(f"discover takes {', '.join(DISCOVERY_SOURCES)}; not {', '.join(unknown)}")
        self.since = parse_since(since)
        self.refetch = str(refetch or "").lower() in ("1", "true", "yes")
        self._seen_ids: set[str] = set()
        self._seen_skips: set[tuple[str, str]] = set()
        # Discovery, streamed: feed pages and sitemaps not yet asked for (one at a time), the listings
        # they gave not yet requested, the endpoints that failed and the channels that ran out this run.
        self._discovery: deque[scrapy.Request] = deque()
        self._listings: deque[Iterator[Listing | Skip | ChildSitemap]] = deque()
        self._failed_endpoints: set[str] = set()
        self._finished_channels: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.extra_hosts = endpoint_hosts(settings)
        spider.shared = False
        spider.article_url = settings.get("QQ_ARTICLE_URL")
        spider.legacy_article_url = settings.get("QQ_LEGACY_ARTICLE_URL")
        spider.store = store_for(crawler)
        spider.batch = max(1, settings.getint("QQ_DISCOVERY_BATCH"))
        spider.unarchivable = None  # Redis's when REDIS_URL is set, else STATE_DIR's file
        try:
            check_folders(settings)
            spider.fatal = spider._join_backfill(settings) if settings.get("REDIS_URL") else None
        except StoreError as error:
            spider.fatal = str(error)
        if spider.unarchivable is None:
            spider.unarchivable = UnarchivablePages.load(settings.get("STATE_DIR"),
                                                         settings.getfloat("UNARCHIVABLE_RETRY_DAYS"))
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.unarchivable.save, signal=signals.spider_closed)
        return spider

    def _join_backfill(self, settings) -> str | None:
        """With REDIS_URL: the unarchivable memory is Redis's, and a sitemap crawl is a worker of the shared
        backfill (scheduler and seen-set in Redis, discovery queued there whole). Why the run cannot start, or None."""
        from redis.exceptions import RedisError
        from archiver import backfill

        try:
            server = backfill.connect(settings)
        except RedisError as error:
            return backfill.unreachable(settings, error)
        self.unarchivable = backfill.SharedUnarchivable(server, backfill.keys(settings)["unarchivable"],
                                                        settings.getfloat("UNARCHIVABLE_RETRY_DAYS"))
        self.shared = "sitemap" in self.discover and "feed" not in self.discover  # the feed job stays on one machine
        if self.shared:
            settings.setdict(backfill.SHARED_SETTINGS, priority="spider")
            self.batch = sys.maxsize
        return None

    async def start(self):
        if self.fatal:  # one line, nothing fetched; the run fails
            logger.error("%s: nothing is fetched", self.fatal)
            self.crawler.stats.set_value("qq/fatal", self.fatal)
            return
        for text in self.urls:
            request = self._consider(listing_or_skip(text, self.extra_hosts, source="url"))
            if request is not None:
                yield request
        settings = self.settings
        if "feed" in self.discover:
            for channel in settings.getlist("QQ_FEED_CHANNELS"):
                for page in range(1, settings.getint("QQ_FEED_PAGES") + 1):
                    self._discovery.append(self._endpoint_request(
                        "feed", settings.get("QQ_FEED_URL"), f"{channel} page {page}", meta={"channel": channel},
                        method="POST", body=feed_request_body(channel, page, settings.getint("QQ_FEED_ITEM_COUNT"))))
        if "sitemap" in self.discover:
            self._discovery.append(self._endpoint_request("sitemap", settings.get("QQ_SITEMAP_URL"), "index"))
        for request in self._next_requests():
            yield request

    def _endpoint_request(self, kind: str, url: str, label: str, meta=None, **kwargs) -> scrapy.Request:
        """A feed or sitemap request: less time and fewer retries than an article's, so a dead endpoint fails fast."""
        settings = self.settings
        request_class = JsonRequest if kind == "feed" else scrapy.Request
        callback = self.parse_feed if kind == "feed" else self.parse_sitemap
        # In the shared backfill, Redis's seen-set lets one worker only read each sitemap, and
        # articles go first: the queue holds one sitemap's articles at a time, not the backlog.
        shared = self.shared and kind == "sitemap"
        return request_class(url, callback=callback, errback=self.endpoint_failed, dont_filter=not shared,
                             priority=-1 if shared else 0, meta={
            "endpoint": kind, "endpoint_label": f"{kind} {label}", **(meta or {}),
            "download_timeout": min(settings.getfloat("QQ_ENDPOINT_TIMEOUT"), settings.getfloat("DOWNLOAD_TIMEOUT")),
            "max_retry_times": settings.getint("QQ_ENDPOINT_RETRY_TIMES")}, **kwargs)

    # --- discovery -----------------------------------------------------------------------------

    def parse_feed(self, response):
        meta = response.meta
        try:
            entries = parse_feed(response.body, f"{meta['endpoint_label']} ({response.url})", self.extra_hosts)
        except FeedError as error:
            self._endpoint_error("feed", str(error))
            entries = []
        if not entries:  # the channel has no more pages
            self._finished_channels.add(meta["channel"])
        self._listings.append(iter(entries))
        yield from self._next_requests()

    def parse_sitemap(self, response):
        self._listings.append(read_sitemap(response.body, response.url, self.extra_hosts))
        yield from self._next_requests()

    def _next_listing(self) -> Listing | Skip | None:
        """The next listing discovery has read and not yet considered; child sitemaps met on the way are queued."""
        while self._listings:
            try:
                entry = next(self._listings[0], None)
            except SitemapError as error:
                self._endpoint_error("sitemap", str(error))
                entry = None
            if entry is None:  # this feed page or sitemap is done (or broke off)
                self._listings.popleft()
            elif not isinstance(entry, ChildSitemap):
                return entry
            else:
                try:
                    child = site_url(entry.url, self.extra_hosts).url
                    self._discovery.append(self._endpoint_request("sitemap", child, "child"))
                except OffSite:
                    self._skip(Skip("offsite", f"sitemap outside qq.com: {entry.url}"))
        return None

    def _next_requests(self):
        """Up to QQ_DISCOVERY_BATCH article requests from what discovery has read; once that runs out, the next
        feed page or sitemap (one at a time: a backlog is never queued whole; a failed endpoint is asked no more)."""
        requested = 0
        while requested < self.batch and (entry := self._next_listing()) is not None:
            request = self._consider(entry)
            if request is not None:
                requested += 1
                yield request
        while self.shared and self._discovery:  # the shared queue holds them
            yield self._discovery.popleft()
        while not self._listings and self._discovery:
            request = self._discovery.popleft()
            if request.meta["endpoint"] not in self._failed_endpoints and \
                    request.meta.get("channel") not in self._finished_channels:
                yield request
                return

    def _idle(self):
        """The queue ran dry: the next batch, or the next feed page or sitemap, if any is left."""
        requests = list(self._next_requests())
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def endpoint_failed(self, failure):
        """A feed page or sitemap that could not be downloaded, retries and all: a feed is not asked again
        this run, nor are sitemaps once their host does not answer (an HTTP error does not stop the next)."""
        request = failure.request
        kind = request.meta["endpoint"]
        response = getattr(failure.value, "response", None)
        reason = f"HTTP {response.status}" if response is not None else (
            failure.getErrorMessage() or failure.type.__name__)
        message = f"{request.meta['endpoint_label']} ({request.url}) failed: {reason}"
        if kind == "feed" or response is None:
            self._failed_endpoints.add(kind)
            left = sum(1 for queued in self._discovery if queued.meta["endpoint"] == kind)
            message += f"; the {kind} is not asked again this run ({left} request(s) dropped)"
        self._endpoint_error(kind, message)
        yield from self._next_requests()

    def _endpoint_error(self, kind: str, message: str) -> None:
        """A feed or sitemap that could not be read: loud, and counted so the run fails."""
        self.crawler.stats.inc_value("qq/errors")
        self.crawler.stats.inc_value(f"qq/errors/{kind}")
        logger.error(message)

    def _consider(self, entry: Listing | Skip):
        """The request that fetches a discovered article, or None when it is skipped."""
        if isinstance(entry, Skip):
            self._skip(entry)
            return None
        article_id = entry.ref.article_id
        if article_id in self._seen_ids:
            return None
        self._seen_ids.add(article_id)
        self.crawler.stats.inc_value("qq/discovered")
        published = listing_date(entry) if self.since is not None else None
        if published is not None and published < self.since:
            skip = Skip("too_old", f"{article_id}: published {published}, before {self.since}")
        elif entry.ref in self.store and not self.refetch:
            skip = Skip("known", f"{article_id}: already archived")
        elif entry.source != "url" and not self.refetch and (reason := self.unarchivable.waiting(article_id)):
            skip = Skip(reason, f"{article_id}: {UNARCHIVABLE_REASONS[reason]}")
        else:
            return scrapy.Request(
                entry.ref.fetch_url(self.article_url, self.legacy_article_url), callback=self.parse_article,
                errback=self.article_failed, meta=self._article_meta(entry))
        self._skip(skip, counted=True)
        return None

    @staticmethod
    def _article_meta(listing: Listing, redirects: int = 0) -> dict:
        # Redirects are followed here, not by Scrapy: one to the deleted-article page means gone, at no request's cost.
        return {"listing": listing, "redirects": redirects, "dont_redirect": True,
                "handle_httpstatus_list": [301, 302, 303, 307, 308, 404, 410]}

    def _skip(self, skip: Skip, counted: bool = False) -> None:
        """Count and log a skip once; `counted` when discovery already counted the article (seen once
        by its id, nothing more is remembered of it: a backlog of known articles costs no memory)."""
        if not counted:
            key = (skip.reason, skip.detail)
            if key in self._seen_skips:
                return
            self._seen_skips.add(key)
            self.crawler.stats.inc_value("qq/discovered")
        self.crawler.stats.inc_value(f"qq/skipped/{skip.reason}")
        level = logging.DEBUG if skip.reason == "known" else logging.INFO
        logger.log(level, "skipped (%s): %s", SKIP_LABELS[skip.reason], skip.detail)

    # --- articles ------------------------------------------------------------------------------

    def parse_article(self, response):
        listing: Listing = response.meta["listing"]
        if response.status in (404, 410):
            self._article_deleted(listing, f"HTTP {response.status}")
            return
        if 300 <= response.status < 400:
            yield from self._follow_redirect(response, listing)
            return
        try:
            article = read_article(response.body, response.url, ref=listing.ref, listing=listing,
                                   extra_hosts=self.extra_hosts)
        except ArticleGone as error:
            self._article_deleted(listing, str(error))
        except EmptyArticle as error:
            self._article_failed(listing, "no_body", str(error))
        except PageError as error:
            self._article_failed(listing, "unreadable", str(error))
        except Exception as error:  # one bad page must not end the crawl; it is counted and logged
            logger.exception("cannot read %s", response.url)
            self._article_failed(listing, "unreadable", f"{type(error).__name__}: {error}")
        else:
            yield article

    def _follow_redirect(self, response, listing: Listing):
        try:
            location = redirect_target(response.url, response.headers.get("Location", b"").decode("latin-1"),
                                       self.extra_hosts)
        except OffSite as error:
            self._article_failed(listing, "download", f"redirected off the site: {error}")
            return
        redirects = response.meta.get("redirects", 0) + 1
        if is_deleted_page(location):
            self._article_deleted(listing, f"redirected to the deleted-article page ({location})")
        elif redirects > self.settings.getint("REDIRECT_MAX_TIMES"):
            self._article_failed(listing, "download", f"too many redirects ({location})")
        else:
            yield response.request.replace(url=location, meta=self._article_meta(listing, redirects),
                                           dont_filter=True)

    def article_failed(self, failure):
        listing: Listing = failure.request.meta["listing"]
        response = getattr(failure.value, "response", None)
        reason = f"HTTP {response.status}" if response is not None else (
            failure.getErrorMessage() or failure.type.__name__)
        self._article_failed(listing, "download", f"{failure.request.url}: {reason}")

    def _article_failed(self, listing: Listing, reason: str, detail: str) -> None:
        record_failure(self.crawler.stats, reason)
        self.unarchivable.remember(listing.ref.article_id, reason)  # if empty
        logger.warning("failed %s (%s): %s", listing.ref.article_id, reason.replace("_", " "), detail)

    def _article_deleted(self, listing: Listing, detail: str) -> None:
        """Deleted at the source: nothing is written, an archived file stays as it was."""
        record_deleted(self.crawler.stats)
        self.unarchivable.remember(listing.ref.article_id, "gone")
        logger.warning("deleted %s: %s", listing.ref.article_id, detail)
