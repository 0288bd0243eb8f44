"""WarcCaptureMiddleware that adds the CPU time capture spends to the crawl's stats, for
bench/warc_overhead.py: `warc/cpu_seconds` on the crawl's thread (building each exchange) and
`warc/thread_cpu_seconds` on the capture thread (digests, gzip, writing), figures the other
processes on a shared machine do not blur."""

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

    def _write(self, exchange, listing):
        started = time.thread_time()
        try:
            super()._write(exchange, listing)
        finally:
            self.stats.inc_value("warc/thread_cpu_seconds", time.thread_time() - started)
