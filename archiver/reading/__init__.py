"""Reading one qq article page into an `Article` (the modules: docs/ARCHITECTURE.md). `read_article`
is the one way a page is read, by every command alike; it knows nothing of the crawl."""

from __future__ import annotations

import re

from archiver.ids import ArticleRef, is_deleted_page
from archiver.items import Article, Listing
from archiver.reading.layouts import read_body
from archiver.reading.metadata import first_image, id_date, normalise_date, read_date, read_ref, read_title
from archiver.reading.page import ArticleGone, EmptyArticle, PageError, QQPage, decode_html

__all__ = ["ArticleGone", "EmptyArticle", "PageError", "decode_html", "normalise_date", "read_article"]

_DELETED_TEXT = re.compile(r"(文章|内容|页面)(已被?删除|不存在|已下线)|抱歉，您访问的页面")


def read_article(body: bytes | str, url: str, ref: ArticleRef | None = None,
                 listing: Listing | None = None, extra_hosts: frozenset[str] = frozenset()) -> Article:
    """Read one article page (its bytes or text, and the URL it came from); `listing` is what
    discovery knew of it. Raises ArticleGone, EmptyArticle or NotAnArticle."""
    if url and is_deleted_page(url):
        raise ArticleGone(f"redirected to the deleted-article page ({url})")
    page = QQPage.from_response(body, url)
    ref = ref or (listing.ref if listing else None) or read_ref(page, extra_hosts)
    title = read_title(page) or (listing.title if listing else "")
    body_html, layout = read_body(page, ref.canonical_url)
    if not body_html:  # read_body gives a body only when it has content
        if _DELETED_TEXT.search(page.doc.text_content()[:5000]):
            raise ArticleGone("the page says the article was deleted")
        raise EmptyArticle("the page has no body text")
    date = read_date(page) or normalise_date(listing.published if listing else "") or id_date(ref)
    listed = listing.thumbnail if listing else ""
    return Article(ref=ref, title=title, date=date, body_html=body_html,
                   thumbnail=listed or first_image(body_html), thumbnail_from_page=not listed, layout=layout)
