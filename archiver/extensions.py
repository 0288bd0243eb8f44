"""The one stats line every run ends with, and the counters behind it."""

from __future__ import annotations

import logging

from scrapy import signals

logger = logging.getLogger(__name__)

SKIP_REASONS = ("known", "not_article", "offsite", "too_old")
OUTCOMES = ("archived", "updated", "unchanged")


def record_failure(stats, reason: str) -> None:
    """Count a failed article, in total and by reason (`qq/failed/<reason>`)."""
    stats.inc_value("qq/failed")
    stats.inc_value(f"qq/failed/{reason}")


def run_counts(stats) -> dict[str, int]:
    """The counts of one run, as the stats line and `last-run.json` give them."""
    get = lambda key: int(stats.get_value(key, 0) or 0)  # noqa: E731
    counts = {"discovered": get("qq/discovered")}
    counts["skipped"] = {reason: get(f"qq/skipped/{reason}") for reason in SKIP_REASONS}
    counts.update({outcome: get(f"qq/{outcome}") for outcome in OUTCOMES})
    counts["failed"] = get("qq/failed")
    counts["errors"] = get("qq/errors")
    return counts


def summary_line(counts: dict) -> str:
    skipped = counts["skipped"]
    return (f"qq-archiver: discovered {counts['discovered']}, skipped {sum(skipped.values())} "
            f"(known {skipped['known']}, not an article {skipped['not_article']}, "
            f"off-site {skipped['offsite']}, too old {skipped['too_old']}), "
            f"archived {counts['archived']}, updated {counts['updated']}, "
            f"unchanged {counts['unchanged']}, failed {counts['failed']}")


class RunSummary:
    """Logs the stats line when the crawl closes."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler.stats)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider, reason):
        logger.info("%s [%s]", summary_line(run_counts(self.stats)), reason)
