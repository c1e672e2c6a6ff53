"""Anki v3 limit semantics (issue 14): the review limit also caps new cards; study more
lifts the cap; a browser reset (a `manual` log entry) is no answer for today's counts."""

from __future__ import annotations

from datetime import timedelta

from dlcards.core.state import CardState, Rating, ReviewEntry
from test_session import NOW, card, drain, make, review_state


def _due(n: int) -> tuple[list, dict]:  # type: ignore[type-arg]
    cards = [card(f"r{i:02d}", index=i) for i in range(n)]
    states = {c.id: review_state(c.id, NOW - timedelta(hours=1)) for c in cards}
    return cards, states


def test_the_review_limit_also_caps_new_cards() -> None:
    """The issue's case: 70 due, a review limit of 40, 10 new a day: no new card today."""
    due, states = _due(70)
    new = [card(f"n{i}", week=2, index=i) for i in range(10)]
    s = make(due + new, states, new_per_day=10, reviews_per_day=40)
    assert s.counts(NOW).review == 40 and s.counts(NOW).new == 0
    shown = drain(s, NOW, limit=200)
    assert len(shown) == 40 and not any(c.startswith("n") for c in shown)


def test_new_cards_fill_what_the_reviews_leave() -> None:
    due, states = _due(35)
    new = [card(f"n{i}", week=2, index=i) for i in range(10)]
    s = make(due + new, states, new_per_day=10, reviews_per_day=40)
    assert s.counts(NOW).new == 5  # 40 - 35 reviews waiting
    shown = drain(s, NOW, rating=Rating.EASY, limit=200)
    assert sum(c.startswith("n") for c in shown) == 5
    assert sum(c.startswith("r") for c in shown) == 35


def test_with_few_reviews_the_new_limit_holds() -> None:
    due, states = _due(3)
    new = [card(f"n{i}", week=2, index=i) for i in range(30)]
    s = make(due + new, states, new_per_day=10, reviews_per_day=40)
    assert s.counts(NOW).new == 10


def test_study_more_lifts_the_cap() -> None:
    due, states = _due(40)
    new = [card(f"n{i}", week=2, index=i) for i in range(10)]
    s = make(due + new, states, new_per_day=10, reviews_per_day=40)
    assert s.counts(NOW).new == 0
    s.study_more()
    assert s.counts(NOW).new == 10 and s.counts(NOW).review == 40


def test_a_manual_reset_is_not_an_answer_of_today() -> None:
    due, states = _due(2)
    before = states["r00"]
    reset = ReviewEntry(
        "r00", NOW - timedelta(minutes=5), Rating.AGAIN, 0, before, CardState("r00"), kind="manual"
    )
    s = make(due, {"r01": states["r01"]}, log=[reset], reviews_per_day=2)
    assert not s.reviews_done and s.counts(NOW).review == 1 and s.counts(NOW).new == 1
