"""archiver.markdown writes what markdownify writes, byte for byte, or declines."""

from __future__ import annotations

import html
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from stand_in import DEFAULT_SITE_DIR
from archiver.markdown import SUPPORTED_TAGS
from archiver.reading import read_article
from archiver.render import MARKDOWNIFY, lxml_markdown, body_markdown
from conftest import assert_same_text

# markdownify's BeautifulSoup warns of a body that looks like a URL: some generated ones do.
pytestmark = pytest.mark.filterwarnings("ignore::bs4.MarkupResemblesLocatorWarning")

VOID_TAGS = ["br", "hr", "img"]
CONTAINER_TAGS = sorted(SUPPORTED_TAGS - set(VOID_TAGS))
URLS = ["https://a.qq.com/x_y", "http://b.qq.com/*a*", "x"]
# Pieces of text: white space of every kind, CJK, Markdown's specials, entities and raw markup
# characters, and the link URLs (so a link's text is sometimes its href: an autolink).
TEXT_PIECES = [" ", "  ", "\t", "\n", "\r", "\r\n", " \n ", "\xa0", "\u3000", "a", "Bc", "中文", "。",
               "*", "_", "[", "]", "`", "#", "-", "+", ".", "1", "2.", "\\", "\"", "'",
               "&amp;", "&lt;", "&gt;", "&nbsp;", "&#150;", "&#13;", "&#12;", "&copy", "<", ">", "&", *URLS]
# Attribute values with quotes and ampersands; "" and missing are both there.
ATTRIBUTE_VALUES = st.one_of(st.sampled_from(["", "图", "a\"b", "it's", "x&y", "a&amp;b", "<b>", " a "] + URLS),
                             st.text(st.sampled_from("ab \"'&<>_*\n"), max_size=6))
ATTRIBUTES = st.dictionaries(st.sampled_from(["href", "src", "alt", "title", "class"]), ATTRIBUTE_VALUES,
                             max_size=3)

text = st.lists(st.sampled_from(TEXT_PIECES), min_size=1, max_size=5).map("".join)
white_space = st.sampled_from([" ", "\n", "\n  \t", "\xa0", " \xa0 "])


def attributes_html(attributes: dict[str, str], quoting: int) -> str:
    written = []
    for name, value in attributes.items():
        if quoting == 0:
            written.append(f' {name}="{html.escape(value)}"')
        elif quoting == 1 and "'" not in value:
            written.append(f" {name}='{value}'")
        elif not value:
            written.append(f" {name}")
        else:
            written.append(f' {name}="{html.escape(value)}"')
    return "".join(written)


@st.composite
def void_element(draw) -> str:
    return f"<{draw(st.sampled_from(VOID_TAGS))}{attributes_html(draw(ATTRIBUTES), draw(st.integers(0, 2)))}>"


@st.composite
def autolink(draw) -> str:
    """A link whose text is its URL, give or take white space."""
    url = draw(st.sampled_from(URLS))
    title = draw(st.sampled_from(["", ' title=""', ' title="t"']))
    before, after = draw(st.sampled_from(["", " ", "\n"])), draw(st.sampled_from(["", " "]))
    return f'<a href="{url}"{title}>{before}{url}{after}</a>'


def container(children):
    @st.composite
    def element(draw) -> str:
        tag = draw(st.sampled_from(CONTAINER_TAGS))
        inner = "".join(draw(st.lists(children, max_size=4)))
        return f"<{tag}{attributes_html(draw(ATTRIBUTES), draw(st.integers(0, 2)))}>{inner}</{tag}>"
    return element()


nodes = st.recursive(st.one_of(text, white_space, void_element(), autolink()), container, max_leaves=25)
fragments = st.lists(nodes, min_size=1, max_size=6).map("".join)


def canonical(fragment: str) -> str:
    """The fragment as archiver.page writes a body: lxml's parse of a page holding it in a <div>,
    the div serialised, its tags cut off, white space stripped."""
    container = lxml.html.document_fromstring(f"<html><body><div>{fragment}</div></body></html>").find("body/div")
    return lxml.html.tostring(container, encoding="unicode")[len("<div>"):-len("</div>")].strip()


