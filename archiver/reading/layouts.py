"""The body's container in each page layout qq has served, one function a layout, tried in order;
`read_body` cleans the first that holds text, else falls back to trafilatura."""

from __future__ import annotations

import html
import re

from archiver.htmltree import HTML_PARSER, parse_fragment
from archiver.reading.cleaning import clean_body, without_controls
from archiver.reading.fallback import from_trafilatura
from archiver.reading.page import QQPage
from archiver.reading.videos import PLACEHOLDER as VIDEO_PLACEHOLDER, VIDEO_CLASS, page_videos, place_videos
from archiver.render import has_content

_IMG_PLACEHOLDER = re.compile(r"<!--\s*(IMG_\d+)\s*-->")
# `originAttribute` image keys, best first.
_ORIGIN_IMAGE_KEYS = ("origUrl", "imgurl0", "bigOrigUrl", "compressUrl", "url", "imgurl")


def _with_class(tag: str, name: str) -> str:
    """XPath for a `tag` whose class list holds `name` (a token, not a substring). The plain
    contains() first turns away nearly every element before the costlier token test."""
    return (f"//{tag}[contains(@class, '{name}') and "
            f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")


def _first_with_class(page: QQPage, tag: str, name: str):
    """The first `tag` whose class list holds `name`; not searched for where the page's source never writes it."""
    return page.first(_with_class(tag, name)) if name in page.html else None


def from_origin_content(page: QQPage):
    """Rain pages: `window.DATA.originContent.text`, images resolved from `originAttribute`."""
    origin = page.data.get("originContent")
    text = origin.get("text") if isinstance(origin, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    attributes = page.data.get("originAttribute") or {}

    def image(match: re.Match) -> str:
        info = attributes.get(match.group(1)) if isinstance(attributes, dict) else None
        if not isinstance(info, dict):
            return ""
        src = next(filter(None, (_origin_image_url(info.get(key)) for key in _ORIGIN_IMAGE_KEYS)), "")
        if not src:
            return ""
        alt = info.get("desc") if isinstance(info.get("desc"), str) else ""
        return f"<p><img src=\"{html.escape(src)}\" alt=\"{html.escape(alt)}\"></p>"

    videos = page_videos(page)

    def video(match: re.Match) -> str:
        index = int(match.group(1))
        return videos[index].html() if index < len(videos) else ""

    # lxml refuses a control character in the text it puts before the first element.
    return parse_fragment(without_controls(VIDEO_PLACEHOLDER.sub(video, _IMG_PLACEHOLDER.sub(image, text))))


def _origin_image_url(value) -> str:
    """An image URL as `originAttribute` gives it: a string, or an object holding one."""
    if isinstance(value, dict):
        value = value.get("imgurl") or value.get("url")
    return value.strip() if isinstance(value, str) and value.strip().startswith(("http", "//")) else ""


def from_rich_media(page: QQPage):
    """2025 server pages: `div.rich_media_content`."""
    return _first_with_class(page, "div", "rich_media_content")


def from_content_wrap(page: QQPage):
    """Rain pages as a browser saved them: `.article-content-wrap`, paragraphs `div.qnt-p`."""
    wrap = _first_with_class(page, "*", "article-content-wrap")
    if wrap is None:
        return None
    for paragraph in wrap.xpath("." + _with_class("div", "qnt-p")):
        paragraph.tag = "p"
    return wrap


def from_one_p(page: QQPage):
    """2017-2021 omn pages: the `p.one-p` paragraphs, each with the text that follows it, and
    the videos between them."""
    paragraphs = page.doc.xpath(_with_class("p", "one-p")) if "one-p" in page.html else []
    if paragraphs and page_videos(page):
        place_videos(page.doc, page, append_rest=False)
        paragraphs = page.doc.xpath(f"{_with_class('p', 'one-p')} | {_with_class('p', VIDEO_CLASS)}")
    if not paragraphs:
        return None
    container = HTML_PARSER.makeelement("div")
    container.extend(paragraphs)
    return container


def from_legacy(page: QQPage):
    """Pages from before 2019: `#Cnt-Main-Article-QQ`, by XPath's id() (the parser's id table, not a walk of the page)."""
    return page.first("id('Cnt-Main-Article-QQ')")


LAYOUTS = (
    ("originContent", from_origin_content),
    ("rich_media_content", from_rich_media),
    ("article-content-wrap", from_content_wrap),
    ("one-p", from_one_p),
    ("legacy", from_legacy),
)


def read_body(page: QQPage, base_url: str) -> tuple[str, str]:
    """The article body as clean HTML, and the name of the layout it was read from ("" and
    "none" when no layout gives text)."""
    known_layout = False
    for layout, find in LAYOUTS:
        container = find(page)
        if container is None:
            continue
        known_layout = True
        place_videos(container, page)
        body_html = clean_body(container, base_url)
        if has_content(body_html):
            return body_html, layout
    # A page of a known layout whose body is empty (a video, a deleted article) is not handed to
    # trafilatura: whatever else the page holds is not the article.
    container = None if known_layout else from_trafilatura(page)
    if container is not None:
        body_html = clean_body(container, base_url, boilerplate_lines=True)
        if has_content(body_html):
            return body_html, "trafilatura"
    return "", "none"
