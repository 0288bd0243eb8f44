"""`archiver rebuild`: the archive re-rendered from the WARC captures, with no network."""

from __future__ import annotations

import re
from contextlib import closing

import frontmatter
import pytest

from archiver.cli import main
from stand_in import StandIn, Reply
from archiver.ids import ref_from_id
from archiver.items import Listing
from conftest import assert_same_text
from crawling import archived_files, crawl

ARTICLE = "20251120A01ABC00"
_LINE = re.compile(r"rebuild: (\d+) articles from (\d+) captures in (\d+) WARC files?: archived (\d+), "
                   r"updated (\d+), unchanged (\d+), failed (\d+); (\d+) files? changed")


@pytest.fixture
def server():
    with StandIn() as running:
        yield running


def rebuild(capsys, archive, state, *warc: str, **settings: str) -> dict[str, int]:
    """Run `archiver rebuild` with ARCHIVE_DIR and STATE_DIR set; its counts (and `code`)."""
    arguments = ["rebuild", *warc, "-s", f"ARCHIVE_DIR={archive}", "-s", f"STATE_DIR={state}"]
    for name, value in settings.items():
        arguments += ["-s", f"{name}={value}"]
    code = main(arguments)
    out = capsys.readouterr().out
    match = _LINE.search(out)
    assert match, f"no report line in {out!r}"
    keys = ("articles", "captures", "files", "archived", "updated", "unchanged", "failed", "changed")
    return {"code": code, **dict(zip(keys, map(int, match.groups())))}


def assert_same_archive(expected, actual) -> None:
    expected_files, actual_files = archived_files(expected), archived_files(actual)
    assert sorted(actual_files) == sorted(expected_files)
    for article_id, path in expected_files.items():
        assert_same_text(path.read_text(encoding="utf-8"), actual_files[article_id].read_text(encoding="utf-8"),
                         f"rebuilt {article_id}")
        assert path.read_bytes() == actual_files[article_id].read_bytes(), article_id


def test_rebuild_reproduces_the_crawl_byte_for_byte(server, tmp_path, capsys):
    state = tmp_path / "state"
    legacy = server.url("/finance/a/20180923/000843.htm")
    result = crawl(server, tmp_path / "crawled", "discover=feed,sitemap", f"url={legacy}", STATE_DIR=str(state))
    assert result.counts["archived"] == 7, result.log[-3000:]
    server.stop()  # no network: the rebuild has only the captures

    counts = rebuild(capsys, tmp_path / "rebuilt", state)
    assert counts["code"] == 0
    assert (counts["archived"], counts["changed"], counts["files"]) == (7, 7, 1)
    assert_same_archive(tmp_path / "crawled", tmp_path / "rebuilt")

    before = {name: path.stat().st_mtime_ns for name, path in archived_files(tmp_path / "crawled").items()}
    counts = rebuild(capsys, tmp_path / "crawled", state)
    assert (counts["unchanged"], counts["changed"]) == (7, 0)
    assert {name: path.stat().st_mtime_ns for name, path in archived_files(tmp_path / "crawled").items()} == before
    # the two it cannot rebuild are the two the crawl could not archive either
    assert counts["failed"] == 2


def test_newest_readable_capture_wins_and_rollover_files_are_all_read(server, tmp_path, capsys):
    state = tmp_path / "state"
    small = {"STATE_DIR": str(state), "WARC_MAX_BYTES": "20000"}
    page = (server.site_dir / "pages" / f"{ARTICLE}.html").read_text(encoding="utf-8")
    crawl(server, tmp_path / "crawled", "since=2019-06-01", **small)
    server.script(f"/rain/a/{ARTICLE}", [Reply(body=page.replace("入冬以来", "立冬以来"))])
    second = crawl(server, tmp_path / "crawled", f"url={ARTICLE}", "refetch=1", **small)
    assert second.counts["updated"] == 1, second.log[-3000:]
    # a third fetch finds the article deleted: the crawl keeps the second version, and so must the rebuild
    server.script(f"/rain/a/{ARTICLE}", [Reply(status=404)])
    crawl(server, tmp_path / "crawled", f"url={ARTICLE}", "refetch=1", **small)
    assert "立冬以来" in archived_files(tmp_path / "crawled")[ARTICLE].read_text(encoding="utf-8")
    assert len(list((state / "warc").iterdir())) > 3  # three runs, some rolled over

    counts = rebuild(capsys, tmp_path / "rebuilt", state)
    assert counts["archived"] == 5
    assert_same_archive(tmp_path / "crawled", tmp_path / "rebuilt")


def test_rebuild_repairs_a_damaged_file_and_survives_a_cut_warc(server, tmp_path, capsys):
    state = tmp_path / "state"
    crawl(server, tmp_path / "crawled", f"url={ARTICLE},20251121A02DEF00", STATE_DIR=str(state))
    server.stop()
    files = archived_files(tmp_path / "crawled")
    good = files[ARTICLE].read_bytes()
    files[ARTICLE].write_text("---\ntitle: \"damaged\"\n---\n", encoding="utf-8")

    [warc] = list((state / "warc").iterdir())
    data = warc.read_bytes()
    warc.write_bytes(data + data[:300])  # a run killed mid-write leaves a cut record at the end

    counts = rebuild(capsys, tmp_path / "crawled", state)
    assert (counts["updated"], counts["unchanged"], counts["changed"]) == (1, 1, 1)
    assert files[ARTICLE].read_bytes() == good
    assert frontmatter.load(files[ARTICLE])["title"]


