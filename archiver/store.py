"""The archive on disk: where an article's file is, which articles are there, atomic writes.

    <ARCHIVE_DIR>/zh-CN/news/qq/<article_id>.zh-CN.md

Older archives named files by the 14-character id; such a file is the same article and is
updated in place. Whether an article is known is asked of the file system (a stat or two), not of
an index held in memory: a crawl's memory does not grow with the archive, and a file written by
another process (`archiver fetch` during a run) is seen at once.

Writes are atomic: a temporary file, synced, then renamed over the old one, so a crash leaves the
old file or the new, never part of one. The folder itself is synced once per batch (`sync()`,
at the end of a crawl), not after each rename: a rename lost to a power cut loses no archived
content (the old file stays; a new article is fetched again by the next run).

A crawl's store commits in groups (`group_files`, `group_seconds`): each document goes into its
temporary file at once, and a group of them is synced together (one `syncfs()` of the file
system where Linux has it, else an fsync each) before each is renamed into place. Until then
the old file is what a reader or a crash sees; a killed run's temporary files are swept by a
later run once ten minutes old. One fsync a file cost a crawl 0.25-0.5 ms of CPU an article, a
syncfs per 64 files about half that.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile
import time
from dataclasses import dataclass
from enum import Enum
from collections.abc import Iterator
from pathlib import Path

from archiver.ids import ArticleRef, is_valid_id

LANG = "zh-CN"
SOURCE = "qq"
SUFFIX = f".{LANG}.md"
# A temporary file never ends in `.md`, so Hugo never reads a half-written one.
TEMP_PREFIX = ".qq-archiver-"
TEMP_SUFFIX = ".partial"
# A temporary file this old is a killed run's (a crawl commits its groups within seconds).
STALE_TEMP_SECONDS = 600


class StoreError(OSError):
    """The archive cannot be written (read-only, full, not a directory); the message says how.
    `unstored`: the pending writes a failed commit left undone (ArchiveStore.commit)."""

    unstored: tuple = ()


class Outcome(str, Enum):
    ARCHIVED = "archived"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Stored:
    """An article's file in the archive and its bytes (None: no file yet)."""

    path: Path
    data: bytes | None


