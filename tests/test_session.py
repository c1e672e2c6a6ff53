"""The review session (pure): queue order, limits, requires, siblings, leeches, undo, day rollover.

Fixed UTC times, the real FSRS scheduler without fuzz, no store (effects are inspected)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dlcards.app.settings import scheduler_config
from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry
from dlcards.review.scheduling import Scheduler
from dlcards.review.session import (
    Filters,
    Policy,
    RecordReview,
    Session,
    SessionCard,
    SetBuried,
    SetLeech,
    SetSuspended,
    UndoReview,
    apply_effects,
)
from dlcards.system.config import Settings

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # study day 2026-01-05 (day starts 04:00 UTC)
SETTINGS = Settings(timezone="UTC", fuzz=False)


def sched() -> Scheduler:
    return Scheduler(scheduler_config(SETTINGS))


def card(
    cid: str,
    week: int | None = 1,
    topic: str | None = "t",
    *,
    note: str | None = None,
    requires: tuple[str, ...] = (),
    index: int = 0,
    path: str = "decks/a.md",
    ordinal: int = 1,
    tags: tuple[str, ...] = (),
    deck: str = "DL",
) -> SessionCard:
    return SessionCard(
        id=cid,
        note_id=note or cid,
        order=(week or 10**6, 0, path, index, ordinal),
        topic=topic,
        requires=requires,
        week=week,
        deck=deck,
        tags=tags,
        path=path,
    )


def review_state(cid: str, due: datetime, lapses: int = 0) -> CardState:
    return CardState(
        cid,
        phase="review",
        stability=10.0,
        difficulty=5.0,
        due=due,
        last_review=due - timedelta(days=10),
        reps=5,
        lapses=lapses,
        interval_days=10,
    )


def make(
    cards: list[SessionCard],
    states: dict[str, CardState] | None = None,
    flags: dict[str, CardFlags] | None = None,
    log: list[ReviewEntry] | None = None,
    now: datetime = NOW,
    filters: Filters | None = None,
    **policy: object,
) -> Session:
    tz = policy.pop("tz", ZoneInfo("UTC"))
    calendar = StudyCalendar(tz, 4)  # type: ignore[arg-type]
    pol = Policy(**{"calendar": calendar, **policy})  # type: ignore[arg-type]
    return Session(cards, states or {}, flags or {}, log or [], sched(), pol, now, filters=filters)


def drain(
    session: Session, now: datetime, rating: Rating = Rating.GOOD, limit: int = 50
) -> list[str]:
    shown = []
    for _ in range(limit):
        cid = session.next_card(now)
        if cid is None:
            break
        shown.append(cid)
        session.answer(rating, now)
    return shown


def test_reviews_first_then_learning_then_new_in_curriculum_order() -> None:
    cards = [
        card("n-w2", week=2, index=0),
        card("n-w1b", week=1, index=1),
        card("n-w1a", week=1, index=0),
        card("rev"),
        card("lrn"),
        card("n-nowk", week=None),
    ]
    states = {
        "rev": review_state("rev", NOW - timedelta(hours=1)),
        "lrn": CardState(
            "lrn",
            phase="learning",
            step=0,
            stability=1.0,
            difficulty=5.0,
            due=NOW - timedelta(minutes=1),
            last_review=NOW - timedelta(minutes=10),
            reps=1,
        ),
    }
    s = make(cards, states)
    assert s.counts(NOW).review == 1 and s.counts(NOW).learning == 1 and s.counts(NOW).new == 4
    order = []
    for _ in range(6):
        cid = s.next_card(NOW)
        assert cid is not None
        order.append(cid)
        s.answer(Rating.EASY, NOW)  # easy: graduates, nothing comes back today
    assert order == ["rev", "lrn", "n-w1a", "n-w1b", "n-w2", "n-nowk"]
    assert s.next_card(NOW) is None


def test_file_order_breaks_week_ties() -> None:
    cards = [card("b", path="decks/b.md"), card("a", path="decks/a.md", index=5)]
    assert drain(make(cards), NOW, Rating.EASY) == ["a", "b"]


def test_new_limit_counts_todays_log_and_study_more_raises_it() -> None:
    cards = [card(f"n{i}", index=i) for i in range(6)]
    earlier = NOW - timedelta(hours=2)
    log = [
        ReviewEntry(
            "old", earlier, Rating.GOOD, 0, CardState("old"), CardState("old", phase="learning")
        )
    ]
    yesterday = NOW - timedelta(days=1)
    log.append(
        ReviewEntry("older", yesterday, Rating.GOOD, 0, CardState("older"), CardState("older"))
    )
    s = make(cards, log=log, new_per_day=3)
    assert (
        s.counts(NOW).new == 2
    )  # one new card already introduced today; yesterday's doesn't count
    assert drain(s, NOW, Rating.EASY) == ["n0", "n1"]
    assert s.limits_reached()
    out = s.study_more()
    assert "3" in (out.notice or "")
    assert s.counts(NOW).new == 3
    assert drain(s, NOW, Rating.EASY) == ["n2", "n3", "n4"]


def test_review_limit() -> None:
    cards = [card(f"r{i}") for i in range(5)]
    states = {f"r{i}": review_state(f"r{i}", NOW - timedelta(days=i + 1)) for i in range(5)}
    s = make(cards, states, reviews_per_day=2)
    assert s.counts(NOW).review == 2
    assert drain(s, NOW, Rating.GOOD) == ["r4", "r3"]  # oldest due first
    assert s.limits_reached()
    s.study_more()
    assert s.counts(NOW).review == 2
    assert drain(s, NOW, Rating.GOOD) == ["r2", "r1"]


def test_review_due_later_today_counts_but_tomorrow_does_not() -> None:
    cards = [card("today"), card("tomorrow")]
    states = {
        "today": review_state("today", NOW + timedelta(hours=5)),
        "tomorrow": review_state("tomorrow", datetime(2026, 1, 6, 4, 0, tzinfo=UTC)),
    }
    s = make(cards, states)
    assert s.counts(NOW).review == 1
    assert drain(s, NOW) == ["today"]


def test_requires_waits_until_topic_started() -> None:
    cards = [
        card("soft", week=1, topic="softmax", requires=("gradients",)),
        card("grad", week=2, topic="gradients"),
        card("ghost", week=1, index=1, topic="x", requires=("no-such-topic",)),
    ]
    s = make(cards)
    assert s.waiting_for() == ["gradients"]
    # softmax is week 1 but waits for gradients; an unknown required topic does not block
    assert s.next_card(NOW) == "ghost"
    s.answer(Rating.EASY, NOW)
    assert s.next_card(NOW) == "grad"
    assert s.counts(NOW).new == 1  # grad; soft still waiting
    s.answer(Rating.EASY, NOW)
    assert s.next_card(NOW) == "soft"


def test_requires_satisfied_by_history() -> None:
    cards = [
        card("soft", topic="softmax", requires=("gradients",)),
        card("grad", week=2, topic="gradients"),
    ]
    states = {"grad": review_state("grad", NOW + timedelta(days=3))}
    assert make(cards, states).next_card(NOW) == "soft"


def test_learning_steps_and_learn_ahead() -> None:
    s = make([card("a"), card("b", index=1)], new_per_day=1)
    assert s.next_card(NOW) == "a"
    s.answer(Rating.AGAIN, NOW)  # 1m step
    assert s.counts(NOW).learning == 1
    # nothing else is left: the learning card is shown ahead of time (within 20 min)
    assert s.next_card(NOW) == "a"
    s.answer(Rating.GOOD, NOW)  # 10m step
    assert s.next_card(NOW) == "a"
    s.answer(Rating.GOOD, NOW)  # graduates to a day or more
    assert s.next_card(NOW) is None
    assert s.next_due(NOW) == datetime(2026, 1, 6, 4, 0, tzinfo=UTC)


def test_learning_beyond_learn_ahead_waits() -> None:
    states = {
        "a": CardState(
            "a",
            phase="learning",
            step=1,
            stability=1.0,
            difficulty=5.0,
            due=NOW + timedelta(hours=1),
            last_review=NOW,
            reps=2,
        )
    }
    s = make([card("a")], states)
    assert s.counts(NOW).learning == 1
    assert s.next_card(NOW) is None
    assert s.next_due(NOW) == NOW + timedelta(hours=1)
    assert s.next_card(NOW + timedelta(minutes=41)) == "a"


def test_cloze_siblings_are_buried_until_next_day() -> None:
    cards = [
        card("n/c1", note="n", ordinal=1),
        card("n/c2", note="n", ordinal=2),
        card("other", index=1),
    ]
    s = make(cards)
    assert s.next_card(NOW) == "n/c1"
    out = s.answer(Rating.GOOD, NOW)
    assert isinstance(out.effects[0], RecordReview)
    bury = [e for e in out.effects if isinstance(e, SetBuried)]
    assert bury == [SetBuried(("n/c2",), date(2026, 1, 6))]
    shown = drain(s, NOW, Rating.EASY)
    assert "n/c2" not in shown and "other" in shown
    # next study day (after 04:00 UTC) the sibling is back
    tomorrow = datetime(2026, 1, 6, 5, 0, tzinfo=UTC)
    assert s.next_card(tomorrow) == "n/c2"


def test_bury_siblings_setting_off() -> None:
    cards = [card("n/c1", note="n", ordinal=1), card("n/c2", note="n", ordinal=2)]
    s = make(cards, bury_siblings=False)
    assert drain(s, NOW, Rating.EASY) == ["n/c1", "n/c2"]


def test_leech_is_tagged_and_suspended_then_undo_restores() -> None:
    st = review_state("x", NOW - timedelta(hours=1), lapses=7)
    s = make([card("x")], {"x": st}, leech_threshold=8)
    assert s.next_card(NOW) == "x"
    out = s.answer(Rating.AGAIN, NOW)
    assert out.notice and "leech" in out.notice.lower()
    assert SetLeech("x", True) in out.effects and SetSuspended(("x",), True) in out.effects
    assert s.flags["x"].leech and s.flags["x"].suspended
    assert s.next_card(NOW) is None  # suspended: gone from the queue
    undo = s.undo()
    assert isinstance(undo.effects[0], UndoReview)
    assert SetLeech("x", False) in undo.effects and SetSuspended(("x",), False) in undo.effects
    assert s.states["x"] == st and s.flags["x"] == CardFlags("x")
    assert s.next_card(NOW) == "x"


def test_leech_tag_only() -> None:
    s = make([card("x")], {"x": review_state("x", NOW, lapses=7)}, leech_action="tag")
    s.next_card(NOW)
    out = s.answer(Rating.AGAIN, NOW)
    assert SetLeech("x", True) in out.effects
    assert not any(isinstance(e, SetSuspended) for e in out.effects)
    assert s.next_card(NOW) == "x"  # relearning, still studied


def test_multi_level_undo_restores_exact_states_and_counts() -> None:
    cards = [card("a"), card("b", index=1), card("c", index=2)]
    s = make(cards, new_per_day=2)
    s.next_card(NOW)
    s.answer(Rating.GOOD, NOW)  # a -> learning
    s.next_card(NOW)
    s.answer(Rating.EASY, NOW)  # b -> review
    assert s.counts(NOW).new == 0
    assert s.stats.answered == 2
    s.undo()
    s.undo()
    assert s.states["a"] == CardState("a") and s.states["b"] == CardState("b")
    assert s.counts(NOW).new == 2 and s.stats.answered == 0
    assert s.next_card(NOW) == "a"  # the undone card comes back first
    assert s.undo().notice == "Nothing to undo."


def test_undo_suspend_bury_flag() -> None:
    s = make([card("a"), card("b", index=1)])
    s.next_card(NOW)
    out = s.suspend(NOW)
    assert out.effects == [SetSuspended(("a",), True)]
    assert s.next_card(NOW) == "b"
    s.bury(NOW)
    assert s.flags["b"].buried_until == date(2026, 1, 6)
    assert s.next_card(NOW) is None
    s.set_flag(3, "a")
    assert s.flags["a"].flag == 3
    assert s.undo().effects[0].__class__.__name__ == "SetFlag"
    undo_bury = s.undo()
    assert undo_bury.effects == [SetBuried(("b",), None)]
    assert s.next_card(NOW) == "b"
    s.undo()
    assert not s.flags["a"].suspended
    assert s.next_card(NOW) == "a"


def test_day_rollover_resets_limits_and_undo() -> None:
    cards = [card(f"n{i}", index=i) for i in range(4)]
    s = make(cards, new_per_day=2)
    assert drain(s, NOW, Rating.EASY) == ["n0", "n1"]
    late = datetime(2026, 1, 6, 3, 59, tzinfo=UTC)  # still 2026-01-05's study day
    assert s.next_card(late) is None
    rolled = datetime(2026, 1, 6, 4, 0, tzinfo=UTC)
    assert s.counts(rolled).new == 2
    assert not s.can_undo
    assert s.next_card(rolled) == "n2"


def test_answer_given_after_rollover_counts_for_the_new_day() -> None:
    s = make([card(f"n{i}", index=i) for i in range(3)], new_per_day=1)
    assert s.next_card(NOW) == "n0"
    s.answer(
        Rating.EASY, datetime(2026, 1, 6, 4, 30, tzinfo=UTC)
    )  # shown before 04:00, answered after
    assert s.today == date(2026, 1, 6)
    assert s.counts(datetime(2026, 1, 6, 4, 31, tzinfo=UTC)).new == 0


def test_day_starts_at_in_local_time_zone() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/New_York")
    # 2026-01-05 08:30 UTC = 03:30 New York: still the study day of Jan 4
    t = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    log = [
        ReviewEntry(
            "n0",
            datetime(2026, 1, 4, 20, 0, tzinfo=UTC),
            Rating.GOOD,
            0,
            CardState("n0"),
            CardState("n0", phase="review", due=t + timedelta(days=3)),
        )
    ]
    s = make([card("n1"), card("n2", index=1)], log=log, now=t, new_per_day=1, tz=tz)
    assert s.counts(t).new == 0
    assert s.counts(t + timedelta(hours=1)).new == 1  # 04:30 New York: a new study day


def test_filters() -> None:
    cards = [
        card("a", week=1, topic="x", tags=("math",), deck="DL"),
        card("b", week=2, topic="y", deck="DL::Extra"),
        card("c", week=2, topic="y", deck="Other"),
    ]
    assert drain(make(cards, filters=Filters(week=2)), NOW, Rating.EASY) == ["b", "c"]
    assert drain(make(cards, filters=Filters(tag="math")), NOW, Rating.EASY) == ["a"]
    assert drain(make(cards, filters=Filters(deck="DL")), NOW, Rating.EASY) == ["a", "b"]
    assert drain(make(cards, filters=Filters(topic="y", deck="Other")), NOW, Rating.EASY) == ["c"]


def test_answer_effects_persist_and_undo_through_real_store() -> None:
    from dlcards.store import Store

    with Store.open() as store:
        s = make([card("n/c1", note="n", ordinal=1), card("n/c2", note="n", ordinal=2)])
        s.next_card(NOW)
        out = s.answer(Rating.GOOD, NOW, duration_ms=1234)
        apply_effects(store, out.effects)
        assert store.states()["n/c1"] == s.states["n/c1"]
        assert store.flags()["n/c2"].buried_until == date(2026, 1, 6)
        assert [e.duration_ms for e in store.reviews()] == [1234]
        apply_effects(store, s.undo().effects)
        assert store.reviews() == [] and "n/c1" not in store.states()
        assert "n/c2" not in store.flags()


def test_preview_matches_answer() -> None:
    s = make([card("a")])
    s.next_card(NOW)
    pv = s.preview(NOW)
    assert set(pv) == set(Rating)
    out = s.answer(Rating.HARD, NOW)
    rec = out.effects[0]
    assert isinstance(rec, RecordReview) and rec.entry.after == pv[Rating.HARD]


def test_naive_time_rejected() -> None:
    with pytest.raises(ValueError):
        make([card("a")]).next_card(datetime(2026, 1, 5, 9, 0))


def test_study_more_lasts_for_the_rest_of_the_study_day() -> None:
    from dlcards.review.session import SetStudyMore, parse_study_more, study_more_key
    from dlcards.store import Store

    cards = [card(f"n{i}", index=i) for i in range(8)]
    with Store.open() as store:
        s = make(cards, new_per_day=2)
        assert drain(s, NOW, Rating.EASY) == ["n0", "n1"]
        out = s.study_more()
        assert out.effects == [SetStudyMore(s.today, 2, 0)]
        apply_effects(store, out.effects)
        # the review is closed and opened again later the same day: the raised limit holds
        saved = parse_study_more(store.get_setting(study_more_key(s.today)))
        assert saved == (2, 0)
        later = NOW + timedelta(hours=1)
        log = [
            ReviewEntry(
                f"n{i}", NOW, Rating.EASY, 0, CardState(f"n{i}"), CardState(f"n{i}", phase="review")
            )
            for i in range(2)
        ]
        states = {
            f"n{i}": CardState(f"n{i}", phase="review", due=NOW + timedelta(days=5))
            for i in range(2)
        }
        again = Session(cards, states, {}, log, sched(), s.policy, later, study_more=saved)
        assert again.counts(later).new == 2
        # the next study day starts from the plain limit
        tomorrow = NOW + timedelta(days=1)
        assert parse_study_more(store.get_setting(study_more_key(again.policy.day(tomorrow)))) == (
            0,
            0,
        )
    assert parse_study_more("garbage") == (0, 0) and parse_study_more(None) == (0, 0)
