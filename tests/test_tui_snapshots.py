"""SVG snapshots of the review app's main screens at 80x24 (pytest-textual-snapshot).

Regenerate after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/ before committing them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.collection import Collection
from dlcards.app.review import Limits
from dlcards.tui.app import ReviewApp, build_review_app
from tui_collection import NOW, make_collection

pytest.importorskip("pytest_textual_snapshot")

SIZE = (80, 24)


@pytest.fixture
def app_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    monkeypatch.delenv("COLORFGBG", raising=False)
    col = make_collection(tmp_path / "col")
    opened: list[Collection] = []

    def make(**kw: Any) -> ReviewApp:
        collection = Collection.open(col)
        opened.append(collection)
        return build_review_app(collection, **kw)

    yield make
    for c in opened:
        c.close()


def test_question(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(app_factory(light=False), terminal_size=SIZE)


def test_answer_with_intervals(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(app_factory(light=False), press=["space"], terminal_size=SIZE)


def test_answer_light_theme(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(app_factory(light=True), press=["space"], terminal_size=SIZE)


def test_cloze_front(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(app_factory(light=False), press=["space", "4"], terminal_size=SIZE)


def test_code_card_revealed(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(
        app_factory(light=False), press=["space", "4", "space", "4", "space"], terminal_size=SIZE
    )


def test_help(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(app_factory(light=False), press=["question_mark"], terminal_size=SIZE)


def test_nothing_due(snap_compare: Any, app_factory: Any) -> None:
    assert snap_compare(app_factory(light=False, limits=Limits(new=0)), terminal_size=SIZE)
