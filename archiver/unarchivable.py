"""Articles whose page could not be archived for a reason a new fetch will not soon change, deleted
at the source (`gone`) or without body text (`no_body`, a video), kept in STATE_DIR/unarchivable.json
with the reason and the time: discovery skips them for UNARCHIVABLE_RETRY_DAYS instead of fetching
them every run, then fetches them once more. Failed downloads (timeouts, 5xx) are not remembered;
an article named with `-a url=`, or any with `-a refetch=1`, is fetched whatever the memory says.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

from archiver.ids import is_valid_id
from archiver.store import write_file_atomically

FILE_NAME = "unarchivable.json"
# The failures remembered, each with what a skipped article's log line says of it.
REASONS = {"gone": "deleted at the source when last fetched", "no_body": "its page had no body text when last fetched"}

logger = logging.getLogger(__name__)


class UnarchivablePages:
    """The remembered ids, each with why and when its page was last found unarchivable."""

    def __init__(self, path: Path, retry_after: dt.timedelta):
        self.path = path
        self.retry_after = retry_after
        self.found: dict[str, tuple[str, dt.datetime]] = {}
        self._changed = False

    @classmethod
    def load(cls, state_dir: str | os.PathLike, retry_days: float, now: dt.datetime | None = None) -> UnarchivablePages:
        """The memory in `state_dir`, without the entries whose wait is over; an unreadable file
        is logged and treated as empty (the pages are fetched again: nothing is lost)."""
        memory = cls(Path(state_dir) / FILE_NAME, dt.timedelta(days=max(0.0, retry_days)))
        now = now or dt.datetime.now(dt.timezone.utc)
        try:
            entries = json.loads(memory.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return memory
        except (OSError, ValueError) as error:
            logger.warning("cannot read %s (%s): deleted and empty pages will be fetched again", memory.path, error)
            return memory
        if not isinstance(entries, dict):
            entries = {}
        for article_id, entry in entries.items():
            try:
                reason, found = entry["reason"], dt.datetime.fromisoformat(entry["found"])
            except (TypeError, KeyError, ValueError):
                continue
            if is_valid_id(article_id) and reason in REASONS and found.tzinfo is not None \
                    and now - found < memory.retry_after:
                memory.found[article_id] = (reason, found)
        memory._changed = len(memory.found) != len(entries)
        return memory

    def waiting(self, article_id: str, now: dt.datetime | None = None) -> str | None:
        """Why the article was found unarchivable less than UNARCHIVABLE_RETRY_DAYS ago, or None."""
        entry = self.found.get(article_id)
        if entry is None or (now or dt.datetime.now(dt.timezone.utc)) - entry[1] >= self.retry_after:
            return None
        return entry[0]

    def remember(self, article_id: str, reason: str, now: dt.datetime | None = None) -> None:
        if reason in REASONS and self.retry_after > dt.timedelta(0):
            self.found[article_id] = (reason, now or dt.datetime.now(dt.timezone.utc))
            self._changed = True

    def save(self) -> None:
        """Write the memory atomically if it changed; a failure is logged, not raised (the archive is unaffected)."""
        if not self._changed:
            return
        data = json.dumps({article_id: {"reason": reason, "found": found.isoformat(timespec="seconds")}
                           for article_id, (reason, found) in sorted(self.found.items())}, indent=1)
        try:
            write_file_atomically(self.path, (data + "\n").encode("utf-8"), prefix=f".{FILE_NAME}.")
            self._changed = False
        except OSError as error:
            logger.warning("cannot write %s (%s): deleted and empty pages will be fetched again", self.path, error)
