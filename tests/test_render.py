import frontmatter
import pytest
from hypothesis import given, settings, strategies as st

from archiver.ids import ArticleRef
from archiver.items import Article
from archiver.render import body_markdown, clean_title, render_document, summarise, summary_of_text

REF = ArticleRef("20250212A03JWP00")
KEYS = ["title", "date", "summary", "categories", "lang", "translations", "tags", "menu", "thumbnail",
        "lead", "comments", "authorbox", "pager", "toc", "mathjax", "sidebar", "widgets"]


def article(**fields) -> Article:
    values = dict(ref=REF, title="标题", date="2025-02-12 11:09:17", body_html="<p>正文。</p>", thumbnail="")
    values.update(fields)
    return Article(**values)


def test_short_text_is_the_whole_summary():
    assert summarise("<p>短短的正文。</p><p>第二段</p>") == "短短的正文。第二段"


def test_summary_keeps_white_space_between_tags_and_turns_line_breaks_into_spaces():
    assert summarise("<p>a</p>\n<p>b\tc</p> <p>d</p>") == "a b c d"
    assert summarise("<p>a</p>\n\n<p>b</p>") == "a  b"


def test_long_text_gives_fifty_characters_and_dots():
    text = "一二三四五六七八九十" * 8  # 80 characters: not fewer than 80
    assert summarise(f"<p>{text}</p>") == text[:50] + "..."
    assert summarise(f"<p>{text[:79]}</p>") == text[:79]


def test_summary_counts_nbsp_as_characters_and_decodes_entities():
    body = "<p>每经记者：叶晓丹\u00a0\u00a0\u00a0\u00a0每经编辑：梁枭</p><p>" + "从被质疑到被认可" * 10 + "</p>"
    assert summarise(body) == ("每经记者：叶晓丹\u00a0\u00a0\u00a0\u00a0每经编辑：梁枭" + "从被质疑到被认可" * 10)[:50] + "..."
    assert summarise("<p>A &amp; B &lt;c&gt;</p>") == "A & B <c>"


def test_headings_are_setext_as_long_as_the_text():
    markdown = body_markdown("<p>前文</p><h2>开源模式下，DeepSeek生态价值凸显</h2><p>后文</p><h1>大标题</h1>")
    assert markdown == "前文\n\n开源模式下，DeepSeek生态价值凸显\n" + "-" * 20 + "\n\n后文\n\n大标题\n==="


def test_images_keep_extensionless_urls_on_a_line_of_their_own():
    markdown = body_markdown('<p>前文<img src="https://inews.gtimg.com/om_bt/OAbc/641" alt="图">后文</p>')
    assert "\n\n![图](https://inews.gtimg.com/om_bt/OAbc/641)\n\n" in markdown


def test_markup_is_written_as_markdownify_writes_it():
    markdown = body_markdown('<p><b>粗</b><i>斜</i><a href="https://a.qq.com/x">链</a></p>'
                             '<ul><li>一</li></ul><ol><li>二</li></ol><blockquote><p>引</p></blockquote>')
    assert markdown == "**粗***斜*[链](https://a.qq.com/x)\n\n* 一\n\n1. 二\n\n> 引"


def test_no_run_of_more_than_one_blank_line():
    markdown = body_markdown("<p>a</p><p><br></p><p> </p><div><p>b</p></div><p>\u3000</p><p>c</p>")
    assert "\n\n\n" not in markdown
    assert all(line == "" or line.strip() for line in markdown.split("\n"))


def test_document_layout_matches_the_format():
    document = render_document(article(thumbnail="https://inews.gtimg.com/x_640360/0"))
    head, body = document.split("\n---\n", 1)
    assert head.startswith("---\ntitle: \"标题\"\ndate: \"2025-02-12 11:09:17\"\nsummary: \"正文。\"\n")
    assert "\nthumbnail: \"https://inews.gtimg.com/x_640360/0\"\n" in head
    assert body == "\n正文。\n\n[qq](https://new.qq.com/rain/a/20250212A03JWP00)\n"
    assert list(frontmatter.loads(document).metadata) == KEYS


@pytest.mark.parametrize("title, expected", [
    ('He said "hi" \\ bye', 'He said "hi" \\ bye'),
    ("a: b # c --- d", "a: b # c --- d"),
    ("line1\nline2\ttabbed\r\nend", "line1 line2 tabbed end"),
    ("---\n---", "--- ---"),
    ("bell\x07 and nul\x00 and del\x7f", "bell and nul and del"),
    ("\u2028sep\u2029", "sep"),
    ("x" * 2000, "x" * 2000),
    ("'single' {braces} [brackets] &anchor *alias !tag %", "'single' {braces} [brackets] &anchor *alias !tag %"),
])
def test_hostile_titles_load_back_as_the_format_defines(title, expected):
    document = render_document(article(title=title))
    assert frontmatter.loads(document).metadata["title"] == expected


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=300), body=st.text(max_size=300))
def test_any_title_and_body_round_trip(title, body):
    from html import escape

    document = render_document(article(title=title, body_html=f"<p>{escape(body)}</p>"))
    post = frontmatter.loads(document)
    assert post.metadata["title"] == clean_title(title)
    assert list(post.metadata) == KEYS
    assert document.endswith("\n\n[qq](https://new.qq.com/rain/a/20250212A03JWP00)\n")
    assert post.metadata["summary"] == summarise(f"<p>{escape(body)}</p>")


def _summary_as_the_format_defines(text: str) -> str:
    text = clean_title(text.replace("\r", " ").replace("\n", " ").replace("\t", " ").strip())
    return text if len(text) < 80 else text[:50] + "..."


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["新闻", "a", " ", "\n", "\t", "\r", "\x01", "\x1f", "\x85", "\xa0",
                                 "\u3000", "\ud800", "\u2028", "。", "x" * 60, " " * 60, "\x1c" * 30]),
                max_size=120).map("".join))
def test_the_summary_of_a_long_body_is_read_from_its_beginning_only(text):
    """summary_of_text cleans only the first few hundred characters when they are enough: the
    same summary as cleaning the whole text, whatever white space and controls it holds."""
    assert summary_of_text(text) == _summary_as_the_format_defines(text)
