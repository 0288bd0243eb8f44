"""Reading one qq article page into an `Article`: metadata and a clean body.

The page object knows nothing of the crawl: it takes the bytes of one response (or a saved
file) and the URL they came from. The spider, `archiver fetch`, `archiver extract` and the demo
all read pages through `read_article`.

The body comes from the page's own content where the layout is known (cheapest first), and
from trafilatura for any page whose layout none of them fits.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from archiver.htmltree import new_element, parse_document, parse_element, parse_fragment
from archiver.ids import ArticleRef, NotAnArticle, OffSite, is_qq_host, parse_article_ref, ref_from_id
from archiver.items import Article, Listing
# One parse of a body's text serves reading, the archivable check and the summary (cached there).
from archiver.render import plain_text

DELETED_MARKERS = ("babygohome",)
_TITLE_SUFFIX = re.compile(r"(?:_[^_]{1,12})?_(?:腾讯新闻|腾讯网)\s*$")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_DATE_NUMBERS = re.compile(r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})\D{0,3}?\s*(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?")
_WINDOW_DATA = re.compile(r"window\.DATA\s*=\s*")
_ARTICLE_INFO = re.compile(r"ARTICLE_INFO\s*=\s*(?:window\.ARTICLE_INFO\s*\|\|\s*)?\{")
# `key: 'value'` or `key: "value"` on one line, in a JavaScript object literal; a key starts a
# word (trying every suffix of every word made the search quadratic).
_JS_STRING_FIELD = re.compile(r"""(?<!\w)(\w+)\s*:\s*(?:'([^'\n]*)'|"([^"\n]*)")""")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IMG_PLACEHOLDER = re.compile(r"<!--\s*(IMG_\d+)\s*-->")
_DELETED_TEXT = re.compile(r"(文章|内容|页面)(已被?删除|不存在|已下线)|抱歉，您访问的页面")
_BOILERPLATE_TEXT = re.compile(
    r"^\s*(返回腾讯网首页.*|精彩视频推荐|相关阅读|相关推荐|热门推荐|更多精彩.*|责任编辑[:：].*"
    r"|免责声明[:：].*|本文来自腾讯新闻客户端自媒体.*|扫一扫.*|分享到.*|转播到腾讯微博"
    r"|.*未经.{0,4}授权.{0,8}不得转载.*|.*版权所有.*|.*Copyright\s*©.*)\s*$",
    re.IGNORECASE,
)
_BOILERPLATE_MAX = 120
# What every boilerplate line contains: a body with none of it is not searched line by line.
# (Case-sensitive, and `©` for the copyright line: an IGNORECASE search is four times slower.)
_BOILERPLATE_HINT = re.compile(
    r"返回腾讯网首页|精彩视频推荐|相关阅读|相关推荐|热门推荐|更多精彩|责任编辑|免责声明|本文来自腾讯新闻客户端自媒体"
    r"|扫一扫|分享到|转播到腾讯微博|未经.{0,4}授权|版权所有|©")
# Elements that never belong in an article body, whatever the layout.
_DROP_TAGS = ("script", "style", "noscript", "iframe", "form", "button", "input", "select",
              "textarea", "svg", "canvas", "object", "embed", "link", "meta", "template")
_DROP_CLASSES = ("comps-contentify-wrap", "article-status", "mbArticleShareBtn", "rv-root-v2",
                 "share", "share-list", "qqcom-follow-button", "statement")