def declined_rightly(body_html: str) -> bool:
    """lxml cannot parse the body (a form feed in its leading text) or does not write it back
    unchanged (a CR, from `&#13;`, is read as LF), or the body holds a tag not supported (a `<`
    in the generated text began one)."""
    try:
        div = lxml.html.fragment_fromstring(body_html, create_parent="div")
    except ValueError:
        return True
    return (lxml.html.tostring(div, encoding="unicode") != f"<div>{body_html}</div>"
            or not SUPPORTED_TAGS.issuperset(element.tag for element in div.iter()))


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
def test_canonical_bodies_convert_as_markdownify_does(fragment):
    body_html = canonical(fragment)
    markdown = lxml_markdown(body_html)
    if markdown is None:
        assert not body_html.strip() or declined_rightly(body_html), f"{body_html!r} was declined"
        event("declined")
    else:
        assert_same_text(MARKDOWNIFY.convert(body_html), markdown, f"markdown of {body_html!r}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
def test_raw_fragments_convert_as_markdownify_does_or_are_declined(fragment):
    markdown = lxml_markdown(fragment)
    event("declined" if markdown is None else "converted")
    if markdown is not None:
        assert_same_text(MARKDOWNIFY.convert(fragment), markdown, f"markdown of {fragment!r}")


@pytest.mark.parametrize("body_html", [
    "<p>\u3000\u3000首行缩进\xa0</p><p>\xa0</p>\n<p> a </p>",  # only ASCII space is stripped at the start
    '<p>见 <a href="https://a.qq.com/x_y"> https://a.qq.com/x_y </a>。<a href="x" title=\'say "hi"\'>x</a></p>',
    '<h2>标题<img src="a.png" alt="![图"><br><span>段</span><div>块</div>\n<blockquote>引</blockquote></h2>',
    "<h3>a\n\tb</h3><h1> </h1><blockquote><p>一</p>\n<p>二</p></blockquote><blockquote> </blockquote>",
    "<div><b> 粗 </b><i></i><sup>1</sup><del>删</del><q>引</q><hr><figure><img src=\"b\"><figcaption> 注 </figcaption></figure></div>",
    "<section>\n  <span>a</span>\n  <p>b</p>\n  <br>\n</section>tail *_\\",
])
def test_hand_picked_bodies_convert_as_markdownify_does(body_html):
    assert_same_text(MARKDOWNIFY.convert(body_html), lxml_markdown(body_html), f"markdown of {body_html!r}")


@pytest.mark.parametrize("body_html", [
    "<ul><li>一</li></ul>", "<p>a<!-- c --></p>", "<pre>x  y</pre>", "<p><code>x_y</code></p>",
    "<table><tr><td>x</td></tr></table>", "<p>a</p><script>x</script>", "<o:p>x</o:p>",
    "<p>a<p>b</p></p>",  # lxml closes the first paragraph, html.parser nests them
    "<p>a\r\nb</p>",  # lxml reads \r\n as \n
    "a\x0cb", "<!DOCTYPE html>", "<html></html>",  # lxml refuses them
])
def test_what_is_not_supported_is_declined_and_left_to_markdownify(body_html):
    assert lxml_markdown(body_html) is None
    assert body_markdown(body_html) == MARKDOWNIFY.convert(body_html).strip("\n ")


def assert_converted_as_markdownify(path: Path, url: str) -> None:
    """The page's body is converted here, and as markdownify converts it."""
    body_html = read_article(path.read_bytes(), url).body_html
    markdown = lxml_markdown(body_html)
    assert markdown is not None, f"{path.name}: the body was declined"
    assert_same_text(MARKDOWNIFY.convert(body_html), markdown, f"{path.name}'s markdown")


EMPTY_DEMO_PAGE = "20251123A04NOP00"  # no body text (demo/site/README.md)
DEMO_PAGES = [(path, f"https://new.qq.com/rain/a/{path.stem}")
              for path in sorted((DEFAULT_SITE_DIR / "pages").glob("*.html")) if path.stem != EMPTY_DEMO_PAGE]
DEMO_PAGES.append((DEFAULT_SITE_DIR / "legacy" / "finance_20180923_000843.htm",
                   "http://finance.qq.com/a/20180923/000843.htm"))
REAL_PAGES = {
    "rain-2024_20240513A00GCM00.html": "https://new.qq.com/rain/a/20240513A00GCM00",
    "omn-2019_20190907A081B000.html": "https://new.qq.com/omn/20190907/20190907A081B000.html",
    "legacy-2016_tech_a_20161014_006270.html": "http://tech.qq.com/a/20161014/006270.htm",
}


@pytest.mark.parametrize(("path", "url"), DEMO_PAGES, ids=[path.name for path, _ in DEMO_PAGES])
def test_demo_site_bodies_convert_as_markdownify_does(path, url):
    assert_converted_as_markdownify(path, url)


@pytest.mark.parametrize(("name", "url"), REAL_PAGES.items())
def test_real_qq_bodies_convert_as_markdownify_does(shared_dir, name, url):
    assert_converted_as_markdownify(shared_dir / "qq" / "pages" / name, url)


PAGE_CASES = sorted(path for path in (Path(__file__).resolve().parent / "pages").iterdir() if path.is_dir())


@pytest.mark.parametrize("case", PAGE_CASES, ids=[case.name for case in PAGE_CASES])
def test_page_case_bodies_convert_as_markdownify_does_or_are_declined(case):
    """Every page case: archiver.markdown's output is markdownify's, or it declines the body and
    markdownify itself runs (a list, a table)."""
    import json

    url = json.loads((case / "meta.json").read_text(encoding="utf-8"))["url"]
    body_html = read_article((case / "page.html").read_bytes(), url).body_html
    markdown = lxml_markdown(body_html)
    if markdown is not None:
        assert_same_text(MARKDOWNIFY.convert(body_html), markdown, f"{case.name}'s markdown")
