"""Storing a read article: the one step the spider, `archiver fetch` and a rebuild share."""

from __future__ import annotations

import dataclasses

import frontmatter

from archiver.items import Article
from archiver.render import clean_title, has_content, render_document
from archiver.stats import Outcome
from archiver.store import ArchiveStore, Stored


class NotArchivable(ValueError):
    """An article that must not be stored: it would be an empty file, or replace a good one.
    `reason` is its stats key (no_body, no_title)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_archivable(article: Article) -> None:
    """Raise NotArchivable for an article with no body text or no title."""
    if not has_content(article.body_html):
        raise NotArchivable("no_body", f"{article.article_id}: no body text, not archived")
    if not clean_title(article.title):
        raise NotArchivable("no_title", f"{article.article_id}: no title, not archived")


def with_known_thumbnail(stored: Stored, article: Article) -> Article:
    """The article with the thumbnail it is archived with: the feed's listing image, else the one already
    in its file (`stored`), else the page's first image; so a re-fetch never replaces a known thumbnail,
    and an unchanged article renders the same bytes."""
    if (article.thumbnail and not article.thumbnail_from_page) or stored.data is None:
        return article
    try:
        known = frontmatter.loads(stored.data.decode("utf-8", errors="replace")).metadata.get("thumbnail")
    except Exception:  # a damaged file must not stop a re-fetch that would repair it
        return article
    if not known or not isinstance(known, str):
        return article
    return dataclasses.replace(article, thumbnail=known, thumbnail_from_page=False)


def archive_article(store: ArchiveStore, article: Article) -> Outcome:
    """Render and store the article (see with_known_thumbnail): its file looked up and read once,
    for the thumbnail and for the comparison with what is stored."""
    stored = store.find(article.ref)
    return store.write(article.ref, render_document(with_known_thumbnail(stored, article)), stored)
