"""One fault at a time, against the real crawl: the run says what went wrong, counts it, and never
loses or damages what is archived."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import frontmatter
import pytest

from stand_in import StandIn, Reply
from archiver.store import TEMP_PREFIX, TEMP_SUFFIX
from conftest import REPO
from crawling import archived_files, crawl, crawl_command, run_crawl

ARTICLE = "20251120A01ABC00"
PATH = f"/rain/a/{ARTICLE}"
FEED = "/web_feed/getPCList"
EXPECTED = ["20191105A0GHIJ00", "20250212A03JWP00", "20251120A01ABC00", "20251121A02DEF00", "20251122A03KLM00"]


@pytest.fixture
def server():
    with StandIn() as running:
        yield running


def assert_complete_documents(archive: Path) -> None:
    folder = archive / "zh-CN" / "news" / "qq"
    for path in folder.iterdir():
        assert path.name.endswith(".zh-CN.md") or (path.name.startswith(TEMP_PREFIX) and
                                                    path.name.endswith(TEMP_SUFFIX)), path.name
        if path.name.endswith(".md"):
            text = path.read_text(encoding="utf-8")
            assert frontmatter.loads(text)["title"], path.name
            assert text.endswith(")\n") and "\n\n[qq](" in text, f"{path.name} is not complete"


@pytest.mark.parametrize("replies, label", [
    ([Reply(status=200, body=b"{not json")], "not JSON"),
    ([Reply(status=200, body=b"<html><body>\xe7\xb3\xbb\xe7\xbb\x9f\xe7\xb9\x81\xe5\xbf\x99</body></html>")], "HTML"),
    ([Reply(status=200, body=b'{"ret": 40001, "msg": "invalid channel"}')], "ret not 0"),
])
def test_a_broken_feed_fails_the_run_loudly_and_names_the_endpoint(server, tmp_path, replies, label):
    server.script(FEED, replies * 10)
    result = crawl(server, tmp_path, QQ_FEED_CHANNELS="news_news_finance", QQ_FEED_PAGES="1")
    assert result.returncode == 1, label
    assert "feed news_news_finance page 1" in result.log
    assert "the run failed" in result.log
    assert archived_files(tmp_path) == {}


def test_an_unreachable_feed_fails_the_run(server, tmp_path):
    result = crawl(server, tmp_path, QQ_FEED_URL="http://127.0.0.1:9/web_feed/getPCList")
    assert result.returncode == 1
    assert "could not be read" in result.log
    failures = [line for line in result.log.splitlines() if "[archiver.spiders.qq] ERROR" in line]
    assert len(failures) == 1, failures  # one line for the endpoint, not one per channel and page


@pytest.mark.parametrize("reply", [Reply(reset=True), Reply(delay=30)], ids=["connection reset", "never answers"])
def test_a_feed_that_fails_its_retries_is_not_asked_again(server, tmp_path, reply):
    server.script(FEED, [reply] * 30)
    started = time.monotonic()
    result = crawl(server, tmp_path, "discover=feed,sitemap", "since=2019-06-01", QQ_ENDPOINT_TIMEOUT="1",
                   QQ_ENDPOINT_RETRY_TIMES="2", QQ_FEED_CHANNELS="news_news_finance,news_news_tech,news_news_top",
                   QQ_FEED_PAGES="3")
    assert server.count(FEED) == 3  # the first page's three attempts; the eight other pages never asked
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    assert "the feed is not asked again this run (8 request(s) dropped)" in result.log
    assert result.counts["archived"] >= 1  # the sitemap is read all the same


def test_a_sitemap_host_that_does_not_answer_stops_the_sitemap_reading(server, tmp_path):
    server.script("/sitemap/sitemap_1.xml", [Reply(reset=True)] * 10)
    result = crawl(server, tmp_path, "discover=sitemap", "since=2019-06-01", QQ_ENDPOINT_RETRY_TIMES="1")
    # two attempts (Twisted's HTTP client may resend a GET once on a reused connection)
    assert 2 <= server.count("/sitemap/sitemap_1.xml") <= 3
    assert server.count("/sitemap/sitemap_2.xml") == 0
    assert result.returncode == 1 and "the sitemap is not asked again this run" in result.log


def test_a_broken_sitemap_fails_the_run(server, tmp_path):
    server.script("/sitemap/index.xml", [Reply(status=200, body=b"<html>maintenance</html>")])
    result = crawl(server, tmp_path, "discover=sitemap")
    assert result.returncode == 1
    assert "is XML but not a sitemap" in result.log or "not XML" in result.log


def test_a_page_layout_that_no_longer_reads_fails_the_run(server, tmp_path):
    for article_id in EXPECTED:
        server.script(f"/rain/a/{article_id}", [Reply(body="<html><body><div id='app'></div></body></html>")])
    result = crawl(server, tmp_path, "since=2019-06-01")
    assert result.returncode == 1
    assert "has the page layout changed?" in result.log
    assert archived_files(tmp_path) == {}


def test_a_page_over_the_size_limit_is_refused_and_counted(server, tmp_path):
    server.script(PATH, [Reply(body=b"<html><body><p>" + "长".encode() * 40_000 + b"</p></body></html>")])
    result = crawl(server, tmp_path, f"url={ARTICLE}", DOWNLOAD_MAXSIZE="50000", RETRY_TIMES="0")
    assert result.counts["failed"] == 1
    assert "failed 20251120A01ABC00 (download)" in result.log
    assert archived_files(tmp_path) == {}


def test_slow_responses_hit_the_timeout_and_are_retried(server, tmp_path):
    server.script(PATH, [Reply(delay=3.0, body=b"late"), "pass"])
    started = time.monotonic()
    result = crawl(server, tmp_path, f"url={ARTICLE}", DOWNLOAD_TIMEOUT="1")
    assert result.counts["archived"] == 1
    assert server.count(PATH) == 2
    assert time.monotonic() - started < 30


def test_connection_resets_and_567_are_retried(server, tmp_path):
    server.script(PATH, [Reply(reset=True), Reply(reset=True), Reply(status=567), "pass"])
    result = crawl(server, tmp_path, f"url={ARTICLE}")
    assert result.counts["archived"] == 1
    assert server.count(PATH) >= 3


def test_gbk_page_whose_headers_lie_is_decoded_right(server, tmp_path):
    legacy = Path(__file__).resolve().parents[1] / "archiver/demo/site/legacy/finance_20180923_000843.htm"
    server.script("/finance/a/20180923/000843.htm", [Reply(body=legacy.read_bytes(), headers={
        "Content-Type": "text/html; charset=utf-8"})])
    crawl(server, tmp_path, f"url={server.url('/finance/a/20180923/000843.htm')}")
    document = archived_files(tmp_path)["finance_20180923_000843"].read_text(encoding="utf-8")
    assert "中秋临近月饼市场先冷后热" in document and "\ufffd" not in document


def test_hostile_feed_items_never_write_outside_the_archive(server, tmp_path):
    items = [{"id": bad, "title": "坏", "articletype": "0", "link_info": {"url": url}} for bad, url in [
        ("../../../../tmp/evil", ""), ("/etc/passwd", ""), ("", "file:///etc/passwd"),
        ("", "javascript:alert(1)"), ("", "https://evil.example/rain/a/20251120A01ABC00"),
        ("２０２５１１２０A01ABC00", ""), ("20251120A01ABC00\n", "")]]
    items.append({"id": "20251121A02DEF00", "title": "引号\"反斜杠\\\n---\ttab\x07" + "长" * 2000,
                  "articletype": "0", "link_info": {"url": "https://new.qq.com/rain/a/20251121A02DEF00"}})
    import json
    server.script(FEED, [Reply(body=json.dumps({"ret": 0, "data": items}).encode())])
    archive = tmp_path / "content"
    crawl(server, archive, QQ_FEED_CHANNELS="news_news_finance", QQ_FEED_PAGES="1")
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert written == ["content/zh-CN/news/qq/20251120A01ABC00.zh-CN.md",
                       "content/zh-CN/news/qq/20251121A02DEF00.zh-CN.md"]
    assert_complete_documents(archive)


def test_sigkill_mid_crawl_leaves_only_complete_files_and_the_next_run_finishes(server, tmp_path):
    for article_id in EXPECTED[2:]:
        server.script(f"/rain/a/{article_id}", [Reply(delay=30.0, body=b"never")])
    # a temporary file as a killed write would leave it
    folder = tmp_path / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    killed = folder / f"{TEMP_PREFIX}killed{TEMP_SUFFIX}"
    killed.write_text("---\ntitle: \"half", encoding="utf-8")
    an_hour_ago = time.time() - 3600  # younger ones may be a running crawl's (STALE_TEMP_SECONDS)
    os.utime(killed, (an_hour_ago, an_hour_ago))
    command = crawl_command(server, tmp_path, "since=2019-06-01", DOWNLOAD_TIMEOUT="60", LOG_LEVEL="INFO")
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(archived_files(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 2 <= len(archived_files(tmp_path)) < len(EXPECTED)
    assert_complete_documents(tmp_path)
    for article_id in EXPECTED[2:]:
        server.script(f"/rain/a/{article_id}", [])
    result = crawl(server, tmp_path, "since=2019-06-01")
    assert result.returncode == 0
    assert sorted(archived_files(tmp_path)) == EXPECTED
    assert sorted(path.name for path in folder.iterdir()) == [f"{name}.zh-CN.md" for name in EXPECTED]


def _mount_tmpfs(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")


@pytest.fixture
def small_mount(tmp_path):
    mounts = []

    def mount(name: str, options: str) -> Path:
        target = tmp_path / name
        _mount_tmpfs(target, options)
        mounts.append(target)
        return target

    yield mount
    for target in mounts:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _fill(archive: Path, leave: int) -> None:
    """Fill the file system but for `leave` bytes (whole pages)."""
    reserve = archive / "reserve"
    if leave:
        reserve.write_bytes(b"\0" * leave)
    try:
        with open(archive / "filler", "wb", buffering=0) as handle:
            while True:
                handle.write(b"\0" * 1024)
    except OSError:
        pass
    if leave:
        reserve.unlink()


@pytest.mark.parametrize("options, fill, message", [
    ("ro,size=1m", False, "Read-only file system"),
    ("size=64k", True, "No space left on device"),
])
def test_an_unwritable_archive_fails_at_once_with_a_clear_message(server, small_mount, options, fill, message):
    archive = small_mount("archive", options)
    if fill:
        _fill(archive, 0)
    done = run_crawl(server, archive)
    assert done.returncode == 1
    assert f"cannot be written: {message}" in done.stderr
    assert server.count("/rain/a/") == 0
    assert server.count("/web_feed/") == 0


def test_an_archive_that_fills_up_fails_loudly_and_loses_nothing(server, small_mount):
    archive = small_mount("full", "size=64k")
    folder = archive / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    kept = folder / "20250212A03JWP00.zh-CN.md"
    kept.write_text("---\ntitle: \"kept\"\n---\n\nold body\n\n[qq](https://new.qq.com/rain/a/20250212A03JWP00)\n")
    original = kept.read_bytes()
    _fill(archive, 4096)  # room for the start-up check and a small article, not for all of them
    result = crawl(server, archive, "since=2019-06-01", "refetch=1")
    assert result.returncode == 1
    assert "No space left on device" in result.log
    assert "the archive could not be written" in result.log
    assert kept.read_bytes() == original
    assert not [path for path in folder.iterdir() if path.name.startswith(TEMP_PREFIX)]
    assert_complete_documents(archive)


def test_a_full_state_dir_fails_archiver_run_in_one_line_before_any_request(server, small_mount, tmp_path):
    import sys

    state = small_mount("state", "size=64k")
    (state / "run.lock").write_bytes(b"")
    _fill(state, 0)
    overrides = {**server.settings(), "ARCHIVE_DIR": str(tmp_path / "content"), "STATE_DIR": str(state)}
    command = [sys.executable, "-m", "archiver", "run"] + [part for name, value in overrides.items()
                                                          for part in ("-s", f"{name}={value}")]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"archiver run: FAILED: STATE_DIR {state} cannot be written: No space left on device"]
    assert server.count() == 0
