"""The same pages through every entry point: `scrapy crawl qq`, `archiver fetch`, `archiver
extract` and `archiver rebuild` write the same documents, those of the page cases (TWF ids,
videos in place)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stand_in import StandIn
from archiver.ids import parse_article_ref
from conftest import REPO, assert_same_text
from crawling import archived_files, crawl

CASES = Path(__file__).resolve().parent / "pages"
ENTRY_CASES = ("omn-twf-id-with-video", "rain-video-arr-placed-and-listed", "rain-video-and-short-lead",
               "rich-media-publisher-lines")


def case_id(case: str) -> str:
    return parse_article_ref(json.loads((CASES / case / "meta.json").read_text(encoding="utf-8"))["url"]).article_id


def expected(case: str) -> str:
    return (CASES / case / "expected.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def case_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "pages").mkdir()
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    for case in ENTRY_CASES:
        shutil.copy(CASES / case / "page.html", site / "pages" / f"{case_id(case)}.html")
    with StandIn(site_dir=site) as server:
        yield server


def archiver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_crawl_fetch_extract_and_rebuild_give_the_cases_documents(case_site, tmp_path):
    ids = [case_id(case) for case in ENTRY_CASES]
    state = tmp_path / "state"
    result = crawl(case_site, tmp_path / "crawled", "url=" + ",".join(ids), STATE_DIR=str(state))
    assert result.counts["archived"] == len(ids), result.log[-3000:]
    assert result.counts["not_article"] == 0
    crawled = archived_files(tmp_path / "crawled")

    settings = [f"-s{name}={value}" for name, value in case_site.settings().items()]
    fetched_dir = tmp_path / "fetched"
    done = archiver("fetch", *ids, *settings, f"-sARCHIVE_DIR={fetched_dir}", f"-sSTATE_DIR={tmp_path / 'state2'}",
                    "-sDOWNLOAD_DELAY=0")
    assert done.returncode == 0, done.stdout + done.stderr
    fetched = archived_files(fetched_dir)

    rebuilt_dir = tmp_path / "rebuilt"
    done = archiver("rebuild", str(state / "warc"), f"-sARCHIVE_DIR={rebuilt_dir}", f"-sSTATE_DIR={state}",
                    *settings)
    assert done.returncode == 0, done.stdout + done.stderr
    rebuilt = archived_files(rebuilt_dir)

    for case, article_id in zip(ENTRY_CASES, ids):
        meta = json.loads((CASES / case / "meta.json").read_text(encoding="utf-8"))
        extracted = archiver("extract", str(CASES / case / "page.html"), "--url", meta["url"])
        assert extracted.returncode == 0, extracted.stderr
        assert crawled[article_id].name == f"{article_id}.zh-CN.md"
        for how, document in (("crawl", crawled[article_id].read_text(encoding="utf-8")),
                              ("fetch", fetched[article_id].read_text(encoding="utf-8")),
                              ("rebuild", rebuilt[article_id].read_text(encoding="utf-8")),
                              ("extract", extracted.stdout)):
            assert_same_text(expected(case), document, f"{case} through {how}")
