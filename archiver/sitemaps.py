"""The sitemap index and its sitemaps, read as a stream: child sitemap URLs and article listings
with `lastmod`, one at a time, so that a sitemap of any length costs the memory of its body."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.etree

from archiver.ids import NotAnArticle, OffSite, parse_article_ref
from archiver.items import Listing, Skip

MAX_SITEMAP_BYTES = 50 * 1024 * 1024
_KINDS = ("sitemapindex", "urlset")


class SitemapError(ValueError):
    """A sitemap that cannot be read (not XML, not a sitemap, a broken gzip, too big)."""


@dataclass(frozen=True)
class ChildSitemap:
    """A sitemap an index lists."""

    url: str


class _Bounded(io.RawIOBase):
    """A stream that refuses to give more than `limit` bytes (a gzip bomb)."""

    def __init__(self, stream, limit: int, endpoint: str):
        self.stream, self.left, self.endpoint = stream, limit, endpoint

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise SitemapError(f"sitemap {self.endpoint} is larger than {MAX_SITEMAP_BYTES} bytes unzipped")
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)


def read_sitemap(body: bytes, endpoint: str, extra_hosts: frozenset[str] = frozenset()
                 ) -> Iterator[ChildSitemap | Listing | Skip]:
    """Each entry of one sitemap index (ChildSitemap) or sitemap (a listing, or a skip with its
    reason), in order, as the body is parsed. Raises SitemapError when it cannot go on: at once
    for a body that is not a sitemap, or where a body breaks off."""
    stream = io.BytesIO(body.strip())
    if body[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=io.BytesIO(body))
    events = lxml.etree.iterparse(_Bounded(stream, MAX_SITEMAP_BYTES, endpoint), events=("start", "end"),
                                  resolve_entities=False, no_network=True, huge_tree=False)
    depth = 0
    kind = None
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    kind = lxml.etree.QName(element).localname
                    if kind not in _KINDS:
                        raise SitemapError(f"sitemap {endpoint} is XML but not a sitemap (<{kind}>)")
                continue
            depth -= 1
            if depth != 1:
                continue
            fields = {lxml.etree.QName(child).localname: (child.text or "").strip()
                      for child in element if isinstance(child.tag, str)}
            element.clear()
            while element.getprevious() is not None:  # what was read goes: memory stays flat
                del element.getparent()[0]
            if fields.get("loc"):
                yield ChildSitemap(fields["loc"]) if kind == "sitemapindex" else _listing(fields, extra_hosts)
    except lxml.etree.XMLSyntaxError as error:
        raise SitemapError(f"sitemap {endpoint} is not XML ({error})") from None
    except (OSError, EOFError) as error:
        raise SitemapError(f"sitemap {endpoint} is not valid gzip ({error})") from None
    if kind is None:
        raise SitemapError(f"sitemap {endpoint} is not XML (empty)")


def _listing(fields: dict[str, str], extra_hosts: frozenset[str]) -> Listing | Skip:
    try:
        ref = parse_article_ref(fields["loc"], extra_hosts)
    except OffSite as error:
        return Skip("offsite", str(error))
    except NotAnArticle as error:
        return Skip("not_article", str(error))
    return Listing(ref=ref, published=fields.get("lastmod", ""), source="sitemap")
