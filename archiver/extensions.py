"""The one stats line every run ends with, the counters behind it, and the crawl process's
garbage collector."""

from __future__ import annotations

import gc
import logging

from scrapy import signals

logger = logging.getLogger(__name__)

SKIP_LABELS = {"known": "known", "not_article": "not an article", "offsite": "off-site", "too_old": "too old",
               "gone": "gone last time", "no_body": "no body last time"}
SKIP_REASONS = tuple(SKIP_LABELS)
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


# Failures that say nothing about the page layout: the article is gone, or the network failed.
_NOT_READING_FAILURES = ("gone", "download", "store")


def failure_reason(stats) -> str | None:
    """Why a finished run counts as failed, or None when it did its job.

    A feed or sitemap that could not be read, an archive that could not be written, or most of
    the fetched articles failing to read (a changed page layout): each must wake someone up.
    """
    get = lambda key: int(stats.get_value(key, 0) or 0)  # noqa: E731
    if stats.get_value("finish_reason") == "store_error" or get("qq/failed/store"):
        return "the archive could not be written (see the log)"
    if get("qq/errors"):
        return f"{get('qq/errors')} feed or sitemap request(s) could not be read (see the log)"
    read_failures = get("qq/failed") - sum(get(f"qq/failed/{reason}") for reason in _NOT_READING_FAILURES)
    read = sum(get(f"qq/{outcome}") for outcome in OUTCOMES)
    if read_failures >= 2 and read_failures > read:
        return f"{read_failures} of {read + read_failures} fetched articles could not be read: has the page layout changed?"
    return None


def summary_line(counts: dict) -> str:
    skipped = counts["skipped"]
    by_reason = ", ".join(f"{label} {skipped[reason]}" for reason, label in SKIP_LABELS.items())
    return (f"qq-archiver: discovered {counts['discovered']}, skipped {sum(skipped.values())} ({by_reason}), "
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


class GarbageCollection:
    """Python's cyclic garbage collector set for a long crawl while the engine runs (issue 5).

    What start-up built (modules, classes, Scrapy's and lxml's objects: nearly all that lives
    through the run) is collected once, then frozen out of later collections, and the youngest
    generation is collected after GC_THRESHOLDS[0] net new objects instead of Python's 700. Pages
    make short-lived objects that reference counting frees; the collections they caused went
    mostly to walking start-up's objects again. When the engine stops, the collector is as it
    was (a process that embeds the crawl keeps its own). An empty GC_THRESHOLDS leaves Python's
    collector alone.
    """

    def __init__(self, thresholds: list[int]):
        self.thresholds = thresholds
        self._before: tuple[int, ...] | None = None
        self._froze = False

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        values = crawler.settings.getlist("GC_THRESHOLDS")
        if not values:
            raise NotConfigured("GC_THRESHOLDS is empty")
        try:
            thresholds = [int(value) for value in values]
        except (TypeError, ValueError):
            thresholds = []
        if not 1 <= len(thresholds) <= 3 or min(thresholds) < 1:
            raise ValueError(f"GC_THRESHOLDS: one to three counts of at least 1, not {values}")
        extension = cls(thresholds)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_started(self):
        self._before = gc.get_threshold()
        # Objects someone else froze are theirs to unfreeze: then nothing is frozen here.
        if gc.isenabled() and not gc.get_freeze_count():
            gc.collect()
            gc.freeze()
            self._froze = True
        gc.set_threshold(*self.thresholds)

    def engine_stopped(self):
        if self._before is not None:
            gc.set_threshold(*self._before)
            self._before = None
        if self._froze:
            gc.unfreeze()
            self._froze = False
