"""The memory of pages that had no body text (STATE_DIR/no-body.json)."""

from __future__ import annotations

import datetime as dt
import json

from archiver.bodiless import FILE_NAME, BodilessPages

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
VIDEO = "20251123A04NOP00"


def test_an_empty_page_waits_its_days_then_is_fetched_again(tmp_path):
    memory = BodilessPages.load(tmp_path, retry_days=7, now=NOW)
    assert not memory.waiting(VIDEO, NOW)
    memory.remember(VIDEO, NOW)
    memory.save()
    assert json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8")) == {VIDEO: "2026-11-29T12:00:00+00:00"}
    later = BodilessPages.load(tmp_path, retry_days=7, now=NOW + dt.timedelta(days=6))
    assert later.waiting(VIDEO, NOW + dt.timedelta(days=6))
    assert not later.waiting(VIDEO, NOW + dt.timedelta(days=7))
    # once the wait is over the entry is dropped from the file at the next save
    expired = BodilessPages.load(tmp_path, retry_days=7, now=NOW + dt.timedelta(days=8))
    assert expired.found == {}
    expired.save()
    assert json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8")) == {}


def test_a_damaged_memory_is_read_as_empty_and_never_raises(tmp_path, caplog):
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")
    assert BodilessPages.load(tmp_path, retry_days=7, now=NOW).found == {}
    assert "cannot read" in caplog.text
    hostile = {"../../etc/passwd": NOW.isoformat(), VIDEO: "yesterday", "20251124A05QRS00": None,
               "20251125A06TUV00": "2026-11-29T10:00:00"}  # no time zone: not ours
    (tmp_path / FILE_NAME).write_text(json.dumps(hostile), encoding="utf-8")
    assert BodilessPages.load(tmp_path, retry_days=7, now=NOW).found == {}


def test_a_memory_that_cannot_be_written_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    memory = BodilessPages.load(blocker, retry_days=7, now=NOW)
    memory.remember(VIDEO, NOW)
    memory.save()
    assert "cannot write" in caplog.text
