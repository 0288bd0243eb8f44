"""Running the real `scrapy crawl qq` against a local fixture server, for the tests."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conftest import REPO

# Politeness is a live default; tests that are not about it turn it down to run fast.
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "RETRY_BACKOFF_BASE": "0.05",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "4"}
FIXTURE_FEEDS = {"QQ_FEED_CHANNELS": "news_news_finance,news_news_tech", "QQ_FEED_PAGES": "2"}
_SUMMARY = re.compile(
    r"qq-archiver: discovered (\d+), skipped (\d+) \(known (\d+), not an article (\d+), off-site (\d+), "
    r"too old (\d+), deleted last time (\d+), no body last time (\d+)\), archived (\d+), updated (\d+), "
    r"unchanged (\d+), deleted (\d+), failed (\d+)")
_SUMMARY_KEYS = ("discovered", "skipped", "known", "not_article", "offsite", "too_old", "gone", "no_body", "archived",
                 "updated", "unchanged", "deleted", "failed")


@dataclass
class CrawlResult:
    returncode: int
    log: str
    counts: dict[str, int]


# Removed when the test session ends.
_STATE_ROOT = tempfile.TemporaryDirectory(prefix="qq-archiver-test-state-")


def crawl_command(server, archive: Path, *spider_args: str, fast: bool = True, **settings: str) -> list[str]:
    """`scrapy crawl qq` pointed at the fixture server by setting overrides alone."""
    overrides = {**server.settings(), **FIXTURE_FEEDS, **(FAST if fast else {}), "ARCHIVE_DIR": str(archive),
                 # WARC captures (STATE_DIR/warc) of tests not about them: a throwaway folder.
                 "STATE_DIR": tempfile.mkdtemp(dir=_STATE_ROOT.name),
                 "LOG_LEVEL": "DEBUG", **settings}
    command = [sys.executable, "-m", "scrapy", "crawl", "qq"]
    for name, value in overrides.items():
        command += ["-s", f"{name}={value}"]
    for argument in spider_args:
        command += ["-a", argument]
    return command


def run_crawl(server, archive: Path, *spider_args: str, timeout: float = 120, **settings) -> subprocess.CompletedProcess:
    return subprocess.run(crawl_command(server, archive, *spider_args, **settings), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def crawl(server, archive: Path, *spider_args: str, fast: bool = True, timeout: float = 120,
          **settings: str) -> CrawlResult:
    """Run the crawl to its end; its stats line must be in the log."""
    done = run_crawl(server, archive, *spider_args, fast=fast, timeout=timeout, **settings)
    match = _SUMMARY.search(done.stderr)
    assert match, f"no stats line in the crawl log:\n{done.stderr[-4000:]}"
    return CrawlResult(done.returncode, done.stderr, dict(zip(_SUMMARY_KEYS, map(int, match.groups()))))


def archived_files(archive: Path) -> dict[str, Path]:
    folder = archive / "zh-CN" / "news" / "qq"
    return {path.name.removesuffix(".zh-CN.md"): path for path in folder.glob("*.md")} if folder.is_dir() else {}