_DROP_IDS = ("Status", "Comment", "Recomend", "ArticleAuthor", "backqqcom")
_DROP_CLASS_SET = frozenset(_DROP_CLASSES)
# What separates class names, as XPath's normalize-space sees it.
_CLASS_SEPARATOR = re.compile(r"[ \t\r\n]+")
_HIDDEN_STYLE = re.compile(r"(display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_INLINE_TAGS = frozenset(("a", "span", "strong", "b", "em", "i", "u", "font", "img", "br", "sup", "sub", "code"))
_SOURCE_LINE_BREAK = re.compile(r"[ \t\r\n]*\n[ \t\r\n]*")
# Image URL attributes, best first; lazy-loading pages keep the real one in data-*.
_IMG_SRC_ATTRS = ("data-src", "data-original", "src", "data-lazy-src")
_TRAFILATURA_IMG = "https://qq-archiver.invalid/img/{}.png"


class PageError(Exception):
    """A page that cannot be archived; the message says why."""


class ArticleGone(PageError):
    """The article was deleted at the source (404/410, the `babygohome` page, a deletion notice)."""


class EmptyArticle(PageError):
    """The page has no body text to archive."""


@dataclass
class _Page:
    html: str
    url: str
    data: dict = field(default_factory=dict)
    _doc: lxml.html.HtmlElement | None = field(default=None, repr=False)
    _article_info: dict | None = field(default=None, repr=False)

    @property
    def article_info(self) -> dict:
        """The legacy pages' `ARTICLE_INFO` fields, on first use: asked for only when
        `window.DATA` lacks a field, so a newer page is not searched for it (a full scan)."""
        if self._article_info is None:
            self._article_info = _article_info(self.html)
        return self._article_info

    @property
    def doc(self) -> lxml.html.HtmlElement:
        """The whole page parsed, on first use: a page whose `window.DATA` gives the title, the
        date, the account and the body is never parsed whole (that parse is most of its cost)."""
        if self._doc is None:
            try:
                self._doc = parse_document(self.html)
            except (lxml.etree.ParserError, ValueError) as error:
                raise EmptyArticle(f"the page is not HTML ({error})") from None
        return self._doc


def redirect_target(url: str, location: str, extra_hosts: frozenset[str] = frozenset()) -> str:
    """Where an article's redirect leads; raises ArticleGone for qq's deleted-article page and
    OffSite for anything off qq.com and the configured endpoints."""
    target = urljoin(url, location)
    if any(marker in target for marker in DELETED_MARKERS):
        raise ArticleGone(f"redirected to the deleted-article page ({target})")
    parts = urlsplit(target)
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    if parts.scheme not in ("http", "https") or not (
            is_qq_host(host) or host in extra_hosts or netloc in extra_hosts):
        raise OffSite(f"redirected off the site, to {target}")
    return target


def decode_html(body: bytes) -> str:
    """The text of a page whatever its headers or meta tags claim.

    qq serves old pages as GBK/GB2312 and saved copies re-encoded to UTF-8 still declare gb2312:
    the bytes decide. Valid UTF-8 is taken as UTF-8 (GBK text is almost never valid UTF-8);
    anything else is read as GB18030, the superset of GBK and GB2312.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


def read_article(body: bytes | str, url: str, ref: ArticleRef | None = None,
                 listing: Listing | None = None, extra_hosts: frozenset[str] = frozenset()) -> Article:
    """Read one article page; raises ArticleGone, EmptyArticle or NotAnArticle."""
    if url and any(marker in url for marker in DELETED_MARKERS):
        raise ArticleGone(f"redirected to the deleted-article page ({url})")
    page = _parse(body, url)
    ref = ref or (listing.ref if listing else None) or _ref_of(page, extra_hosts)
    title = read_title(page) or (listing.title if listing else "")
    body_html, layout = read_body(page, ref.canonical_url)
    if not plain_text(body_html).strip():
        if _DELETED_TEXT.search(page.doc.text_content()[:5000]):
            raise ArticleGone("the page says the article was deleted")
        raise EmptyArticle("the page has no body text")
    date = read_date(page) or normalise_date(listing.published if listing else "")
    listed = listing.thumbnail if listing else ""
    return Article(ref=ref, title=title, date=date, body_html=body_html,
                   thumbnail=listed or first_image(body_html), thumbnail_from_page=not listed,
                   layout=layout)


def _parse(body: bytes | str, url: str) -> _Page:
    if isinstance(body, bytes):
        html = decode_html(body)
        # Only a NUL byte decodes to NUL (UTF-8 and GB18030 alike): the bytes are searched,
        # several times faster than the text (mostly two bytes a character).
        has_nul = b"\x00" in body
    else:
        html = body
        has_nul = "\x00" in html
    # lxml reads every other control character (and the body is rid of them after cleaning).
    html = _XML_DECLARATION.sub("", html, count=1)
    if has_nul:
        html = html.replace("\x00", "")
    if not html.strip():
        raise EmptyArticle("the page is empty")
    return _Page(html=html, url=url, data=_window_data(html))


def _ref_of(page: _Page, extra_hosts: frozenset[str]) -> ArticleRef:
    """The article's id from its URL, else from what the page says of itself."""
    for candidate in _ref_candidates(page):
        if not candidate or not isinstance(candidate, str):
            continue
        try:
            if "://" in candidate:
                return parse_article_ref(candidate, extra_hosts)
            return ref_from_id(candidate)
        except ValueError:
            continue
    raise NotAnArticle(f"no qq article id in the URL or the page ({page.url or 'no URL'})")


def _ref_candidates(page: _Page):
    """Where the page may give its id, best first; each looked at only if those before fail."""
    yield page.url
    yield from (page.data.get(key) for key in ("cms_id", "cmsId", "article_id", "url"))
    yield page.article_info.get("article_url")


def _search_from(html: str, literal: str, pattern: re.Pattern) -> re.Match | None:
    """`pattern.search(html)` for a pattern that starts with `literal`: str.find skips ahead to
    each candidate (re scans every position of a page that has none)."""
    position = html.find(literal)
    while position != -1:
        match = pattern.match(html, position)
        if match:
            return match
        position = html.find(literal, position + 1)
    return None


def _window_data(html: str) -> dict:
    """The JSON object of `window.DATA = {...}`; {} when absent or not valid JSON."""
    match = _search_from(html, "window.DATA", _WINDOW_DATA)
    if not match:
        return {}
    try:
        data, _ = json.JSONDecoder(strict=False).raw_decode(html, match.end())
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _article_info(html: str) -> dict:
    """The string fields of the legacy `ARTICLE_INFO = {...}` JavaScript object."""
    match = _search_from(html, "ARTICLE_INFO", _ARTICLE_INFO)
    if not match:
        return {}
    # The object lives in a script: what follows it (styles, markup) is not searched.
    end = html.find("</script", match.end(), match.end() + 4000)
    block = html[match.end(): end if end != -1 else match.end() + 4000]
    return {field.group(1): field.group(2) if field.group(2) is not None else field.group(3)
            for field in _JS_STRING_FIELD.finditer(block)}


# --- metadata ---------------------------------------------------------------------------

def read_title(page: _Page) -> str:
    for candidate in _title_candidates(page):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    for xpath in ("//div[contains(@class,'content-article')]/h1", "//*[@id='C-Main-Article-QQ']//h1",
                  "//div[contains(@class,'LEFT')]/h1", "//h1[not(ancestor::*[contains(@class,'dropdown')])]"):
        for element in page.doc.xpath(xpath):
            text = element.text_content().strip()
            if text:
                return text
    titles = page.doc.xpath("//title")
    if titles:
        return _TITLE_SUFFIX.sub("", titles[0].text_content().strip())
    return ""


def _title_candidates(page: _Page):
    yield page.data.get("title")
    yield page.article_info.get("title")


def read_date(page: _Page) -> str:
    for candidate in _date_candidates(page):
        date = normalise_date(candidate)
        if date:
            return date
    return ""


def _date_candidates(page: _Page):
    """Where the page may give its date, best first; the page is searched only when the
    scripts' data gives none (searching it costs more than the rest of reading the date)."""
    yield page.data.get("pubtime")
    yield page.data.get("pubTime")
    yield page.article_info.get("pubtime")
    yield from page.doc.xpath("//meta[@name='apub:time']/@content")
    for span in page.doc.xpath("//*[contains(@class,'media-meta')]/span[1] | //*[contains(@class,'pubTime')]"):
        yield span.text_content()


def normalise_date(text) -> str:
    """`YYYY-MM-DD HH:MM:SS` from qq's date forms; a time to the minute gets `:00`."""
    if not isinstance(text, str):
        return ""
    match = _DATE_NUMBERS.search(text)
    if not match:
        return ""
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"


def first_image(body_html: str) -> str:
    """The first body image: the thumbnail of an article not found through the feed."""
    match = re.search(r"<img[^>]*?\ssrc=\"([^\"]+)\"", body_html)
    return html_lib.unescape(match.group(1)) if match else ""


# --- body ---------------------------------------------------------------------------------

def read_body(page: _Page, base_url: str) -> tuple[str, str]:
    """The article body as clean HTML, and the name of the layout it was read from."""
    found_known_layout = False
    for layout, strategy in _BODY_STRATEGIES:
        if layout == "trafilatura" and found_known_layout:
            # The page is of a known layout and its body is empty (a video, a deleted article):
            # whatever else the page holds is not the article.
            break
        container = strategy(page)
        if container is None:
            continue
        found_known_layout = True
        body_html = _clean(container, base_url)
        if plain_text(body_html).strip():
            return body_html, layout
    return "", "none"


def _from_origin_content(page: _Page):
    origin = page.data.get("originContent")
    text = origin.get("text") if isinstance(origin, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    attributes = page.data.get("originAttribute") or {}

    def image(match: re.Match) -> str:
        info = attributes.get(match.group(1)) if isinstance(attributes, dict) else None
        if not isinstance(info, dict):
            return ""
        src = next(filter(None, (_image_url(info.get(key)) for key in
                                 ("origUrl", "imgurl0", "bigOrigUrl", "compressUrl", "url", "imgurl"))), "")
        if not src:
            return ""
        alt = info.get("desc") if isinstance(info.get("desc"), str) else ""
        return f"<p><img src=\"{_attr(src)}\" alt=\"{_attr(alt)}\"></p>"

    # lxml refuses a control character in the text it puts before the first element.
    body = _without_controls(_IMG_PLACEHOLDER.sub(image, text))
    return parse_fragment(body)


def _image_url(value) -> str:
    """An image URL as `originAttribute` gives it: a string, or an object holding one."""
    if isinstance(value, dict):
        value = value.get("imgurl") or value.get("url")
    return value.strip() if isinstance(value, str) and value.strip().startswith(("http", "//")) else ""


def _first(page: _Page, xpath: str):
    found = page.doc.xpath(xpath)
    return found[0] if found else None


def _first_with(page: _Page, marker: str, xpath: str):
    """The first element `xpath` finds, searched for only when the page's text has `marker` (the
    class or id the XPath tests): each search of the whole tree costs as much as a small parse."""
    return _first(page, xpath) if marker in page.html else None


def _from_rich_media(page: _Page):
    return _div_from_source(page, "rich_media_content", _has_class("rich_media_content"), _rich_media_in_doc)


# Each class test starts with a plain `contains(@class, ...)`: it turns away almost every
# element before the costly token test (normalize-space and concat) runs.
def _rich_media_in_doc(page: _Page):
    return _first(page, "//div[contains(@class, 'rich_media_content') and "
                        "contains(concat(' ', normalize-space(@class), ' '), ' rich_media_content ')]")


def _from_content_wrap(page: _Page):
    wrap = _first_with(page, "article-content-wrap",
                       "//*[contains(@class, 'article-content-wrap') and "
                       "contains(concat(' ', normalize-space(@class), ' '), ' article-content-wrap ')]")
    if wrap is None:
        return None
    for paragraph in wrap.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' qnt-p ')]"):
        paragraph.tag = "p"
    return wrap


