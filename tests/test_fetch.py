"""`archiver fetch` against the local fixture server: retries, deletions, what is never overwritten."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from archiver.archive import archive_article
from archiver.cli import main
from archiver.crawl import load_settings
from stand_in import StandIn, Reply
from archiver.fetch import ArticleFetcher, ProgressBar
from archiver.ids import ArticleRef
from archiver.items import Article
from archiver.store import ArchiveStore

from conftest import assert_same_text

ARTICLE_ID = "20250212A03JWP00"
OTHER_ID = "20250213A01XYZ00"
FEED_THUMBNAIL = "https://inews.gtimg.com/newsapp_ls/0/1234_640360/0"
BODY_IMAGE = "https://inews.gtimg.com/om_bt/OGq0Kx1/641"
OLD_TIME = 1_000_000_000


def article_page(title: str = "央行：保持流动性合理充裕", paragraphs: tuple[str, ...] = (
        "新华社北京2月12日电，中国人民银行12日表示，将保持流动性合理充裕。",
        "业内人士认为，这释放了稳增长的信号。"), image: str | None = None,
        pubtime: str = "2025-02-12 10:31:07") -> bytes:
    """A 2021+ "rain" page as qq serves it: the body in window.DATA.originContent."""
    text = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    attributes = {}
    if image:
        text += "<p><!--IMG_0--></p>"
        attributes["IMG_0"] = {"origUrl": image, "desc": ""}
    data = {"title": title, "pubtime": pubtime, "media": "新华社", "cms_id": ARTICLE_ID,
            "originContent": {"text": text}, "originAttribute": attributes}
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}_腾讯新闻</title></head>"
            f"<body><div id=\"root\"></div><script>window.DATA = {json.dumps(data, ensure_ascii=False)};"
            f"</script></body></html>").encode("utf-8")


@pytest.fixture
def site(tmp_path) -> Path:
    pages = tmp_path / "site" / "pages"
    pages.mkdir(parents=True)
    (pages / f"{ARTICLE_ID}.html").write_bytes(article_page())
    (pages / f"{OTHER_ID}.html").write_bytes(article_page(title="第二篇", paragraphs=("第二篇的正文。",),
                                                          image=BODY_IMAGE))
    return tmp_path / "site"


@pytest.fixture
def server(site):
    with StandIn(site) as running:
        yield running


@pytest.fixture
def archive(tmp_path) -> Path:
    return tmp_path / "content"


def overrides(server: StandIn, archive: Path, **extra) -> list[str]:
    """`-s` options pointing `archiver fetch` at the fixture server, with quick retries."""
    values = dict(server.settings(), ARCHIVE_DIR=str(archive), STATE_DIR=str(archive.parent / "state"),
                  DOWNLOAD_DELAY=0, DOWNLOAD_TIMEOUT=2,
                  RETRY_BACKOFF_BASE=0.01, RETRY_BACKOFF_MAX=0.05, FETCH_RETRY_ATTEMPTS=5,
                  FETCH_RETRY_MAX_SECONDS=10)
    values.update(extra)
    options = []
    for name, value in values.items():
        options += ["-s", f"{name}={value}"]
    return options


def fetch(capsys, server, archive, *inputs, **extra) -> tuple[int, list[str], str]:
    """Run `archiver fetch`; its exit status, its report lines, and what it printed on stdout."""
    status = main(["fetch", *inputs, *overrides(server, archive, **extra)])
    captured = capsys.readouterr()
    stream = captured.err if "--stdout" in inputs else captured.out
    return status, stream.splitlines(), captured.out


def article_file(archive: Path, article_id: str = ARTICLE_ID) -> Path:
    return archive / "zh-CN" / "news" / "qq" / f"{article_id}.zh-CN.md"


def archived_files(archive: Path) -> list[str]:
    folder = archive / "zh-CN" / "news" / "qq"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def page_path(article_id: str = ARTICLE_ID) -> str:
    return f"/rain/a/{article_id}"


def archive_first(capsys, server, archive) -> bytes:
    """Archive the article once, and age its file so an untouched file is easy to tell."""
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert (status, [line.split()[0] for line in lines]) == (0, ["archived"]), lines
    os.utime(article_file(archive), (OLD_TIME, OLD_TIME))
    server.reset_log()
    return article_file(archive).read_bytes()


# --- retries ------------------------------------------------------------------------------------

def test_503_twice_then_200_is_archived_on_the_third_request(capsys, server, archive):
    server.script(page_path(), [Reply(503), Reply(503), "pass"])
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert status == 0
    assert lines == [f"archived {ARTICLE_ID} ({article_file(archive)})"]
    assert server.count(page_path()) == 3
    assert archived_files(archive) == [f"{ARTICLE_ID}.zh-CN.md"]


@pytest.mark.parametrize("failure", [Reply(567), Reply(429), Reply(502), Reply(reset=True),
                                     Reply(200, article_page(), delay=1.5)],
                         ids=["567", "429", "502", "connection-reset", "timeout"])
def test_temporary_failures_are_retried(capsys, server, archive, failure):
    server.script(page_path(), [failure, "pass"])
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, DOWNLOAD_TIMEOUT=0.5)
    assert (status, lines[0].split()[0]) == (0, "archived"), lines
    assert server.count(page_path()) == 2


def test_retries_are_bounded_in_attempts(capsys, server, archive):
    server.script(page_path(), [Reply(503)] * 10)
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, FETCH_RETRY_ATTEMPTS=3)
    assert status == 1
    assert lines == [f"failed {ARTICLE_ID} (HTTP 503, 3 attempts)"]
    assert server.count(page_path()) == 3
    assert archived_files(archive) == []


def test_retries_are_bounded_in_time(capsys, server, archive):
    server.script(page_path(), [Reply(503)] * 20)
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, FETCH_RETRY_ATTEMPTS=20,
                             RETRY_BACKOFF_BASE=0.2, RETRY_BACKOFF_MAX=0.2, FETCH_RETRY_MAX_SECONDS=1.0)
    assert status == 1 and lines[0].startswith(f"failed {ARTICLE_ID} (HTTP 503"), lines
    # waits of 0.1-0.2 s within 1 s: far fewer than the 20 attempts allowed, whatever the load
    assert 2 <= server.count(page_path()) <= 11


@pytest.mark.parametrize("answer", [403, 400])
def test_other_client_errors_are_not_retried(capsys, server, archive, answer):
    server.script(page_path(), [Reply(answer)] * 3)
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert status == 1 and lines[0].startswith(f"failed {ARTICLE_ID} (HTTP {answer}"), lines
    assert server.count(page_path()) == 1


# --- deleted articles -----------------------------------------------------------------------------

def test_404_is_one_request_and_a_failing_exit(capsys, server, archive):
    server.script(page_path(), [Reply(404)] * 3)
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert status != 0
    assert lines == [f"deleted {ARTICLE_ID} (HTTP 404: deleted at the source; nothing archived)"]
    assert server.count(page_path()) == 1
    assert archived_files(archive) == []


@pytest.mark.parametrize("deletion", ["404", "410", "babygohome-on-qq", "babygohome-local"])
def test_a_deleted_article_keeps_its_archived_file_byte_for_byte(capsys, server, archive, deletion):
    before = archive_first(capsys, server, archive)
    reply = {
        "404": Reply(404),
        "410": Reply(410),
        "babygohome-on-qq": Reply(302, headers={"Location": "https://www.qq.com/babygohome/?pgv_ref=404"}),
        "babygohome-local": Reply(302, headers={"Location": "/babygohome/?pgv_ref=404"}),
    }[deletion]
    server.script(page_path(), [reply] * 3)
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert status == 1
    assert lines[0].startswith(f"deleted {ARTICLE_ID} (") and "archived file is kept" in lines[0], lines
    assert article_file(archive).read_bytes() == before
    assert article_file(archive).stat().st_mtime == OLD_TIME
    # One request: no retry, and the deleted-article page itself is never fetched.
    assert server.count("/") == 1


# --- never a worse file ------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    Reply(200, b""),
    Reply(200, article_page(paragraphs=())),
    Reply(200, article_page(title="")),
    Reply(200, b'{"ret": 0}', {"Content-Type": "application/json"}),
    Reply(500, b"<html><body><p>Internal Server Error</p></body></html>"),
], ids=["empty-body", "no-body-text", "no-title", "not-html", "error-page"])
def test_nothing_archived_is_overwritten_by_a_bad_answer(capsys, server, archive, answer):
    before = archive_first(capsys, server, archive)
    server.script(page_path(), [answer] * 10)
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, FETCH_RETRY_ATTEMPTS=2)
    assert status == 1 and lines[0].startswith(f"failed {ARTICLE_ID} ("), lines
    assert article_file(archive).read_bytes() == before
    assert article_file(archive).stat().st_mtime == OLD_TIME
    assert archived_files(archive) == [f"{ARTICLE_ID}.zh-CN.md"]


def test_an_oversized_page_is_refused(capsys, server, archive):
    server.script(page_path(), [Reply(200, article_page() + b" " * 5000)])
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, DOWNLOAD_MAXSIZE=4000)
    assert status == 1 and "DOWNLOAD_MAXSIZE" in lines[0], lines
    assert archived_files(archive) == []


def test_a_redirect_off_the_site_is_not_followed(capsys, server, archive):
    server.script(page_path(), [Reply(302, headers={"Location": "https://example.com/elsewhere"})])
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert status == 1 and "redirected off the site" in lines[0], lines


# --- updates ----------------------------------------------------------------------------------------------

def test_a_refetch_that_renders_the_same_bytes_leaves_the_file_untouched(capsys, server, archive):
    before = archive_first(capsys, server, archive)
    status, lines, _ = fetch(capsys, server, archive, f"https://new.qq.com/rain/a/{ARTICLE_ID}?uid=1#x")
    assert (status, lines) == (0, [f"unchanged {ARTICLE_ID} ({article_file(archive)})"])
    assert article_file(archive).read_bytes() == before
    assert article_file(archive).stat().st_mtime == OLD_TIME


def test_a_corrected_article_is_updated(capsys, server, site, archive):
    archive_first(capsys, server, archive)
    (site / "pages" / f"{ARTICLE_ID}.html").write_bytes(article_page(paragraphs=("更正后的正文。",)))
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID)
    assert (status, lines[0].split()[0]) == (0, "updated")
    assert "更正后的正文。" in article_file(archive).read_text(encoding="utf-8")


def test_a_file_under_the_short_id_is_rewritten_in_place(capsys, server, archive):
    folder = archive / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    (folder / f"{ARTICLE_ID[:14]}.zh-CN.md").write_text("---\ntitle: \"old\"\n---\n\nold\n", encoding="utf-8")
    status, lines, _ = fetch(capsys, server, archive, f"https://view.inews.qq.com/a/{ARTICLE_ID}")
    assert (status, lines[0].split()[0]) == (0, "updated"), lines
    assert archived_files(archive) == [f"{ARTICLE_ID[:14]}.zh-CN.md"]
    assert "央行" in (folder / f"{ARTICLE_ID[:14]}.zh-CN.md").read_text(encoding="utf-8")


def _archive_with_feed_thumbnail(archive: Path) -> Path:
    store = ArchiveStore(archive)
    article = Article(ref=ArticleRef(OTHER_ID), title="第二篇", date="2025-02-12 10:31:07",
                      body_html=f"<p>第二篇的正文。</p><p><img src=\"{BODY_IMAGE}\"></p>",
                      thumbnail=FEED_THUMBNAIL)
    archive_article(store, article)
    path = store.path_for(article.ref)
    os.utime(path, (OLD_TIME, OLD_TIME))
    return path


def test_a_known_thumbnail_is_kept_when_the_page_has_none(capsys, server, site, archive):
    path = _archive_with_feed_thumbnail(archive)
    (site / "pages" / f"{OTHER_ID}.html").write_bytes(article_page(title="第二篇", paragraphs=("改过的正文。",)))
    status, lines, _ = fetch(capsys, server, archive, OTHER_ID)
    assert (status, lines[0].split()[0]) == (0, "updated"), lines
    text = path.read_text(encoding="utf-8")
    assert f'thumbnail: "{FEED_THUMBNAIL}"' in text and "改过的正文。" in text


def test_the_feed_thumbnail_is_not_swapped_for_the_body_image(capsys, server, archive):
    path = _archive_with_feed_thumbnail(archive)
    before = path.read_bytes()
    status, lines, _ = fetch(capsys, server, archive, OTHER_ID)
    assert (status, lines[0].split()[0]) == (0, "unchanged"), (lines, path.read_text(encoding="utf-8"))
    assert path.read_bytes() == before and path.stat().st_mtime == OLD_TIME


# --- the command ---------------------------------------------------------------------------------------

def test_one_line_per_article_and_the_exit_status(capsys, server, archive):
    server.script(page_path(OTHER_ID), [Reply(404)])
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, f"https://news.qq.com/rain/a/{ARTICLE_ID}",
                             OTHER_ID, "https://example.com/rain/a/20250212A03JWP00", "not-an-id")
    assert status == 1
    assert [line.split(" (")[0] for line in lines] == [
        f"archived {ARTICLE_ID}", f"deleted {OTHER_ID}",
        "failed https://example.com/rain/a/20250212A03JWP00", "failed not-an-id"]
    assert server.count(page_path()) == 1  # two URLs of one article: one fetch


def test_stdout_prints_the_document_and_writes_nothing(capsys, server, archive):
    status, lines, printed = fetch(capsys, server, archive, ARTICLE_ID, "--stdout")
    assert (status, lines) == (0, [f"printed {ARTICLE_ID}"])
    assert not archive.exists()
    main(["fetch", ARTICLE_ID, *overrides(server, archive)])
    capsys.readouterr()
    assert_same_text(article_file(archive).read_text(encoding="utf-8"), printed)


def test_requests_carry_the_spider_headers(capsys, server, archive):
    fetch(capsys, server, archive, ARTICLE_ID)
    settings = load_settings()
    headers = server.requests[0].headers
    assert headers["User-Agent"] == settings.get("USER_AGENT")
    assert headers["Referer"] == "https://news.qq.com/"
    assert headers["Accept-Language"].startswith("zh-CN")


def test_articles_are_paced_by_download_delay(server, archive):
    settings = load_settings(dict(server.settings(), ARCHIVE_DIR=str(archive), STATE_DIR=str(archive.parent / "state"),
                                  DOWNLOAD_DELAY=0.3, DOWNLOAD_DELAY_JITTER=0))
    with ArticleFetcher(settings) as fetcher:
        fetcher.fetch(ArticleRef(ARTICLE_ID))
        fetcher.fetch(ArticleRef(OTHER_ID))
    first, second = server.requests
    assert second.started - first.started >= 0.28


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_on_a_terminal_only():
    terminal = _Terminal()
    bar = ProgressBar(4, terminal)
    bar.show(1, ARTICLE_ID)
    assert f"1/4 {ARTICLE_ID}" in terminal.getvalue()
    pipe = io.StringIO()
    ProgressBar(4, pipe).show(1, "x")
    assert pipe.getvalue() == ""
    single = _Terminal()
    ProgressBar(1, single).show(0, "x")
    assert single.getvalue() == ""


def test_an_unwritable_archive_fails_before_any_request(capsys, server, tmp_path):
    not_a_folder = tmp_path / "content"
    not_a_folder.write_text("a file, not a folder\n", encoding="utf-8")
    status = main(["fetch", ARTICLE_ID, *overrides(server, not_a_folder)])
    captured = capsys.readouterr()
    assert status == 1 and "cannot be written" in captured.err
    assert server.count("/") == 0


def test_fetched_pages_are_captured_for_rebuild(capsys, server, archive, tmp_path):
    from archiver.rebuild import rebuild_archive

    assert fetch(capsys, server, archive, ARTICLE_ID)[0] == 0
    fresh = tmp_path / "rebuilt"
    report = rebuild_archive(load_settings({"ARCHIVE_DIR": str(fresh), "STATE_DIR": str(archive.parent / "state")}), [])
    assert report.captures >= 1
    assert article_file(fresh).read_bytes() == article_file(archive).read_bytes()


def test_a_gzipped_page_is_captured_as_sent_and_archived_as_read(capsys, site, archive, tmp_path):
    """A server that gzips (as qq's do): the page reader gets the page, the WARC the bytes sent,
    and a rebuild from them writes the same file; a body that does not decode is refused."""
    import gzip

    from warcio.archiveiterator import ArchiveIterator

    from archiver.rebuild import rebuild_archive

    with StandIn(site, gzip_pages=True) as server:
        assert fetch(capsys, server, archive, ARTICLE_ID)[0] == 0
        assert server.requests[-1].headers.get("Accept-Encoding") == "gzip, deflate"
        server.script(page_path(OTHER_ID), [Reply(body=b"not gzip at all", headers={
            "Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"})])
        status, lines, _ = fetch(capsys, server, archive, OTHER_ID)
    assert status == 1 and "damaged gzip body" in "\n".join(lines), lines
    assert archived_files(archive) == [f"{ARTICLE_ID}.zh-CN.md"]
    [warc] = sorted((archive.parent / "state" / "warc").iterdir())[:1]
    with open(warc, "rb") as stream:
        [page] = [record.raw_stream.read() for record in ArchiveIterator(stream)
                  if record.rec_type == "response" and record.http_headers.get_header("Content-Encoding") == "gzip"]
    assert gzip.decompress(page) == article_page()
    fresh = tmp_path / "rebuilt"
    rebuild_archive(load_settings({"ARCHIVE_DIR": str(fresh), "STATE_DIR": str(archive.parent / "state")}), [])
    assert article_file(fresh).read_bytes() == article_file(archive).read_bytes()


def test_a_page_that_trickles_is_cut_off_at_the_download_timeout(capsys, server, archive):
    """Headers at once, then a byte every 0.2 s: each read is quick, the whole download is not."""
    server.script(page_path(), [Reply(200, article_page(), trickle=0.2)] * 3)
    started = time.monotonic()
    status, lines, _ = fetch(capsys, server, archive, ARTICLE_ID, DOWNLOAD_TIMEOUT=1, FETCH_RETRY_ATTEMPTS=2)
    elapsed = time.monotonic() - started
    assert status == 1 and "the download took longer than 1 s" in lines[0], lines
    assert elapsed < 2 * 1 + 3, f"two attempts of 1 s took {elapsed:.1f} s"
    assert archived_files(archive) == []


def test_an_empty_argument_is_refused_with_exit_2(capsys, server, archive):
    status = main(["fetch", "", *overrides(server, archive)])
    assert status == 2 and "empty article URL or id" in capsys.readouterr().err
    assert server.count() == 0


def test_a_capture_folder_that_cannot_be_written_costs_no_article(capsys, server, archive, tmp_path):
    state = tmp_path / "state-file"
    state.write_text("a file where STATE_DIR should be", encoding="utf-8")
    status = main(["fetch", ARTICLE_ID, *overrides(server, archive), "-s", f"STATE_DIR={state}"])
    captured = capsys.readouterr()
    assert status == 0 and captured.out.startswith(f"archived {ARTICLE_ID}")
    assert captured.err.count("cannot write the WARC capture") == 1