class ArchiveStore:
    """The folder of one source's articles inside a Hugo content directory."""

    def __init__(self, archive_dir: str | os.PathLike, group_files: int = 1, group_seconds: float = 0.0):
        """`group_files` > 1: writes are committed in groups of that many, or sooner once the
        group's first write is `group_seconds` old (`commit_due`), and by `sync()`."""
        self.root = Path(archive_dir)
        self.folder = self.root / LANG / "news" / SOURCE
        self.group_files = max(1, group_files)
        self.group_seconds = group_seconds
        self._swept = False
        self._unsynced = False
        self._pending: list[Pending] = []
        self._pending_since = 0.0

    def _sweep(self) -> None:
        """On first use, remove the temporary files a killed run left behind (never finished
        files); a store opened only to check that it can be written lists nothing. Only files
        older than STALE_TEMP_SECONDS: a younger one may be a running crawl's group waiting to be
        committed (`archiver fetch` during a crawl opens a store of its own)."""
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
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=self.folder) as probe:
                probe.write(b"qq-archiver write check\n" * 16)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            raise StoreError(error.errno or errno.EIO,
                             f"the archive folder {self.folder} cannot be written: "
                             f"{error.strerror or error}") from None

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
        `stored`: what `find` gave just before, so the file is not looked up and read again."""
        stored = stored if stored is not None else self.find(ref)
        data = document.encode("utf-8")
        if stored.data == data:
            return Outcome.UNCHANGED
        outcome = Outcome.ARCHIVED if stored.data is None else Outcome.UPDATED
        self._unsynced = True
        if self.group_files == 1:
            _atomic_write(stored.path, data)
            return outcome
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append(Pending(_staged(stored.path, data), stored.path, ref.article_id, outcome))
        if len(self._pending) >= self.group_files:
            self.commit()
        else:
            self.commit_due()
        return outcome

    def commit_due(self) -> None:
        """Commit the pending group if its first write is `group_seconds` old (a crawl's timer
        calls this too, so that a stalled crawl's last files do not wait). Raises StoreError."""
        if self._pending and time.monotonic() - self._pending_since >= self.group_seconds:
            self.commit()

    def commit(self) -> None:
        """The group of written documents synced to disk, then each renamed into place. Raises
        StoreError, whose `unstored` lists the documents left as they were (their temporary files
        removed): all of them when the sync failed, the rest when a rename did."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        renamed = 0
        try:
            _sync_files([entry.temp for entry in pending])
            for entry in pending:
                os.replace(entry.temp, entry.path)
                renamed += 1
        except OSError as error:
            unstored = pending[renamed:]
            for entry in unstored:
                _unlink_quietly(entry.temp)
            failure = StoreError(error.errno or errno.EIO,
                                 f"cannot store {len(unstored)} article(s) in {self.folder}: "
                                 f"{error.strerror or error}")
            failure.unstored = tuple(unstored)
            raise failure from None

    def sync(self) -> None:
        """Commit what is pending, and make this store's renames durable: one fsync of the folder
        for all writes so far. Raises StoreError (see commit)."""
        try:
            self.commit()
        finally:
            if self._unsynced:
                self._unsynced = False
                _fsync_dir(self.folder)


@dataclass(frozen=True)
class Pending:
    """A document written to its temporary file, not yet committed."""

    temp: str
    path: Path
    article_id: str
    outcome: Outcome


def _atomic_write(path: Path, data: bytes) -> None:
    _in_archive_folder(path, lambda: replace_atomically(path, data))


def _staged(path: Path, data: bytes) -> str:
    """`data` in a new temporary file beside `path`, not synced; its name. Raises StoreError."""
    return _in_archive_folder(path, lambda: _temporary_file(path.parent, data))


def _in_archive_folder(path: Path, write):
    """`write()`, the article folder made first if it is missing (the archive's first article);
    an OSError raised as a StoreError naming `path`."""
    try:
        try:
            return write()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            return write()
    except OSError as error:
        raise StoreError(error.errno or errno.EIO,
                         f"cannot write {path}: {error.strerror or error}") from None


def _temporary_file(folder: Path, data: bytes, prefix: str = TEMP_PREFIX, suffix: str = TEMP_SUFFIX,
                    synced: bool = False) -> str:
    """`data` in a new temporary file in `folder` (mode 0644), fsynced if `synced`; its name.
    Raises OSError, and then leaves no file behind."""
    handle, temp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            os.fchmod(temp.fileno(), 0o644)
            if synced:
                temp.flush()
                os.fsync(temp.fileno())
    except OSError:
        _unlink_quietly(temp_name)
        raise
    return temp_name


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _load_syncfs():
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux (or a C library without it)
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _load_syncfs()


def _sync_files(paths: list[str]) -> None:
    """Every file's data on disk: one syncfs() of their file system (they share a folder) where
    Linux has it, else an fsync each. Raises OSError."""
    if _syncfs is not None:
        fd = os.open(os.path.dirname(paths[0]) or ".", os.O_RDONLY)
        try:
            if _syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
        # syncfs failed (an I/O error, reported by Linux 5.8 and later): fsync says which file.
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_atomically(path: Path, data: bytes, prefix: str = TEMP_PREFIX, suffix: str = TEMP_SUFFIX) -> None:
    """`path` replaced by `data` in one step: a temporary file beside it (`prefix`...`suffix`),
    synced, then renamed over it, so a reader or a crash sees the old file or the new, never part
    of one. Raises OSError; the temporary file does not outlive a failure. The archive's files
    and the state files (last-run.json, unarchivable.json) are all written this way."""
    temp_name = _temporary_file(path.parent, data, prefix, suffix, synced=True)
    try:
        os.replace(temp_name, path)
    except OSError:
        _unlink_quietly(temp_name)
        raise


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
