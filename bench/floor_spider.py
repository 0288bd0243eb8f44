"""Scrapy's own floor: fetch the benchmark's pages and do nothing with them.

Run from the repo root (so the project's settings apply, as they do to `scrapy crawl qq`):

    scrapy runspider bench/floor_spider.py -a urls=URLS_FILE -a base=http://127.0.0.1:PORT -s ...

`URLS_FILE` has one URL a line, `{{BASE}}` standing for `base`.
"""

from __future__ import annotations

from pathlib import Path

import scrapy


class FloorSpider(scrapy.Spider):
    name = "bench_floor"

    def __init__(self, urls: str, base: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.url_file = Path(urls)
        self.base = base.rstrip("/")

    async def start(self):
        with self.url_file.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield scrapy.Request(line.strip().replace("{{BASE}}", self.base), callback=self.parse)

    def parse(self, response):
        return None
