"""The archive on disk: where an article's file is, which articles are there, atomic writes.

    <ARCHIVE_DIR>/zh-CN/news/qq/<article_id>.zh-CN.md

Older archives named files by the 14-character id; such a file is the same article and is
updated in place. Whether an article is known is asked of the file system (a stat or two), not of
an index held in memory: a crawl's memory does not grow with the archive, and a file written by
another process (`archiver fetch` during a run) is seen at once.

Every file the project writes (articles, images, state files) is written by
`write_file_atomically`: a temporary file beside it, synced, then renamed over the old one, so a
reader or a crash sees the old file or the new, never part of one. The folder itself is synced
once at the end (`sync()`): a rename lost to a power cut loses no archived content (the old file
stays; a new article is fetched again by the next run).
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

from archiver.ids import ArticleRef, is_valid_id
from archiver.stats import Outcome

LANG = "zh-CN"
SOURCE = "qq"
SUFFIX = f".{LANG}.md"
# A temporary file never ends in `.md`, so Hugo never reads a half-written one.
TEMP_PREFIX = ".qq-archiver-"
TEMP_SUFFIX = ".partial"
# A temporary file this old is a killed process's, not one being written now.
STALE_TEMP_SECONDS = 600


class StoreError(OSError):
    """The archive cannot be written (read-only, full, not a directory); the message says how."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class Stored:
    """An article's file in the archive and its bytes (None: no file yet)."""

    path: Path
    data: bytes | None


class ArchiveStore:
    """The folder of one source's articles inside a Hugo content directory."""

    def __init__(self, archive_dir: str | os.PathLike):
        self.root = Path(archive_dir)
        self.folder = self.root / LANG / "news" / SOURCE
        self._swept = False
        self._unsynced = False

    def _sweep(self) -> None:
        """On first use, remove the temporary files a killed run left behind (never finished
        files); a store opened only to check that it can be written lists nothing. Only files
        older than STALE_TEMP_SECONDS: a younger one may be another process's write under way."""
        if self._swept:
            return
        self._swept = True
        stale_before = time.time() - STALE_TEMP_SECONDS
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
                        try:
                            if entry.stat(follow_symlinks=False).st_mtime < stale_before:
                                os.unlink(entry.path)
                        except OSError:
                            pass
        except (FileNotFoundError, NotADirectoryError):
            pass

    def ensure_writable(self) -> None:
        """Fail now, with a clear message, if no article could be stored (read-only, full,
        not a folder), rather than after a crawl's worth of fetching."""
        check_writable(self.folder, "the archive folder")

    def __contains__(self, ref: ArticleRef) -> bool:
        return self._existing_path(ref) is not None

    def ids(self) -> Iterator[str]:
        """The id of every archived article, in no particular order (one listing, streamed)."""
        self._sweep()
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    stem = entry.name[: -len(SUFFIX)] if entry.name.endswith(SUFFIX) else ""
                    short = len(stem) == 14 and "_" not in stem
                    article_id = stem + "00" if short else stem
                    if not is_valid_id(article_id):
                        continue
                    # A 14-character file beside a full-id one is the same article, counted once.
                    if short and (self.folder / f"{article_id}{SUFFIX}").is_file():
                        continue
                    yield article_id
        except (FileNotFoundError, NotADirectoryError):
            return

    def _existing_path(self, ref: ArticleRef) -> Path | None:
        """The article's file under its full id, else under its 14-character id; None if neither."""
        self._sweep()
        if not is_valid_id(ref.article_id):
            return None
        path = self.folder / f"{ref.article_id}{SUFFIX}"
        if path.is_file():
            return path
        short = ref.short_id
        if short is not None and ref.article_id.endswith("00"):
            path = self.folder / f"{short}{SUFFIX}"
            if path.is_file():
                return path
        return None

    def path_for(self, ref: ArticleRef) -> Path:
        """The article's file: the one already archived under either id form, else a new one."""
        existing = self._existing_path(ref)
        return existing if existing is not None else self._new_path(ref)

    def _new_path(self, ref: ArticleRef) -> Path:
        # A valid id holds only ASCII letters, digits and `_`: its file cannot leave the folder.
        if not is_valid_id(ref.article_id):
            raise ValueError(f"refusing to build a path from an invalid id: {ref.article_id!r}")
        return self.folder / f"{ref.article_id}{SUFFIX}"

    def find(self, ref: ArticleRef) -> Stored:
        """The article's file (the one archived under either id form, else where a new one goes)
        and its bytes (None when there is none): one lookup and one read, for a caller that both
        reads the file and then writes it (`write(..., stored=)`)."""
        existing = self._existing_path(ref)
        if existing is None:
            return Stored(self._new_path(ref), None)
        try:
            return Stored(existing, existing.read_bytes())
        except FileNotFoundError:  # removed since it was found
            return Stored(existing, None)
        except OSError as error:
            raise StoreError(error.errno, f"cannot read {existing}: {error.strerror}") from None

    def read(self, ref: ArticleRef) -> str | None:
        data = self.find(ref).data
        return data.decode("utf-8") if data is not None else None

    def write(self, ref: ArticleRef, document: str, stored: Stored | None = None) -> Outcome:
        """Store the document atomically; a byte-identical one leaves the file untouched.
        `stored`: what `find` gave just before, so the file is not looked up and read again.
        Raises StoreError."""
        stored = stored if stored is not None else self.find(ref)
        data = document.encode("utf-8")
        if stored.data == data:
            return Outcome.UNCHANGED
        try:
            write_file_atomically(stored.path, data)
        except OSError as error:
            raise StoreError(error.errno or errno.EIO, f"cannot write {stored.path}: {error.strerror or error}") from None
        self._unsynced = True
        return Outcome.ARCHIVED if stored.data is None else Outcome.UPDATED

    def sync(self) -> None:
        """Make this store's renames durable: one fsync of the folder for all writes so far."""
        if self._unsynced:
            self._unsynced = False
            _fsync_dir(self.folder)


def check_writable(folder: Path, what: str) -> None:
    """Raise StoreError, in one line naming `what`, unless a file (a few KB, synced) can be
    written in `folder`, made first if it is missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder) as probe:
            probe.write(b"qq-archiver write check\n" * 16)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise StoreError(error.errno or errno.EIO,
                         f"{what} {folder} cannot be written: {error.strerror or error}") from None


def write_file_atomically(path: Path, data: bytes, prefix: str = TEMP_PREFIX, suffix: str = TEMP_SUFFIX) -> None:
    """`path` replaced by `data` in one step: a temporary file beside it (`prefix`...`suffix`,
    mode 0644), synced, then renamed over it; its folder made first if missing. Raises OSError,
    and then leaves no temporary file behind."""
    try:
        handle, temp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            os.fchmod(temp.fileno(), 0o644)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except OSError:
        _unlink_quietly(temp_name)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