def _from_one_p(page: _Page):
    if "one-p" not in page.html:
        return None
    paragraphs = _one_p_from_source(page.html)
    if paragraphs is None:
        paragraphs = _one_p_in_doc(page)
    if not paragraphs:
        return None
    container = new_element("div")
    for paragraph in paragraphs:
        container.append(paragraph)
    return container


def _one_p_in_doc(page: _Page) -> list:
    return page.doc.xpath("//p[contains(@class, 'one-p') and "
                          "contains(concat(' ', normalize-space(@class), ' '), ' one-p ')]")


def _one_p_from_source(html: str) -> list | None:
    """The one-p paragraphs, each with the text that follows it, parsed from their own markup;
    None unless every mention of `one-p` in the body's markup is in a paragraph's start tag and
    every such paragraph holds only text and well-nested inline elements up to its `</p>`."""
    sources = []
    position = html.find("one-p")
    scan = _MarkupScan(html)
    while position != -1:
        resume = scan.resume(position)
        if resume != -1:
            position = html.find("one-p", max(resume, position + 5))
            continue
        tag_start = html.rfind("<", 0, position)
        tag = _START_TAG.match(html, tag_start)
        if tag is None or tag.end() <= position or tag.group(1).lower() != "p":
            return None  # in text, or in another tag: the page's parse decides
        attributes = _attributes(tag.group(2))
        if attributes is None:
            return None
        end = _end_of_paragraph(html, tag.end())
        if end is None:
            return None
        if _IS_ONE_P(attributes):
            sources.append(html[tag_start:end])
        scan.markup_until(end)  # the paragraph holds no script, style or comment
        position = html.find("one-p", tag.end())
    if not sources:
        return None  # only in styles or scripts, say: the page's parse tells whether there are none
    try:
        wrapper = parse_fragment("".join(sources))
    except (lxml.etree.ParserError, ValueError):
        return None
    paragraphs = list(wrapper)
    if len(paragraphs) != len(sources) or any(paragraph.tag != "p" for paragraph in paragraphs):
        return None
    return paragraphs