def test_rebuild_with_no_captures_says_so(tmp_path, capsys):
    code = main(["rebuild", "-s", f"ARCHIVE_DIR={tmp_path / 'archive'}", "-s", f"STATE_DIR={tmp_path / 'state'}"])
    captured = capsys.readouterr()
    assert code == 1
    assert "no article capture found" in captured.err
    assert not (tmp_path / "archive").exists()


def page_html(title: str, paragraph: str, image: str = "") -> bytes:
    image_html = f'<p><img src="{image}"></p>' if image else ""
    return (f'<html><head><script>window.DATA = {{"title": "{title}", "pubtime": "2025-03-01 08:00:00"}};'
            f'</script></head><body><div class="rich_media_content"><p>{paragraph}</p>{image_html}</div>'
            f'</body></html>').encode("utf-8")


def test_a_newer_capture_without_a_thumbnail_keeps_the_older_one(tmp_path, capsys):
    """As in the crawl: a re-fetch never replaces a known thumbnail with none."""
    from archiver.warc import Exchange, WarcFileWriter

    ref = ref_from_id("20250301A01AAA00")
    url = "https://new.qq.com/rain/a/20250301A01AAA00"
    thumbnail = "https://inews.gtimg.com/om_ls/feed_640360/0"
    with closing(WarcFileWriter(tmp_path / "state" / "warc", 1 << 30)) as writer:
        for listing, body in ((Listing(ref=ref, thumbnail=thumbnail, source="feed"), page_html("旧", "第一版正文。")),
                              (Listing(ref=ref), page_html("新", "第二版正文。"))):
            writer.write_exchange(Exchange(url, "GET", [], b"", 200, [("Content-Type", "text/html")], body),
                                  listing)
    counts = rebuild(capsys, tmp_path / "archive", tmp_path / "state")
    assert counts["archived"] == 1
    post = frontmatter.load(archived_files(tmp_path / "archive")["20250301A01AAA00"])
    assert (post["title"], post["thumbnail"]) == ("新", thumbnail)
    assert "第二版正文。" in post.content


def test_rebuild_waits_for_no_run(tmp_path, capsys):
    """A rebuild takes `archiver run`'s lock: never two writers of one archive."""
    from archiver.lock import EX_TEMPFAIL, LOCK_FILE, RunLock

    (tmp_path / "state").mkdir()
    with RunLock(tmp_path / "state" / LOCK_FILE):
        code = main(["rebuild", "-s", f"ARCHIVE_DIR={tmp_path / 'archive'}", "-s", f"STATE_DIR={tmp_path / 'state'}"])
    assert code == EX_TEMPFAIL
    assert "a run is active" in capsys.readouterr().err


def test_rebuild_from_gzipped_captures_reproduces_the_crawl(tmp_path, capsys):
    """Pages captured as a gzipping server sent them are decoded again for the rebuild."""
    state = tmp_path / "state"
    with StandIn(gzip_pages=True) as server:
        result = crawl(server, tmp_path / "crawled", "discover=feed,sitemap", STATE_DIR=str(state))
    assert result.counts["archived"] == 6, result.log[-3000:]
    counts = rebuild(capsys, tmp_path / "rebuilt", state)
    assert (counts["code"], counts["archived"], counts["changed"]) == (0, 6, 6)
    assert_same_archive(tmp_path / "crawled", tmp_path / "rebuilt")


def test_a_response_record_without_a_target_uri_is_skipped_and_counted(tmp_path, capsys):
    from warcio.warcwriter import WARCWriter

    from archiver.warc import Exchange, WarcFileWriter

    ref = ref_from_id("20250301A01AAB00")
    folder = tmp_path / "state" / "warc"
    with closing(WarcFileWriter(folder, 1 << 30)) as writer:
        writer.write_exchange(Exchange("https://new.qq.com/rain/a/20250301A01AAB00", "GET", [], b"", 200,
                                       [("Content-Type", "text/html")], page_html("好", "正文。")), Listing(ref=ref))
    with open(folder / "qq-20990101T000000Z-1-00000.warc.gz", "wb") as stream:  # a hand-made, hostile file
        warc = WARCWriter(stream, gzip=True)
        record = warc.create_warc_record("https://new.qq.com/rain/a/20250301A01AAB00", "response",
                                         payload=__import__("io").BytesIO(b"HTTP/1.1 200 OK\r\n\r\n<html></html>"))
        record.rec_headers.remove_header("WARC-Target-URI")
        warc.write_record(record)
    assert main(["rebuild", str(folder), "-s", f"ARCHIVE_DIR={tmp_path / 'archive'}",
                 "-s", f"STATE_DIR={tmp_path / 'state'}"]) == 0
    out = capsys.readouterr().out
    assert "archived 1" in out and "; 1 record(s) skipped" in out
