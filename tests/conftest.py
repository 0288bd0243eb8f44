"""Shared test fixtures: the ../shared folder beside the repo, and a diff that says what broke."""

from __future__ import annotations

import atexit
import difflib
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import configuration, settings

# Tests write only into temporary folders: hypothesis keeps nothing in the checkout, and its
# folder goes when the test process ends.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="qq-archiver-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
configuration.set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("archiver", database=None)
settings.load_profile("archiver")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "format" / "FORMAT.md").is_file():
        pytest.skip(f"../shared is absent ({SHARED}): the real qq pages and the format example live there")
    return SHARED


def assert_same_text(expected: str, actual: str, what: str = "document") -> None:
    """Equal, or fail with a unified diff of the two."""
    if expected != actual:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            "expected", "actual"))
        pytest.fail(f"{what} differs:\n{diff[:6000]}")
