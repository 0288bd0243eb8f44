"""`STATE_DIR/run.lock`: one `archiver run` (or rebuild) at a time, on this machine or any sharing STATE_DIR;
the kernel drops the lock of a process that dies, so a killed run never blocks the next one."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import stat
from pathlib import Path

EX_TEMPFAIL = 75
LOCK_FILE = "run.lock"


class LockHeld(RuntimeError):
    """Another process holds the run lock; the message names it."""


class RunLock:
    """An exclusive flock on STATE_DIR/run.lock, holding the holder's pid, host and start time;
    never removed: removing it would let two runs lock two different files."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Raises LockHeld, or OSError for a lock path that is not a plain file (a symbolic link
        is never followed: the file it points to would be truncated)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise OSError(errno.ELOOP, f"{self.path} is a symbolic link; refusing to follow it") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, f"{self.path} is not a regular file; refusing to use it as the lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_holder(fd)
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockHeld(holder) from None
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder not yet recorded"
