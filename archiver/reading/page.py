"""The page object: one qq article page (the bytes of a response or a saved file, and its URL),
decoded, its scripts' data read, parsed once with lxml. It knows nothing of the crawl."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

import lxml.etree
import lxml.html

from archiver.htmltree import HTML_PARSER


class PageError(Exception):
    """A page that cannot be archived; the message says why."""


class ArticleGone(PageError):
    """The article was deleted at the source (404/410, the `babygohome` page, a deletion notice)."""


class EmptyArticle(PageError):
    """The page has no body text to archive."""


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_WINDOW_DATA = re.compile(r"window\.DATA\s*=\s*")
_ARTICLE_INFO = re.compile(r"ARTICLE_INFO\s*=\s*(?:window\.ARTICLE_INFO\s*\|\|\s*)?\{")
_VIDEO_PUSH = re.compile(r"videoArr\.push\(\s*")
_JSON = json.JSONDecoder(strict=False)
# `key: 'value'` or `key: "value"` on one line, in a JavaScript object literal; a key starts a word.
_JS_STRING_FIELD = re.compile(r"""(?<!\w)(\w+)\s*:\s*(?:'([^'\n]*)'|"([^"\n]*)")""")


@dataclass
class QQPage:
    """One page: its text, its URL, `window.DATA`, and (on first use) `ARTICLE_INFO` and the
    lxml document. A page whose scripts give everything is never parsed whole."""

    html: str
    url: str
    data: dict = field(default_factory=dict)

    @classmethod
    def from_response(cls, body: bytes | str, url: str) -> QQPage:
        """Raises EmptyArticle for a page with no text at all."""
        html = decode_html(body) if isinstance(body, bytes) else body
        # lxml reads every other control character (and the body is rid of them after cleaning).
        html = _XML_DECLARATION.sub("", html, count=1).replace("\x00", "")
        if not html.strip():
            raise EmptyArticle("the page is empty")
        match = _WINDOW_DATA.search(html)
        data = _json_at(html, match.end()) if match else None  # none or no object: the DOM is read instead
        return cls(html=html, url=url, data=data if isinstance(data, dict) else {})

    @functools.cached_property
    def article_info(self) -> dict:
        """The string fields of the legacy pages' `ARTICLE_INFO = {...}` JavaScript object."""
        match = _ARTICLE_INFO.search(self.html)
        if not match:
            return {}
        # The object lives in a script: what follows it (styles, markup) is not searched.
        end = self.html.find("</script", match.end(), match.end() + 4000)
        block = self.html[match.end(): end if end != -1 else match.end() + 4000]
        return {found.group(1): found.group(2) if found.group(2) is not None else found.group(3)
                for found in _JS_STRING_FIELD.finditer(block)}

    @functools.cached_property
    def video_entries(self) -> list:
        """The videos the page lists, as its scripts give them: `window.DATA.videoArr`, then
        the objects later scripts push onto it (2020-2021 omn pages)."""
        listed = self.data.get("videoArr")
        return [*(listed if isinstance(listed, list) else []), *pushed_videos(self.html)]

    @functools.cached_property
    def doc(self) -> lxml.html.HtmlElement:
        """The whole page, parsed once."""
        try:
            return lxml.html.document_fromstring(self.html, parser=HTML_PARSER)
        except (lxml.etree.ParserError, ValueError) as error:
            raise EmptyArticle(f"the page is not HTML ({error})") from None

    def first(self, xpath: str):
        """The first element `xpath` finds in the page, or None."""
        found = self.doc.xpath(xpath)
        return found[0] if found else None


def decode_html(body: bytes) -> str:
    """The text of a page whatever its headers or meta tags claim (saved copies re-encoded to UTF-8 still
    declare gb2312): valid UTF-8 as UTF-8 (GBK text almost never is), else GB18030, GBK's superset."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


def pushed_videos(script: str) -> list:
    """The objects `videoArr.push({...})` calls in `script` push, as JSON (None for one that is not)."""
    if "videoArr.push" not in script:  # most pages: no scan at all
        return []
    return [_json_at(script, match.end()) for match in _VIDEO_PUSH.finditer(script)]


def _json_at(text: str, start: int):
    """The JSON value at `start` in `text`; None when it is not valid JSON or nests too deep to read."""
    try:
        return _JSON.raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        return None
