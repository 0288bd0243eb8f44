"""`archiver run` against the local fixture server: the lock, the limits, the record, the exit status.

Each run is a real `python -m archiver run` process (Scrapy's reactor runs once per process).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stand_in import StandIn, Reply
from archiver.lock import EX_TEMPFAIL, LockHeld, RunLock
from archiver.runjob import BEIJING, recent_articles, run_problems
from archiver.store import ArchiveStore

NOW = dt.datetime.now(BEIJING)
TODAY = NOW.strftime("%Y%m%d")
# Ids of today: refreshable ones must carry a recent date.
FRESH_ID, SECOND_ID, GONE_ID = f"{TODAY}A00001" "00", f"{TODAY}A00002" "00", f"{TODAY}A00003" "00"
OLD_ID = "20240513A00GCM00"
RECENT = (NOW - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
LONG_AGO = "2024-05-13 06:16:25"
FEED_PATH = "/web_feed/getPCList"
OLD_TIME = 1_000_000_000


def article_page(article_id: str, pubtime: str, text: str = "新华社北京电，今天的新闻正文。") -> bytes:
    data = {"title": f"新闻 {article_id}", "pubtime": pubtime, "media": "新华社", "cms_id": article_id,
            "originContent": {"text": f"<p>{text}</p>"}}
    return (f"<html><head><title>新闻_腾讯新闻</title></head><body><script>window.DATA = "
            f"{json.dumps(data, ensure_ascii=False)};</script></body></html>").encode("utf-8")


def feed_page(entries: list[tuple[str, str]]) -> bytes:
    items = [{"id": article_id, "title": f"新闻 {article_id}", "articletype": "0", "publish_time": published,
              "link_info": {"url": f"https://new.qq.com/rain/a/{article_id}"},
              "pic_info": {"big_img": [f"https://inews.gtimg.com/newsapp_ls/0/{article_id}_640360/0"]}}
             for article_id, published in entries]
    return json.dumps({"ret": 0, "data": items}, ensure_ascii=False).encode("utf-8")


FEED = [(FRESH_ID, RECENT), (SECOND_ID, RECENT), (GONE_ID, RECENT)]


@pytest.fixture
def site(tmp_path) -> Path:
    root = tmp_path / "site"
    (root / "pages").mkdir(parents=True)
    (root / "feed" / "news_news_finance").mkdir(parents=True)
    (root / "feed" / "news_news_finance" / "1.json").write_bytes(feed_page(FEED))
    for article_id in (FRESH_ID, SECOND_ID):  # GONE_ID has no page: 404
        (root / "pages" / f"{article_id}.html").write_bytes(article_page(article_id, RECENT))
    return root


@pytest.fixture
def server(site):
    with StandIn(site) as running:
        yield running


def run_options(server: StandIn, tmp_path: Path, **extra) -> list[str]:
    values = dict(server.settings(), ARCHIVE_DIR=str(tmp_path / "content"), STATE_DIR=str(tmp_path / "state"),
                  QQ_FEED_CHANNELS="news_news_finance", QQ_FEED_PAGES=1, DOWNLOAD_DELAY=0,
                  AUTOTHROTTLE_ENABLED=False, RETRY_BACKOFF_BASE=0.01, RETRY_BACKOFF_MAX=0.05,
                  RETRY_TIMES=1, DOWNLOAD_TIMEOUT=5, FETCH_RETRY_MAX_SECONDS=5, LOG_LEVEL="WARNING")
    values.update(extra)
    options = ["run"]
    for name, value in values.items():
        options += ["-s", f"{name}={value}"]
    return options


def command(options: list[str]) -> list[str]:
    return [sys.executable, "-m", "archiver", *options]


def archiver_run(server, tmp_path, timeout: float = 40, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(command(run_options(server, tmp_path, **extra)), cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def start_run(server, tmp_path, **extra) -> subprocess.Popen:
    return subprocess.Popen(command(run_options(server, tmp_path, **extra)), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def last_run(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "state" / "last-run.json").read_text(encoding="utf-8"))


def wait_for_feed_request(server: StandIn, process: subprocess.Popen, seconds: float = 30) -> None:
    """Until the run (holding the lock by then) has asked for the feed; fails if it ended first."""
    deadline = time.monotonic() + seconds
    while server.count(FEED_PATH) < 1:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the run ended (status {process.returncode}) before asking for the feed:\n"
                        f"{out}\n{err[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail("the run did not ask for the feed in time")
        time.sleep(0.05)


def slow_feed(seconds: float) -> Reply:
    return Reply(200, feed_page(FEED), {"Content-Type": "application/json; charset=utf-8"}, delay=seconds)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def article_file(tmp_path: Path, article_id: str) -> Path:
    return tmp_path / "content" / "zh-CN" / "news" / "qq" / f"{article_id}.zh-CN.md"


# --- a run, and what it records --------------------------------------------------------------------

def test_a_run_archives_records_its_counts_and_logs(server, tmp_path):
    result = archiver_run(server, tmp_path, LOG_ROTATE_BYTES=3000, LOG_ROTATE_COUNT=2)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "qq-archiver: discovered 3, skipped 0 (known 0, not an article 0, off-site 0, too old 0, "
        "deleted last time 0, no body last time 0), archived 2, updated 0, unchanged 0, deleted 1, failed 0 [finished]"]
    record = last_run(tmp_path)
    assert record["ok"] is True and record["problems"] == [] and record["finish_reason"] == "finished"
    counts = record["counts"]
    assert (counts["discovered"], counts["archived"], counts["updated"], counts["unchanged"]) == (3, 2, 0, 0)
    assert (counts["deleted"], counts["failed"], counts["failed_by_reason"], counts["errors"]) == (1, 0, {}, 0)
    started, ended = (dt.datetime.fromisoformat(record[key]) for key in ("started", "ended"))
    assert started <= ended and record["duration_seconds"] >= 0
    assert article_file(tmp_path, FRESH_ID).is_file() and article_file(tmp_path, SECOND_ID).is_file()

    again = archiver_run(server, tmp_path, LOG_ROTATE_BYTES=3000, LOG_ROTATE_COUNT=2)
    assert again.returncode == 0, again.stderr
    counts = last_run(tmp_path)["counts"]
    # the deleted article is remembered (STATE_DIR/unarchivable.json): not fetched, not failed again
    assert (counts["skipped"]["known"], counts["skipped"]["gone"], counts["archived"], counts["failed"]) == (2, 1, 0, 0)
    state = tmp_path / "state"
    assert "discovered 3, skipped 3 (known 2" in (state / "run.log").read_text(encoding="utf-8")
    assert (state / "run.log.1").is_file()  # rotated at LOG_ROTATE_BYTES
    assert not (state / "run.log.3").exists()  # LOG_ROTATE_COUNT kept


def test_the_item_limit_ends_a_run(server, site, tmp_path):
    many = [(f"{TODAY}A0010{n}00", RECENT) for n in range(8)]
    (site / "feed" / "news_news_finance" / "1.json").write_bytes(feed_page(many))
    for article_id, _ in many:
        (site / "pages" / f"{article_id}.html").write_bytes(article_page(article_id, RECENT))
    result = archiver_run(server, tmp_path, RUN_ITEM_LIMIT=2, CONCURRENT_REQUESTS=1)
    assert result.returncode == 0, result.stderr
    record = last_run(tmp_path)
    assert record["finish_reason"] == "closespider_itemcount"
    assert 2 <= record["counts"]["archived"] < len(many)


# --- failing runs ----------------------------------------------------------------------------------

def test_an_unreachable_feed_exits_non_zero(server, tmp_path):
    result = archiver_run(server, tmp_path, QQ_FEED_URL=f"http://127.0.0.1:{free_port()}/web_feed/getPCList")
    assert result.returncode != 0
    assert "FAILED" in result.stderr and "feed" in result.stderr
    record = last_run(tmp_path)
    assert record["ok"] is False and record["counts"]["errors"] == 1
    assert any("feed" in message for message in record["errors"])


def test_an_unparseable_feed_exits_non_zero(server, tmp_path):
    server.script(FEED_PATH, [Reply(200, b"<html>maintenance</html>")])
    result = archiver_run(server, tmp_path)
    assert result.returncode != 0
    assert last_run(tmp_path)["counts"]["errors"] == 1


def test_most_articles_unreadable_exits_non_zero(server, site, tmp_path):
    for article_id in (FRESH_ID, SECOND_ID):  # a new page layout the reader does not know
        (site / "pages" / f"{article_id}.html").write_bytes(b"<html><body><div id='app'></div></body></html>")
    result = archiver_run(server, tmp_path)
    assert result.returncode != 0
    record = last_run(tmp_path)
    counts = record["counts"]
    assert (counts["archived"], counts["failed"], counts["deleted"]) == (0, 2, 1)
    assert any("2 of 3 fetched articles could not be read" in problem for problem in record["problems"])
    assert not (tmp_path / "content" / "zh-CN").exists() or not list((tmp_path / "content").rglob("*.md"))


def test_an_unwritable_archive_fails_before_the_crawl(server, tmp_path):
    (tmp_path / "content").write_text("a file, not a folder\n", encoding="utf-8")
    result = archiver_run(server, tmp_path)
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "cannot be written" in result.stderr
    assert last_run(tmp_path)["finish_reason"] == "not_started"
    assert server.count(FEED_PATH) == 0


# --- the lock --------------------------------------------------------------------------------------

def test_a_second_run_while_one_is_active_exits_75_at_once(server, tmp_path):
    server.script(FEED_PATH, [slow_feed(3)])
    first = start_run(server, tmp_path, DOWNLOAD_TIMEOUT=20)
    try:
        wait_for_feed_request(server, first)
        started = time.monotonic()
        second = subprocess.run(command(run_options(server, tmp_path)), cwd=tmp_path, capture_output=True,
                                text=True, timeout=30, stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        assert first.poll() is None, "the first run ended before the second was refused"
        assert second.returncode == EX_TEMPFAIL
        assert second.stdout == ""
        assert second.stderr.splitlines() == [second.stderr.strip()]
        assert f"pid {first.pid} on {socket.gethostname()}" in second.stderr
        assert elapsed < 5
        out, err = first.communicate(timeout=40)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    assert server.count(FEED_PATH) == 1  # one run asked for the feed
    assert last_run(tmp_path)["pid"] == first.pid


def test_a_killed_runs_lock_does_not_block_the_next(server, tmp_path):
    server.script(FEED_PATH, [slow_feed(30)])
    killed = start_run(server, tmp_path)
    wait_for_feed_request(server, killed)
    assert str(killed.pid) in (tmp_path / "state" / "run.lock").read_text(encoding="utf-8")
    killed.kill()
    killed.communicate(timeout=10)
    result = archiver_run(server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert last_run(tmp_path)["counts"]["archived"] == 2


def test_the_lock_names_its_holder(tmp_path):
    path = tmp_path / "run.lock"
    with RunLock(path):
        with pytest.raises(LockHeld, match=f"pid {os.getpid()} on "):
            RunLock(path).acquire()
    with RunLock(path):  # released on exit
        pass


# --- the time limit --------------------------------------------------------------------------------

@pytest.mark.parametrize("backoff, finish_reason", [
    (0.01, "closespider_timeout"),  # the in-flight request times out, the crawl closes
    (60, "killed_after_time_limit"),  # a retry back-off outlasts the limit: the process ends anyway
])
def test_the_time_limit_ends_a_run_against_a_server_that_never_answers(server, tmp_path, backoff,
                                                                       finish_reason):
    server.script(FEED_PATH, [Reply(delay=120)] * 10)
    started = time.monotonic()
    result = archiver_run(server, tmp_path, RUN_TIME_LIMIT=1, DOWNLOAD_TIMEOUT=2, RETRY_TIMES=5,
                          RETRY_BACKOFF_BASE=backoff, RETRY_BACKOFF_MAX=backoff)
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"the run took {elapsed:.1f} s"
    assert result.returncode != 0
    assert result.stdout.startswith("qq-archiver: discovered 0,"), result.stdout
    record = last_run(tmp_path)
    assert (record["ok"], record["finish_reason"]) == (False, finish_reason), record
    assert record["duration_seconds"] < 1 + 2 + 4  # the limit counts from the crawl's start: 4 s to start
    assert record["counts"]["archived"] == 0


# --- refreshing recent articles --------------------------------------------------------------------

def test_refresh_updates_recent_articles_that_changed_and_leaves_the_others(server, site, tmp_path):
    assert archiver_run(server, tmp_path).returncode == 0
    old_page = site / "pages" / f"{OLD_ID}.html"
    old_page.write_bytes(article_page(OLD_ID, LONG_AGO))
    old_file = article_file(tmp_path, OLD_ID)
    old_file.write_text(f'---\ntitle: "旧闻"\ndate: "{LONG_AGO}"\n---\n\n旧闻\n', encoding="utf-8")
    for article_id in (FRESH_ID, SECOND_ID, OLD_ID):
        os.utime(article_file(tmp_path, article_id), (OLD_TIME, OLD_TIME))
    (site / "pages" / f"{FRESH_ID}.html").write_bytes(article_page(FRESH_ID, RECENT, "更正后的正文。"))
    server.reset_log()

    result = archiver_run(server, tmp_path, REFRESH_HOURS=6)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("; refreshed 2 (updated 1, unchanged 1, deleted 0, failed 0)")
    assert last_run(tmp_path)["refresh"] == {"checked": 2, "updated": 1, "unchanged": 1, "deleted": 0,
                                             "failed": 0, "not_reached": 0}
    assert "更正后的正文。" in article_file(tmp_path, FRESH_ID).read_text(encoding="utf-8")
    assert article_file(tmp_path, SECOND_ID).stat().st_mtime == OLD_TIME
    assert old_file.stat().st_mtime == OLD_TIME and server.count(f"/rain/a/{OLD_ID}") == 0
    # The feed's thumbnail survives the re-fetch of a page that has no image.
    assert f"/{FRESH_ID}_640360/0" in article_file(tmp_path, FRESH_ID).read_text(encoding="utf-8")


def test_recent_articles_reads_the_publication_time(tmp_path):
    folder = tmp_path / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    now = dt.datetime(2025, 2, 12, 12, 0, tzinfo=BEIJING)
    for article_id, date in [("20250212A00001" "00", "2025-02-12 09:00:00"),
                             ("20250211A00002" "00", "2025-02-11 13:00:00"),
                             ("20250211A00003" "00", "2025-02-11 11:00:00"),
                             ("20250101A00004" "00", "2025-02-12 11:00:00")]:  # an id older than its date
        document = f'---\ntitle: "t"\ndate: "{date}"\n---\n'
        (folder / f"{article_id}.zh-CN.md").write_text(document, encoding="utf-8")
    store = ArchiveStore(tmp_path)
    assert [ref.article_id for ref in recent_articles(store, 24, now, written_since=time.time() + 60)] == [
        "20250211A0000200", "20250212A0000100"]
    assert recent_articles(store, 24, now, written_since=0) == []  # all written by "this run"


def test_run_problems():
    counts = {"discovered": 10, "archived": 4, "updated": 0, "unchanged": 0, "failed": 6, "errors": 0}
    assert run_problems(None, counts, None, "finished", discovering=True) == []
    assert run_problems("the archive could not be written", counts, None, "finished", discovering=True) == [
        "the archive could not be written"]
    empty = dict(counts, discovered=0, archived=0, failed=0)
    assert run_problems(None, empty, None, "finished", discovering=False) == []
    assert run_problems(None, empty, None, "closespider_timeout", discovering=True) == [
        "no article was discovered (the crawl ended: closespider_timeout)"]
    refresh = {"checked": 5, "updated": 1, "unchanged": 1, "deleted": 0, "failed": 3, "not_reached": 0}
    assert run_problems(None, counts, refresh, "finished", discovering=True) == [
        "3 of 5 refreshed articles could not be fetched or read"]


def test_a_lock_that_is_a_symbolic_link_is_refused_and_its_target_left_alone(server, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n", encoding="utf-8")
    (state / "run.lock").symlink_to(precious)
    result = archiver_run(server, tmp_path)
    assert result.returncode == 1
    assert "run.lock is a symbolic link; refusing to follow it" in result.stderr
    assert precious.read_text(encoding="utf-8") == "keep me\n"
    with pytest.raises(OSError, match="symbolic link"):
        RunLock(state / "run.lock").acquire()


def test_a_run_whose_articles_all_answer_567_fails(server, tmp_path):
    for article_id in (FRESH_ID, SECOND_ID):
        server.script(f"/rain/a/{article_id}", [Reply(567)] * 10)
    result = archiver_run(server, tmp_path)
    assert result.returncode == 1, result.stdout
    assert "archiver run: FAILED: 2 of 3 attempted articles failed (download 2)" in result.stderr
    record = last_run(tmp_path)
    assert record["ok"] is False and record["counts"]["failed_by_reason"] == {"download": 2}


# --- signals ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_crawl_stops_the_run_and_records_it_interrupted(server, tmp_path, signum, status):
    server.script(FEED_PATH, [slow_feed(30)])
    process = start_run(server, tmp_path)
    wait_for_feed_request(server, process)
    started = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=20)
    assert process.returncode == status, err[-2000:]
    assert time.monotonic() - started < 5 + 8  # DOWNLOAD_TIMEOUT (5 s) for the download in flight, then the stop
    record = last_run(tmp_path)
    assert (record["ok"], record["finish_reason"]) == (False, "interrupted")
    assert record["problems"][0].startswith(f"interrupted by {signal.Signals(signum).name}")


def test_a_signal_during_the_refresh_stops_it_at_once(server, site, tmp_path):
    assert archiver_run(server, tmp_path).returncode == 0
    for article_id in (FRESH_ID, SECOND_ID):
        os.utime(article_file(tmp_path, article_id), (OLD_TIME, OLD_TIME))
    before = article_file(tmp_path, FRESH_ID).read_bytes()
    server.script(f"/rain/a/{FRESH_ID}", [Reply(200, article_page(FRESH_ID, RECENT), delay=30)])
    server.reset_log()
    process = start_run(server, tmp_path, REFRESH_HOURS=6, DOWNLOAD_TIMEOUT=25)
    deadline = time.monotonic() + 30
    while server.count(f"/rain/a/{FRESH_ID}") < 1:  # the refresh is downloading, slowly
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err[-2000:]
    assert time.monotonic() - started < 8  # not the 25 s the download could take
    record = last_run(tmp_path)
    assert record["finish_reason"] == "interrupted" and record["refresh"]["not_reached"] >= 1
    assert article_file(tmp_path, FRESH_ID).read_bytes() == before


def test_an_archived_file_that_cannot_be_read_is_reported_and_left_alone(server, site, tmp_path):
    assert archiver_run(server, tmp_path).returncode == 0
    folder = tmp_path / "content" / "zh-CN" / "news" / "qq"
    impossible = folder / f"{TODAY}A09999" "00.zh-CN.md"
    impossible.write_text(f'---\ntitle: "坏日期"\ndate: "{TODAY[:4]}-11-31 10:00:00"\n---\n\n正文\n', encoding="utf-8")
    not_utf8 = folder / f"{TODAY}A09998" "00.zh-CN.md"
    not_utf8.write_bytes(b'---\ntitle: "\xff\xfe"\n---\n')
    contents = {path: path.read_bytes() for path in (impossible, not_utf8)}
    result = archiver_run(server, tmp_path, REFRESH_HOURS=6)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "state" / "run.log").read_text(encoding="utf-8")
    assert log.count(f"{impossible.name} cannot be read") == 1 and log.count(f"{not_utf8.name} cannot be read") == 1
    assert all(path.read_bytes() == data for path, data in contents.items())


# --- folders that cannot be written ----------------------------------------------------------------

def test_a_warc_folder_that_cannot_be_written_fails_the_run_before_any_request(server, tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "warc").write_text("a file, not a folder\n", encoding="utf-8")
    result = archiver_run(server, tmp_path)
    assert result.returncode == 1
    assert "FAILED: the WARC folder" in result.stderr and "Traceback" not in result.stderr
    assert server.count() == 0
    assert last_run(tmp_path)["finish_reason"] == "not_started"
