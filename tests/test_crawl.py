"""The real `scrapy crawl qq` against the bundled fixture site on 127.0.0.1."""

from __future__ import annotations

import json

import frontmatter
import pytest
from scrapy.utils.misc import is_generator_with_return_value

from stand_in import DEFAULT_SITE_DIR, StandIn, Reply
from archiver.settings import CONCURRENT_REQUESTS_PER_DOMAIN, DOWNLOAD_DELAY, DOWNLOAD_DELAY_JITTER
from archiver.spiders.qq import QQSpider
from crawling import archived_files, crawl

GOLDEN = "20250212A03JWP00"
FEED_ARTICLES = {  # id: layout it exercises
    GOLDEN: "rich_media_content",
    "20251120A01ABC00": "originContent",
    "20251121A02DEF00": "article-content-wrap",
    "20191105A0GHIJ00": "one-p (omn)",
    "20251122A03KLM00": "unknown layout (trafilatura)",
}
EMPTY_PAGE = "20251123A04NOP00"
DELETED = "20190101A0ZZZZ00"  # listed, answers 404
SITEMAP_ONLY = "20251125A06TUV00"


@pytest.fixture
def server():
    with StandIn() as running:
        yield running


def feed_items() -> dict[str, dict]:
    items = {}
    for path in (DEFAULT_SITE_DIR / "feed").rglob("*.json"):
        for item in json.loads(path.read_text(encoding="utf-8"))["data"]:
            items.setdefault(item.get("id"), item)
    return items


def test_feed_crawl_archives_every_article_in_the_format(server, tmp_path):
    result = crawl(server, tmp_path, "since=2019-06-01")
    assert result.returncode == 0, result.log[-3000:]
    files = archived_files(tmp_path)
    assert sorted(files) == sorted(FEED_ARTICLES), result.log[-3000:]
    items = feed_items()
    for article_id, path in files.items():
        post = frontmatter.load(path)
        item = items[article_id]
        assert post["title"] == item["title"], article_id
        assert post["date"] == item["publish_time"], article_id
        assert post["thumbnail"] == item["pic_info"]["big_img"][0], article_id
        assert post.content.endswith(f"\n\n[qq](https://new.qq.com/rain/a/{article_id})"), article_id
        assert len(post.content) > 300, f"{article_id}: body too short: {post.content!r}"
    counts = result.counts
    assert counts["archived"] == len(FEED_ARTICLES)
    assert counts["failed"] == 1  # the page with no body text
    assert counts["not_article"] >= 2 and counts["offsite"] >= 1 and counts["too_old"] == 1
    assert counts["discovered"] == counts["skipped"] + counts["archived"] + counts["updated"] + \
        counts["unchanged"] + counts["failed"]
    assert f"failed {EMPTY_PAGE} (no body)" in result.log
    # each skip is logged once, with its reason
    assert result.log.count("skipped (off-site)") == counts["offsite"]


def test_second_run_fetches_no_article_page(server, tmp_path):
    state = tmp_path / "state"
    archive = tmp_path / "archive"
    crawl(server, archive, "since=2019-06-01", STATE_DIR=str(state))
    before = {name: path.stat().st_mtime_ns for name, path in archived_files(archive).items()}
    server.reset_log()
    result = crawl(server, archive, "since=2019-06-01", STATE_DIR=str(state))
    assert [record.path for record in server.requests if record.path.startswith("/rain/a/")] == []
    assert result.counts["known"] == len(FEED_ARTICLES)
    # the page that had no body text was never archived: remembered, not asked for again
    assert result.counts["no_body"] == 1 and result.counts["failed"] == 0
    assert f"skipped (no body last time): {EMPTY_PAGE}" in result.log
    assert result.counts["archived"] == 0
    assert {name: path.stat().st_mtime_ns for name, path in archived_files(archive).items()} == before


def test_deleted_and_empty_pages_are_fetched_again_once_their_wait_is_over(server, tmp_path):
    state = tmp_path / "state"
    first = crawl(server, tmp_path / "archive", STATE_DIR=str(state))
    remembered = json.loads((state / "unarchivable.json").read_text(encoding="utf-8"))
    assert {article_id: entry["reason"] for article_id, entry in remembered.items()} == {
        EMPTY_PAGE: "no_body", DELETED: "gone"}
    assert (first.counts["failed"], first.counts["deleted"]) == (1, 1)
    server.reset_log()
    second = crawl(server, tmp_path / "archive", STATE_DIR=str(state))
    assert (second.counts["gone"], second.counts["no_body"], second.counts["failed"]) == (1, 1, 0)
    assert server.count(f"/rain/a/{DELETED}") == 0
    # the wait is over (as after UNARCHIVABLE_RETRY_DAYS), and with a wait of 0 there is no memory
    for settings in ({"UNARCHIVABLE_RETRY_DAYS": "0.000001"}, {"UNARCHIVABLE_RETRY_DAYS": "0"}):
        server.reset_log()
        result = crawl(server, tmp_path / "archive", "since=2019-06-01", STATE_DIR=str(state), **settings)
        assert server.count(f"/rain/a/{EMPTY_PAGE}") == 1
        assert result.counts["no_body"] == 0 and result.counts["failed"] == 1
    # named on the command line, it is fetched whatever the memory says
    crawl(server, tmp_path / "archive", STATE_DIR=str(state))
    server.reset_log()
    crawl(server, tmp_path / "archive", f"url={EMPTY_PAGE}", STATE_DIR=str(state))
    assert server.count(f"/rain/a/{EMPTY_PAGE}") == 1


