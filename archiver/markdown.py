"""markdownify 1.2.3's conversion of a body, as archiver.render configures it, on the lxml tree the
body was already parsed into (BeautifulSoup's parse and markdownify's walk were the largest CPU cost
of an article): the same algorithm step for step, functions named after markdownify's, for qq bodies'
tags and render.py's options; None when the tree may not be BeautifulSoup's: the caller runs markdownify."""

from __future__ import annotations

import re

import lxml.html

# The tags converted here; any other node (a list, a table, code, a comment...) means None.
SUPPORTED_TAGS = frozenset(
    "p div section article span strong b em i u font img br a h1 h2 h3 h4 h5 h6 sup sub "
    "blockquote hr center figure figcaption del s q small big ins mark label cite abbr time".split())
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# should_remove_whitespace_inside/outside: the same set, since <pre> is not supported.
_BLOCKS = _HEADINGS | {"p", "blockquote", "article", "div", "section"}
# bs4 turns a string of nothing but these into a single newline or space.
_ASCII_SPACES = " \n\t\x0c\r"
# BeautifulSoup's name for the root, which holds the body's top-level nodes as the <div> does.
_DOCUMENT = "[document]"

_LINE_WITH_CONTENT = re.compile(r"^(.*)", flags=re.MULTILINE)
_WHITESPACE = re.compile(r"[\t ]+")
_ALL_WHITESPACE = re.compile(r"[\t \r\n]+")
_NEWLINE_WHITESPACE = re.compile(r"[\t \r\n]*[\r\n][\t \r\n]*")
_EXTRACT_NEWLINES = re.compile(r"^(\n*)((?:.*[^\n])?)(\n*)$", flags=re.DOTALL)


def fragment_markdown(fragment, html: str) -> str | None:
    """markdownify's output for `html` (before render.py's tidying), read from `fragment`, its parse
    by htmltree.parse_fragment; None when that may differ from html.parser's or holds a tag not supported."""
    # A string lxml writes back unchanged is one html.parser reads into the same tree: every
    # element closed explicitly, nothing moved, dropped or left for a parser to repair.
    if lxml.html.tostring(fragment, encoding="unicode") != f"<div>{html}</div>" or \
            not SUPPORTED_TAGS.issuperset(element.tag for element in fragment.iter()):
        return None
    return _process_tag(fragment, _DOCUMENT, False)


def _bs4_string(text: str) -> str:
    """A text node as BeautifulSoup keeps it."""
    if text.strip(_ASCII_SPACES):
        return text
    return "\n" if "\n" in text else " "


def _children(element) -> list:
    """The nodes BeautifulSoup would list under `element`: its text, then each child followed
    by the child's tail; strings are never empty nor next to each other."""
    text = element.text  # lxml decodes .text and .tail anew on each access
    nodes = [_bs4_string(text)] if text else []
    for child in element:
        nodes.append(child)
        tail = child.tail
        if tail:
            nodes.append(_bs4_string(tail))
    return nodes


def _process_tag(element, name: str, inline: bool) -> str:
    """markdownify's process_tag; `inline` is whether a heading encloses `element`."""
    remove_inside = name in _BLOCKS
    nodes = _children(element)
    inline_for_children = inline or name in _HEADINGS
    last = len(nodes) - 1
    child_strings = []
    for index, node in enumerate(nodes):
        if not isinstance(node, str):
            text = _process_tag(node, node.tag, inline_for_children)
        else:
            # A string's siblings are elements, or nothing.
            after_block = index > 0 and nodes[index - 1].tag in _BLOCKS
            before_block = index < last and nodes[index + 1].tag in _BLOCKS
            first_inside = remove_inside and index == 0
            last_inside = remove_inside and index == last
            if not node.strip() and (first_inside or last_inside or after_block or before_block):
                continue  # _can_ignore
            text = _process_text(node, after_block or first_inside, before_block or last_inside)
        if text:
            child_strings.append(text)

    # Collapse newlines at child boundaries.
    updated_child_strings = [""]
    for child_string in child_strings:
        leading_nl, content, trailing_nl = _EXTRACT_NEWLINES.match(child_string).groups()
        if updated_child_strings[-1] and leading_nl:
            prev_trailing_nl = updated_child_strings.pop()
            leading_nl = "\n" * min(2, max(len(prev_trailing_nl), len(leading_nl)))
        updated_child_strings.extend((leading_nl, content, trailing_nl))
    text = "".join(updated_child_strings)

    convert = _CONVERTERS.get(name)
    return convert(element, text, inline) if convert else text


