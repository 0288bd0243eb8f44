"""The archive on disk: where an article's file is, which articles are there, atomic writes.

    <ARCHIVE_DIR>/zh-CN/news/qq/<article_id>.zh-CN.md

Older archives named files by the 14-character id; such a file is the same article and is
updated in place. The directory is listed once, when the store opens: deciding whether an
article is known never touches the disk again.
"""

from __future__ import annotations

import errno
import os
import tempfile
from enum import Enum
from pathlib import Path

from archiver.ids import ArticleRef, is_valid_id

LANG = "zh-CN"
SOURCE = "qq"
SUFFIX = f".{LANG}.md"
# A temporary file never ends in `.md`, so Hugo never reads a half-written one.
TEMP_PREFIX = ".qq-archiver-"
TEMP_SUFFIX = ".partial"


class StoreError(OSError):
    """The archive cannot be written (read-only, full, not a directory); the message says how."""


class Outcome(str, Enum):
    ARCHIVED = "archived"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class ArchiveStore:
    """The folder of one source's articles inside a Hugo content directory."""

    def __init__(self, archive_dir: str | os.PathLike):
        self.root = Path(archive_dir)
        self.folder = self.root / LANG / "news" / SOURCE
        # Ids, not paths: the index stays small for an archive of hundreds of thousands of files.
        self._ids: set[str] = set()
        self._short_named: set[str] = set()  # ids whose only file has the 14-character name
        self._scanned = False

    def _scan(self) -> None:
        """List the folder once, on first use: a store opened only to check that it can be
        written (`archiver run` before its crawl) costs no listing."""
        if self._scanned:
            return
        self._scanned = True
        if not self.folder.is_dir():
            return
        with os.scandir(self.folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                    # Left by a run that was killed mid-write: never a finished file.
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        pass
                    continue
                if not name.endswith(SUFFIX):
                    continue
                stem = name[: -len(SUFFIX)]
                short = len(stem) == 14 and "_" not in stem
                article_id = stem + "00" if short else stem
                if not is_valid_id(article_id):
                    continue
                # A file under the full id wins over an older 14-character one.
                if not short:
                    self._short_named.discard(article_id)
                elif article_id not in self._ids:
                    self._short_named.add(article_id)
                self._ids.add(article_id)

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
        self._scan()
        return ref.article_id in self._ids

    def __len__(self) -> int:
        self._scan()
        return len(self._ids)

    def ids(self) -> list[str]:
        self._scan()
        return sorted(self._ids)

    def _existing_path(self, ref: ArticleRef) -> Path | None:
        self._scan()
        if ref.article_id not in self._ids:
            return None
        name = ref.short_id if ref.article_id in self._short_named else ref.article_id
        return self.folder / f"{name}{SUFFIX}"

    def path_for(self, ref: ArticleRef) -> Path:
        """The article's file: the one already archived under either id form, else a new one."""
        existing = self._existing_path(ref)
        if existing is not None:
            return existing
        if not is_valid_id(ref.article_id):
            raise ValueError(f"refusing to build a path from an invalid id: {ref.article_id!r}")
        path = self.folder / f"{ref.article_id}{SUFFIX}"
        # The id is validated, but a path is only ever written inside the folder.
        if path.resolve().parent != self.folder.resolve():
            raise ValueError(f"refusing a path outside the archive: {path}")
        return path

    def read(self, ref: ArticleRef) -> str | None:
        path = self._existing_path(ref)
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, ref: ArticleRef, document: str) -> Outcome:
        """Store the document atomically; a byte-identical one leaves the file untouched."""
        path = self.path_for(ref)
        data = document.encode("utf-8")
        existed = path.exists()
        if existed:
            try:
                if path.read_bytes() == data:
                    return Outcome.UNCHANGED
            except OSError as error:
                raise StoreError(error.errno, f"cannot read {path}: {error.strerror}") from None
        _atomic_write(path, data)
        self._ids.add(ref.article_id)
        return Outcome.UPDATED if existed else Outcome.ARCHIVED


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as error:
        raise StoreError(error.errno or errno.EIO,
                         f"cannot write to the archive folder {path.parent}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except OSError as error:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise StoreError(error.errno or errno.EIO, f"cannot write {path}: {error.strerror}") from None
    _fsync_dir(path.parent)


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
