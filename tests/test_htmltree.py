"""HTML_PARSER builds the trees lxml.html builds, without its per-element Python class lookup."""

from __future__ import annotations

import lxml.html
import pytest

from archiver.htmltree import HTML_PARSER, parse_fragment

FRAGMENTS = ["", "   ", "text only", "  <p>x</p>", "lead <p>a</p> tail", "<p>a</p><p>b</p>\n",
             "<form><input name=q><label>l</label><select><option>o</select></form>",
             "<html><body><p>whole</p></body></html>", "<!-- c --><p>x &amp; y</p><?pi x?>",
             "<table><tr><td>cell</td></tr></table>", "<p>a<div>b</div>c</p>"]


@pytest.mark.parametrize("html", FRAGMENTS)
def test_fragments_are_lxml_htmls_own(html):
    ours, theirs = parse_fragment(html), lxml.html.fragment_fromstring(html, create_parent="div")
    assert lxml.html.tostring(ours, encoding="unicode") == lxml.html.tostring(theirs, encoding="unicode")
    assert ours.text == theirs.text


def test_documents_are_lxml_htmls_own():
    page = "<html><head><title>t</title></head><body><div id='a'><p>x</p></div></body></html>"
    ours = lxml.html.document_fromstring(page, parser=HTML_PARSER)
    assert lxml.html.tostring(ours) == lxml.html.tostring(lxml.html.document_fromstring(page))


def test_every_node_gets_an_html_class_from_the_parser_in_c():
    tree = parse_fragment("<p>x<!-- c --><b>y</b></p><form><input></form>")
    assert all(isinstance(element, lxml.html.HtmlMixin) for element in tree.iter())
    assert isinstance(tree.xpath(".//comment()")[0], lxml.html.HtmlComment)
    # What makes it cheap: not lxml.html's Python lookup (which would give a FormElement).
    assert type(tree.find(".//form")) is lxml.html.HtmlElement
    assert tree.getroottree().parser is HTML_PARSER
