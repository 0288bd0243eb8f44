"""The one lxml parser pages and bodies are read with: lxml's own class lookup by node type, in
C, not lxml.html's Python callback per element. <form>, <input>... are plain HtmlElements."""

from __future__ import annotations

import lxml.etree
import lxml.html

HTML_PARSER = lxml.html.HTMLParser()
HTML_PARSER.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))


def parse_fragment(html: str):
    """`lxml.html.fragment_fromstring(html, create_parent="div")`, the <div> made by HTML_PARSER."""
    nodes = lxml.html.fragments_fromstring(html, parser=HTML_PARSER)
    root = HTML_PARSER.makeelement("div")
    if nodes and isinstance(nodes[0], str):
        root.text = nodes.pop(0)
    root.extend(nodes)
    return root
