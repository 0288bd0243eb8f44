"""`archiver run`: the crawl as an unattended, incremental, bounded cron job (the README says what
it does: the lock, the limits, the refresh, STATE_DIR/last-run.json and run.log)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from archiver.crawl import check_folders, run_crawl
from archiver.lock import EX_TEMPFAIL, LOCK_FILE, LockHeld, RunLock
from archiver.stats import DELETED, failure_reason, run_counts, summary_line
from archiver.ids import ArticleRef
from archiver.store import ArchiveStore, StoreError, check_writable, write_file_atomically

logger = logging.getLogger(__name__)

LAST_RUN_FILE = "last-run.json"
LOG_FILE = "run.log"
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# Kept in last-run.json: enough to see what broke without copying a whole log.
MAX_ERRORS_KEPT = 50
_DATE_LINE = re.compile(r'^date:\s*"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})"\s*$', re.MULTILINE)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CrawlNotStarted(RuntimeError):
    """The spider could not be created (Scrapy logs why)."""


class RunInterrupted(Exception):
    """SIGINT or SIGTERM arrived while the run was not crawling: whatever ran stops at once."""


def run_job(settings, spider_args: dict) -> int:
    """`archiver run`: 0 when the run succeeded, 1 when it failed, 75 when another is active."""
    state_dir = Path(settings.get("STATE_DIR"))
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(state_dir / LOCK_FILE)
        lock.acquire()
    except LockHeld as held:
        print(f"archiver run: another run is active ({held}); not starting", file=sys.stderr)
        return EX_TEMPFAIL
    except OSError as error:
        print(f"archiver run: FAILED: STATE_DIR {state_dir} cannot be written: {error.strerror or error}",
              file=sys.stderr)
        return 1
    try:
        # Nothing could be recorded, not even the run's log: one line, before anything is fetched.
        check_writable(state_dir, "STATE_DIR")
    except StoreError as error:
        print(f"archiver run: FAILED: {error}", file=sys.stderr)
        return 1
    else:
        return _Run(settings, state_dir).execute(spider_args)
    finally:
        lock.release()


class _Run:
    """One locked run: crawl, refresh, judge, record, report; `finish` happens exactly once.
    `signum` is the first SIGINT or SIGTERM it receives: during the crawl Scrapy's own handlers stop
    it (gracefully, then at once on a second signal); outside the crawl (starting, refreshing) it
    raises RunInterrupted, which ends even a download under way: the run stops promptly, interrupted."""

    def __init__(self, settings, state_dir: Path):
        self.settings = settings
        self.state_dir = state_dir
        # Taken now: with LOG_STDOUT, Scrapy replaces sys.stdout with its log as it sets the crawl up.
        self.out, self.err = sys.stdout, sys.stderr
        self.started = dt.datetime.now().astimezone()
        self.clock = time.monotonic()
        self.time_limit = settings.getfloat("RUN_TIME_LIMIT")
        self.deadline = self.clock + self.time_limit if self.time_limit > 0 else None
        self.crawler = None
        self.watchdog: threading.Timer | None = None
        self.signum: int | None = None
        self._finish_lock = threading.Lock()
        self._finished = False

    def execute(self, spider_args: dict) -> int:
        settings = self.settings
        self.errors = _ErrorCollector()
        self.file_log = _install_file_log(settings, self.state_dir)
        logging.root.addHandler(self.errors)
        settings.set("CLOSESPIDER_TIMEOUT", max(0.0, self.time_limit), priority="cmdline")
        settings.set("CLOSESPIDER_ITEMCOUNT", max(0, settings.getint("RUN_ITEM_LIMIT")), priority="cmdline")
        logger.info("run started (pid %d), spider arguments %s", os.getpid(), spider_args or "{}")
        self._arm_watchdog()
        counts = refresh = None
        try:
            self.stop_at_once()
            # As the spider does, but before the crawl starts: a clean failure, not a traceback.
            check_folders(settings)
            counts, finish_reason, crawl_failure = _crawl(settings, spider_args, self.keep_crawler)
            self.stop_at_once()
            if self.signum is None:
                refresh = _refresh(settings, self.started, self.deadline)
            problems = run_problems(crawl_failure, counts, refresh, finish_reason, discovering=_discovers(spider_args))
        except RunInterrupted:
            finish_reason, problems = "interrupted", []
        except (StoreError, CrawlNotStarted) as error:
            logger.error("%s", error)
            counts, finish_reason, refresh, problems = None, "not_started", None, [str(error)]
        except Exception as error:  # the run must still record and say that it failed
            logger.exception("run crashed")
            counts, finish_reason, refresh = None, "crashed", None
            problems = [f"the run crashed: {type(error).__name__}: {error}"]
        finally:
            for signum in SIGNALS:  # the run is recorded whole
                signal.signal(signum, signal.SIG_IGN)
            if self.watchdog is not None:
                self.watchdog.cancel()
        if self.signum is not None:
            name = signal.Signals(self.signum).name
            finish_reason, problems = "interrupted", [f"interrupted by {name} ({finish_reason})"]
        status = self.finish(counts, refresh, finish_reason, problems)
        if self.signum is not None and status is not None:
            return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as a shell reports them
        return 1 if status is None else status  # None: the hard stop finished it, as a failure

    def stop_at_once(self) -> None:
        def handler(signum, frame):
            self.signum = self.signum or signum
            raise RunInterrupted(signal.Signals(signum).name)

        for signum in SIGNALS:
            signal.signal(signum, handler)

    def keep_crawler(self, crawler) -> None:
        """As the crawler is made: a crawl stopped at the hard time limit can still be counted."""
        from scrapy import signals

        self.crawler = crawler
        crawler.signals.connect(self.watch_crawl, signal=signals.engine_started)

    def watch_crawl(self) -> None:
        """Called as the engine starts, when Scrapy's handlers are in place: they stay in charge. The
        spider has just opened, and CLOSESPIDER_TIMEOUT counts from then: so does the run's time limit."""
        for signum in SIGNALS:
            def handler(received, frame, scrapys=signal.getsignal(signum)):
                self.signum = self.signum or received
                if callable(scrapys):
                    scrapys(received, frame)
            signal.signal(signum, handler)
        if self.deadline is not None:
            self.deadline = time.monotonic() + self.time_limit
            self._arm_watchdog()

    def _arm_watchdog(self) -> None:
        """The hard limit. CLOSESPIDER_TIMEOUT lets in-flight downloads (and retry back-offs)
        finish; a run still going DOWNLOAD_TIMEOUT seconds after its deadline is ended."""
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.deadline is not None:
            grace = max(1.0, self.settings.getfloat("DOWNLOAD_TIMEOUT"))
            self.watchdog = threading.Timer(max(0.0, self.deadline - time.monotonic()) + grace, self._hard_stop)
            self.watchdog.daemon = True
            self.watchdog.start()

    def _hard_stop(self) -> None:
        try:
            stats = self.crawler.stats if self.crawler is not None else None
        except RuntimeError:  # the crawl had not started
            stats = None
        elapsed = time.monotonic() - self.clock
        problems = [f"the run was still going {elapsed:.0f} s after its {self.time_limit:g} s time limit"]
        if stats is not None and failure_reason(stats):
            problems.append(failure_reason(stats))
        status = self.finish(run_counts(stats) if stats is not None else None, None, "killed_after_time_limit",
                             problems)
        if status is not None:
            os._exit(status)  # the reactor waits for downloads that may never end: no clean way out

    def finish(self, counts: dict | None, refresh: dict | None, finish_reason: str, problems: list[str]) -> int | None:
        """Record and report the run; None when it was already finished (by the other thread)."""
        with self._finish_lock:
            if self._finished:
                return None
            self._finished = True
            for problem in problems:
                logger.error("run failed: %s", problem)
            record = {
                "started": self.started.isoformat(timespec="seconds"),
                "ended": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "duration_seconds": round(time.monotonic() - self.clock, 3),
                "finish_reason": finish_reason,
                "ok": not problems,
                "counts": counts,
                "refresh": refresh,
                "problems": problems,
                "errors": list(self.errors.messages),
                "pid": os.getpid(),
                "host": socket.gethostname(),
            }
            line = run_summary_line(counts, refresh, finish_reason)
            logger.info("%s", line)
            logging.root.removeHandler(self.errors)
            logging.root.removeHandler(self.file_log)
            self.file_log.close()
            try:  # atomically, like the archive: a reader never sees half a file
                write_file_atomically(self.state_dir / LAST_RUN_FILE, (json.dumps(
                    record, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), prefix=".last-run-")
            except OSError as error:
                problems = [*problems, f"cannot write {LAST_RUN_FILE}: {error.strerror or error}"]
            print(line, file=self.out, flush=True)
            for problem in problems:
                print(f"archiver run: FAILED: {problem}", file=self.err)
            self.err.flush()
            return 1 if problems else 0


def _crawl(settings, spider_args: dict, on_created) -> tuple[dict, str, str | None]:
    """Run the spider in this process: its counts, why it ended, and why it failed (as `scrapy crawl`)."""
    crawler = run_crawl(settings, on_created=on_created, **spider_args)
    try:
        stats = crawler.stats
    except RuntimeError:  # Scrapy has logged why the spider could not start
        raise CrawlNotStarted("the crawl could not start (see the log)") from None
    return run_counts(stats), stats.get_value("finish_reason") or "unknown", failure_reason(stats)


def _discovers(spider_args: dict) -> bool:
    """Whether the crawl discovers articles (feed, sitemap), rather than only fetching given URLs."""
    discover = spider_args.get("discover")
    return not spider_args.get("url") if discover is None else bool(discover.strip(", "))


def recent_articles(store: ArchiveStore, hours: float, now: dt.datetime, written_since: float) -> list[ArticleRef]:
    """Archived articles published within `hours` of `now` (Beijing time, as the files keep it),
    except those written at or after `written_since` (a time.time(): this run's own); by id."""
    cutoff = now.astimezone(BEIJING).replace(tzinfo=None) - dt.timedelta(hours=hours)
    recent = []
    for article_id in store.ids():
        ref = ArticleRef(article_id)
        # The id carries the publication day: no need to open older files.
        day = ref.published_date
        if day is not None and day < cutoff.date() - dt.timedelta(days=1):
            continue
        path = store.path_for(ref)
        try:
            if path.stat().st_mtime >= written_since:
                continue
            with path.open(encoding="utf-8") as handle:
                head = handle.read(4096)
            match = _DATE_LINE.search(head)
            if match is None:
                logger.warning("refresh: %s has no date line; left untouched", path)
            elif dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S") >= cutoff:
                recent.append(ref)
        except (OSError, ValueError) as error:  # not UTF-8, an impossible date: left as it is
            logger.warning("refresh: %s cannot be read (%s); left untouched", path, error)
    return sorted(recent, key=lambda ref: ref.article_id)


def _refresh(settings, started: dt.datetime, deadline: float | None) -> dict | None:
    """Fetch recently published articles again; the counts of what became of them."""
    hours = settings.getfloat("REFRESH_HOURS")
    if hours <= 0:
        return None
    from archiver.fetch import ArticleFetcher

    store = ArchiveStore(settings.get("ARCHIVE_DIR"))
    refs = recent_articles(store, hours, dt.datetime.now(dt.timezone.utc), started.timestamp())
    counts = {"checked": 0, "updated": 0, "unchanged": 0, "deleted": 0, "failed": 0, "not_reached": 0}
    logger.info("refresh: %d archived articles published within %g hours", len(refs), hours)
    try:
        with ArticleFetcher(settings, store=store, deadline=deadline) as fetcher:
            for ref in refs:
                if deadline is not None and time.monotonic() >= deadline:
                    logger.warning("refresh: time limit reached, %d articles not checked",
                                   len(refs) - counts["checked"])
                    break
                result = fetcher.fetch(ref)
                counts["checked"] += 1
                if result.status == "unchanged":
                    counts["unchanged"] += 1
                    logger.debug("refresh: %s", result.line())
                elif result.ok:  # updated (or archived anew, had the file gone meanwhile)
                    counts["updated"] += 1
                    logger.info("refresh: %s", result.line())
                else:
                    counts["deleted" if result.status == DELETED else "failed"] += 1
                    logger.warning("refresh: %s", result.line())
    except RunInterrupted as signal_name:  # the run records itself as interrupted
        logger.warning("refresh: stopped by %s, %d articles not checked", signal_name, len(refs) - counts["checked"])
    counts["not_reached"] = len(refs) - counts["checked"]
    return counts


def run_problems(crawl_failure: str | None, counts: dict, refresh: dict | None, finish_reason: str,
                 discovering: bool) -> list[str]:
    """Why the run failed, for cron mail or a monitor: the crawl's own verdict (`crawl_failure`),
    nothing discovered at all, or most refreshed articles unreadable; empty when it did not."""
    problems = [crawl_failure] if crawl_failure else []
    if discovering and not counts["discovered"] and not counts["errors"]:
        problems.append(f"no article was discovered (the crawl ended: {finish_reason})")
    if refresh and refresh["failed"] * 2 > refresh["checked"]:
        problems.append(f"{refresh['failed']} of {refresh['checked']} refreshed articles could not be fetched or read")
    return problems


def run_summary_line(counts: dict | None, refresh: dict | None, finish_reason: str) -> str:
    if counts is None:
        return f"qq-archiver: run {finish_reason}"
    line = f"{summary_line(counts)} [{finish_reason}]"
    if refresh is not None:
        line += (f"; refreshed {refresh['checked']} (updated {refresh['updated']}, unchanged "
                 f"{refresh['unchanged']}, deleted {refresh['deleted']}, failed {refresh['failed']})")
    return line


class _ErrorCollector(logging.Handler):
    """Keeps the messages of ERROR records for last-run.json."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < MAX_ERRORS_KEPT:
            try:
                self.messages.append(record.getMessage()[:1000])
            except Exception:  # a bad log call must not break the run's record
                self.messages.append(str(record.msg)[:1000])


def _install_file_log(settings, state_dir: Path) -> logging.Handler:
    handler = logging.handlers.RotatingFileHandler(
        state_dir / LOG_FILE, maxBytes=max(0, settings.getint("LOG_ROTATE_BYTES")),
        backupCount=max(0, settings.getint("LOG_ROTATE_COUNT")), encoding="utf-8")
    handler.setLevel(settings.get("RUN_LOG_LEVEL"))
    handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
    logging.root.addHandler(handler)
    # Scrapy does the same when the crawl starts; before that the run's own lines would be lost.
    logging.root.setLevel(logging.NOTSET)
    return handler
