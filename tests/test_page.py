"""Reading pages: each layout, and the faults a page can have. Hand-written pages modelled on
the real ones in ../shared/qq/pages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.ids import ArticleRef, NotAnArticle
from archiver.items import Listing
from archiver.reading import ArticleGone, EmptyArticle, decode_html, read_article
from archiver.render import body_markdown, render_document

ID = "20251120A01ABC00"
URL = f"https://new.qq.com/rain/a/{ID}"
PARAGRAPH = "国家统计局今天发布数据显示，十月份规模以上工业增加值同比增长百分之五点三，比上月加快零点二个百分点。"


def rain_page(data: dict | str, body: str = "", title: str = "标题_腾讯新闻") -> str:
    script = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<script>window.DATA = {script};</script></head><body>"
            f"<div class='dropdown'><h1 class='title'>全新首页 焕新登场</h1></div>"
            f"<div class='content-article'><h1>页面标题</h1><div id='ArticleContent'>{body}</div></div>"
            f"<div class='footer'>返回腾讯网首页 Copyright © 1998 - 2025 Tencent</div></body></html>")


def test_origin_content_images_are_resolved_and_markers_dropped():
    data = {"title": "数据标题", "pubtime": "2025-11-20 08:01:02", "originContent": {"text":
            f"<P>{PARAGRAPH}</P><!--IMG_0--><P>前<!--SECURE_LINK_BEGIN_0-->链接<!--SECURE_LINK_END_0-->后</P>"},
            "originAttribute": {"IMG_0": {"imgurl0": "https://inews.gtimg.com/om_bt/OAbc/0",
                                          "origUrl": "https://inews.gtimg.com/om_bt/OAbc/641", "desc": "图说"}}}
    article = read_article(rain_page(data).encode(), URL)
    assert article.title == "数据标题"
    assert article.date == "2025-11-20 08:01:02"
    assert body_markdown(article.body_html) == f"{PARAGRAPH}\n\n![图说](https://inews.gtimg.com/om_bt/OAbc/641)\n\n前链接后"
    assert article.thumbnail == "https://inews.gtimg.com/om_bt/OAbc/641"
    assert article.layout == "originContent"


def test_feed_thumbnail_wins_and_dom_title_is_the_article_h1():
    body = f"<div class='article-content-wrap'><div class='qnt-p'>{PARAGRAPH}</div>" \
           f"<div class='qnt-p'><img class='qnt-img-img' src='//inews.gtimg.com/om_bt/X/641'></div>" \
           f"<div class='comps-contentify-wrap'><div class='qnt-p'><img src='https://ad.example/1'></div></div></div>"
    listing = Listing(ref=ArticleRef(ID), thumbnail="https://inews.gtimg.com/om_ls/T_640360/0",
                      published="2025-11-20 08:00:00")
    article = read_article(rain_page("not json {", body).encode(), URL, listing=listing)
    assert article.title == "页面标题"
    assert article.date == "2025-11-20 08:00:00"
    assert article.thumbnail == "https://inews.gtimg.com/om_ls/T_640360/0"
    markdown = body_markdown(article.body_html)
    assert markdown == f"{PARAGRAPH}\n\n![](https://inews.gtimg.com/om_bt/X/641)"


def test_title_falls_back_to_the_title_tag_without_its_suffix():
    page = f"<html><head><title>标签标题_腾讯新闻</title></head><body><div class='rich_media_content'>" \
           f"<p>{PARAGRAPH}</p></div></body></html>"
    assert read_article(page.encode(), URL).title == "标签标题"


def test_unknown_layout_goes_to_trafilatura_and_keeps_tencent_images():
    paragraphs = "".join(f"<p>{PARAGRAPH}第{n}段。{PARAGRAPH}</p>" for n in range(6))
    page = (f"<html><head><title>新版_腾讯新闻</title></head><body><nav><a href='/'>首页</a><a href='/x'>财经</a></nav>"
            f"<main class='art-2026'><section class='txt'>{paragraphs[:400]}"
            f"<figure><img src='https://inews.gtimg.com/om_bt/NEW/641' alt='新图'></figure>{paragraphs[400:]}</section></main>"
            f"<aside><ul><li><a href='/a'>相关推荐一</a></li><li><a href='/b'>相关推荐二</a></li></ul></aside>"
            f"<footer>Copyright © 1998 - 2026 Tencent. All Rights Reserved.</footer></body></html>")
    article = read_article(page.encode(), URL)
    markdown = body_markdown(article.body_html)
    assert article.layout == "trafilatura"
    assert "第5段" in markdown and "第0段" in markdown
    assert "![新图](https://inews.gtimg.com/om_bt/NEW/641)" in markdown
    for boilerplate in ("首页", "相关推荐", "Copyright"):
        assert boilerplate not in markdown


@pytest.mark.parametrize("body", [b"", b"   \n", b"<html></html>", b"<html><body><div></div></body></html>",
                                  b"\x00\x01\x02", b"<html><body><p>   </p><img src=''></body></html>"])
def test_pages_without_text_are_refused(body):
    with pytest.raises(EmptyArticle):
        read_article(body, URL)


def test_truncated_html_still_gives_what_it_has():
    page = rain_page({"title": "截断", "pubtime": "2025-11-20 08:00"},
                     f"<div class='rich_media_content'><p>{PARAGRAPH}</p><p>第二段被截断的文字")
    page = page[: page.index("第二段被截断") + 6]
    article = read_article(page.encode(), URL)
    assert article.date == "2025-11-20 08:00:00"
    assert body_markdown(article.body_html) == f"{PARAGRAPH}\n\n第二段被截断"


def test_video_only_article_has_no_body():
    data = {"title": "视频", "pubtime": "2025-11-20 08:00:00", "videoArr": [{"vid": "x"}],
            "originContent": {"text": "<P></P>"}}
    with pytest.raises(EmptyArticle):
        read_article(rain_page(data, "<div class='txp_player'></div>").encode(), URL)


def test_a_200_deletion_notice_is_gone():
    page = "<html><head><title>腾讯网</title></head><body><div class='rich_media_content'></div>" \
           "<div class='tips'>抱歉，您访问的页面不存在或已被删除</div></body></html>"
    with pytest.raises(ArticleGone):
        read_article(page.encode(), URL)
    with pytest.raises(ArticleGone):
        read_article(b"<html></html>", "https://www.qq.com/babygohome/?pgv_ref=404")


@pytest.mark.parametrize("declared", ["utf-8", "gb2312", None])
def test_gbk_bytes_decode_right_whatever_the_page_declares(declared):
    meta = f"<meta http-equiv='Content-Type' content='text/html; charset={declared}'>" if declared else ""
    page = (f"<html><head>{meta}<title>旧文章_财经_腾讯网</title></head><body><div id='Cnt-Main-Article-QQ'>"
            f"<p>{PARAGRAPH}</p><p><a href='http://www.qq.com'>返回腾讯网首页&gt;&gt;</a></p></div></body></html>")
    raw = page.encode("gbk")
    assert decode_html(raw) == page
    article = read_article(raw, "http://finance.qq.com/a/20180923/000843.htm")
    assert article.title == "旧文章"
    assert body_markdown(article.body_html) == PARAGRAPH
    assert render_document(article).endswith("[qq](http://finance.qq.com/a/20180923/000843.htm)\n")


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_nul_characters_are_dropped_from_bytes_and_text_alike(encoding):
    page = (f"<html><head><title>旧文章_财经_腾讯网</title></head><body><div id='Cnt-Main-Article-QQ'>"
            f"<p>国家\x00统计局</p><p>{PARAGRAPH}\x00</p></div></body></html>")
    url = "http://finance.qq.com/a/20180923/000843.htm"
    expected = f"国家统计局\n\n{PARAGRAPH}"
    assert body_markdown(read_article(page.encode(encoding), url).body_html) == expected
    assert body_markdown(read_article(page, url).body_html) == expected


# Bytes that start, continue or break UTF-8 and GB18030 sequences, NUL among them.
_CODEC_BYTES = st.sampled_from([0x00, 0x30, 0x39, 0x41, 0x7F, 0x80, 0x81, 0x84, 0xA1, 0xBB, 0xBF, 0xC0,
                                0xE0, 0xEF, 0xF0, 0xFE, 0xFF]) | st.integers(0, 255)


@given(st.lists(_CODEC_BYTES, max_size=24).map(bytes))
def test_decoded_text_holds_a_nul_only_where_the_bytes_do(data):
    # What lets the reader look for NUL in the bytes, not in the longer text.
    if "\x00" in decode_html(data):
        assert b"\x00" in data


def test_a_page_with_no_id_anywhere_is_not_an_article():
    page = f"<html><body><div class='rich_media_content'><p>{PARAGRAPH}</p></div></body></html>"
    with pytest.raises(NotAnArticle):
        read_article(page.encode(), "")
    assert read_article(page.encode(), "", ref=ArticleRef(ID)).article_id == ID


def test_links_that_run_code_are_unwrapped():
    page = rain_page({"title": "t", "pubtime": "2025-11-20 08:00:00"},
                     f"<div class='rich_media_content'><p>{PARAGRAPH}<a href='javascript:alert(1)'>点我</a>"
                     f"<a href='/rain/a/{ID}'>站内</a></p></div>")
    markdown = body_markdown(read_article(page.encode(), URL).body_html)
    assert "javascript" not in markdown
    assert f"点我[站内](https://new.qq.com/rain/a/{ID})" in markdown


def test_origin_attribute_urls_given_as_objects_are_read():
    data = {"title": "t", "pubtime": "2025-11-20 08:00:00", "originContent": {"text": f"<P>{PARAGRAPH}</P><!--IMG_0-->"},
            "originAttribute": {"IMG_0": {"imgurl0": {"imgurl": "//inews.gtimg.com/om_bt/OBJ/0", "width": 640}}}}
    markdown = body_markdown(read_article(rain_page(data).encode(), URL).body_html)
    assert markdown.endswith("![](https://inews.gtimg.com/om_bt/OBJ/0)")


@pytest.mark.parametrize("body, expected", [
    ("前文&#12;正文<p>段落</p>", "前文 正文<p>段落</p>"),  # a form feed, written as an entity
    ("前文\x0b正文<p>段落\x01一&#1;二</p>", "前文正文<p>段落一二</p>"),  # raw and escaped controls
])
def test_control_characters_never_reach_the_body(body, expected):
    """lxml refuses a string holding a C0 control (the body is parsed again for its text), and
    a Markdown file has no use for one: a form feed is white space, the others go."""
    page = (f"<html><head><title>t</title></head><body><div class='rich_media_content'>{body}"
            f"<p>{PARAGRAPH}</p></div></body></html>")
    article = read_article(page.encode("utf-8"), URL)
    assert article.body_html == f"{expected}<p>{PARAGRAPH}</p>"
    assert PARAGRAPH in render_document(article)


def test_control_characters_in_origin_content_never_reach_the_body():
    data = {"title": "标题", "originContent": {"text": f"\x0b前文<p>段落\x01一</p><p>{PARAGRAPH}</p>"}}
    article = read_article(rain_page(data).encode("utf-8"), URL)
    assert article.body_html == f"前文<p>段落一</p><p>{PARAGRAPH}</p>"


def test_a_window_data_nested_too_deep_is_read_from_the_dom():
    deep = "[" * 100_000 + "]" * 100_000
    page = rain_page(f'{{"title": "深", "x": {deep}}}', f"<div class='rich_media_content'><p>{PARAGRAPH}</p></div>",
                     title="从页面读取_腾讯新闻")
    article = read_article(page.encode(), URL)
    assert article.title == "页面标题" and PARAGRAPH in article.body_html


@pytest.mark.parametrize("pubtime, listed, expected", [
    ("2026-11-31 10:00:00", "2026-11-20 09:00:00", "2026-11-20 09:00:00"),  # the feed's
    ("2026-11-31 10:00:00", "2026-02-30 09:00:00", "2025-11-20 00:00:00"),  # the id's day
    ("2026-13-01 10:00:00", "", "2025-11-20 00:00:00"),
])
def test_a_date_that_is_not_real_is_taken_from_the_next_source(pubtime, listed, expected):
    page = rain_page({"title": "日期", "pubtime": pubtime}, f"<div class='rich_media_content'><p>{PARAGRAPH}</p></div>")
    listing = Listing(ref=ArticleRef(ID), published=listed, source="feed")
    assert read_article(page.encode(), URL, listing=listing).date == expected
