"""`archiver rebuild`: every archived article re-read from the WARC captures, with no network,
through the spider's own reading and storing code: on an unchanged code base a rebuild writes the
crawl's files byte for byte, and after a fix to the reader it updates the files the fix changes.
For each id the newest 2xx capture that reads as an archivable article wins (an older file is
never replaced by a failed page).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.timeutils import iso_date_to_datetime

from archiver.archive import NotArchivable, archive_article, check_archivable
from archiver.ids import NotAnArticle, OffSite, endpoint_hosts, ref_from_id
from archiver.images import ImageFolder
from archiver.items import Article, Listing
from archiver.reading import PageError, read_article
from archiver.stats import Outcome
from archiver.store import ArchiveStore
from archiver.warc import ARTICLE_PROFILE, decode_body, warc_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capture:
    """One captured article response, where it is and its listing (`order`: its file's place in the run order)."""

    listing: Listing
    url: str
    status: int
    date: dt.datetime
    order: int
    path: Path
    offset: int


@dataclass
class RebuildReport:
    files: int = 0
    captures: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {outcome.value: 0 for outcome in Outcome})
    failed: dict[str, str] = field(default_factory=dict)  # id: why no capture could be read
    skipped: int = 0  # response records without the target URI or date a capture needs

    def line(self) -> str:
        articles = sum(self.outcomes.values()) + len(self.failed)
        changed = self.outcomes[Outcome.ARCHIVED.value] + self.outcomes[Outcome.UPDATED.value]
        counts = ", ".join(f"{name} {count}" for name, count in self.outcomes.items())
        return (f"rebuild: {articles} articles from {self.captures} captures in {self.files} "
                f"WARC file{'s' if self.files != 1 else ''}: {counts}, failed {len(self.failed)}; "
                f"{changed} file{'s' if changed != 1 else ''} changed"
                + (f"; {self.skipped} record(s) skipped" if self.skipped else ""))


def warc_files(sources: list[str | os.PathLike]) -> list[Path]:
    """The WARC files named, and those inside the folders named, in name order (oldest run first)."""
    found: list[Path] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found += sorted(path for path in source.rglob("*")
                            if path.is_file() and path.name.endswith((".warc.gz", ".warc")))
        elif source.is_file():
            found.append(source)
    return list(dict.fromkeys(found))


def article_captures(files: list[Path], report: RebuildReport) -> dict[str, list[Capture]]:
    """Every captured article response, by id, oldest first."""
    responses: dict[str, tuple] = {}
    listings: list[tuple[str, Listing]] = []
    for order, path in enumerate(files):
        try:
            with open(path, "rb") as stream:
                records = ArchiveIterator(stream)
                for record in records:
                    headers = record.rec_headers
                    if record.rec_type == "response" and record.http_headers is not None:
                        url, date = headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date")
                        if not url or not date:
                            logger.warning("WARC file %s: a response record without WARC-Target-URI or "
                                           "WARC-Date, skipped", path)
                            report.skipped += 1
                            continue
                        responses[headers.get_header("WARC-Record-ID")] = (
                            url, _status(record.http_headers.get_statuscode()), iso_date_to_datetime(date),
                            order, path, records.get_record_offset())
                    elif record.rec_type == "metadata" and headers.get_header("WARC-Profile") == ARTICLE_PROFILE:
                        listing = _listing(record.content_stream().read())
                        if listing is not None:
                            listings.append((headers.get_header("WARC-Concurrent-To"), listing))
        except (AttributeError, TypeError) as error:  # warcio meets a record it cannot frame (no target URI)
            logger.warning("WARC file %s: a record warcio cannot read (%s): skipped, with the rest of the file",
                           path, error)
            report.skipped += 1
        except (ArchiveLoadFailed, EOFError, OSError, ValueError) as error:
            # A run killed mid-write leaves a cut last record: what came before it still counts.
            logger.warning("WARC file %s ends early or is damaged (%s): using the records before that", path, error)
    captures: dict[str, list[Capture]] = {}
    for response_id, listing in listings:
        if (found := responses.get(response_id)) is not None:
            captures.setdefault(listing.ref.article_id, []).append(Capture(listing, *found))
    return {article_id: sorted(entries, key=lambda capture: (capture.date, capture.order, capture.offset))
            for article_id, entries in sorted(captures.items())}


