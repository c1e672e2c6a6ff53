"""The home screen and custom study, driven by Textual's pilot over a real collection and
SQLite store: counts per week and topic, studying a blocked week now (prerequisites
overridden, and said), coming back home, and each custom study option."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlcards.app import custom_study as cs
from dlcards.app.browse import Browser
from dlcards.app.collection import Collection
from dlcards.core.state import Rating
from dlcards.tui.screens.custom_study import CustomStudyScreen
from dlcards.tui.screens.home import HomeScreen, build_home_app, query_of
from dlcards.tui.screens.review import ReviewScreen
from tui_collection import NOW, make_collection

SIZE = (80, 24)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
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


def answer(col: Collection, card_id: str, rating: Rating, when: datetime) -> None:
    svc = col.review()
    svc.session.current = card_id
    svc.apply(svc.session.answer(rating, when, 1000))


def labels(screen: HomeScreen) -> list[str]:
    out = []

    def walk(node: Any) -> None:
        out.append(str(node.label).rstrip())
        for child in node.children:
            walk(child)

    walk(screen.w_tree.root)
    return out


# -- the overview (app layer) ---------------------------------------------------------------
def test_overview_counts_per_week_and_topic(col: Collection) -> None:
    answer(col, "grad1", Rating.AGAIN, T0 - timedelta(minutes=30))  # learning, due now
    answer(col, "code1", Rating.EASY, T0 - timedelta(days=5))  # review, due later
    b = Browser(col)
    b.set_suspended(["soft1/c2"], True)
    data = cs.overview(b)
    assert (data.counts.new, data.counts.learning, data.counts.due) == (2, 1, 0)
    week1, week2 = data.weeks
    assert (week1.week, week1.cards, week1.counts.new) == (1, 4, 1)
    assert [t.topic for t in week1.topics] == ["basics"]
    assert (week2.week, week2.counts.new) == (2, 1)
    assert data.streak == 1 and data.studied_today == 1  # grad1 was answered today
    assert data.tags == []  # the only tags are week and topic tags
    assert (data.new_per_day, data.reviews_per_day) == (20, 200)


def test_streak_counts_days_in_a_row() -> None:
    today = date(2026, 1, 5)
    days = [today - timedelta(days=n) for n in (1, 2, 3, 5)]
    assert cs.streak(days, today) == 3  # yesterday and the two days before
    assert cs.streak([*days, today], today) == 4
    assert cs.streak([today - timedelta(days=2)], today) == 0


def test_study_now_overrides_requires_and_says_so(col: Collection) -> None:
    b = Browser(col)
    # on a fresh collection, week 2 waits for `basics`: today's usual session shows none of it
    assert col.review().session.waiting_for() == ["basics"]
    plan = cs.study_now(b, "week:2", "week 2")
    assert plan.skips == ("basics",)
    assert plan.says() == "week 2: 1 new, 0 learning, 0 due. Skips the prerequisite basics"
    service = cs.start(col, plan)
    assert service.session.next_card(T0) == "attn1"


def test_review_ahead_forgotten_and_preview(col: Collection) -> None:
    answer(col, "attn1", Rating.EASY, T0 - timedelta(days=1))  # review, due in a few days
    answer(col, "grad1", Rating.AGAIN, T0 - timedelta(hours=1))
    b = Browser(col)
    assert col.review().session.next_card(T0) != "attn1"  # not due today
    ahead = cs.review_ahead(b, 30)
    assert ahead.counts.due == 1
    assert cs.start(col, ahead).session.next_card(T0) == "attn1"
    assert cs.review_ahead(b, 1).counts.due == 0
    forgotten = cs.forgotten_today(b)
    assert forgotten.ids == {"grad1"}
    preview = cs.preview_new(b, "week:1", "week 1")
    assert preview.preview and preview.counts.new == 3
    service = cs.start(col, preview)
    cid = service.session.next_card(T0)
    assert cid in preview.ids
    service.apply(service.session.answer(Rating.GOOD, T0, 100))
    assert col.store.states([cid]) == {}  # nothing written in preview


def test_raise_limits(col: Collection) -> None:
    b = Browser(col)
    plan = cs.raise_limits(b, 10, 5)
    assert plan.limits.new == 30 and plan.limits.review == 205
    assert plan.query == ""


def test_queries_of_tree_nodes() -> None:
    assert query_of(("week", 7, "week 7")) == "week:7"
    assert query_of(("topic", (2, "attention"), "")) == 'week:2 topic:"attention"'
    assert query_of(("tag", "a b", "")) == 'tag:"a b"'
    assert query_of(("flag", 3, "")) == "flag:3"
    assert query_of(("all", None, "")) == ""


# -- the screens ----------------------------------------------------------------------------
@run_async
async def test_home_shows_the_tree_with_counts(col: Collection) -> None:
    Browser(col).set_flag(["attn1"], 4)
    app = build_home_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        rows = labels(screen)
        assert rows[0].startswith("All cards") and rows[0].split()[-3:] == ["5", "0", "0"]
        assert rows[1].startswith("Week 1") and rows[1].split()[-3:] == ["4", "0", "0"]
        assert any(r.startswith("Week 2") and r.split()[-3:] == ["1", "0", "0"] for r in rows)
        assert any("blue" in r for r in rows)  # the flags branch
        # every label fits the 80-column screen
        assert max(len(r) for r in rows) <= 72


@run_async
async def test_study_a_blocked_week_then_back_home(col: Collection) -> None:
    app = build_home_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        home = app.screen
        await pilot.press("down", "down", "enter")  # Week 2: blocked by `requires` today
        await pilot.pause()
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.card_id == "attn1"
        assert any("Skips the prerequisite basics" in n.message for n in app._notifications)
        await pilot.press("space", "3")
        await pilot.pause()
        assert col.store.states(["attn1"])["attn1"].phase == "learning"  # saved
        await pilot.press("q")  # the done screen, or the session: back home, not out
        await pilot.pause()
        assert app.screen is home and app.is_running
        rows = labels(home)  # the counts were read again
        assert rows[0].split()[-3:] == ["4", "1", "0"]
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


@run_async
async def test_custom_study_screen_starts_a_plan(col: Collection) -> None:
    answer(col, "attn1", Rating.EASY, T0 - timedelta(days=1))
    app = build_home_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CustomStudyScreen)
        assert [p.label for p in screen.plans][:3] == [
            "today +0 new, +0 reviews",
            "review ahead 1 day",
            "forgotten today",
        ]
        await pilot.press("2")  # review ahead 1 day: nothing there
        assert app.screen is screen
        await pilot.click("#custom-n")
        await pilot.press(*"30")
        assert screen.plans[1].label == "review ahead 30 days"
        assert screen.plans[1].counts.due == 1
        await pilot.press("enter", "2")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app.screen.card_id == "attn1"


@run_async
async def test_slash_opens_the_browser_from_home(col: Collection) -> None:
    from dlcards.tui.screens.browser import BrowserScreen

    app = build_home_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press(*"week:1", "enter", "1", "q")  # flag red; home shows the flag
        await pilot.pause()
        assert any("red" in r for r in labels(app.screen))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filters", "says", "hint"),
    [
        ({"topic": "atention"}, "no topic 'atention'; did you mean 'attention'?", "topics: "),
        ({"week": 99}, "no week 99", "weeks: 1–2"),
        ({"deck": "Foo"}, "no deck 'Foo'", "decks: DL"),
        ({"tag": "basic"}, "no tag 'basic'; did you mean 'basics'?", "tags: "),
        ({"week": 2, "topic": "basics"}, "no cards match week 2, topic basics", "not together"),
    ],
)
def test_review_filters_that_match_nothing_say_why(
    col: Collection, filters: dict[str, Any], says: str, hint: str
) -> None:
    from dlcards.core.errors import UsageError
    from dlcards.review.session import Filters

    with pytest.raises(UsageError) as err:
        col.check_filters(Filters(**filters))
    assert says in err.value.message and hint in (err.value.hint or "")
    col.check_filters(Filters(deck="DL"))  # --deck filters decks: an existing deck is fine


def test_bare_dlcards_needs_a_terminal(col: Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    from dlcards.cli.main import main

    monkeypatch.chdir(col.root)
    assert main([]) == 2  # the home screen, refused politely when piped


@run_async
async def test_ctrl_c_quits_even_from_a_session(col: Collection) -> None:
    app = build_home_app(col, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # all cards: today's usual review
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert not app.is_running
