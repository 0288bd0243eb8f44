"""The archive on disk, `<ARCHIVE_DIR>/zh-CN/news/qq/<article_id>.zh-CN.md` (older archives' files, named by
the 14-character id, are updated in place): where an article's file is, which articles are there, atomic
writes. Whether an article is known is asked of the file system, not of an index in memory: a crawl's memory
does not grow with the archive, and a file another process writes is seen at once. The folder is synced once
at the end (`sync()`): a rename lost to a power cut loses no archived content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archiver.ids import ArticleRef, is_valid_id
from archiver.stats import Outcome

LANG = "zh-CN"
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
        self.folder = Path(archive_dir) / LANG / "news" / "qq"
        self._swept = False
        self._unsynced = False

    def _sweep(self) -> None:
        """On first use (not on a writability check), remove the temporary files of killed runs older
        than STALE_TEMP_SECONDS: a younger one may be another process's write under way."""
        if self._swept:
            return
        self._swept = True
        for entry in folder_entries(self.folder):
            remove_stale_temp(entry)

    def ensure_writable(self) -> None:
        """Raise StoreError now if no article could be stored, not after a crawl's worth of fetching."""
        check_writable(self.folder, "the archive folder")

    def __contains__(self, ref: ArticleRef) -> bool:
        return self._existing_path(ref) is not None

    def ids(self) -> Iterator[str]:
        """The id of every archived article, in no particular order (one listing, streamed)."""
        self._sweep()
        for entry in folder_entries(self.folder):
            stem = entry.name[: -len(SUFFIX)] if entry.name.endswith(SUFFIX) else ""
            short = len(stem) == 14 and "_" not in stem
            article_id = stem + "00" if short else stem
            # A 14-character file beside a full-id one is the same article, counted once.
            if is_valid_id(article_id) and not (short and (self.folder / f"{article_id}{SUFFIX}").is_file()):
                yield article_id

    def _existing_path(self, ref: ArticleRef) -> Path | None:
        """The article's file under its full id, else under its 14-character id; None if neither."""
        self._sweep()
        if not is_valid_id(ref.article_id):
            return None
        names = [ref.article_id] + ([ref.short_id] if ref.short_id and ref.article_id.endswith("00") else [])
        return next((path for name in names if (path := self.folder / f"{name}{SUFFIX}").is_file()), None)

    def path_for(self, ref: ArticleRef) -> Path:
        """The article's file: the one already archived under either id form, else a new one."""
        return self._existing_path(ref) or self._new_path(ref)

    def _new_path(self, ref: ArticleRef) -> Path:
        # A valid id holds only ASCII letters, digits and `_`: its file cannot leave the folder.
        if not is_valid_id(ref.article_id):
            raise ValueError(f"refusing to build a path from an invalid id: {ref.article_id!r}")
        return self.folder / f"{ref.article_id}{SUFFIX}"

    def find(self, ref: ArticleRef) -> Stored:
        """The article's file (see `path_for`) and its bytes (None when there is none): one lookup
        and one read, for a caller that both reads the file and then writes it."""
        existing = self._existing_path(ref)
        if existing is None:
            return Stored(self._new_path(ref), None)
        try:
            return Stored(existing, existing.read_bytes())
        except FileNotFoundError:  # removed since it was found
            return Stored(existing, None)
        except OSError as error:
            raise StoreError(error.errno, f"cannot read {existing}: {error.strerror}") from None

    def write(self, ref: ArticleRef, document: str, stored: Stored | None = None) -> Outcome:
        """Store the document atomically (raises StoreError); a byte-identical one leaves the file
        untouched. `stored`: what `find` gave just before, so the file is not looked up and read again."""
        stored = stored if stored is not None else self.find(ref)
        data = document.encode("utf-8")
        if stored.data == data:
            return Outcome.UNCHANGED
        try:
            write_file_atomically(stored.path, data)
        except OSError as error:
            raise StoreError(error.errno or errno.EIO,
                             f"cannot write {stored.path}: {error.strerror or error}") from None
        self._unsynced = True
        return Outcome.ARCHIVED if stored.data is None else Outcome.UPDATED

    def sync(self) -> None:
        """Make this store's renames durable: one fsync of the folder for all writes so far."""
        if self._unsynced:
            self._unsynced = False
            with contextlib.suppress(OSError):
                fd = os.open(self.folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


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


def remove_stale_temp(entry: os.DirEntry) -> None:
    """Remove `entry` if it is a temporary file older than STALE_TEMP_SECONDS (a killed process's;
    a younger one may be another process's write under way)."""
    if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_mtime < time.time() - STALE_TEMP_SECONDS:
                os.unlink(entry.path)


def write_file_atomically(path: Path, data: bytes, prefix: str = TEMP_PREFIX) -> None:
    """`path` replaced by `data` in one step: a temporary file beside it (mode 0644), synced, then renamed
    over it; its folder made first if missing. Raises OSError, and then leaves no temporary file behind."""
    try:
        handle, temp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            os.fchmod(temp.fileno(), 0o644)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def folder_entries(folder: Path) -> Iterator[os.DirEntry]:
    """The folder's entries; none when it is missing or not a folder."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(folder) as entries:
        yield from entries