def test_refetch_rewrites_nothing_when_nothing_changed(server, tmp_path):
    crawl(server, tmp_path, "since=2019-06-01")
    server.reset_log()
    result = crawl(server, tmp_path, "since=2019-06-01", "refetch=1")
    assert server.count("/rain/a/") == len(FEED_ARTICLES) + 1
    assert result.counts["unchanged"] == len(FEED_ARTICLES)


def test_sitemap_discovery_and_lastmod_filter(server, tmp_path):
    result = crawl(server, tmp_path, "discover=sitemap", "since=2019-06-01")
    files = archived_files(tmp_path)
    assert SITEMAP_ONLY in files
    assert "20190101A0ZZZZ00" not in files
    assert result.counts["too_old"] == 1
    assert frontmatter.load(files[SITEMAP_ONLY])["thumbnail"].startswith("https://")


def test_sitemaps_are_read_one_child_at_a_time_and_their_articles_queued_in_batches(server, tmp_path):
    """A sitemap backlog is never queued whole: with a batch of one, the first child's first
    article is asked for before the second child sitemap is even read, and no more than that
    article and the next sitemap are ever in flight together."""
    result = crawl(server, tmp_path, "discover=sitemap", "since=2019-06-01", QQ_DISCOVERY_BATCH="1")
    paths = [record.path for record in server.requests]
    assert paths.index("/sitemap/sitemap_1.xml") < paths.index("/rain/a/20251120A01ABC00") \
        < paths.index("/sitemap/sitemap_2.xml") < paths.index(f"/rain/a/{SITEMAP_ONLY}"), paths
    assert server.max_in_flight <= 2
    assert SITEMAP_ONLY in archived_files(tmp_path)
    assert result.counts["too_old"] == 1


def test_a_child_sitemap_that_fails_does_not_stop_the_next_one(server, tmp_path):
    server.script("/sitemap/sitemap_1.xml", [Reply(status=500)] * 10)
    result = crawl(server, tmp_path, "discover=sitemap", "since=2019-06-01", QQ_DISCOVERY_BATCH="1")
    assert server.count("/sitemap/sitemap_2.xml") == 1
    assert SITEMAP_ONLY in archived_files(tmp_path)
    assert "sitemap_1.xml" in result.log and result.returncode == 1  # a sitemap could not be read: the run failed


def test_url_argument_takes_every_form_and_refuses_other_hosts(server, tmp_path):
    legacy_url = server.url("/finance/a/20180923/000843.htm")
    result = crawl(server, tmp_path, f"url={legacy_url},20251120A01ABC,https://example.com/rain/a/{GOLDEN},"
                                     f"https://view.inews.qq.com/a/20251121A02DEF00")
    files = archived_files(tmp_path)
    assert sorted(files) == ["20251120A01ABC00", "20251121A02DEF00", "finance_20180923_000843"]
    assert result.counts["offsite"] == 1
    assert not any(record.path.startswith("/feed") or "getPCList" in record.path for record in server.requests)
    legacy = files["finance_20180923_000843"].read_text(encoding="utf-8")
    assert legacy.endswith("\n\n[qq](http://finance.qq.com/a/20180923/000843.htm)\n")
    assert "返回腾讯网首页" not in legacy
    assert "\ufffd" not in legacy  # GBK bytes, no charset in the header: decoded right


def test_politeness_holds_with_the_live_defaults(server, tmp_path):
    """Only the endpoints and the feed size are overridden: delay, concurrency, AutoThrottle,
    robots.txt, headers are the live ones. Counted at the server, not trusted by name."""
    result = crawl(server, tmp_path, "since=2019-06-01", fast=False, LOG_LEVEL="INFO")
    assert result.counts["archived"] == len(FEED_ARTICLES)
    assert "Remote control HTTP server listening" not in result.log  # no code-running port
    requests = server.requests
    assert requests[0].path == "/robots.txt"
    assert server.max_in_flight <= CONCURRENT_REQUESTS_PER_DOMAIN
    starts = sorted(record.started for record in requests if record.path != "/robots.txt")
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    # DOWNLOAD_DELAY_JITTER waits 0.5x to 1.5x the delay
    assert min(gaps) >= (1 - DOWNLOAD_DELAY_JITTER) * DOWNLOAD_DELAY - 0.05, f"requests {min(gaps):.3f}s apart"
    for record in requests:
        headers = {name.lower(): value for name, value in record.headers.items()}
        assert headers["user-agent"].startswith("Mozilla/5.0")
        if record.path.startswith("/rain/a/"):
            assert headers["referer"] == "https://news.qq.com/"


