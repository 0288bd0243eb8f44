"""WarcCaptureMiddleware that adds the CPU time capture spends to the crawl's stats, for
bench/warc_overhead.py: `warc/cpu_seconds`, the thread time inside the middleware (building each
exchange, digests, gzip, writing), a figure the other processes on a shared machine do not blur."""

from __future__ import annotations

import time

from archiver.warc import WarcCaptureMiddleware


class TimedWarcCapture(WarcCaptureMiddleware):
    def process_response(self, request, response):
        started = time.thread_time()
        try:
            return super().process_response(request, response)
        finally:
            self.stats.inc_value("warc/cpu_seconds", time.thread_time() - started)
