import os
import time

import pytest

from archiver.ids import ArticleRef
from archiver.stats import Outcome
from archiver.store import ArchiveStore, StoreError, TEMP_PREFIX

REF = ArticleRef("20250212A03JWP00")


def test_new_article_goes_to_the_format_path(tmp_path):
    store = ArchiveStore(tmp_path)
    assert store.write(REF, "doc\n") is Outcome.ARCHIVED
    path = tmp_path / "zh-CN" / "news" / "qq" / "20250212A03JWP00.zh-CN.md"
    assert path.read_text(encoding="utf-8") == "doc\n"
    assert REF in ArchiveStore(tmp_path)


def test_identical_render_leaves_the_file_untouched(tmp_path):
    store = ArchiveStore(tmp_path)
    store.write(REF, "doc\n")
    path = store.path_for(REF)
    os.utime(path, (1_000_000, 1_000_000))
    assert store.write(REF, "doc\n") is Outcome.UNCHANGED
    assert path.stat().st_mtime == 1_000_000
    assert store.write(REF, "doc 2\n") is Outcome.UPDATED
    assert path.read_text(encoding="utf-8") == "doc 2\n"


def test_a_file_under_the_short_id_is_the_same_article(tmp_path):
    folder = tmp_path / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    (folder / "20250212A03JWP.zh-CN.md").write_text("old\n", encoding="utf-8")
    store = ArchiveStore(tmp_path)
    assert REF in store
    assert store.write(REF, "new\n") is Outcome.UPDATED
    assert sorted(p.name for p in folder.iterdir()) == ["20250212A03JWP.zh-CN.md"]
    assert (folder / "20250212A03JWP.zh-CN.md").read_text(encoding="utf-8") == "new\n"


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = ArchiveStore(tmp_path)
    store.write(REF, "good\n")
    real_replace = os.replace

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StoreError, match="No space left"):
        store.write(REF, "half-written\n")
    monkeypatch.setattr(os, "replace", real_replace)
    assert store.path_for(REF).read_text(encoding="utf-8") == "good\n"
    assert [p.name for p in store.folder.iterdir()] == ["20250212A03JWP00.zh-CN.md"]


def test_stale_temporary_files_are_cleaned_and_never_named_md(tmp_path):
    folder = tmp_path / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    stale = folder / f"{TEMP_PREFIX}abc.partial"
    stale.write_text("half", encoding="utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    # another process's write under way
    fresh = folder / f"{TEMP_PREFIX}def.partial"
    fresh.write_text("pending", encoding="utf-8")
    assert not stale.name.endswith(".md")
    assert REF not in ArchiveStore(tmp_path)  # the first use removes what a killed write left
    assert not stale.exists()
    assert fresh.exists()


def test_each_write_is_synced_before_it_is_renamed_into_place(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda *args: events.append("rename") or real_replace(*args))
    store = ArchiveStore(tmp_path)
    store.write(REF, "one\n")
    store.write(ArticleRef("20250212A03JWQ00"), "two\n")
    assert events == ["fsync", "rename", "fsync", "rename"]
    assert store.find(REF).data == b"one\n"


def test_invalid_ids_never_become_paths(tmp_path):
    store = ArchiveStore(tmp_path)
    for bad in ("../../evil", "/etc/passwd", "20250212A03JWP00/../../x"):
        with pytest.raises(ValueError):
            store.path_for(ArticleRef(bad))
    assert not any(tmp_path.rglob("*.md"))


def test_read_only_archive_fails_clearly(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only folders; the full-disk case covers the error path")
    (tmp_path / "zh-CN").mkdir()
    os.chmod(tmp_path / "zh-CN", 0o500)
    with pytest.raises(StoreError, match="cannot write"):
        ArchiveStore(tmp_path).write(REF, "doc\n")


def test_a_full_id_file_wins_over_a_short_one_whatever_the_listing_order(tmp_path):
    folder = tmp_path / "zh-CN" / "news" / "qq"
    folder.mkdir(parents=True)
    (folder / "20250212A03JWP.zh-CN.md").write_text("short\n", encoding="utf-8")
    (folder / "20250212A03JWP00.zh-CN.md").write_text("full\n", encoding="utf-8")
    store = ArchiveStore(tmp_path)
    assert list(store.ids()) == [REF.article_id]
    assert store.find(REF).data == b"full\n"
    assert store.path_for(REF).name == "20250212A03JWP00.zh-CN.md"


def test_known_articles_are_asked_of_the_disk_not_held_in_memory(tmp_path):
    """A file another process writes during a run is known at once, and the store keeps no
    per-file state: its size does not grow with the archive."""
    store = ArchiveStore(tmp_path)
    assert REF not in store
    store.folder.mkdir(parents=True)
    (store.folder / "20250212A03JWP.zh-CN.md").write_text("old\n", encoding="utf-8")
    assert REF in store
    assert store.path_for(REF).name == "20250212A03JWP.zh-CN.md"
    for number in range(500):
        (store.folder / f"20250212A{number:05d}00.zh-CN.md").write_text("x\n", encoding="utf-8")
    assert ArticleRef("20250212A0004200") in store
    assert len(list(store.ids())) == 501
    # Nothing held per file.
    assert all(not value for value in vars(store).values() if isinstance(value, (set, list, dict)))


def test_renames_are_synced_once_per_batch(tmp_path, monkeypatch):
    import stat

    synced = []  # for each fsync: was it of a folder?
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)) or real_fsync(fd))
    store = ArchiveStore(tmp_path)
    store.write(REF, "one\n")
    store.write(ArticleRef("20250212A03JWQ00"), "two\n")
    assert synced == [False, False]
    store.sync()
    store.sync()  # nothing written since: nothing to sync
    assert synced == [False, False, True]