def test_rate_limited_and_failing_pages_are_retried_with_backoff(server, tmp_path):
    path = "/rain/a/20251120A01ABC00"
    server.script(path, [Reply(status=567), Reply(status=503), "pass"])
    result = crawl(server, tmp_path, "url=20251120A01ABC00", RETRY_BACKOFF_BASE="0.4")
    assert result.counts["archived"] == 1
    attempts = [record.started for record in server.requests if record.path == path]
    assert len(attempts) == 3
    # full jitter between half and all of base * 2**(n-1)
    assert attempts[1] - attempts[0] >= 0.2 and attempts[2] - attempts[1] >= 0.4


def test_deleted_article_is_counted_and_nothing_is_written(server, tmp_path):
    server.script("/rain/a/20251120A01ABC00", [Reply(status=302, headers={
        "Location": "https://www.qq.com/babygohome/?pgv_ref=404"})])
    server.script("/rain/a/20251121A02DEF00", [Reply(status=404, body=b"<html>not found</html>")])
    result = crawl(server, tmp_path, "url=20251120A01ABC00,20251121A02DEF00")
    assert (result.counts["deleted"], result.counts["failed"]) == (2, 0)
    assert "deleted 20251121A02DEF00: HTTP 404" in result.log
    assert archived_files(tmp_path) == {}


def test_demo_command_archives_the_fixture_site(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    done = subprocess.run([sys.executable, "-m", "archiver", "demo", "-s", f"ARCHIVE_DIR={tmp_path}",
                           "-s", f"STATE_DIR={tmp_path / 'state'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "archived 7," in done.stdout
    assert sorted(archived_files(tmp_path)) == sorted([*FEED_ARTICLES, SITEMAP_ONLY, "finance_20180923_000843"])


def test_a_rate_limited_host_is_paused_as_a_whole(server, tmp_path):
    """567 from one page: no request at all reaches the host during the backoff, counted at the
    server (with a download delay, as live; politeness otherwise off)."""
    limited = "/rain/a/20251121A02DEF00"
    server.script(limited, [Reply(status=567), "pass"])
    ids = "20251120A01ABC00,20251121A02DEF00,20251122A03KLM00,20251123A04NOP00,20251125A06TUV00,20250212A03JWP00"
    result = crawl(server, tmp_path, f"url={ids}", DOWNLOAD_DELAY="0.05", RETRY_BACKOFF_BASE="2",
                   CONCURRENT_REQUESTS_PER_DOMAIN="1")
    assert result.counts["archived"] >= 5, result.log[-3000:]
    records = sorted(server.requests, key=lambda record: record.started)
    answered = next(record.finished for record in records if record.path == limited)
    later = [record.started - answered for record in records if record.started > answered]
    assert later, "nothing was asked after the 567"
    # attempt 1 backs off between 1 and 2 s (half to all of RETRY_BACKOFF_BASE)
    assert min(later) >= 0.95, [round(gap, 2) for gap in later]


def test_a_redirect_through_a_backslash_to_another_host_is_not_followed(server, tmp_path):
    """urllib.parse reads `http://B\\@A/...` as host A; Scrapy and requests send it to B."""
    with StandIn() as other:
        location = f"http://127.0.0.1:{other.port}\\@127.0.0.1:{server.port}/rain/a/20251120A01ABC00"
        server.script("/rain/a/20251120A01ABC00", [Reply(302, headers={"Location": location})] * 4)
        result = crawl(server, tmp_path / "crawled", "url=20251120A01ABC00")
        assert other.count() == 0
        assert result.counts["failed"] == 1 and "redirected off the site" in result.log
        from archiver.cli import main

        status = main(["fetch", "20251120A01ABC00", *[part for name, value in server.settings().items()
                                                      for part in ("-s", f"{name}={value}")],
                       "-s", f"ARCHIVE_DIR={tmp_path / 'fetched'}", "-s", f"STATE_DIR={tmp_path / 'state'}"])
        assert status == 1 and other.count() == 0
    assert archived_files(tmp_path / "crawled") == {} and archived_files(tmp_path / "fetched") == {}


@pytest.mark.parametrize("callback", ["parse_feed", "parse_sitemap", "parse_article"])
def test_no_callback_is_a_generator_that_returns_a_value(callback):
    """Scrapy's WARN_ON_GENERATOR_RETURN_VALUE check (off in a crawl), made once on the code."""
    assert not is_generator_with_return_value(getattr(QQSpider, callback))
