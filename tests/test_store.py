import os
import time

import pytest

from archiver.ids import ArticleRef
from archiver.store import ArchiveStore, Outcome, StoreError, TEMP_PREFIX

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
    # a running crawl's group, waiting to be committed
    fresh = folder / f"{TEMP_PREFIX}def.partial"
    fresh.write_text("pending", encoding="utf-8")
    assert not stale.name.endswith(".md")
    assert REF not in ArchiveStore(tmp_path)  # the first use removes what a killed write left
    assert not stale.exists()
    assert fresh.exists()


def test_another_store_does_not_sweep_a_running_crawls_pending_group(tmp_path):
    crawl = ArchiveStore(tmp_path, group_files=2, group_seconds=3600)
    crawl.write(REF, "one\n")
    fetch = ArchiveStore(tmp_path)  # `archiver fetch` while the crawl runs
    other = ArticleRef("20250212A03JWQ00")
    fetch.write(other, "fetched\n")
    crawl.write(ArticleRef("20250212A03JWR00"), "two\n")  # the group is committed
    assert crawl.read(REF) == "one\n" and fetch.read(other) == "fetched\n"


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
    assert store.read(REF) == "full\n"
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
    # Nothing held per file: the only container is the group of writes not yet committed.
    assert all(not value for value in vars(store).values() if isinstance(value, (set, list, dict)))


def test_renames_are_synced_once_per_batch(tmp_path, monkeypatch):
    import archiver.store as store_module

    synced = []
    monkeypatch.setattr(store_module, "_fsync_dir", synced.append)
    store = ArchiveStore(tmp_path)
    store.write(REF, "one\n")
    store.write(ArticleRef("20250212A03JWQ00"), "two\n")
    assert synced == []
    store.sync()
    store.sync()  # nothing written since: nothing to sync
    assert synced == [store.folder]


def _ids(count: int) -> list[ArticleRef]:
    return [ArticleRef(f"20250212A{number:05d}00") for number in range(count)]


def _md_files(store: ArchiveStore) -> list[str]:
    return sorted(path.name for path in store.folder.iterdir() if path.name.endswith(".md"))


def _temporary_files(store: ArchiveStore) -> list[str]:
    return [path.name for path in store.folder.iterdir() if path.name.startswith(TEMP_PREFIX)]


def test_a_group_is_committed_whole_with_one_file_system_sync(tmp_path, monkeypatch):
    import archiver.store as store_module

    synced = []
    real_syncfs = store_module._syncfs
    if real_syncfs is None:
        pytest.skip("this C library has no syncfs(): each file is fsynced (the next test)")
    monkeypatch.setattr(store_module, "_syncfs", lambda fd: synced.append(fd) or real_syncfs(fd))
    store = ArchiveStore(tmp_path, group_files=3, group_seconds=3600)
    first, second, third, fourth = _ids(4)
    assert store.write(first, "one\n") is Outcome.ARCHIVED
    assert store.write(second, "two\n") is Outcome.ARCHIVED
    # written, not yet committed: the archive does not show them, their temporary files hold them
    assert _md_files(store) == [] and len(_temporary_files(store)) == 2
    assert first not in store
    store.write(third, "three\n")
    assert len(synced) == 1
    assert _md_files(store) == [f"{ref.article_id}.zh-CN.md" for ref in (first, second, third)]
    assert _temporary_files(store) == []
    assert store.read(second) == "two\n"
    store.write(fourth, "four\n")
    assert fourth not in store
    store.sync()  # the crawl's end commits the rest
    assert store.read(fourth) == "four\n" and len(synced) == 2


def test_a_group_is_committed_once_its_first_write_is_due(tmp_path, monkeypatch):
    import archiver.store as store_module

    now = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: now[0])
    store = ArchiveStore(tmp_path, group_files=64, group_seconds=2.0)
    first, second = _ids(2)
    store.write(first, "one\n")
    now[0] += 1.0
    store.commit_due()
    assert first not in store
    now[0] += 1.0
    store.commit_due()  # a stalled crawl's timer
    assert store.read(first) == "one\n"
    store.write(second, "two\n")
    now[0] += 2.5
    store.write(ArticleRef("20250212A9999900"), "three\n")  # the next write finds the group due
    assert store.read(second) == "two\n"


def test_an_update_waiting_in_a_group_leaves_the_old_file_until_committed_and_a_kill_loses_only_the_group(tmp_path):
    store = ArchiveStore(tmp_path, group_files=10, group_seconds=3600)
    store.write(REF, "good\n")
    store.sync()
    assert store.write(REF, "better\n") is Outcome.UPDATED
    assert store.read(REF) == "good\n"
    # killed before the commit: a later run's store sweeps the temporary file, the old file stays
    an_hour_ago = time.time() - 3600
    for name in _temporary_files(store):
        os.utime(store.folder / name, (an_hour_ago, an_hour_ago))
    again = ArchiveStore(tmp_path)
    assert again.read(REF) == "good\n"
    assert _temporary_files(again) == []


def test_without_syncfs_each_file_of_a_group_is_fsynced(tmp_path, monkeypatch):
    import archiver.store as store_module

    monkeypatch.setattr(store_module, "_syncfs", None)
    fsynced = []
    real_fsync = os.fsync
    monkeypatch.setattr(store_module.os, "fsync", lambda fd: fsynced.append(os.readlink(f"/proc/self/fd/{fd}"))
                        or real_fsync(fd))
    store = ArchiveStore(tmp_path, group_files=2, group_seconds=3600)
    store.write(_ids(2)[0], "one\n")
    store.write(_ids(2)[1], "two\n")
    assert len([name for name in fsynced if TEMP_PREFIX in name]) == 2
    assert len(_md_files(store)) == 2


def test_a_failed_sync_stores_none_of_the_group_and_says_which(tmp_path, monkeypatch):
    import archiver.store as store_module

    store = ArchiveStore(tmp_path, group_files=2, group_seconds=3600)
    first, second = _ids(2)
    store.write(first, "old\n")
    store.sync()

    def failing(paths):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store_module, "_sync_files", failing)
    store.write(first, "new\n")
    with pytest.raises(StoreError, match="cannot store 2 article") as failed:
        store.write(second, "two\n")
    assert [(entry.article_id, entry.outcome) for entry in failed.value.unstored] == [
        (first.article_id, Outcome.UPDATED), (second.article_id, Outcome.ARCHIVED)]
    assert store.read(first) == "old\n" and second not in store
    assert _temporary_files(store) == []


def test_a_failed_rename_stores_the_group_up_to_it(tmp_path, monkeypatch):
    store = ArchiveStore(tmp_path, group_files=3, group_seconds=3600)
    refs = _ids(3)
    real_replace = os.replace
    calls = []

    def second_fails(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", second_fails)
    store.write(refs[0], "one\n")
    store.write(refs[1], "two\n")
    with pytest.raises(StoreError, match="cannot store 2 article.*No space left") as failed:
        store.write(refs[2], "three\n")
    assert [entry.article_id for entry in failed.value.unstored] == [refs[1].article_id, refs[2].article_id]
    assert store.read(refs[0]) == "one\n"
    assert refs[1] not in store and refs[2] not in store
    assert _temporary_files(store) == []
