"""The existing site's own files (../shared/qq/archive-sample/) turned back into pages of today's
layout, their Markdown rendered to HTML inside a qq page's chrome (share bar, the #Status
disclaimer, an advert image, recommendations, footer), must read back as the same text, line for
line: everything the publisher wrote is kept, only qq's furniture goes. Where the old crawler
glued an image to the text around it, FORMAT.md puts the image on a line of its own."""

from __future__ import annotations

import html
import json
import re

import frontmatter
import markdown
import pytest

from archiver.reading import read_article
from archiver.render import body_markdown
from conftest import SHARED, assert_same_text

SAMPLE = SHARED / "qq" / "archive-sample"
_IMAGE = r"!\[[^\]]*\]\([^)]*\)"
_GLUED_BEFORE = re.compile(rf"(?<=\S)({_IMAGE})")
_GLUED_AFTER = re.compile(rf"({_IMAGE})(?=\S)")
# Links that run code: the old crawler kept them, the archiver keeps their words only.
_SCRIPT_LINK = re.compile(r"\[([^\]]*)\]\(javascript:(?:[^()]|\([^()]*\))*\)")
_LINK_LINE = re.compile(r"\n*\[qq\]\(https://new\.qq\.com/rain/a/[0-9A-Z]+\)\s*$")

CHROME = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_腾讯新闻</title>
<script>window.DATA = {data};</script></head>
<body><div class="qq-header"><a href="https://www.qq.com/">腾讯网</a><a href="https://news.qq.com/">新闻</a></div>
<div class="content-article"><h1>{title}</h1>
<div class="article-author"><span class="media-name">作者</span><span class="time">{date}</span></div>
<div class="mbArticleShareBtn"><span>分享到：</span><a>微信</a><a>QQ空间</a></div>
<div class="rich_media_content">{body}
<div class="comps-contentify-wrap"><p><img src="https://inews.gtimg.com/om_bt/OAdvertImage/0" alt="广告"></p></div>
</div>
<div id="Status"><div class="article-status"><div class="statement">免责声明：本内容来自腾讯平台创作者，不代表腾讯新闻或腾讯网的观点和立场。</div></div></div>
<div id="Recomend"><h3>相关推荐</h3><ul><li><a href="/rain/a/20250101A00000000">推荐文章一</a></li></ul></div>
<div id="Comment"><p>热门评论</p></div></div>
<div id="Foot"><a href="https://www.qq.com/?pref=article">返回腾讯网首页&gt;&gt;</a><div>Copyright © 1998 - 2025 Tencent. All Rights Reserved</div></div>
</body></html>"""


def sample_files() -> list[str]:
    return sorted(path.name for path in SAMPLE.glob("*.zh-CN.md")) if SAMPLE.is_dir() else ["(../shared absent)"]


@pytest.mark.parametrize("name", sample_files())
def test_a_file_of_the_site_reads_back_line_for_line(shared_dir, name):
    post = frontmatter.load(SAMPLE / name)
    body = _LINK_LINE.sub("", post.content).strip()
    page = CHROME.format(title=html.escape(post["title"]), date=post["date"], body=markdown.markdown(body),
                         data=json.dumps({"title": post["title"], "pubtime": post["date"]}, ensure_ascii=False))
    article_id = name.removesuffix(".zh-CN.md") + "00"
    article = read_article(page.encode("utf-8"), f"https://new.qq.com/rain/a/{article_id}")
    expected = _GLUED_AFTER.sub(r"\1\n\n", _GLUED_BEFORE.sub(r"\n\n\1", _SCRIPT_LINK.sub(r"\1", body)))
    assert_same_text(text_lines(expected), text_lines(body_markdown(article.body_html)), f"{name}'s text")


def text_lines(markdown_text: str) -> str:
    """The text a reader sees, a line each: emphasis marks, escapes and the white space of
    `<br>`-only lines are the Markdown round trip's (this test's HTML, markdownify's escapes)."""
    lines = (re.sub(r"[*\\]", "", line).strip().lstrip(">").strip() for line in markdown_text.splitlines())
    return "\n".join(line for line in lines if line)
