"""Page cases, one folder each: `tests/pages/<case>/page.html` (the page as served), `meta.json`
(the URL it came from and, optionally, the feed's listing) and `expected.md` (the whole archived
document). Adding a layout case is adding a folder; each runs through the public reading and
rendering, as the spider, `archiver fetch` and `archiver extract` run them.

    .venv/bin/python tests/test_pages.py CASE_DIR   # write a new case's expected.md, to be read and checked
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from archiver.ids import parse_article_ref
from archiver.items import Listing
from archiver.reading import read_article
from archiver.render import render_document

CASES = Path(__file__).resolve().parent / "pages"


def document_of(case: Path) -> str:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    listing = None
    if "listing" in meta:
        listing = Listing(ref=parse_article_ref(meta["url"]), source="feed", **meta["listing"])
    return render_document(read_article((case / "page.html").read_bytes(), meta["url"], listing=listing))


@pytest.mark.parametrize("case", sorted(path.name for path in CASES.iterdir() if path.is_dir()))
def test_each_page_case_gives_its_expected_document(case):
    from conftest import assert_same_text

    expected = (CASES / case / "expected.md").read_text(encoding="utf-8")
    assert_same_text(expected, document_of(CASES / case), f"{case}/expected.md")


def test_there_are_cases_of_every_known_layout():
    layouts = set()
    for case in CASES.iterdir():
        meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
        layouts.add(read_article((case / "page.html").read_bytes(), meta["url"]).layout)
    assert {"originContent", "rich_media_content", "article-content-wrap", "one-p", "legacy",
            "trafilatura"} <= layouts


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        (Path(folder) / "expected.md").write_text(document_of(Path(folder)), encoding="utf-8")
