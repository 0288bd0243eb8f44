"""The one lxml parser pages and bodies are read with.

lxml.html's parser picks each element's Python class with a Python callback, called whenever the
code touches an element it has not held before (some 160 times a page, more than the rest of
lxml's per-element work). This parser uses lxml's own class lookup, by node type, in C: the trees
are the ones lxml.html builds, of lxml.html's classes, except that <form>, <input>, <label>... are
plain HtmlElements (their extra methods are used nowhere here).
"""

from __future__ import annotations

import lxml.etree
import lxml.html

HTML_PARSER = lxml.html.HTMLParser()
HTML_PARSER.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))


def parse_document(html: str):
    """`lxml.html.document_fromstring(html)`, with HTML_PARSER."""
    return lxml.html.document_fromstring(html, parser=HTML_PARSER)


def parse_element(html: str):
    """`lxml.html.fragment_fromstring(html)`: the one element `html` holds (ParserError if not)."""
    return lxml.html.fragment_fromstring(html, parser=HTML_PARSER)


def parse_fragment(html: str):
    """`lxml.html.fragment_fromstring(html, create_parent="div")`, the <div> made by HTML_PARSER
    too: what `html` holds (leading text that is not only white space, then its elements) in a
    new <div>."""
    nodes = lxml.html.fragments_fromstring(html, parser=HTML_PARSER)
    root = HTML_PARSER.makeelement("div")
    if nodes and isinstance(nodes[0], str):
        root.text = nodes.pop(0)
    root.extend(nodes)
    return root


def new_element(tag: str):
    return HTML_PARSER.makeelement(tag)