_START_TAG = re.compile(
    r"""<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=/>"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>""")
# What a one-p paragraph read from its markup may hold: text and these elements, well nested.
_PARAGRAPH_INLINE = frozenset(("a", "span", "strong", "b", "em", "i", "u", "font", "sup", "sub", "code",
                               "small", "big", "s", "del", "ins", "mark", "label", "cite", "abbr", "time", "q"))
_PARAGRAPH_VOID = frozenset(("img", "br", "wbr"))
_PARAGRAPH_MARKUP = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>|<")


def _end_of_paragraph(html: str, position: int) -> int | None:
    """Where the text after the paragraph opened just before `position` ends (the paragraph's
    `</p>` and the text up to the next tag); None for anything but text and well-nested inline
    elements before that `</p>`, or a paragraph that never ends."""
    stack: list[str] = []
    for markup in _PARAGRAPH_MARKUP.finditer(html, position):
        name = (markup.group(2) or "").lower()
        if not name:
            return None  # a comment, a `<` in the text: the page's parse decides
        if markup.group(1):
            if name == "p" and not stack:
                following = html.find("<", markup.end())
                if following == -1 or not _MARKUP_START.match(html, following):
                    return None
                return following
            if not stack or stack[-1] != name:
                return None
            stack.pop()
        elif name in _PARAGRAPH_VOID:
            continue
        elif name in _PARAGRAPH_INLINE and not markup.group(3).rstrip().endswith("/"):
            stack.append(name)
        else:
            return None
    return None


