"""WarcCaptureMiddleware that adds the time capture costs the crawl's thread to the crawl's stats,
for bench/warc_overhead.py: `warc/cpu_seconds`, the thread's CPU time inside the middleware
(building each exchange and handing it to the capture process), a figure the other processes on
a shared machine do not blur, and `warc/wall_seconds`, the wall time there (more than the CPU
time when the hand-over waits for a full pipe)."""

from __future__ import annotations

import time

from archiver.warc import WarcCaptureMiddleware


class TimedWarcCapture(WarcCaptureMiddleware):
    def process_response(self, request, response):
        started, started_wall = time.thread_time(), time.perf_counter()
        try:
            return super().process_response(request, response)
        finally:
            self.stats.inc_value("warc/cpu_seconds", time.thread_time() - started)
            self.stats.inc_value("warc/wall_seconds", time.perf_counter() - started_wall)
