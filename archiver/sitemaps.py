"""The sitemap index and its sitemaps: child sitemap URLs and article listings with `lastmod`."""

from __future__ import annotations

import gzip
import io

import lxml.etree

from archiver.ids import NotAnArticle, OffSite, parse_article_ref
from archiver.items import Listing, Skip

MAX_SITEMAP_BYTES = 50 * 1024 * 1024


class SitemapError(ValueError):
    """A sitemap that cannot be read (not XML, not a sitemap, a broken gzip)."""


def _document(body: bytes, endpoint: str):
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError) as error:
            raise SitemapError(f"sitemap {endpoint} is not valid gzip ({error})") from None
        if len(body) > MAX_SITEMAP_BYTES:
            raise SitemapError(f"sitemap {endpoint} is larger than {MAX_SITEMAP_BYTES} bytes unzipped")
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)
    try:
        root = lxml.etree.fromstring(body.strip(), parser=parser)
    except lxml.etree.XMLSyntaxError as error:
        raise SitemapError(f"sitemap {endpoint} is not XML ({error})") from None
    kind = lxml.etree.QName(root).localname
    if kind not in ("sitemapindex", "urlset"):
        raise SitemapError(f"sitemap {endpoint} is XML but not a sitemap (<{kind}>)")
    return root, kind


def _entries(root):
    for entry in root:
        if not isinstance(entry.tag, str):
            continue
        fields = {lxml.etree.QName(child).localname: (child.text or "").strip()
                  for child in entry if isinstance(child.tag, str)}
        if fields.get("loc"):
            yield fields


def parse_sitemap(body: bytes, endpoint: str, extra_hosts: frozenset[str] = frozenset()
                  ) -> tuple[list[str], list[Listing | Skip]]:
    """(child sitemap URLs, article listings or skips) of one sitemap or sitemap index."""
    root, kind = _document(body, endpoint)
    if kind == "sitemapindex":
        return [fields["loc"] for fields in _entries(root)], []
    listings: list[Listing | Skip] = []
    for fields in _entries(root):
        try:
            ref = parse_article_ref(fields["loc"], extra_hosts)
        except OffSite as error:
            listings.append(Skip("offsite", str(error)))
            continue
        except NotAnArticle as error:
            listings.append(Skip("not_article", str(error)))
            continue
        listings.append(Listing(ref=ref, published=fields.get("lastmod", ""), source="sitemap"))
    return [], listings
