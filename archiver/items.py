"""The records that flow from discovery through reading to storage."""

from __future__ import annotations

from dataclasses import dataclass

from archiver.ids import ArticleRef, NotAnArticle, OffSite, parse_article_ref


@dataclass(frozen=True)
class Listing:
    """What discovery knows of an article before it is fetched (feed item, sitemap entry)."""

    ref: ArticleRef
    title: str = ""
    published: str = ""
    thumbnail: str = ""
    source: str = "url"


@dataclass(frozen=True)
class Skip:
    """A discovered item that is not fetched, and why: `reason` is its stats key
    (known, not_article, offsite, too_old, gone, no_body)."""

    reason: str
    detail: str


def listing_or_skip(text: str, extra_hosts: frozenset[str], **fields) -> Listing | Skip:
    """The listing of the article `text` names (any URL form, or a bare id), or the skip saying why not."""
    try:
        return Listing(ref=parse_article_ref(text, extra_hosts), **fields)
    except OffSite as error:
        return Skip("offsite", str(error))
    except NotAnArticle as error:
        return Skip("not_article", str(error))


@dataclass
class Article:
    """One read article: everything the archive format needs, nothing more."""

    ref: ArticleRef
    title: str
    date: str
    body_html: str
    thumbnail: str = ""
    layout: str = ""
    # True when the thumbnail is the page's own first image, not the feed's listing image.
    thumbnail_from_page: bool = False

    @property
    def article_id(self) -> str:
        return self.ref.article_id

    @property
    def canonical_url(self) -> str:
        return self.ref.canonical_url
