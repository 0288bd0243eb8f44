"""Rendering an `Article` as the archive's Markdown document (../shared/format/FORMAT.md). The front
matter is written by hand, not by a YAML dumper: the existing site's files quote every string the
same way and list the keys in one order, and a new file must be byte-compatible with them."""

from __future__ import annotations

import functools
import re

import lxml.etree
from markdownify import MarkdownConverter

from archiver.htmltree import parse_fragment
from archiver.items import Article
from archiver.markdown import fragment_markdown

SUMMARY_LIMIT = 80
# How every embedded video's link starts in body HTML (archiver.reading.videos).
VIDEO_LINK = 'href="https://v.qq.com/x/page/'
SUMMARY_LENGTH = 50

_FRONT_MATTER = """---
title: {title}
date: {date}
summary: {summary}
categories:
  - "qq"
lang:
  - "zh-CN"
translations:
  - "zh-CN"
tags:
  - "qq"
menu: ""
thumbnail: {thumbnail}
lead: ""
comments: false
authorbox: false
pager: true
toc: false
mathjax: false
sidebar: "right"
widgets:
  - "search"
  - "recent"
  - "taglist"
---
"""

# Characters YAML will not read raw (non-printable ones, and its own line breaks): they are
# written as escapes, so any string loads back to exactly itself.
_YAML_UNSAFE = re.compile("[^\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\t]")
# The characters of Unicode categories Cc and Cs, which titles drop: fixed ranges in every version.
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _Converter(MarkdownConverter):
    """markdownify's defaults but an image on a line of its own, for the bodies archiver.markdown declines."""

    def convert_img(self, el, text, parent_tags):
        markdown = super().convert_img(el, text, parent_tags)
        return f"\n\n{markdown}\n\n" if markdown.startswith("![") else markdown


# markdownify itself: the renderer for what archiver.markdown declines, and its reference in the tests.
MARKDOWNIFY = _Converter()


def yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted scalar."""
    escaped = _YAML_UNSAFE.sub(_escape_char, value.replace("\\", "\\\\").replace("\"", "\\\""))
    return f"\"{escaped}\""


def _escape_char(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean_title(title: str) -> str:
    """A title as the site keeps it: each newline or tab a single space, outer space stripped,
    other control characters dropped."""
    return _CONTROL_CHARS.sub("", _LINE_BREAKS.sub(" ", title)).strip()


# Several steps read the same body (the checks before storing, the summary, the Markdown): it
# is parsed once. The tree is shared, so nothing may change it.
@functools.lru_cache(maxsize=32)
def _fragment(body_html: str):
    return parse_fragment(body_html)


@functools.lru_cache(maxsize=32)
def plain_text(body_html: str) -> str:
    """The text content of the body HTML, tags removed with nothing put in their place."""
    return _fragment(body_html).text_content() if body_html.strip() else ""


def has_content(body_html: str) -> bool:
    """Whether a body holds anything to archive: text, or an embedded video."""
    return bool(plain_text(body_html).strip()) or VIDEO_LINK in body_html


def summarise(body_html: str) -> str:
    """The existing site's summary: the plain text with each newline/tab/CR as one space, outer
    white space stripped; under 80 characters whole, otherwise its first 50 and `...`."""
    return summary_of_text(plain_text(body_html))


def summary_of_text(text: str) -> str:
    """`summarise` for the body's plain text."""
    # Cleaning works character by character (but the stripping): when the text's first 400
    # characters give 80, the summary is their first 50, and a long body is not cleaned whole.
    summary = _summary_text(text[:400])
    if len(summary) < SUMMARY_LIMIT:
        summary = _summary_text(text)
    return summary if len(summary) < SUMMARY_LIMIT else summary[:SUMMARY_LENGTH] + "..."


def _summary_text(text: str) -> str:
    return clean_title(re.sub(r"[\r\n\t]", " ", text).strip())


def lxml_markdown(body_html: str) -> str | None:
    """archiver.markdown's conversion of the body, from the shared parse; None where it declines
    the body or lxml cannot parse it."""
    try:
        fragment = _fragment(body_html)
    except (ValueError, AssertionError, lxml.etree.ParserError):
        # lxml refuses strings html.parser reads: a control character in the leading text (lxml
        # writes `&#12;` back as a form feed), a lone doctype, an empty <html>.
        return None
    return fragment_markdown(fragment, body_html)


def body_markdown(body_html: str) -> str:
    """The body as markdownify writes it, setext headings and all, with exactly one blank line
    between blocks and no white-space-only lines, and no text Hugo would run as a shortcode."""
    markdown = lxml_markdown(body_html)
    if markdown is None:
        markdown = MARKDOWNIFY.convert(body_html)
    lines = ["" if not line.strip() else line for line in markdown.split("\n")]
    text = _BLANK_RUNS.sub("\n\n", "\n".join(lines))
    return _SHORTCODE.sub(_escaped_shortcode, text.strip("\n "))


# A shortcode's opening and the first closing of its kind with no other opening between them; or
# an opening that is never closed.
_SHORTCODE = re.compile(r"\{\{<((?:(?!\{\{[<%]).)*?)>\}\}|\{\{%((?:(?!\{\{[<%]).)*?)%\}\}|\{\{(?=[<%])", re.DOTALL)


def _escaped_shortcode(match: re.Match) -> str:
    """A shortcode as Hugo shows it, not runs it: `{{< … >}}` / `{{% … %}}` in Hugo's own escaped
    form (`{{</* … */>}}`), an opening never closed (which fails Hugo's build) as character references."""
    if match.group(1) is not None:
        return f"{{{{</*{match.group(1)}*/>}}}}"
    if match.group(2) is not None:
        return f"{{{{%/*{match.group(2)}*/%}}}}"
    return "&#123;&#123;"


def render_document(article: Article) -> str:
    """The whole archived file for one article."""
    front = _FRONT_MATTER.format(
        title=yaml_string(clean_title(article.title)),
        date=yaml_string(article.date),
        summary=yaml_string(summarise(article.body_html)),
        thumbnail=yaml_string(clean_title(article.thumbnail)),
    )
    return f"{front}\n{body_markdown(article.body_html)}\n\n[qq]({article.canonical_url})\n"
