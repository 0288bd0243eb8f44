"""What became of each article, in one vocabulary (docs/ARCHITECTURE.md, "Outcomes"): the counters,
the stats line every run ends with, `archiver fetch`'s lines and `last-run.json` all use it."""

from __future__ import annotations

import logging
from enum import Enum

from scrapy import signals

logger = logging.getLogger(__name__)


class Outcome(str, Enum):
    """What storing an article did."""

    ARCHIVED = "archived"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


STORED = tuple(outcome.value for outcome in Outcome)
DELETED = "deleted"
FAILED = "failed"
SKIP_LABELS = {"known": "known", "not_article": "not an article", "offsite": "off-site", "too_old": "too old",
               "gone": "deleted last time", "no_body": "no body last time"}
FAILURE_REASONS = {"download": "the page could not be downloaded", "unreadable": "the page could not be read",
                   "no_body": "the page has no body text", "no_title": "the page has no title",
                   "store": "the archive could not be written"}


def record_failure(stats, reason: str) -> None:
    """Count a failed article, in total and by reason (`qq/failed/<reason>`)."""
    stats.inc_value(f"qq/{FAILED}")
    stats.inc_value(f"qq/{FAILED}/{reason}")


def record_deleted(stats) -> None:
    stats.inc_value(f"qq/{DELETED}")


def run_counts(stats) -> dict:
    """The counts of one run, as the stats line and `last-run.json` give them."""
    get = lambda key: int(stats.get_value(key, 0) or 0)  # noqa: E731
    failed_by_reason = {reason: get(f"qq/{FAILED}/{reason}") for reason in FAILURE_REASONS}
    return {"discovered": get("qq/discovered"),
            "skipped": {reason: get(f"qq/skipped/{reason}") for reason in SKIP_LABELS},
            **{outcome: get(f"qq/{outcome}") for outcome in (*STORED, DELETED, FAILED)},
            "failed_by_reason": {reason: number for reason, number in failed_by_reason.items() if number},
            "errors": get("qq/errors")}


def failure_reason(stats) -> str | None:
    """Why a finished run counts as failed, or None when it did its job: a feed or sitemap that
    could not be read, an archive that could not be written, or more than half of the attempted
    articles failing (downloads given up after their retries as much as pages that did not read;
    articles deleted at the source are not failures): each must wake someone up."""
    if stats.get_value("qq/fatal"):  # the archive or Redis could not be reached
        return stats.get_value("qq/fatal")
    counts = run_counts(stats)
    failed, by_reason = counts[FAILED], counts["failed_by_reason"]
    if stats.get_value("finish_reason") == "store_error" or by_reason.get("store"):
        return "the archive could not be written (see the log)"
    if counts["errors"]:
        return f"{counts['errors']} feed or sitemap request(s) could not be read (see the log)"
    attempted = failed + counts[DELETED] + sum(counts[outcome] for outcome in STORED)
    if failed * 2 <= attempted:
        return None
    read_failures = failed - by_reason.get("download", 0)
    if read_failures * 2 > attempted:
        return f"{read_failures} of {attempted} fetched articles could not be read: has the page layout changed?"
    listed = ", ".join(f"{reason} {number}" for reason, number in by_reason.items())
    return f"{failed} of {attempted} attempted articles failed ({listed})"


def summary_line(counts: dict) -> str:
    skipped = counts["skipped"]
    by_reason = ", ".join(f"{label} {skipped[reason]}" for reason, label in SKIP_LABELS.items())
    return (f"qq-archiver: discovered {counts['discovered']}, skipped {sum(skipped.values())} ({by_reason}), "
            f"archived {counts['archived']}, updated {counts['updated']}, unchanged {counts['unchanged']}, "
            f"deleted {counts[DELETED]}, failed {counts[FAILED]}")


class RunSummary:
    """Logs the stats line when the crawl closes."""

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls()
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider, reason):
        logger.info("%s [%s]", summary_line(run_counts(spider.crawler.stats)), reason)