def _process_text(text: str, lstrip: bool, rstrip: bool) -> str:
    # The substitutions cost more than the rest of the walk: only made when they change something.
    if "\n" in text or "\r" in text:
        text = _NEWLINE_WHITESPACE.sub("\n", text)
    if "\t" in text or "  " in text:
        text = _WHITESPACE.sub(" ", text)
    text = text.replace("*", r"\*").replace("_", r"\_")
    if lstrip:
        text = text.lstrip(" \t\r\n")
    if rstrip:
        text = text.rstrip()
    return text


def _chomp(text: str) -> tuple[str, str, str]:
    prefix = " " if text and text[0] == " " else ""
    suffix = " " if text and text[-1] == " " else ""
    return prefix, suffix, text.strip()


def _inline_conversion(markup: str):
    def convert(element, text, inline):
        prefix, suffix, text = _chomp(text)
        return f"{prefix}{markup}{text}{markup}{suffix}" if text else ""
    return convert


def _convert_a(element, text, inline):
    prefix, suffix, text = _chomp(text)
    if not text:
        return ""
    href = element.get("href")
    title = element.get("title")
    if text.replace(r"\_", "_") == href and not title:
        return f"<{href}>"
    title_part = ' "%s"' % title.replace('"', r'\"') if title else ""
    return f"{prefix}[{text}]({href}{title_part}){suffix}" if href else text


def _convert_blockquote(element, text, inline):
    text = text.strip(" \t\r\n")
    if inline:
        return f" {text} "
    if not text:
        return "\n"
    text = _LINE_WITH_CONTENT.sub(lambda match: "> " + match.group(1) if match.group(1) else ">", text)
    return f"\n{text}\n\n"


def _convert_br(element, text, inline):
    if inline:
        return text + " " if text else " "
    return "  \n" + text


def _convert_div(element, text, inline):
    if inline:
        return f" {text.strip()} "
    text = text.strip()
    return f"\n\n{text}\n\n" if text else ""


def _convert_heading(n: int):
    def convert(element, text, inline):
        if inline:
            return text
        text = text.strip()
        if n <= 2:  # markdownify's underline()
            return f"\n\n{text}\n{('=' if n == 1 else '-') * len(text)}\n\n" if text else ""
        return f"\n\n{'#' * n} {_ALL_WHITESPACE.sub(' ', text)}\n\n"
    return convert


def _convert_img(element, text, inline):
    """markdownify's convert_img, and render._Converter's: an image on a line of its own."""
    alt = element.get("alt") or ""
    if inline:
        markdown = alt
    else:
        src = element.get("src") or ""
        title = element.get("title") or ""
        title_part = ' "%s"' % title.replace('"', r'\"') if title else ""
        markdown = f"![{alt}]({src}{title_part})"
    return f"\n\n{markdown}\n\n" if markdown.startswith("![") else markdown


def _convert_p(element, text, inline):
    text = text.strip(" \t\r\n")
    if inline:
        return f" {text} "
    return f"\n\n{text}\n\n" if text else ""


_CONVERTERS = {
    _DOCUMENT: lambda element, text, inline: text.strip("\n"),
    "a": _convert_a,
    **dict.fromkeys(("b", "strong"), _inline_conversion("**")),
    **dict.fromkeys(("em", "i"), _inline_conversion("*")),
    **dict.fromkeys(("del", "s"), _inline_conversion("~~")),
    **dict.fromkeys(("sub", "sup"), _inline_conversion("")),
    "blockquote": _convert_blockquote,
    "br": _convert_br,
    **dict.fromkeys(("div", "article", "section"), _convert_div),
    "figcaption": lambda element, text, inline: f"\n\n{text.strip()}\n\n",
    "hr": lambda element, text, inline: "\n\n---\n\n",
    "img": _convert_img,
    "p": _convert_p,
    "q": lambda element, text, inline: f'"{text}"',
    **{f"h{n}": _convert_heading(n) for n in range(1, 7)},
}
