import os

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
    assert not stale.name.endswith(".md")
    assert len(ArchiveStore(tmp_path)) == 0  # listing the folder removes what a killed write left
    assert not stale.exists()


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
    assert len(store) == 1
    assert store.read(REF) == "full\n"
    assert store.path_for(REF).name == "20250212A03JWP00.zh-CN.md"
