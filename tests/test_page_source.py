"""A known layout's body parsed from its own markup is the element the whole page's parse gives.

archiver.page reads the rich_media_content and legacy bodies from the page's source when the
markup is plain enough to be sure of the result, and parses the whole page otherwise. These
tests compare the two readings on every fixture page, the real pages, generated pages and
markup made to trip a scanner, and check that the cheap reading is the one usually taken.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import page as page_module
from archiver.page import _Page, decode_html

REPO = Path(__file__).resolve().parent.parent
DEMO_SITE = REPO / "archiver" / "demo" / "site"
# (marker, reading from the source, reading from the whole page)
READINGS = (
    ("rich_media_content", page_module._from_rich_media, page_module._rich_media_in_doc),
    ("Cnt-Main-Article-QQ", page_module._from_legacy, page_module._legacy_in_doc),
)


def serialised(element) -> str | None:
    # Without the tail: the text after the container is not the body's (cleaning drops it), and
    # the container's own markup does not hold it.
    return None if element is None else lxml.html.tostring(element, encoding="unicode", with_tail=False)


def both_readings(html: str, reading, whole_page_reading) -> tuple[str | None, str | None, bool]:
    """The container read from the source, from the whole page, and whether the first reading
    parsed the whole page."""
    page = _Page(html=html, url="https://new.qq.com/rain/a/20250212A03JWP00")
    from_source = serialised(reading(page))
    parsed_whole = page._doc is not None
    return from_source, serialised(whole_page_reading(_Page(html=html, url=page.url))), parsed_whole


def generated_pages(tmp_path_factory) -> list[str]:
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate  # its dataclasses look their module up
    spec.loader.exec_module(generate)
    site = tmp_path_factory.mktemp("generated")
    generate.generate_site(site, 60, seed=7)
    return [decode_html(path.read_bytes()) for path in sorted(site.rglob("*.htm*"))]


@pytest.fixture(scope="module")
def every_page(tmp_path_factory) -> list[str]:
    """The demo site's pages, 60 generated ones and the real saved pages (when ../shared is there)."""
    pages = [decode_html(path.read_bytes()) for path in sorted(DEMO_SITE.rglob("*.htm*"))]
    pages += generated_pages(tmp_path_factory)
    shared = REPO.parent / "shared" / "qq" / "pages"
    return pages + [decode_html(path.read_bytes()) for path in sorted(shared.glob("*.html"))]


def test_every_page_we_have_reads_the_same_from_its_source(every_page):
    read_from_source = compared = 0
    for html in every_page:
        for marker, reading, whole_page_reading in READINGS:
            if marker not in html:
                continue
            from_source, from_whole_page, parsed_whole = both_readings(html, reading, whole_page_reading)
            assert from_source == from_whole_page, marker
            if from_whole_page is not None:  # else the marker is only in the page's styles
                compared += 1
                read_from_source += not parsed_whole
    assert compared >= 30
    # The point of it: most known bodies are read without parsing the page.
    assert read_from_source >= 0.9 * compared


def page(content: str, marker: str = 'class="rich_media_content"', after: str = "<p>after</p>") -> str:
    return ("<html><head><title>t</title><script>var x = '<div " + marker + ">in a script</div>';</script>"
            "</head><body><div class=\"wrap\"><!-- <div " + marker + ">commented out</div> -->"
            f"<div {marker}>{content}</div>{after}</div><div>footer</div></body></html>")


TRICKY = [
    "<p>plain</p>",
    "<div><p>nested</p></div><div>two</div>",
    "<!-- </div> --><p>a comment with an end tag</p>",
    "<script>document.write('</div>')</script><p>a script with an end tag</p>",
    "<style>div::after { content: '</div>' }</style><p>styled</p>",
    "<table><tr><td><div>left open in a cell</td></tr></table><p>after the table</p>",
    "<table><tbody><tr><td>cell</td><th>head</th></tr></tbody></table>",
    "<td>a cell with no table</td>",
    "<div/>self-closed",
    "<div class=x/>an unquoted value ending in a slash</div>",
    "<DIV>upper case</DIV><P>text</P>",
    "<div>unclosed",
    "</span></div><p>closed early</p>",
    "<p>a<div>block in a paragraph</div>b</p>",
    "<ul><li><div>in a list</li></ul>",
    "<div title=\"a &gt; b\">a character reference</div>",
    "<div title='>'>a quoted bracket</div>",
    "<textarea></div></textarea>",
    "<!-- never closed",
    "<script>never closed",
    "</body><p>after a body end</p>",
    "<form><div>in a form</form>x</div>",
    "<table><div>straight in a table</div></table>",
    "<table><tr><td>one<td>two</tr></table>",
]


