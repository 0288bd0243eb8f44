"""Downloader middleware: every request kept on qq.com and the configured endpoints; retries that back off."""

from __future__ import annotations

import logging
import random
import time

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor, task

from archiver.ids import OffSite, endpoint_hosts, image_url, site_url

logger = logging.getLogger(__name__)
# A request's meta key: it fetches an image, which may live on Tencent's image hosts too.
IMAGE_REQUEST = "qq_image"


class SiteOnlyMiddleware:
    """Refuses, before anything is sent, any request off qq.com and the configured endpoints
    (images: off Tencent's image hosts), as `archiver.ids` reads hosts. Every request passes here,
    a redirect's too (Scrapy's RedirectMiddleware schedules it anew), whatever its dont_filter."""

    def __init__(self, extra_hosts: frozenset[str], image_domains: list[str], stats):
        self.extra_hosts, self.image_domains, self.stats = extra_hosts, image_domains, stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(endpoint_hosts(settings), settings.getlist("IMAGE_HOST_DOMAINS"), crawler.stats)

    def process_request(self, request):
        try:
            if request.meta.get(IMAGE_REQUEST):
                image_url(request.url, self.image_domains, self.extra_hosts)
            else:
                site_url(request.url, self.extra_hosts)
        except OffSite as error:
            self.stats.inc_value("qq/offsite_requests")
            logger.warning("refused a request off the site: %s", error)
            raise IgnoreRequest(str(error)) from None


class CompressedAsBytesMiddleware:
    """Hands Scrapy's HttpCompressionMiddleware (590) a compressed response as a plain Response: its `replace()`
    reads `encoding`, which for a TextResponse with no charset (legacy GBK pages) guesses at the gzip bytes."""

    def process_response(self, request, response):
        if isinstance(response, TextResponse) and response.headers.get(b"Content-Encoding"):
            return Response(**{name: getattr(response, name) for name in Response.attributes})
        return response


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: a random delay up to base * 2**(attempt-1), capped."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same settings, same stats), backing off before each retry: a host
    that answered 5xx, 429 or qq's 567 (or whose connection failed) is paused as a whole, its download
    slot sending nothing more, the retry included, for the backoff's length. Where a host has no
    download delay at all (DOWNLOAD_DELAY 0, tests), only the retry waits."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX")

    async def process_response(self, request, response):
        result = super().process_response(request, response)
        if result is not response:
            await self._back_off(request, result)
        return result

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        if result is not None:
            await self._back_off(request, result)
        return result

    async def _back_off(self, request, retry_request) -> None:
        pause = backoff_delay(retry_request.meta.get("retry_times", 1), self.backoff_base, self.backoff_max)
        if pause <= 0:
            return
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        slot = downloader.slots.get(request.meta.get("download_slot")) if downloader is not None else None
        if slot is not None and slot.delay > 0:
            # The slot's next request waits its delay after `lastseen`: the whole host pauses.
            slot.lastseen = max(slot.lastseen, time.monotonic() + pause)
        else:
            await maybe_deferred_to_future(task.deferLater(reactor, pause, lambda: None))
