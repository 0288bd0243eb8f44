"""A body container made into clean body HTML: qq's page furniture out (known by its markup),
hidden and scripted elements out, image and link URLs absolute, control characters gone."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOILERPLATE_TEXT = re.compile(
    r"^\s*(返回腾讯网首页.*|精彩视频推荐|相关阅读|相关推荐|热门推荐|更多精彩.*|责任编辑[:：].*"
    r"|免责声明[:：].*|本文来自腾讯新闻客户端自媒体.*|扫一扫.*|分享到.*|转播到腾讯微博"
    r"|.*未经.{0,4}授权.{0,8}不得转载.*|.*版权所有.*|.*Copyright\s*©.*)\s*$", re.IGNORECASE)
_BOILERPLATE_MAX = 120
# Elements that never belong in an article body, whatever the layout.
_DROP_TAGS = ("script", "style", "noscript", "iframe", "form", "button", "input", "select",
              "textarea", "svg", "canvas", "object", "embed", "link", "meta", "template")
_DROP_CLASSES = frozenset(("comps-contentify-wrap", "article-status", "mbArticleShareBtn", "rv-root-v2",
                           "share", "share-list", "qqcom-follow-button", "statement"))
_DROP_IDS = ("Status", "Comment", "Recomend", "ArticleAuthor", "backqqcom")
# What separates class names, as XPath's normalize-space sees it.
_CLASS_SEPARATOR = re.compile(r"[ \t\r\n]+")
_HIDDEN_STYLE = re.compile(r"(display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_INLINE_TAGS = frozenset(("a", "span", "strong", "b", "em", "i", "u", "font", "img", "br", "sup", "sub", "code"))
_SOURCE_LINE_BREAK = re.compile(r"[ \t\r\n]*\n[ \t\r\n]*")
# Image URL attributes, best first; lazy-loading pages keep the real one in data-*.
IMG_SRC_ATTRS = ("data-src", "data-original", "src", "data-lazy-src")


def image_src(image) -> str:
    """An <img>'s real URL (lazy-loading pages keep it in data-*); "" when it has none."""
    for attribute in IMG_SRC_ATTRS:
        value = (image.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return ""


_STYLED_OR_HIDDEN = lxml.etree.XPath(".//*[@style or @hidden]")
_KEYWORD_LINKS = lxml.etree.XPath(".//a[contains(@class,'a-tips-Article-QQ')]")
_RELATED_VIDEOS = lxml.etree.XPath(
    ".//*[contains(@class, 'rv-root-v2')] | .//script[contains(., 'related_video_info')]")
_WEIBO_LINKS = lxml.etree.XPath(".//a[contains(@href,'t.qq.com') and normalize-space(.)='微博']")


def clean_body(container, base_url: str, boilerplate_lines: bool = False) -> str:
    """The container's content as body HTML, furniture known by its markup (never by the words of the
    publisher's text). `boilerplate_lines`: also drop short lines that read like site boilerplate, for
    trafilatura's guess at a page of no known layout, whose container is not the article's own."""
    for element in list(container.iterdescendants(lxml.etree.Comment, lxml.etree.ProcessingInstruction)):
        _remove(element)
    _remove_related_video_headings(container)
    for element in [*container.iterdescendants(*_DROP_TAGS), *_marked_boilerplate(container)]:
        _remove(element)
    for element in _STYLED_OR_HIDDEN(container):
        if element.get("hidden") is not None or _HIDDEN_STYLE.search(element.get("style", "")):
            _remove(element)
    _join_source_lines(container)
    for image in list(container.iterdescendants("img")):
        src = image_src(image)
        if not src:
            _remove(image)
            continue
        alt = image.get("alt", "")
        image.attrib.clear()
        image.set("src", urljoin(base_url, src) if not src.startswith("//") else "https:" + src)
        if alt:
            image.set("alt", alt)
    for link in list(container.iterdescendants("a")):
        href = (link.get("href") or "").strip()
        if href.lower().startswith(("javascript:", "data:", "vbscript:")) or not href:
            link.drop_tag()
        else:
            link.set("href", urljoin(base_url, href))
    # Keyword links qq inserted into old articles: the word stays, the link and "(微博)" go.
    for link in _KEYWORD_LINKS(container):
        link.drop_tag()
    for link in _WEIBO_LINKS(container):
        _remove(link, strip_brackets=True)
    # qq's link back to its home page (`返回腾讯网首页>>`), with the paragraph it stands alone in.
    for link in [link for link in container.iterdescendants("a") if _is_home_page(link.get("href", ""))]:
        paragraph = link.getparent()
        alone = paragraph is not None and paragraph is not container and \
            paragraph.text_content().strip() == link.text_content().strip()
        _remove(paragraph if alone else link)
    # A list first: removing an element would end a live iteration inside its subtree.
    candidates = container.iterdescendants("p", "div", "span", "strong", "section") if boilerplate_lines else ()
    for element in list(candidates):
        text = element.text_content()
        if element.getparent() is not None and len(text.strip()) <= _BOILERPLATE_MAX \
                and _BOILERPLATE_TEXT.match(text) and not element.xpath(".//img"):
            _remove(element)
    _drop_trailing_empty(container)
    # The container's content, serialised in one call: the container itself becomes a bare
    # <div> whose tags are cut off.
    container.tag = "div"
    container.attrib.clear()
    container.tail = None
    body_html = lxml.html.tostring(container, encoding="unicode")[len("<div>"):-len("</div>")]
    return without_controls(body_html).strip()  # `&#12;` and the like come out raw


def _remove_related_video_headings(container) -> None:
    """Old pages put a recommended-videos widget (`.rv-root-v2`, fed by a `related_video_info`
    script) in the article's container, under a short bold heading of its own (精彩视频推荐):
    the heading goes with the widget."""
    for widget in _RELATED_VIDEOS(container):
        block = widget
        while block.getparent() is not None and block.getparent() is not container:
            block = block.getparent()
        heading = block.getprevious()
        if heading is not None and heading.xpath(".//strong") and not heading.xpath(".//img") \
                and len(heading.text_content().strip()) <= 20:
            _remove(heading)


def _is_home_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname == "www.qq.com" and parts.path in ("", "/")


def without_controls(text: str) -> str:
    """`text` with no C0 control character but tab, LF and CR: a form feed becomes a space (HTML's white
    space), the others go. lxml refuses a string that holds one, and they have no place in Markdown."""
    return _CONTROLS.sub(lambda match: " " if match.group(0) == "\x0c" else "", text)


def _marked_boilerplate(container) -> list:
    """The descendants with a class in _DROP_CLASSES or an id in _DROP_IDS, in document order.
    A loop, not an XPath class test: that test costs more than the rest of the cleaning."""
    marked = []
    for element in container.iterdescendants():
        if not isinstance(element.tag, str):
            continue
        classes = element.get("class")
        if element.get("id") in _DROP_IDS or (
                classes and not _DROP_CLASSES.isdisjoint(_CLASS_SEPARATOR.split(classes))):
            marked.append(element)
    return marked


def _join_source_lines(container) -> None:
    """A line break of the HTML source inside running text is a space, as a browser shows it
    (prettified pages indent inside paragraphs); white space between blocks is left alone."""
    for element in container.iter():
        if not isinstance(element.tag, str):
            continue
        if element.text and "\n" in element.text:
            element.text = _SOURCE_LINE_BREAK.sub(" ", element.text)
        if element.tail and "\n" in element.tail and element.tag in _INLINE_TAGS:
            element.tail = _SOURCE_LINE_BREAK.sub(" ", element.tail)


def _drop_trailing_empty(container) -> None:
    while len(container) and not container[-1].text_content().strip() and not container[-1].xpath(
            "descendant-or-self::img"):
        tail = container[-1].tail
        container.remove(container[-1])
        if tail and tail.strip():
            break


def _remove(element, strip_brackets: bool = False) -> None:
    """Remove an element, unless already removed, but keep its tail text in place; `strip_brackets`
    also removes the brackets around it: `谷歌(<a>微博</a>)` becomes `谷歌`."""
    parent, previous, tail = element.getparent(), element.getprevious(), element.tail or ""
    if parent is None:
        return
    before = (previous.tail if previous is not None else parent.text) or ""
    if strip_brackets and before.rstrip().endswith(("(", "（")) and tail.lstrip().startswith((")", "）")):
        element.tail = tail.lstrip()[1:]
        if previous is not None:
            previous.tail = before.rstrip()[:-1]
        else:
            parent.text = before.rstrip()[:-1]
    element.drop_tree()