# What may follow a paragraph's text: a start tag or a comment. After an end tag the text might go
# on in the paragraph's tail (a stray end tag is dropped) or not (it closes an ancestor), and only
# the page's parse knows which.
_MARKUP_START = re.compile(r"<[a-zA-Z]|<!")


def _attributes(text: str) -> dict[str, str] | None:
    """A start tag's attributes, lower-cased names, first of each kept; None when a value holds
    a character reference (libxml2 decodes it)."""
    attributes: dict[str, str] = {}
    for attribute in _ATTRIBUTE.finditer(text):
        value = next((part for part in attribute.group(2, 3, 4) if part is not None), "")
        if "&" in value:
            return None
        attributes.setdefault(attribute.group(1).lower(), value)
    return attributes


def _from_legacy(page: _Page):
    return _div_from_source(page, "Cnt-Main-Article-QQ", _has_id("Cnt-Main-Article-QQ"), _legacy_in_doc)


def _legacy_in_doc(page: _Page):
    return _first(page, "//*[@id='Cnt-Main-Article-QQ']")


# --- a container read from its own markup --------------------------------------------------
#
# Parsing the whole page is most of the cost of reading it, and a known layout's body is one
# <div> of it. `_div_from_source` finds that div's markup in the page's source and parses only
# that, when the source is plain enough to be sure the result is the element the whole page's
# parse would give (the tests compare the two on every fixture and real page); otherwise it
# parses the whole page, as before.

