"""WarcCaptureMiddleware that adds the CPU time capture costs the crawl's thread
(`time.thread_time()` inside the middleware: building the records, digests, gzip, writes) to the
crawl's stats as `warc/cpu_seconds`, for bench/warc_overhead.py."""

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
