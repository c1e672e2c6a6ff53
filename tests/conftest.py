"""Test isolation: every test gets its own DLCARDS_HOME and never sees the developer's setup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# copies of the format reference examples and the review log (from the workplace folder
# beside the repository): tests read only this repository
EXAMPLES = FIXTURES / "examples"
REVIEW_LOG = FIXTURES / "reviews" / "review_logs_josh_2024.csv"


@pytest.fixture(autouse=True)
def _isolated_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("dlcards-home")
    monkeypatch.setenv("DLCARDS_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("DLCARDS_") and name != "DLCARDS_HOME":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    return home


@pytest.fixture
def dlcards_home(_isolated_state: Path) -> Path:
    return _isolated_state


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """An empty collection folder (decks/ present)."""
    (tmp_path / "decks").mkdir()
    return tmp_path
