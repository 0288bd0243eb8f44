"""WarcCaptureMiddleware that adds the CPU time it spends to the crawl's stats (`warc/cpu_seconds`),
for bench/warc_overhead.py: a figure the other processes on a shared machine do not blur."""

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

    def spider_closed(self, spider, reason):
        started = time.thread_time()
        super().spider_closed(spider, reason)
        self.stats.inc_value("warc/cpu_seconds", time.thread_time() - started)
