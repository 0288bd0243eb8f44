"""The sitemap index and its sitemaps, read as a stream: child sitemap URLs and article listings
with `lastmod`, one at a time, so that a sitemap of any length costs the memory of its body."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.etree

from archiver.items import Listing, Skip, listing_or_skip

MAX_SITEMAP_BYTES = 50 * 1024 * 1024


class SitemapError(ValueError):
    """A sitemap that cannot be read (not XML, not a sitemap, a broken gzip, too big)."""


@dataclass(frozen=True)
class ChildSitemap:
    """A sitemap an index lists."""

    url: str


class _Bounded:
    """A stream that refuses to give more than `limit` bytes (a gzip bomb)."""

    def __init__(self, stream, limit: int, endpoint: str):
        self.stream, self.left, self.endpoint = stream, limit, endpoint

    def read(self, size: int) -> bytes:  # lxml asks for a block of `size` bytes at a time
        data = self.stream.read(min(size, self.left + 1))
        if len(data) > self.left:
            raise SitemapError(f"sitemap {self.endpoint} is larger than {MAX_SITEMAP_BYTES} bytes unzipped")
        self.left -= len(data)
        return data


def read_sitemap(body: bytes, endpoint: str, extra_hosts: frozenset[str] = frozenset()
                 ) -> Iterator[ChildSitemap | Listing | Skip]:
    """Each entry of a sitemap index (ChildSitemap) or sitemap (a listing, or a skip saying why), in order, as
    the body is parsed; SitemapError at once for a body that is not a sitemap, or where a body breaks off."""
    stream = gzip.GzipFile(fileobj=io.BytesIO(body)) if body[:2] == b"\x1f\x8b" else io.BytesIO(body.strip())
    events = lxml.etree.iterparse(_Bounded(stream, MAX_SITEMAP_BYTES, endpoint), events=("start", "end"),
                                  resolve_entities=False, no_network=True, huge_tree=False)
    root = None
    try:
        for event, element in events:
            if root is None:  # the first event: the root element starts
                root, kind = element, lxml.etree.QName(element).localname
                if kind not in ("sitemapindex", "urlset"):
                    raise SitemapError(f"sitemap {endpoint} is XML but not a sitemap (<{kind}>)")
            elif event == "end" and element.getparent() is root:
                fields = {lxml.etree.QName(child).localname: (child.text or "").strip()
                          for child in element if isinstance(child.tag, str)}
                element.clear()
                while element.getprevious() is not None:  # what was read goes: memory stays flat
                    del root[0]
                loc = fields.get("loc")
                if loc and kind == "sitemapindex":
                    yield ChildSitemap(loc)
                elif loc:
                    yield listing_or_skip(loc, extra_hosts, published=fields.get("lastmod", ""), source="sitemap")
    except lxml.etree.XMLSyntaxError as error:
        raise SitemapError(f"sitemap {endpoint} is not XML ({error})") from None
    except (OSError, EOFError) as error:
        raise SitemapError(f"sitemap {endpoint} is not valid gzip ({error})") from None
    if root is None:
        raise SitemapError(f"sitemap {endpoint} is not XML (empty)")