@pytest.mark.parametrize("content", TRICKY)
@pytest.mark.parametrize("marker", ['class="rich_media_content"', 'class=" x  rich_media_content"',
                                    "class=rich_media_content", 'CLASS="rich_media_content"',
                                    'class="x\u00a0rich_media_content"', 'class="rich_media_content-x"',
                                    'id="Cnt-Main-Article-QQ"', 'id="Cnt-Main-Article-QQ "'])
def test_tricky_markup_reads_the_same_as_the_whole_page(content, marker):
    reading = READINGS[1] if "Cnt-Main" in marker else READINGS[0]
    from_source, from_whole_page, _ = both_readings(page(content, marker), reading[1], reading[2])
    assert from_source == from_whole_page


def test_plain_markup_is_read_without_parsing_the_page():
    for content in ("<p>plain</p>", "<!-- </div> --><p>x</p>", "<table><tr><td>cell</td></tr></table>"):
        from_source, from_whole_page, parsed_whole = both_readings(page(content), *READINGS[0][1:])
        assert from_source == from_whole_page
        assert not parsed_whole, content


def test_a_container_only_named_in_scripts_and_comments_is_none():
    html = page("<p>x</p>", marker='class="other"').replace('class="other"', 'class="rich_media_content"', 2)
    # The first two mentions are in the script and the comment; the real div has another class.
    html = html.replace('<div class="rich_media_content"><p>x</p>', '<div class="other"><p>x</p>')
    from_source, from_whole_page, _ = both_readings(html, *READINGS[0][1:])
    assert from_source == from_whole_page
    assert "in a script" not in (from_source or "") and "commented out" not in (from_source or "")


TOKENS = ["<div>", "</div>", "<div/>", "<div class=x/>", "<div class=\"rich_media_content\">", "<p>", "</p>", "<span>",
          "</span>", "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>", "<tbody>",
          "</tbody>", "<ul><li>", "</li>", "</ul>", "text", " ", "<br>", "<img src=\"x.png\">",
          "<!-- </div> -->", "<!--", "-->", "<script>'</div>'</script>", "<b>", "</b>", "<form>",
          "</form>", "<DIV>", "</DIV>", "</body>", "<p class=\"x\">", "&amp;", "<textarea>", "</textarea>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.lists(st.sampled_from(TOKENS), max_size=8),
       st.lists(st.sampled_from(TOKENS + ["<SCRIPT>'<div class=\"rich_media_content\">s</div>'</SCRIPT>",
                                          "<Style>x", "</Style>", "<!-->", "<title>", "<xmp>"]), max_size=6))
def test_any_markup_reads_the_same_as_the_whole_page(inside, after, before):
    html = page("".join(inside), after="".join(after)).replace('<div class="wrap">',
                                                               '<div class="wrap">' + "".join(before), 1)
    from_source, from_whole_page, _ = both_readings(html, *READINGS[0][1:])
    assert from_source == from_whole_page


# --- the one-p paragraphs (omn pages): each paragraph, and the text after it, from its markup ---

def one_p_readings(html: str) -> tuple[list[str] | None, list[str]]:
    """The paragraphs read from the source (None: it left them to the page's parse) and from the
    whole page, each with its tail: the text after a paragraph goes into the body with it."""
    from_source = page_module._one_p_from_source(html)
    whole = page_module._one_p_in_doc(_Page(html=html, url="https://new.qq.com/omn/20190907/20190907A081B000.html"))
    as_text = lambda elements: [lxml.html.tostring(element, encoding="unicode") for element in elements]  # noqa: E731
    return (None if from_source is None else as_text(from_source)), as_text(whole)


def omn_page(paragraphs: str, before: str = "", after: str = "") -> str:
    return ("<html><head><style>.one-p{margin:0}</style><script>var t = '<p class=\"one-p\">x</p>';</script>"
            f"</head><body><!-- <p class=\"one-p\">old</p> --><div class=\"content-article\">{before}"
            f"{paragraphs}</div>{after}<div>footer</div></body></html>")


