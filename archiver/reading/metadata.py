"""An article's metadata from its page: id, title and date, each from the best source that has
it (`window.DATA`, the legacy `ARTICLE_INFO`, the DOM), and the first body image."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

from archiver.ids import ArticleRef, NotAnArticle, parse_article_ref, ref_from_id
from archiver.reading.page import QQPage
from archiver.reading.videos import VIDEO_CLASS

_TITLE_SUFFIX = re.compile(r"(?:_[^_]{1,12})?_(?:腾讯新闻|腾讯网)\s*$")
_DATE_NUMBERS = re.compile(
    r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})\D{0,3}?\s*(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?")
_FIRST_IMAGE = re.compile(r"<img[^>]*?\ssrc=\"([^\"]+)\"")


def read_ref(page: QQPage, extra_hosts: frozenset[str]) -> ArticleRef:
    """The article's id from its URL, else from what the page says of itself."""
    for candidate in _ref_candidates(page):
        if not candidate or not isinstance(candidate, str):
            continue
        try:
            return parse_article_ref(candidate, extra_hosts) if "://" in candidate else ref_from_id(candidate)
        except ValueError:
            continue
    raise NotAnArticle(f"no qq article id in the URL or the page ({page.url or 'no URL'})")


def _ref_candidates(page: QQPage):
    """Where the page may give its id, best first; each looked at only if those before fail."""
    yield page.url
    yield from (page.data.get(key) for key in ("cms_id", "cmsId", "article_id", "url"))
    yield page.article_info.get("article_url")


def read_title(page: QQPage) -> str:
    for candidate in (page.data.get("title"), page.article_info.get("title")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    for xpath in ("//div[contains(@class,'content-article')]/h1", "//*[@id='C-Main-Article-QQ']//h1",
                  "//div[contains(@class,'LEFT')]/h1", "//h1[not(ancestor::*[contains(@class,'dropdown')])]"):
        for element in page.doc.xpath(xpath):
            text = element.text_content().strip()
            if text:
                return text
    title = page.first("//title")
    return _TITLE_SUFFIX.sub("", title.text_content().strip()) if title is not None else ""


def read_date(page: QQPage) -> str:
    """The first real date the page gives, best source first."""
    return next(filter(None, map(normalise_date, _date_candidates(page))), "")


def _date_candidates(page: QQPage):
    """Where the page may give its date, best first; the DOM only when the scripts give none."""
    yield from (page.data.get(key) for key in ("pubtime", "pubTime"))
    yield page.article_info.get("pubtime")
    yield from page.doc.xpath("//meta[@name='apub:time']/@content")
    for span in page.doc.xpath("//*[contains(@class,'media-meta')]/span[1] | //*[contains(@class,'pubTime')]"):
        yield span.text_content()


def normalise_date(text) -> str:
    """`YYYY-MM-DD HH:MM:SS` from qq's date forms (a time to the minute gets `:00`); "" for
    anything that is not a real date and time (`2026-11-31`)."""
    match = _DATE_NUMBERS.search(text) if isinstance(text, str) else None
    if not match:
        return ""
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if year >= 1000 else ""


def first_image(body_html: str) -> str:
    """The thumbnail of an article not found through the feed: its first body image, else its
    first video's poster."""
    poster = ""
    for match in _FIRST_IMAGE.finditer(body_html):
        src = html_lib.unescape(match.group(1))
        if body_html.rfind(f'<p class="{VIDEO_CLASS}">', 0, match.start()) <= body_html.rfind("</p>", 0, match.start()):
            return src
        poster = poster or src  # inside a video's paragraph
    return poster


def id_date(ref: ArticleRef) -> str:
    """The date an article's id carries, at midnight: the last source of a date."""
    day = ref.published_date
    return f"{day:%Y-%m-%d} 00:00:00" if day is not None else ""
