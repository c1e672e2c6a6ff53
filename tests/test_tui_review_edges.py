"""The review screen's rough edges (issue 14, item 4): a long answer is scrolled into view on
reveal, j/k/PgUp/PgDn scroll, toasts never cover the grade bar, and `r` never shows a
snippet's output with the answer hidden."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.collection import Collection
from dlcards.review.session import Filters
from dlcards.tui.app import build_review_app
from tui_collection import NOW, make_collection

SIZE = (80, 24)
LONG = (
    "---\ndeck: DL\nweek: 0\ntopic: long\n---\n\n"
    "Q: Which tuple does the LoRA card print? <!-- id: long1 -->\n"
    + "\n\n".join(f"Line {i} of a long question." for i in range(30))
    + "\nA: (True, 384)\n"
)


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collection]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    root = make_collection(tmp_path / "col")
    (root / "decks" / "week-00.md").write_text(LONG, encoding="utf-8")
    with Collection.open(root) as c:
        yield c


def visible(widget: Any, scroll: Any) -> bool:
    """The widget's top line is inside the scroll view's window."""
    top = widget.region.y
    return scroll.region.y <= top < scroll.region.y + scroll.region.height


@run_async
async def test_reveal_brings_a_long_answer_into_view_and_keys_scroll(col: Collection) -> None:
    app = build_review_app(col, Filters(topic="long"), light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr: Any = app.screen
        assert scr.card_id == "long1"
        await pilot.press("space")
        await pilot.pause()
        await pilot.pause()
        assert scr.w_scroll.scroll_y > 0 and visible(scr.w_answer, scr.w_scroll)
        await pilot.press("pageup", "pageup", "pageup")
        await pilot.pause()
        assert scr.w_scroll.scroll_y == 0 and not visible(scr.w_answer, scr.w_scroll)
        await pilot.press("j", "j")
        await pilot.pause()
        assert scr.w_scroll.scroll_y == 4
        await pilot.press("k")
        await pilot.pause()
        assert scr.w_scroll.scroll_y == 2


@run_async
async def test_toasts_sit_above_the_grade_bar(col: Collection) -> None:
    app = build_review_app(col, light=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        scr: Any = app.screen
        await pilot.press("space", "f", "1")  # "Flagged red." toast
        for _ in range(20):
            await pilot.pause(0.05)
        from textual.widgets._toast import Toast, ToastRack

        rack = scr.get_child_by_type(ToastRack)
        toasts = [w for w in rack.walk_children() if isinstance(w, Toast)]
        assert toasts and toasts[0].region.height > 0
        toast, grades = toasts[0].region, scr.w_grades.region
        assert toast.y + toast.height <= grades.y  # above the grade bar, never over it


@run_async
async def test_r_on_the_question_side_shows_the_answer_with_the_output(
    col: Collection,
) -> None:
    app = build_review_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr: Any = app.screen
        for _ in range(6):  # to code1
            if scr.card_id == "code1":
                break
            await pilot.press("space", "4")
            await pilot.pause()
        assert scr.card_id == "code1" and not scr.revealed
        assert "r shows the answer and runs the snippet" in str(scr.w_checks.content)
        await pilot.press("r")
        await pilot.pause()
        assert scr.revealed or scr.run_output is None  # never output with the answer hidden
        if scr.run_output is not None:
            assert scr.w_answer.display


def test_the_context_line_keeps_the_nearest_heading() -> None:
    from dlcards.core.parse import parse_text
    from dlcards.tui.screens.review import fitted_context

    text = (
        "---\ndeck: Deep Learning\nweek: 1\ntopic: derivatives\n---\n\n# Derivatives\n\n"
        "## Derivatives of sums and products\n\nQ: What is (f+g)'? <!-- id: sum1 -->\nA: f'+g'\n"
    )
    card = parse_text(text, "decks/week-01.md").notes[0].cards()[0]
    full = "Deep Learning › week 1 › derivatives › Derivatives › Derivatives of sums and products"
    assert fitted_context(card, 200) == full
    assert fitted_context(card, 60) == "Derivatives of sums and products · week 1 › derivatives"
    assert fitted_context(card, 40) == "Derivatives of sums and products"
    assert fitted_context(card, 20) == "Derivatives of sums…"