def test_every_omn_page_we_have_reads_its_paragraphs_from_the_source(every_page):
    compared = read_from_source = 0
    for html in every_page:
        if "one-p" not in html:
            continue
        from_source, from_whole_page = one_p_readings(html)
        assert from_source is None or from_source == from_whole_page
        if from_whole_page:
            compared += 1
            read_from_source += from_source is not None
    assert compared >= 8
    assert read_from_source >= 0.9 * compared


ONE_P_TRICKY = [
    '<p class="one-p">plain</p>\n  <p class="one-p">two</p> tail text <p>other</p>',
    '<p class="one-p"><img src="//x/1"  class="content-picture">\n</p>',
    '<p class="one-p"><b>bold</p><p class="one-p">next</p>',
    '<p class="one-p"><span><b>x</span></b></p>',
    '<a href="#"><p class="one-p">in a link</a> after</p>',
    '<p class="one-p">a <div>block</div> b</p>',
    '<p class="one-p">a < b</p>',
    '<p class="one-p">&amp; &lt;tag&gt;</p>&nbsp;<p class="one-p">x</p>',
    '<p class="one-p">never closed',
    '<p class="one-p">x</p><!-- c --><p class="one-p">y</p>',
    '<p class="one-p">x</p><script>"<p class=\\"one-p\\">z</p>"</script><p class="one-p">y</p>',
    '<p title="a>b" class="one-p">quoted bracket</p>',
    '<p title="<" class="one-p">quoted lt</p>',
    '<div class="one-p">a div</div><p class="one-p">x</p>',
    '<p class="one-px">not it</p><p class="x one-p">it</p>',
    '<P CLASS="one-p">upper</P>',
    '<p class="one-p">text mentioning one-p</p>',
    '<p class="one-p"><br/><span/>self-closing</p>',
    '<p class="one-p" title="&quot;">reference</p>',
    '<p class="one-p">x</p>',
]


@pytest.mark.parametrize("paragraphs", ONE_P_TRICKY)
@pytest.mark.parametrize("before, after", [("", ""), ("<p>open", ""), ("<b>", "</b>"), ("", "</div></div>")])
def test_tricky_paragraphs_read_the_same_as_the_whole_page(paragraphs, before, after):
    from_source, from_whole_page = one_p_readings(omn_page(paragraphs, before, after))
    assert from_source is None or from_source == from_whole_page


def test_plain_paragraphs_are_read_without_parsing_the_page():
    from_source, from_whole_page = one_p_readings(omn_page(ONE_P_TRICKY[0]))
    assert from_source == from_whole_page and len(from_source) == 2


ONE_P_TOKENS = ["<p class=\"one-p\">", "<p>", "</p>", "text", " ", "\n", "<b>", "</b>", "<span>", "</span>",
                "<a href=\"#\">", "</a>", "<img src=\"x.png\">", "<br>", "<div>", "</div>", "<!-- c -->", "<",
                "&amp;", "one-p", "<table><tr><td>", "</td></tr></table>", "<P CLASS=\"one-p\">", "</P>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ONE_P_TOKENS), max_size=30), st.sampled_from(["", "<p>", "<b>", "<a>"]))
def test_any_paragraphs_read_the_same_as_the_whole_page(tokens, before):
    from_source, from_whole_page = one_p_readings(omn_page("".join(tokens), before))
    assert from_source is None or from_source == from_whole_page


@pytest.mark.parametrize("before", [
    "<SCRIPT>document.write('<div class=\"rich_media_content\">fake</div>')</SCRIPT>",
    "<script><!-- document.write('<div class=\"rich_media_content\">fake</div>') </script>",
    "<style>/* <!-- */ .x{} </style><!-- <div class=\"rich_media_content\">fake</div> -->",
    "<Style>.rich_media_content{}</Style>" * 50,
])
def test_mentions_in_scripts_styles_and_comments_of_any_case_are_passed_over(before):
    html = f"<html><body>{before}<div class=\"rich_media_content\"><p>real</p></div></body></html>"
    from_source, from_whole_page, parsed_whole = both_readings(html, *READINGS[0][1:])
    assert from_source == from_whole_page and "real" in from_source and not parsed_whole
    paragraphs = before.replace("rich_media_content", "one-p").replace("<div class", "<p class")
    paragraphs = paragraphs.replace("</div>", "</p>")
    real = '<p class="one-p">real</p><div id="Status"></div>'  # as omn pages end their paragraphs
    from_source, from_whole_page = one_p_readings(omn_page(real, before=paragraphs))
    assert from_source == from_whole_page == ['<p class="one-p">real</p>']
