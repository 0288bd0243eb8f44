"""The existing site's own file, served as a qq page, comes out as that file."""

from __future__ import annotations

import re
import subprocess
import sys

from stand_in import DEFAULT_SITE_DIR
from archiver.feeds import parse_feed
from archiver.ids import ArticleRef
from archiver.reading import read_article
from archiver.render import render_document
from conftest import assert_same_text

GOLDEN = "20250212A03JWP00"


def without_blank_only_lines(text: str) -> str:
    """FORMAT.md: a line of white space (from a `<br>`-only paragraph) may stay or go."""
    lines = ["" if not line.strip() else line for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def golden_listing():
    for path in sorted((DEFAULT_SITE_DIR / "feed").rglob("*.json")):
        for entry in parse_feed(path.read_bytes(), str(path)):
            if getattr(entry, "ref", None) == ArticleRef(GOLDEN):
                return entry
    raise AssertionError("the fixture feed lists no golden article")


def test_example_file_is_reproduced_from_page_and_feed(shared_dir):
    expected = (shared_dir / "format" / f"example-{GOLDEN}.md").read_text(encoding="utf-8")
    page = (DEFAULT_SITE_DIR / "pages" / f"{GOLDEN}.html").read_bytes()
    article = read_article(page, f"http://127.0.0.1:9/rain/a/{GOLDEN}", listing=golden_listing())
    actual = render_document(article)
    assert_same_text(without_blank_only_lines(expected), without_blank_only_lines(actual))
    # the front matter and the link line byte for byte, NBSPs included
    assert actual.split("\n---\n")[0] == expected.split("\n---\n")[0]
    assert actual.endswith(f"\n\n[qq](https://new.qq.com/rain/a/{GOLDEN})\n")


def test_extract_command_prints_the_same_document(shared_dir, tmp_path):
    page = DEFAULT_SITE_DIR / "pages" / f"{GOLDEN}.html"
    done = subprocess.run([sys.executable, "-m", "archiver", "extract", str(page), "--url",
                           f"https://new.qq.com/rain/a/{GOLDEN}?uid=1"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    article = read_article(page.read_bytes(), f"https://new.qq.com/rain/a/{GOLDEN}")
    assert done.stdout.decode("utf-8") == render_document(article)
    assert not any(tmp_path.iterdir())


def test_extract_refuses_a_page_without_body(tmp_path):
    page = tmp_path / "empty.html"
    page.write_text("<html><head><title>x_腾讯新闻</title></head><body><div class='nav'></div></body></html>")
    done = subprocess.run([sys.executable, "-m", "archiver", "extract", str(page), "--url",
                           f"https://new.qq.com/rain/a/{GOLDEN}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no body text" in done.stderr
    assert done.stdout == ""


def test_extract_refuses_a_binary_file_with_exit_2(tmp_path):
    page = tmp_path / "image.png"
    page.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    done = subprocess.run([sys.executable, "-m", "archiver", "extract", str(page)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "is not an HTML page" in done.stderr
