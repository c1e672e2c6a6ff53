"""The browser screen, driven by Textual's pilot over a real collection and SQLite store:
search, sort, preview, and the actions on the selection (persisted, undoable)."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.browse import Browser
from dlcards.app.collection import Collection
from dlcards.tui.screens.browser import BrowserScreen, ConfirmScreen, browser_app
from tui_collection import NOW, make_collection

SIZE = (80, 24)


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in its own event loop (no asyncio plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collection]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    root = make_collection(tmp_path / "col")
    with Collection.open(root) as c:
        yield c


def shown(screen: BrowserScreen) -> list[str]:
    return [str(k.value) for k in screen.table.rows]


def text_of(widget: Any) -> str:
    """What a Static shows, as plain text (rendered by rich at the screen's width)."""
    from rich.console import Console

    console = Console(width=78, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


@run_async
async def test_search_box_filters_and_reports_errors(col: Collection) -> None:
    app = browser_app(Browser(col))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, BrowserScreen)
        assert shown(screen) == ["grad1", "soft1/c1", "soft1/c2", "code1", "attn1"]
        assert text_of(screen.w_count).startswith("5 cards")
        await pilot.press("slash", *"kind:cloze", "enter")
        assert shown(screen) == ["soft1/c1", "soft1/c2"]
        assert screen.table.has_focus  # enter goes back to the table
        await pilot.press("slash", "ctrl+u", *"is:deu", "enter")
        assert "did you mean 'due'" in text_of(screen.w_count)
        assert shown(screen) == ["soft1/c1", "soft1/c2"]  # the last good results stay


@run_async
async def test_typing_searches_after_a_pause(col: Collection) -> None:
    app = browser_app(Browser(col))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("slash", *"week:2")
        await pilot.pause(0.4)
        assert shown(screen) == ["attn1"]
        assert "(B, T, T)" in text_of(screen.w_preview)


@run_async
async def test_preview_shows_the_rendered_card(col: Collection) -> None:
    app = browser_app(Browser(col), query="attn1 or week:2")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        lines = text_of(screen.w_preview)
        assert "QKᵀ" in lines and "(B, T, T)" in lines  # question and answer, rendered
        assert "1/√dₖ" in lines or "1/√(dₖ)" in lines, lines
        assert "\\frac" not in lines and "$" not in lines
        assert lines.startswith("DL › week 2 › attention")
        assert shown(screen) == ["attn1"]


@run_async
async def test_sorting_by_header_and_keys(col: Collection) -> None:
    b = Browser(col)
    b.set_flag(["attn1"], 1)
    b.set_flag(["grad1"], 4)
    app = browser_app(b)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.click("#results", offset=(77, 0))  # the ⚑ header
        assert screen.sort_column == "⚑"
        assert shown(screen)[:2] == ["attn1", "grad1"]
        await pilot.click("#results", offset=(77, 0))  # again: reversed
        assert screen.sort_reverse and shown(screen)[-2:] == ["grad1", "attn1"]
        await pilot.press("greater_than_sign")  # next column wraps round to the question
        assert screen.sort_column == "question"
        assert shown(screen)[0] == "soft1/c1"  # "Softmax..." before "What..."


@run_async
async def test_flag_suspend_bury_and_undo_persist(col: Collection) -> None:
    b = Browser(col)
    app = browser_app(b)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("3")  # flag the first card green
        assert col.store.flags(["grad1"])["grad1"].flag == 3
        await pilot.press("3")  # the same flag again takes it off
        assert col.store.flags(["grad1"]) == {}
        await pilot.press("down", "space", "space")  # mark soft1/c1 and soft1/c2
        assert screen.marked == {"soft1/c1", "soft1/c2"}
        await pilot.press("s")
        flags = col.store.flags()
        assert sorted(flags) == ["soft1/c1", "soft1/c2"] and all(
            f.suspended for f in flags.values()
        )
        assert not screen.marked
        await pilot.press("slash", *"is:suspended", "enter")
        assert shown(screen) == ["soft1/c1", "soft1/c2"]
        await pilot.press("u")
        assert col.store.flags() == {}
        await pilot.press("slash", "ctrl+u", "enter", "b")
        assert col.store.flags(["grad1"])["grad1"].buried_until is not None
        assert screen.changed


@run_async
async def test_forget_asks_first(col: Collection) -> None:
    from datetime import UTC, datetime, timedelta

    from dlcards.core.state import Rating

    svc = col.review()
    svc.session.current = "attn1"
    svc.apply(svc.session.answer(Rating.EASY, datetime(2026, 1, 1, tzinfo=UTC), 500))
    b = Browser(col, now=datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(0))
    app = browser_app(b, query="week:2")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("F")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert col.store.states(["attn1"])["attn1"].phase == "review"
        await pilot.press("F")
        await pilot.press("y")
        assert col.store.states(["attn1"]) == {}
        assert col.store.reviews(["attn1"])[-1].kind == "manual"
        await pilot.press("u")
        assert col.store.states(["attn1"])["attn1"].phase == "review"


@run_async
async def test_open_as_page_and_card_info(col: Collection) -> None:
    opened: list[Path] = []
    app = browser_app(Browser(col), open_page=lambda p: opened.append(p) or True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        assert len(opened) == 1 and opened[0].suffix == ".html"
        html = opened[0].read_text(encoding="utf-8")
        assert "<math" in html and "∇" not in html.split("<math", 1)[0][-50:]
        await pilot.press("i")
        from dlcards.tui.screens.card_info import CardInfoScreen

        assert isinstance(app.screen, CardInfoScreen)


@run_async
async def test_edit_reloads_the_card(col: Collection) -> None:
    ran: list[list[str]] = []

    def editor(argv: list[str]) -> None:
        ran.append(argv)
        path = Path(argv[-1])
        path.write_text(
            path.read_text(encoding="utf-8").replace("(B, T, T)", "(B, T, T) exactly"),
            encoding="utf-8",
        )

    app = browser_app(Browser(col), query="week:2", run_editor=editor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.pause()
        assert ran and ran[0][-2] == "+10"
        assert "(B, T, T) exactly" in text_of(app.screen.w_preview)


@run_async
async def test_escape_leaves_search_then_closes(col: Collection) -> None:
    app = browser_app(Browser(col))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("slash")
        assert screen.search_box.has_focus
        await pilot.press("escape")
        assert screen.table.has_focus
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 0 or app.return_code is None


@run_async
async def test_slash_from_review_and_back_updates_the_session(col: Collection) -> None:
    from dlcards.tui.app import build_review_app

    app = build_review_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review = app.screen
        first = review.card_id  # type: ignore[attr-defined]
        assert first == "grad1"
        await pilot.press("slash")
        assert isinstance(app.screen, BrowserScreen)
        assert app.screen.search_box.has_focus  # `/` means search
        await pilot.press("enter", "s")  # to the results; suspend grad1, the card on review
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is review
        assert app.ctx.session.flags["grad1"].suspended  # the session re-read the store
        assert review.card_id != "grad1"  # type: ignore[attr-defined]


@run_async
async def test_o_in_review_opens_the_page_once_the_answer_is_shown(col: Collection) -> None:
    from dlcards.tui.app import build_review_app

    opened: list[Path] = []
    app = build_review_app(col, light=False)
    app.open_page = lambda p: opened.append(p) or True  # type: ignore[attr-defined]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        assert opened == []  # the page shows the answer: not before it is shown
        await pilot.press("space", "o")
        assert len(opened) == 1
        assert "<math" in opened[0].read_text(encoding="utf-8")
