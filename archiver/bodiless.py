"""Articles whose page had no body text (a video, an empty page), remembered between runs.

Such a page is never archived, so without a memory every run would fetch it again. Its id is
kept in STATE_DIR/no-body.json with the time it was last found empty; discovery skips it for
NO_BODY_RETRY_DAYS, then fetches it once more (a page filled in later is archived then).
Only discovered articles are skipped: one named with `-a url=`, or any with `-a refetch=1`,
is fetched whatever the memory says.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from pathlib import Path

from archiver.ids import is_valid_id

FILE_NAME = "no-body.json"

logger = logging.getLogger(__name__)


class BodilessPages:
    """The remembered ids, each with the time its page was last found without a body."""

    def __init__(self, path: Path, retry_after: dt.timedelta, found: dict[str, dt.datetime] | None = None):
        self.path = path
        self.retry_after = retry_after
        self.found = found or {}
        self._changed = False

    @classmethod
    def load(cls, state_dir: str | os.PathLike, retry_days: float,
             now: dt.datetime | None = None) -> BodilessPages:
        """The memory in `state_dir`, without the entries whose wait is over; an unreadable file
        is logged and treated as empty (the pages are fetched again: nothing is lost)."""
        path = Path(state_dir) / FILE_NAME
        memory = cls(path, dt.timedelta(days=max(0.0, retry_days)))
        now = now or dt.datetime.now(dt.timezone.utc)
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return memory
        except (OSError, ValueError) as error:
            logger.warning("cannot read %s (%s): pages without a body will be fetched again", path, error)
            return memory
        for article_id, when in (entries.items() if isinstance(entries, dict) else ()):
            try:
                found = dt.datetime.fromisoformat(when)
            except (TypeError, ValueError):
                continue
            if is_valid_id(article_id) and found.tzinfo is not None and now - found < memory.retry_after:
                memory.found[article_id] = found
        memory._changed = len(memory.found) != len(entries)
        return memory

    def waiting(self, article_id: str, now: dt.datetime | None = None) -> bool:
        """Whether the article's page was found empty less than NO_BODY_RETRY_DAYS ago."""
        found = self.found.get(article_id)
        return found is not None and (now or dt.datetime.now(dt.timezone.utc)) - found < self.retry_after

    def remember(self, article_id: str, now: dt.datetime | None = None) -> None:
        if self.retry_after > dt.timedelta(0):
            self.found[article_id] = now or dt.datetime.now(dt.timezone.utc)
            self._changed = True

    def save(self) -> None:
        """Write the memory atomically, if it changed; a failure is logged, not raised (the
        archive itself is not affected)."""
        if not self._changed:
            return
        data = json.dumps({article_id: found.isoformat(timespec="seconds")
                           for article_id, found in sorted(self.found.items())}, indent=1)
        temp_name = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.path.parent,
                                             prefix=f".{FILE_NAME}.", delete=False) as temp:
                temp_name = temp.name
                temp.write(data + "\n")
            os.replace(temp_name, self.path)
            self._changed = False
        except OSError as error:
            if temp_name is not None and os.path.exists(temp_name):
                os.unlink(temp_name)
            logger.warning("cannot write %s (%s): pages without a body will be fetched again", self.path, error)