_ATTRIBUTE = re.compile(r"""\s([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
# Where the markup of a page is interrupted: comments, and the elements whose content libxml2
# reads as text, in any case (checked against lxml 6's libxml2 2.14: <noscript>, <template>,
# <svg> and <math> hold markup).
_RAW_TEXT_NAMES = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext")
# A comment ends at `-->` or `--!>`, or at once as `<!-->` or `<!--->` (HTML's tokenizer, which
# libxml2 follows).
_COMMENT_PATTERN = r"<!--(?:-?>|.*?--!?>)"
# What the scan of a div's markup stops at: comments and raw-text elements are stepped over
# whole (a bare opening means one that never ends: the page is parsed whole), and the tags that
# libxml2 nests by priority (a </td> closes a <div> left open inside its cell) are followed.
_STRUCTURE = re.compile(
    _COMMENT_PATTERN
    + rf"|<(?P<raw>{'|'.join(_RAW_TEXT_NAMES[:-1])})\b[^>]*>.*?</(?P=raw)\s*>"  # all but plaintext, which never ends
    rf"|(?P<unended><!--|<(?:{'|'.join(_RAW_TEXT_NAMES)})\b)"
    r"|<(?P<end>/?)(?P<name>div|table|thead|tbody|tfoot|tr|td|th|body|head|html)\b(?P<attributes>[^>]*)>",
    re.IGNORECASE | re.DOTALL)
# For each table element, the elements it may be opened in without libxml2 closing or adding
# anything (any other parent, or a <div> opened straight inside a table part: the page is
# parsed whole).
_TABLE_PARENTS = {"table": None, "thead": ("table",), "tbody": ("table",), "tfoot": ("table",),
                  "tr": ("table", "thead", "tbody", "tfoot"), "td": ("tr",), "th": ("tr",)}
_TABLE_PARTS = frozenset(("table", "thead", "tbody", "tfoot", "tr"))


def _has_class(name: str):
    # Split as XPath's normalize-space splits (str.split also splits at a no-break space).
    return lambda attributes: name in _CLASS_SEPARATOR.split(attributes.get("class", ""))


def _has_id(value: str):
    return lambda attributes: attributes.get("id") == value


_IS_ONE_P = _has_class("one-p")


def _div_from_source(page: _Page, marker: str, matches, in_whole_page):
    """The first element whose start tag holds `marker` and whose attributes `matches`, parsed
    from its own markup; `in_whole_page(page)` when that markup cannot be read with certainty."""
    html = page.html
    position = html.find(marker)
    if position == -1:
        return None
    scan = _MarkupScan(html)
    while position != -1:
        tag_start = html.rfind("<", 0, position)
        if tag_start > html.rfind(">", 0, position):
            resume = scan.resume(position)
            if resume == -1:
                element = _parse_div_at(html, tag_start, matches)
                if element is not None:
                    return element
                break  # the first candidate decides: a later one might not be the first element
            position = html.find(marker, max(resume, position + len(marker)))
            continue
        position = html.find(marker, position + len(marker))
    return in_whole_page(page)


_RAW_TEXT_OPENING = re.compile(rf"<({'|'.join(_RAW_TEXT_NAMES)})\b|<!--", re.IGNORECASE)
_RAW_TEXT_CLOSING = {name: re.compile(f"</{name}", re.IGNORECASE) for name in _RAW_TEXT_NAMES}
_RAW_TEXT_CLOSING["plaintext"] = re.compile(r"(?!)")  # the rest of the page is text
_COMMENT = re.compile(_COMMENT_PATTERN, re.DOTALL)
_BODY_TAG = re.compile(r"<body\b", re.IGNORECASE)


class _MarkupScan:
    """Whether positions of a page, asked about in increasing order, are in the body's markup
    (after <body>, not inside a script, a style or a comment). The page is walked forward from
    <body> once, however many positions are asked about: thousands of paragraphs with comments
    between them cost one reading of the page, not one each."""

    def __init__(self, html: str):
        self.html = html
        body = html.find("<body")
        if body == -1:
            match = _BODY_TAG.search(html)
            body = match.start() if match else len(html)
        self.body = self.cursor = body  # walked up to `cursor`
        self.raw = (0, 0)  # the last script, style or comment met

    def resume(self, position: int) -> int:
        """-1 when `position` is in the body's markup; else where the markup resumes: after the
        script, style or comment holding it, or at <body> (len(html) when it never does)."""
        if position < self.body:
            return self.body
        if position < self.cursor:
            return self.raw[1] if self.raw[0] <= position < self.raw[1] else -1
        while (opening := _RAW_TEXT_OPENING.search(self.html, self.cursor, position)) is not None:
            if opening.group(1):
                closing = _RAW_TEXT_CLOSING[opening.group(1).lower()].search(self.html, opening.end())
            else:
                closing = _COMMENT.match(self.html, opening.start())
            self.raw = (opening.start(), closing.end() if closing else len(self.html))
            self.cursor = self.raw[1]
            if self.cursor > position:
                return self.cursor
        self.cursor = position
        return -1

    def markup_until(self, position: int) -> None:
        """What lies before `position` is known to hold no script, style or comment."""
        self.cursor = max(self.cursor, position)


def _parse_div_at(html: str, start: int, matches):
    tag = _START_TAG.match(html, start)
    if tag is None or tag.group(1).lower() != "div":
        return None  # not a div's start tag (`<div/>` closes itself: not one either)
    attributes = _attributes(tag.group(2))
    if attributes is None or not matches(attributes):
        return None
    end = _end_of_div(html, tag.end())
    if end is None:
        return None
    try:
        return parse_element(html[start:end])
    except (lxml.etree.ParserError, ValueError):
        return None


def _end_of_div(html: str, position: int) -> int | None:
    """Where the div opened just before `position` ends, following libxml2's nesting rules for
    well-formed markup; None for any markup where they could take another turn."""
    stack = ["div"]
    for token in _STRUCTURE.finditer(html, position):
        if token.group("unended"):
            return None  # a comment or raw-text element that does not end
        name = token.group("name")
        if name is None:
            continue  # a comment or raw-text element, stepped over
        name = name.lower()
        if name in ("body", "head", "html"):
            return None
        if token.group("end"):  # an end tag
            if stack[-1] != name:
                return None
            stack.pop()
            if not stack:
                return token.end()
            continue
        if token.group("attributes").rstrip().endswith("/"):
            # `<div/>` closes itself, `<div class=x/>` does not (the slash is the value's): the
            # page's parse decides.
            return None
        if name == "div":
            if stack[-1] in _TABLE_PARTS:
                return None
            stack.append("div")
        else:
            parents = _TABLE_PARENTS[name]
            if (parents is not None and stack[-1] not in parents) or (
                    parents is None and stack[-1] in _TABLE_PARTS):
                return None
            stack.append(name)
    return None


def _from_trafilatura(page: _Page):
    """Any other layout: trafilatura finds the body, with Tencent's images kept.

    trafilatura keeps only images whose URL ends in a file extension, and Tencent's have none,
    so each image goes in under a stand-in URL and comes back out under its own.
    """
    import trafilatura

    sources: list[str] = []
    for image in page.doc.xpath("//img"):
        src = _image_src(image)
        image.attrib.pop("srcset", None)
        for attribute in _IMG_SRC_ATTRS:
            image.attrib.pop(attribute, None)
        if src:
            image.set("src", _TRAFILATURA_IMG.format(len(sources)))
            sources.append(src)
    extracted = trafilatura.extract(lxml.html.tostring(page.doc, encoding="unicode"),
                                    output_format="html", include_images=True, include_links=True,
                                    include_comments=False, include_tables=True, favor_precision=True)
    if not extracted:
        return None
    container = parse_fragment(extracted)
    for image in container.xpath(".//img"):
        match = re.fullmatch(r"https://qq-archiver\.invalid/img/(\d+)\.png", image.get("src", ""))
        if match and int(match.group(1)) < len(sources):
            image.set("src", sources[int(match.group(1))])
        else:
            image.drop_tree()
    body = container.find("body")
    return body if body is not None else container


_BODY_STRATEGIES = (
    ("originContent", _from_origin_content),
    ("rich_media_content", _from_rich_media),
    ("article-content-wrap", _from_content_wrap),
    ("one-p", _from_one_p),
    ("legacy", _from_legacy),
    ("trafilatura", _from_trafilatura),
)


def _image_src(image) -> str:
    for attribute in _IMG_SRC_ATTRS:
        value = (image.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return ""


# The XPath searches of the cleaning, compiled once (compiling each call was a third of their cost).
_COMMENTS_AND_PIS = lxml.etree.XPath(".//comment() | .//processing-instruction()")
_DROPPED_ELEMENTS = lxml.etree.XPath(" | ".join(f".//{tag}" for tag in _DROP_TAGS))
_STYLED_OR_HIDDEN = lxml.etree.XPath(".//*[@style or @hidden]")
_IMAGES = lxml.etree.XPath(".//img")
_LINKS = lxml.etree.XPath(".//a")
_KEYWORD_LINKS = lxml.etree.XPath(".//a[contains(@class,'a-tips-Article-QQ')]")
_WEIBO_LINKS = lxml.etree.XPath(".//a[contains(@href,'t.qq.com') and normalize-space(.)='微博']")


def _clean(container, base_url: str) -> str:
    """The container's content as body HTML: boilerplate out, image URLs absolute."""
    for element in _COMMENTS_AND_PIS(container):
        _remove(element)
    for element in _DROPPED_ELEMENTS(container):
        _remove(element)
    for element in _marked_boilerplate(container):
        _remove(element)
    for element in _STYLED_OR_HIDDEN(container):
        if element.get("hidden") is not None or _HIDDEN_STYLE.search(element.get("style", "")):
            _remove(element)
    _join_source_lines(container)
    for image in _IMAGES(container):
        src = _image_src(image)
        if not src:
            _remove(image)
            continue
        alt = image.get("alt", "")
        image.attrib.clear()
        image.set("src", absolute_url(base_url, src) if not src.startswith("//") else "https:" + src)
        if alt:
            image.set("alt", alt)
    for link in _LINKS(container):
        href = (link.get("href") or "").strip()
        if href.lower().startswith(("javascript:", "data:", "vbscript:")) or not href:
            link.drop_tag()
        else:
            link.set("href", absolute_url(base_url, href))
    # Keyword links qq inserted into old articles: the word stays, the link and "(微博)" go.
    for link in _KEYWORD_LINKS(container):
        link.drop_tag()
    for link in _WEIBO_LINKS(container):
        _remove(link, strip_brackets=True)
    if _BOILERPLATE_HINT.search(container.text_content()):
        texts = _subtree_texts(container)
        # A list first: removing an element would end a live iteration inside its subtree.
        for element in list(container.iterdescendants("p", "div", "span", "strong", "section")):
            text = texts[element]
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
    return _without_controls(body_html).strip()  # `&#12;` and the like come out raw


# An http(s) URL with a host and none of the characters urljoin would rewrite or drop (white
# space, controls, `?`/`#` with nothing after them, `;` parameters): urljoin gives it back as is.
_PLAIN_ABSOLUTE_URL = re.compile(
    r"https?://[-!$&'()*+,.0-9:=@A-Z_a-z~%]+(?:/[-!$&'()*+,./0-9:=@A-Z_a-z~%]*)?\Z")


def absolute_url(base_url: str, url: str) -> str:
    """urljoin(base_url, url), without its parsing for the plain absolute URLs most body images
    and links are (urljoin's two parses and a rebuild cost more than the rest of cleaning a link)."""
    return url if _PLAIN_ABSOLUTE_URL.match(url) else urljoin(base_url, url)


def _subtree_texts(container) -> dict:
    """Each element's text_content(), all in one pass from the leaves up (asking each element
    reads its whole subtree again). Removing an element later changes none of the texts of the
    elements after it in document order, so they stay true while boilerplate is removed."""
    texts = {}
    for _, element in lxml.etree.iterwalk(container, events=("end",)):
        if not isinstance(element.tag, str):
            continue
        parts = [element.text or ""]
        for child in element:
            if isinstance(child.tag, str):
                parts.append(texts[child])
            parts.append(child.tail or "")
        texts[element] = "".join(parts)
    return texts


def _without_controls(text: str) -> str:
    """`text` with no C0 control character but tab, line feed and carriage return: a form feed
    becomes a space (HTML counts it as white space), the others go. lxml refuses a string that
    holds one, and they have no place in a Markdown file."""
    if _CONTROLS.search(text) is None:
        return text
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
                classes and not _DROP_CLASS_SET.isdisjoint(_CLASS_SEPARATOR.split(classes))):
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
    """Remove an element but keep its tail text in place; `strip_brackets` also removes the
    brackets around it: `谷歌(<a>微博</a>)` becomes `谷歌`."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if strip_brackets:
        before = previous.tail if previous is not None else parent.text
        if before and before.rstrip().endswith(("(", "（")) and tail and tail.lstrip().startswith((")", "）")):
            before = before.rstrip()[:-1]
            tail = tail.lstrip()[1:]
            if previous is not None:
                previous.tail = before
            else:
                parent.text = before
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;")
