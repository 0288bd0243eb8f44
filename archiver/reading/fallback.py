"""Pages of no known layout: trafilatura finds the body. It keeps only images whose URL ends in a
file extension, and Tencent's have none: each goes in under a stand-in URL and comes back as its own."""

from __future__ import annotations

import re

import lxml.html

from archiver.htmltree import parse_fragment
from archiver.reading.cleaning import IMG_SRC_ATTRS, image_src
from archiver.reading.page import QQPage

_STAND_IN = "https://qq-archiver.invalid/img/{}.png"
_STAND_IN_PATTERN = re.compile(r"https://qq-archiver\.invalid/img/(\d+)\.png")


def from_trafilatura(page: QQPage):
    """The body trafilatura extracts from the page, as an element; None when it finds none."""
    import trafilatura

    sources: list[str] = []
    for image in page.doc.xpath("//img"):
        src = image_src(image)
        for attribute in ("srcset", *IMG_SRC_ATTRS):
            image.attrib.pop(attribute, None)
        if src:
            image.set("src", _STAND_IN.format(len(sources)))
            sources.append(src)
    extracted = trafilatura.extract(lxml.html.tostring(page.doc, encoding="unicode"),
                                    output_format="html", include_images=True, include_links=True,
                                    include_comments=False, include_tables=True, favor_precision=True)
    if not extracted:
        return None
    container = parse_fragment(extracted)
    for image in container.xpath(".//img"):
        match = _STAND_IN_PATTERN.fullmatch(image.get("src", ""))
        if match and int(match.group(1)) < len(sources):
            image.set("src", sources[int(match.group(1))])
        else:
            image.drop_tree()
    body = container.find("body")
    return body if body is not None else container
