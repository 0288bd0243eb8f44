"""Downloader middleware: retries that back off instead of hammering a site that said 'slow down',
and decompression that does not guess the charset of a body it is about to replace."""

from __future__ import annotations

import random
import zlib

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.gz import gunzip
from twisted.internet import reactor, task


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: a random delay up to base * 2**(attempt-1), capped."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same settings, same stats), waiting before each retry.

    The wait happens inside the download slot, so the host that answered 5xx, 429 or qq's 567
    gets no other request from us meanwhile.
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX")

    async def process_response(self, request, response):
        result = super().process_response(request, response)
        if result is not response:
            await self._wait(result)
        return result

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        if result is not None:
            await self._wait(result)
        return result

    async def _wait(self, retry_request) -> None:
        attempt = retry_request.meta.get("retry_times", 1)
        delay = backoff_delay(attempt, self.backoff_base, self.backoff_max)
        if delay > 0:
            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))


class DecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware (same settings, limits, stats and result), without its
    guess at the charset of the compressed body, and gunzipping a whole body in one call.

    Scrapy builds the decompressed response with `response.replace(...)`, which reads every
    attribute of the old one, `encoding` included: for a page whose Content-Type names no
    charset (qq's old GBK pages) that runs w3lib's and charset_normalizer's detection over the
    gzip bytes, to be thrown away (the new response guesses again, on the real body, if asked).
    That was ~1 ms of CPU a legacy page. Here the compressed response goes in as a plain
    Response, which has no encoding to read.
    """

    def process_response(self, request, response):
        if isinstance(response, TextResponse) and response.headers.get(b"Content-Encoding"):
            response = Response(**{name: getattr(response, name) for name in Response.attributes})
        return super().process_response(request, response)

    @staticmethod
    def _decode(body: bytes, encoding: bytes, max_size: int) -> bytes:
        if encoding in (b"gzip", b"x-gzip"):
            return gunzip_whole(body, max_size)
        return HttpCompressionMiddleware._decode(body, encoding, max_size)


def gunzip_whole(body: bytes, max_size: int = 0) -> bytes:
    """What Scrapy's `gunzip` returns, in one zlib call for the usual body: one whole gzip member
    within `max_size` (0: no limit). Scrapy's reads it through GzipFile in 64 KiB chunks, a tenth
    of a millisecond more a page. Anything else (damaged, cut short, more than one member,
    trailing bytes, too big) is Scrapy's `gunzip`'s to answer, as leniently as it does."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        decoded = inflater.decompress(body, max_size + 1) if max_size else inflater.decompress(body)
    except zlib.error:
        decoded = None
    if decoded is None or not inflater.eof or inflater.unused_data or (max_size and len(decoded) > max_size):
        return gunzip(body, max_size=max_size)
    return decoded
