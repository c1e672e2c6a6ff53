"""The review screen never drops an answer (issue 17): a failed save keeps the card on screen
with the error and a retry; undo that cannot be true says so; a second window says it is
read-only. Textual pilot, real store."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.collection import Collection
from dlcards.core.state import Rating
from dlcards.store import Store
from dlcards.tui.app import ReviewApp, build_review_app
from dlcards.tui.screens.review import ReviewScreen
from tui_collection import NOW, make_collection

SIZE = (80, 24)


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in its own event loop (no asyncio plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    return make_collection(tmp_path / "col")


@pytest.fixture
def collection(col: Path) -> Iterator[Collection]:
    with Collection.open(col) as c:
        yield c


def screen(app: ReviewApp) -> ReviewScreen:
    assert isinstance(app.screen, ReviewScreen), app.screen
    return app.screen


def messages(app: ReviewApp) -> list[str]:
    return [n.message for n in app._notifications]


@run_async
async def test_an_answer_that_cannot_be_saved_stays_on_screen_until_retried(
    collection: Collection,
) -> None:
    store = collection.store
    app = build_review_app(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = screen(app)
        first = scr.card_id
        assert first is not None
        store.conn.execute("PRAGMA query_only = ON")  # the database refuses every write
        await pilot.press("space", "3")
        await pilot.pause()
        assert scr.card_id == first and scr.revealed  # not advanced
        assert app.ctx.session.stats.answered == 0
        assert app.ctx.pending is not None and app.ctx.pending.card_id == first
        assert any("NOT saved" in m and "retry" in m for m in messages(app)), messages(app)
        assert store.reviews() == []
        store.conn.execute("PRAGMA query_only = OFF")  # the cause is gone: answer again
        await pilot.press("3")
        await pilot.pause()
        assert app.ctx.pending is None
        assert [e.card_id for e in store.reviews()] == [first]
        assert scr.card_id != first and app.ctx.session.stats.answered == 1


@run_async
async def test_undo_that_would_not_be_true_is_refused_on_screen(
    collection: Collection,
) -> None:
    store = collection.store
    app = build_review_app(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = screen(app).card_id
        assert first is not None
        await pilot.press("space", "3")
        await pilot.pause()
        mine = store.reviews([first])[-1]
        other = Store.open(collection.store_file())  # another window answers it later
        other.record_review(
            collection.scheduler.review(mine.after, Rating.EASY, mine.time + timedelta(hours=2))
        )
        other.close()
        rows = store.reviews_with_ids()
        await pilot.press("u")
        await pilot.pause()
        assert any(m.startswith("Cannot undo") for m in messages(app)), messages(app)
        assert not any(m.startswith("Undid") for m in messages(app))
        assert store.reviews_with_ids() == rows


@run_async
async def test_a_second_window_says_it_is_read_only(col: Path) -> None:
    with Collection.open(col) as one, Collection.open(col) as two:
        one.review()  # the first window holds the lease
        app = build_review_app(two)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert any("Read-only" in m and "dlcards review" in m for m in messages(app))
            await pilot.press("space", "3")
            await pilot.pause()
            assert app.ctx.pending is not None  # not saved, not dropped
            assert one.store.reviews() == []