def _status(code) -> int:
    try:
        return int(code)
    except (TypeError, ValueError):
        return 0


def _listing(data: bytes) -> Listing | None:
    try:
        payload = json.loads(data.decode("utf-8"))
        fields = payload.get("listing") or {}
        return Listing(ref=ref_from_id(payload["article_id"]), title=str(fields.get("title", "")),
                       published=str(fields.get("published", "")),
                       thumbnail=str(fields.get("thumbnail", "")), source=str(fields.get("source", "url")))
    except (ValueError, KeyError, TypeError, AttributeError, NotAnArticle) as error:
        logger.warning("unreadable article metadata record in a WARC file: %s", error)
        return None


def read_capture(capture: Capture, extra_hosts: frozenset[str], max_size: int) -> Article:
    """The article a capture holds (its body decoded to at most `max_size` bytes; 0: no limit),
    read and checked as the spider's are; raises PageError or NotArchivable."""
    with open(capture.path, "rb") as stream:
        stream.seek(capture.offset)
        record = next(iter(ArchiveIterator(stream)))
        body = record.raw_stream.read()
        encoding = record.http_headers.get_header("Content-Encoding")
    try:
        body = decode_body(body, encoding, max_size)
    except ValueError as error:
        raise PageError(f"the captured body cannot be decoded: {error}") from None
    article = read_article(body, capture.url, ref=capture.listing.ref, listing=capture.listing, extra_hosts=extra_hosts)
    check_archivable(article)
    return article


def newest_article(captures: list[Capture], extra_hosts: frozenset[str], max_size: int) -> Article:
    """The article the newest readable 2xx capture gives, with the thumbnail the crawl would have kept through
    all the captures: the newest feed listing image, else (`archive_article` then prefers one already in the
    file) the page's own image of the oldest capture that had one. Raises PageError when none can be read."""
    articles: list[Article] = []
    problems: list[str] = []
    for capture in captures:
        if not 200 <= capture.status < 300:
            problems.append(f"HTTP {capture.status}")
            continue
        try:
            articles.append(read_capture(capture, extra_hosts, max_size))
        except (PageError, NotArchivable, NotAnArticle, OffSite) as error:
            problems.append(str(error))
        except Exception as error:  # as in the spider: one bad page is a failed capture, not the end
            logger.exception("cannot read the capture of %s from %s", capture.listing.ref.article_id, capture.path)
            problems.append(f"{type(error).__name__}: {error}")
    if not articles:
        raise PageError(problems[-1] if problems else "no capture")
    listed = next((article.thumbnail for article in reversed(articles)
                   if article.thumbnail and not article.thumbnail_from_page), "")
    if listed:
        return dataclasses.replace(articles[-1], thumbnail=listed, thumbnail_from_page=False)
    from_page = next((article.thumbnail for article in articles if article.thumbnail), "")
    return dataclasses.replace(articles[-1], thumbnail=from_page, thumbnail_from_page=True)


def rebuild_archive(settings, sources: list[str | os.PathLike] | None = None) -> RebuildReport:
    """Re-render every article captured in `sources` (default: STATE_DIR/warc) into ARCHIVE_DIR;
    raises StoreError when the archive cannot be written."""
    files = warc_files(sources or [warc_dir(settings)])
    report = RebuildReport(files=len(files))
    captures = article_captures(files, report)
    report.captures = sum(len(entries) for entries in captures.values())
    store = ArchiveStore(settings.get("ARCHIVE_DIR"))
    extra_hosts = endpoint_hosts(settings)
    images = ImageFolder.from_settings(settings) if settings.getbool("DOWNLOAD_IMAGES") else None
    for article_id, entries in captures.items():
        try:
            article = newest_article(entries, extra_hosts, settings.getint("DOWNLOAD_MAXSIZE"))
        except PageError as error:
            report.failed[article_id] = str(error)
            continue
        if images is not None:
            article = images.localise(article)
        report.outcomes[archive_article(store, article).value] += 1
    store.sync()
    return report
