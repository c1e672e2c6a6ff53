"""SVG snapshots at 80x24, light and dark, of the screens of issue 14: the browser (with
flags in Anki's colours), the home screen and custom study (pytest-textual-snapshot).

Regenerate after an intended change with
`pytest tests/test_tui_browse_snapshots.py --snapshot-update` and look at the SVGs in
tests/__snapshots__/ before committing them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.browse import Browser
from dlcards.app.collection import Collection
from dlcards.tui.screens.browser import browser_app
from dlcards.tui.screens.home import build_home_app
from tui_collection import NOW, make_collection

pytest.importorskip("pytest_textual_snapshot")

SIZE = (80, 24)


@pytest.fixture
def col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collection]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    monkeypatch.delenv("COLORFGBG", raising=False)
    root = make_collection(tmp_path / "col")
    with Collection.open(root) as c:
        yield c


def flagged(col: Collection) -> Browser:
    b = Browser(col)
    for n, cid in enumerate(["grad1", "soft1/c1", "soft1/c2", "code1", "attn1"], start=1):
        b.set_flag([cid], n + 2 if n > 2 else n)  # red, orange, pink, turquoise, purple
    b.set_suspended(["code1"], True)
    return b


@pytest.mark.parametrize("light", [False, True], ids=["dark", "light"])
def test_browser(snap_compare: Any, col: Collection, light: bool) -> None:
    assert snap_compare(browser_app(flagged(col), light=light), terminal_size=SIZE)


@pytest.mark.parametrize("light", [False, True], ids=["dark", "light"])
def test_browser_search(snap_compare: Any, col: Collection, light: bool) -> None:
    app = browser_app(flagged(col), light=light)
    assert snap_compare(app, press=["slash", *"kind:cloze", "enter", "down"], terminal_size=SIZE)


@pytest.mark.parametrize("light", [False, True], ids=["dark", "light"])
def test_home(snap_compare: Any, col: Collection, light: bool) -> None:
    Browser(col).set_flag(["attn1"], 6)
    app = build_home_app(col, light=light)
    assert snap_compare(app, press=["down", "space"], terminal_size=SIZE)


@pytest.mark.parametrize("light", [False, True], ids=["dark", "light"])
def test_custom_study(snap_compare: Any, col: Collection, light: bool) -> None:
    app = build_home_app(col, light=light)
    assert snap_compare(app, press=["down", "down", "c"], terminal_size=SIZE)
