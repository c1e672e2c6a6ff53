"""The stats and card info screens: Textual pilot tests and SVG snapshots (80x24, fixed now)."""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.collection import Collection
from dlcards.app.settings import scheduler_config
from dlcards.core.state import CardState, Rating
from dlcards.insights.stats import utc
from dlcards.review.scheduling import Scheduler
from dlcards.store import Store
from dlcards.system.config import Settings

NOW = utc(2026, 3, 20, 12)
G, A, H, E = Rating.GOOD, Rating.AGAIN, Rating.HARD, Rating.EASY

SOFTMAX = """---
week: 2
topic: softmax
---
# Softmax

Q: What does softmax output? <!-- id: sm-out -->
A: A probability distribution over the classes.

Q: Why subtract the max logit? <!-- id: sm-max -->
A: For numerical stability; the result is unchanged.

C: Softmax is invariant to {{c1::adding a constant}} to every logit. <!-- id: sm-inv -->

Q: What is the softmax of $[0, 0]$? <!-- id: sm-zero -->
A: $[0.5, 0.5]$
"""
GRADIENTS = """---
week: 1
topic: gradients
---
Q: What does the gradient point to? <!-- id: gr-dir -->
A: The direction of steepest ascent.

Q: What is the derivative of $x^2$? <!-- id: gr-sq -->
A: $2x$

Q: What is a partial derivative? <!-- id: gr-part -->
A: The derivative with respect to one variable, the others held fixed.
"""


def run_async(fn):  # type: ignore[no-untyped-def]
    """Run an async test body in its own event loop (no asyncio plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        asyncio.run(fn(*args, **kwargs))

    return wrapper


# card -> (first day before NOW, ratings); each next review when the card is due
PLAN: dict[str, tuple[int, list[Rating]]] = {
    "gr-dir": (30, [G, G, G, G, G]),
    "gr-sq": (30, [G, G, E, G]),
    "gr-part": (29, [G, G, A, G, A, G, A, G, A]),
    "sm-out": (16, [G, G, G, H]),
    "sm-max": (15, [G, A, G, G, A, G]),
    "sm-inv/c1": (12, [G, G, G]),
}


def build_collection(root: Path, now: datetime = NOW) -> Path:
    """A small collection with a deterministic review history ending before `now`."""
    from dlcards.store import card_infos
    from dlcards.system.decks import read_decks

    (root / "decks").mkdir(exist_ok=True)
    (root / "decks" / "softmax.md").write_text(SOFTMAX, encoding="utf-8")
    (root / "decks" / "gradients.md").write_text(GRADIENTS, encoding="utf-8")
    scheduler = Scheduler(scheduler_config(Settings()))
    with Store.open() as store:
        store.sync_cards(card_infos(read_decks(root).notes), now - timedelta(days=40))
        for card_id, (days, ratings) in PLAN.items():
            state = CardState(card_id)
            t = now - timedelta(days=days, hours=3)
            for i, rating in enumerate(ratings):
                if t >= now:
                    break
                entry = scheduler.review(state, rating, t, 6000 + 1000 * (i % 5))
                store.record_review(entry)
                state = entry.after
                t = max(t + timedelta(minutes=10), state.due or t)
    return root


def stats_app(root: Path) -> Any:
    """The app `dlcards stats` runs over the collection at `root`."""
    from dlcards.tui.stats_app import build_stats_app

    with Collection.open(root) as col:
        return build_stats_app(col)


@pytest.fixture
def stats_root(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", NOW.isoformat())
    return build_collection(collection)


@run_async
async def test_stats_screen_tabs_and_close(stats_root: Path) -> None:
    from textual.widgets import TabbedContent
    from textual_plotext import PlotextPlot

    app = stats_app(stats_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "overview"
        for key, name in (
            ("2", "forecast"),
            ("3", "calendar"),
            ("4", "memory"),
            ("5", "topics"),
            ("6", "weeks"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == name
        plots = list(app.screen.query(PlotextPlot))
        assert len(plots) == 5
        report = app.report
        assert report.counts.cards == 7
        with Store.open() as store:
            logged = len(store.reviews())
        assert sum(d.reviews for d in report.heatmap.days) == logged > 20
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_stats_snapshot_overview(stats_root: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(stats_app(stats_root), terminal_size=(80, 24))


def test_stats_snapshot_forecast(stats_root: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def no_animation(pilot) -> None:  # type: ignore[no-untyped-def]
        pilot.app.animation_level = "none"  # the tab underline would otherwise slide

    assert snap_compare(
        stats_app(stats_root), terminal_size=(80, 24), press=["2"], run_before=no_animation
    )


def test_card_info_snapshot(stats_root: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    from dlcards.tui.stats_app import CardInfoApp

    with Collection.open(stats_root, lint=False) as col:
        info = col.card_info("gr-part", NOW)
    assert info.reviews == len(info.history) >= 5
    assert snap_compare(CardInfoApp(info), terminal_size=(80, 24))


@run_async
async def test_review_app_opens_stats_and_card_info(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract with the review app: `S` pushes StatsScreen, `i` CardInfoScreen(card_id)."""
    from dlcards.core.state import parse_utc
    from dlcards.tui.app import build_review_app
    from dlcards.tui.screens.card_info import CardInfoScreen
    from dlcards.tui.screens.stats import StatsScreen
    from tui_collection import NOW as REVIEW_NOW
    from tui_collection import make_collection

    root = make_collection(collection)
    now = parse_utc(REVIEW_NOW)
    with Collection.open(root, now_fn=lambda: now) as col:
        app = build_review_app(col)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            review_screen = app.screen
            await pilot.press("S")
            await pilot.pause()
            assert isinstance(app.screen, StatsScreen)
            assert app.screen.report.counts.cards == 5 and app.screen.report.now == now
            await pilot.press("q")
            await pilot.pause()
            assert app.screen is review_screen
            await pilot.press("i")
            await pilot.pause()
            assert isinstance(app.screen, CardInfoScreen)
            assert app.screen.info.card_id == review_screen.card_id and app.screen.info.reviews == 0
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is review_screen
