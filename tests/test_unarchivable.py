"""The memory of articles found deleted or without body text (STATE_DIR/unarchivable.json)."""

from __future__ import annotations

import datetime as dt
import json

from archiver.unarchivable import FILE_NAME, UnarchivablePages

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
VIDEO = "20251123A04NOP00"
DELETED = "20190101A0ZZZZ00"


def test_an_unarchivable_page_waits_its_days_then_is_fetched_again(tmp_path):
    memory = UnarchivablePages.load(tmp_path, retry_days=7, now=NOW)
    assert memory.waiting(VIDEO, NOW) is None
    memory.remember(VIDEO, "no_body", NOW)
    memory.remember(DELETED, "gone", NOW)
    memory.remember("20251124A05QRS00", "download", NOW)  # a failed download is tried next run
    memory.save()
    assert json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8")) == {
        DELETED: {"reason": "gone", "found": "2026-11-29T12:00:00+00:00"},
        VIDEO: {"reason": "no_body", "found": "2026-11-29T12:00:00+00:00"}}
    later = UnarchivablePages.load(tmp_path, retry_days=7, now=NOW + dt.timedelta(days=6))
    assert later.waiting(VIDEO, NOW + dt.timedelta(days=6)) == "no_body"
    assert later.waiting(DELETED, NOW + dt.timedelta(days=6)) == "gone"
    assert later.waiting(VIDEO, NOW + dt.timedelta(days=7)) is None
    # once the wait is over the entries are dropped from the file at the next save
    expired = UnarchivablePages.load(tmp_path, retry_days=7, now=NOW + dt.timedelta(days=8))
    assert expired.found == {}
    expired.save()
    assert json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8")) == {}


def test_a_damaged_memory_is_read_as_empty_and_never_raises(tmp_path, caplog):
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")
    assert UnarchivablePages.load(tmp_path, retry_days=7, now=NOW).found == {}
    assert "cannot read" in caplog.text
    found = NOW.isoformat()
    hostile = {"../../etc/passwd": {"reason": "gone", "found": found},
               VIDEO: {"reason": "no_body", "found": "yesterday"},
               DELETED: {"reason": "bored", "found": found},
               "20251124A05QRS00": None,
               "20251125A06TUV00": {"reason": "gone", "found": "2026-11-29T10:00:00"}}  # no time zone
    (tmp_path / FILE_NAME).write_text(json.dumps(hostile), encoding="utf-8")
    assert UnarchivablePages.load(tmp_path, retry_days=7, now=NOW).found == {}
    (tmp_path / FILE_NAME).write_text("[1, 2]", encoding="utf-8")
    assert UnarchivablePages.load(tmp_path, retry_days=7, now=NOW).found == {}


def test_a_memory_that_cannot_be_written_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    memory = UnarchivablePages.load(blocker, retry_days=7, now=NOW)
    memory.remember(VIDEO, "no_body", NOW)
    memory.save()
    assert "cannot write" in caplog.text
