"""`scrapy crawl`, as Scrapy's own, except that a failed run exits 1: an unattended archiver must
not exit 0 when a feed no longer answers, the archive cannot be written or pages no longer read."""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl

from archiver.stats import failure_reason


class Command(ScrapyCrawl):
    def _create_crawler(self, spidercls):
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args, opts) -> None:
        super().run(args, opts)
        try:
            stats = self.crawler.stats
        except RuntimeError:  # the crawl never started: Scrapy has already exited 1
            return
        reason = failure_reason(stats)
        if reason:
            print(f"qq-archiver: the run failed: {reason}", file=sys.stderr)
            self.exitcode = 1
