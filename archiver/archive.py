"""Storing a read article: the one step the spider, `archiver fetch` and a rebuild share."""

from __future__ import annotations

import dataclasses

import frontmatter

from archiver.items import Article
from archiver.render import render_document
from archiver.store import ArchiveStore, Outcome


def known_thumbnail(document: str) -> str:
    """The thumbnail of an archived document; "" when it has none or does not load."""
    try:
        value = frontmatter.loads(document).metadata.get("thumbnail")
    except Exception:  # a damaged file must not stop a re-fetch that would repair it
        return ""
    return value if isinstance(value, str) else ""


def archive_article(store: ArchiveStore, article: Article) -> Outcome:
    """Render and store the article; a known thumbnail is never replaced by none."""
    if not article.thumbnail:
        existing = store.read(article.ref)
        if existing:
            article = dataclasses.replace(article, thumbnail=known_thumbnail(existing))
    return store.write(article.ref, render_document(article))
