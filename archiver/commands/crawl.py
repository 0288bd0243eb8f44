"""`scrapy crawl`, as Scrapy's own, except that a failed run exits 1.

Scrapy exits 0 whatever happened after start-up; an unattended archiver must not: a feed that
no longer answers, an archive that cannot be written or a page layout that no longer reads is
reported on stderr by the run and in its exit status.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl

from archiver.stats import failure_reason


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        crawlers = []
        create = self._create_crawler

        def create_and_keep(spidercls):
            crawler = create(spidercls)
            crawlers.append(crawler)
            return crawler

        self._create_crawler = create_and_keep
        super().run(args, opts)
        for crawler in crawlers:
            try:
                stats = crawler.stats
            except RuntimeError:  # the crawl never started: Scrapy has already exited 1
                continue
            reason = failure_reason(stats)
            if reason:
                print(f"qq-archiver: the run failed: {reason}", file=sys.stderr)
                self.exitcode = 1
