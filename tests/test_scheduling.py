"""Scheduling: golden answers at fixed UTC times (no fuzz), learning steps, study-day
boundaries (midnight, the 04:00 rollover, DST), fuzz determinism and button order."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcards.app.settings import scheduler_config
from dlcards.core.calendar import day_start
from dlcards.core.state import CardState, Rating
from dlcards.review.scheduling import Scheduler, SchedulerConfig, format_interval, fuzz_bounds
from dlcards.system.config import Settings

# FSRS-6 default parameters as published (py-fsrs / fsrs-rs DEFAULT_PARAMETERS).
W = (
    0.212,
    1.2931,
    2.3065,
    8.2956,
    6.4133,
    0.8334,
    3.0194,
    0.001,
    1.8722,
    0.1666,
    0.796,
    1.4835,
    0.0614,
    0.2629,
    1.6483,
    0.6014,
    1.8729,
    0.5425,
    0.0912,
    0.0658,
    0.1542,
)
UTC_TZ = ZoneInfo("UTC")


def make(
    *,
    fuzz: bool = False,
    tz: str = "UTC",
    rollover: int = 4,
    learning=(60.0, 600.0),
    relearning=(600.0,),
    maximum: int = 36500,
    retention: float = 0.9,
) -> Scheduler:
    return Scheduler(
        SchedulerConfig(
            retention,
            tuple(learning),
            tuple(relearning),
            maximum,
            fuzz,
            None,
            rollover,
            ZoneInfo(tz),
        )
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ---- the FSRS-6 formulas, written out independently of py-fsrs ----------------------------


def init_d(g: int) -> float:
    return W[4] - math.exp(W[5] * (g - 1)) + 1


def next_d(d: float, g: int) -> float:
    d2 = d + (-W[6] * (g - 3)) * (10 - d) / 9
    return min(max(W[7] * init_d(4) + (1 - W[7]) * d2, 1.0), 10.0)


def short_term_s(s: float, g: int) -> float:
    sinc = math.exp(W[17] * (g - 3 + W[18])) * s ** -W[19]
    return s * (max(sinc, 1.0) if g >= 2 else sinc)


def recall_r(t: float, s: float) -> float:
    factor = 0.9 ** (1 / -W[20]) - 1
    return (1 + factor * t / s) ** -W[20]


def recall_s(d: float, s: float, r: float, g: int) -> float:
    hard = W[15] if g == 2 else 1
    easy = W[16] if g == 4 else 1
    return s * (
        1 + math.exp(W[8]) * (11 - d) * s ** -W[9] * (math.exp((1 - r) * W[10]) - 1) * hard * easy
    )


def forget_s(d: float, s: float, r: float) -> float:
    long = W[11] * d ** -W[12] * ((s + 1) ** W[13] - 1) * math.exp((1 - r) * W[14])
    return min(long, s / math.exp(W[17] * W[18]))


# ---- golden tests ---------------------------------------------------------------------------


def test_golden_new_card_through_learning_and_review() -> None:
    sched = make()
    s0 = CardState("golden")
    t1 = at("2026-01-05T09:00:00+00:00")
    e1 = sched.review(s0, Rating.GOOD, t1, 4200)
    a1 = e1.after
    assert (a1.phase, a1.step, a1.reps, a1.interval_days) == ("learning", 1, 1, 0)
    assert a1.due == at("2026-01-05T09:10:00+00:00")  # second learning step: 10 minutes
    assert a1.stability == pytest.approx(W[2])
    assert a1.difficulty == pytest.approx(init_d(3))
    assert e1.kind == "learn" and e1.before == s0 and e1.duration_ms == 4200

    # Good on the last step, same study day: short-term stability, graduates.
    t2 = at("2026-01-05T09:11:00+00:00")
    a2 = sched.review(a1, Rating.GOOD, t2).after
    s2 = short_term_s(W[2], 3)
    assert a2.stability == pytest.approx(s2)
    assert a2.difficulty == pytest.approx(next_d(init_d(3), 3))
    # At desired retention 0.9 the FSRS interval equals the stability.
    ivl2 = math.floor(s2 + 0.5)
    assert (a2.phase, a2.step, a2.interval_days) == ("review", None, ivl2)
    assert a2.due == day_start(date(2026, 1, 5) + timedelta(days=ivl2), UTC_TZ, 4)

    # Reviewed on the due day at 20:00 (elapsed: ivl2 study days).
    t3 = a2.due.replace(hour=20)
    a3 = sched.review(a2, Rating.GOOD, t3).after
    r = recall_r(ivl2, s2)
    s3 = recall_s(a2.difficulty, s2, r, 3)
    assert a3.stability == pytest.approx(s3)
    assert a3.interval_days == math.floor(s3 + 0.5)
    assert a3.reps == 3 and a3.lapses == 0

    # A lapse 40 days later: forget stability, relearning step, lapses + 1.
    t4 = t3 + timedelta(days=40)
    e4 = sched.review(a3, Rating.AGAIN, t4)
    a4 = e4.after
    assert e4.kind == "review"
    assert a4.stability == pytest.approx(forget_s(a3.difficulty, s3, recall_r(40, s3)))
    assert (a4.phase, a4.step, a4.lapses, a4.interval_days) == ("relearning", 0, 1, 0)
    assert a4.due == t4 + timedelta(minutes=10)

    # Good after the relearning step graduates again (same day: short-term).
    e5 = sched.review(a4, Rating.GOOD, a4.due)
    assert e5.kind == "relearn"
    assert e5.after.phase == "review"
    assert e5.after.stability == pytest.approx(short_term_s(a4.stability, 3))


def test_learning_steps_like_anki() -> None:
    sched = make(learning=(60.0, 600.0, 3600.0))
    t = at("2026-02-01T10:00:00+00:00")
    p = sched.preview(CardState("c"), t)
    assert p[Rating.AGAIN].due == t + timedelta(minutes=1) and p[Rating.AGAIN].step == 0
    assert p[Rating.HARD].due == t + timedelta(seconds=330)  # average of the first two steps
    assert p[Rating.GOOD].due == t + timedelta(minutes=10) and p[Rating.GOOD].step == 1
    assert p[Rating.EASY].phase == "review"
    # on a later step, Hard repeats that step
    mid = p[Rating.GOOD]
    p2 = sched.preview(mid, t + timedelta(minutes=10))
    assert p2[Rating.HARD].due == t + timedelta(minutes=20) and p2[Rating.HARD].step == 1
    assert p2[Rating.GOOD].due == t + timedelta(minutes=70) and p2[Rating.GOOD].step == 2
    # a single step: Hard is 1.5x the step
    one = make(learning=(600.0,))
    assert one.preview(CardState("c"), t)[Rating.HARD].due == t + timedelta(minutes=15)
    # no steps: every answer schedules in days
    none = make(learning=())
    assert all(s.phase == "review" for s in none.preview(CardState("c"), t).values())


def test_no_relearning_steps_lapse_goes_straight_to_review() -> None:
    sched = make(relearning=())
    t = at("2026-02-01T10:00:00+00:00")
    state, _ = sched.replay("c", [(t, Rating.EASY, 0)])
    after = sched.review(state, Rating.AGAIN, state.due + timedelta(hours=8)).after
    assert after.phase == "review" and after.lapses == 1 and after.interval_days >= 1


def test_replay_equals_successive_reviews_and_sorts() -> None:
    sched = make(fuzz=True)
    t = at("2026-03-01T07:00:00+00:00")
    history = [
        (t, Rating.GOOD, 1),
        (t + timedelta(minutes=12), Rating.GOOD, 2),
        (t + timedelta(days=3), Rating.HARD, 3),
        (t + timedelta(days=9), Rating.AGAIN, 4),
    ]
    state, entries = sched.replay("c", list(reversed(history)))
    s = CardState("c")
    for (when, rating, ms), entry in zip(history, entries, strict=True):
        expected = sched.review(s, rating, when, ms)
        assert entry == expected
        s = expected.after
    assert state == s and state.reps == 4 and state.lapses == 1


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError):
        make().review(CardState("c"), Rating.GOOD, datetime(2026, 1, 1, 9))


def test_scheduler_config_of_settings() -> None:
    cfg = scheduler_config(
        Settings(
            learning_steps=["30s", "5m"],
            relearning_steps=["1h"],
            timezone="Asia/Tokyo",
            day_starts_at=2,
            fuzz=False,
            desired_retention=0.85,
            maximum_interval=365,
        )
    )
    assert cfg.learning_steps == (30.0, 300.0) and cfg.relearning_steps == (3600.0,)
    assert cfg.tz == ZoneInfo("Asia/Tokyo") and cfg.day_starts_at == 2
    assert cfg.desired_retention == 0.85 and cfg.maximum_interval == 365 and not cfg.fuzz
    assert cfg.parameters is None
    assert Scheduler(cfg).parameters == pytest.approx(W)


def test_bad_parameters_are_a_config_error() -> None:
    from dlcards.core.errors import ConfigError

    with pytest.raises(ConfigError, match="fsrs_parameters"):
        Scheduler(SchedulerConfig(0.9, (), (), 100, False, tuple([50.0] * 21), 4, UTC_TZ))


def test_lower_retention_gives_longer_intervals() -> None:
    t = at("2026-03-01T07:00:00+00:00")
    hist = [(t, Rating.GOOD, 0), (t + timedelta(days=3), Rating.GOOD, 0)]
    a = make(retention=0.8, learning=()).replay("c", hist)[0]
    b = make(retention=0.95, learning=()).replay("c", hist)[0]
    assert a.stability == pytest.approx(b.stability)
    assert a.interval_days > b.interval_days


# ---- study days -----------------------------------------------------------------------------


def two_reviews(sched: Scheduler, t1: datetime, t2: datetime) -> CardState:
    first = sched.review(CardState("c"), Rating.GOOD, t1).after
    return sched.review(first, Rating.GOOD, t2).after


def test_midnight_2359_to_0001_is_one_day_with_rollover_0() -> None:
    sched = make(tz="Europe/Berlin", rollover=0)
    t1 = datetime(2026, 1, 10, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    t2 = t1 + timedelta(minutes=2)
    assert sched.elapsed_days(t1, t2) == 1
    after = two_reviews(sched, t1, t2)
    assert after.stability == pytest.approx(recall_s(init_d(3), W[2], recall_r(1, W[2]), 3))
    # with the default 04:00 rollover the same two reviews are one study day
    assert make(tz="Europe/Berlin", rollover=4).elapsed_days(t1, t2) == 0
    assert two_reviews(make(tz="Europe/Berlin"), t1, t2).stability == pytest.approx(
        short_term_s(W[2], 3)
    )


def test_the_0400_rollover() -> None:
    tz = ZoneInfo("America/Chicago")
    sched = make(tz="America/Chicago", rollover=4)
    before = datetime(2026, 4, 2, 3, 59, tzinfo=tz)
    after = datetime(2026, 4, 2, 4, 1, tzinfo=tz)
    late_night = datetime(2026, 4, 1, 23, 30, tzinfo=tz)
    assert sched.elapsed_days(late_night, before) == 0  # 23:30 and 03:59 are the same study day
    assert sched.elapsed_days(before, after) == 1
    assert sched.elapsed_days(late_night, after) == 1
    # a review card is due at 04:00 local on its day
    state = sched.review(CardState("c"), Rating.EASY, before).after
    assert state.due.astimezone(tz).hour == 4 and state.due.astimezone(tz).minute == 0


def test_dst_fall_back_elapsed_days_follow_anki_not_the_calendar() -> None:
    """Both answers fall in the study day of 31 Oct, but Anki counts whole 24-hour blocks from
    the last review back from the next day cutoff (1 Nov 04:00 EST = 09:00 UTC): 24.5 h, so 1
    day. dlcards follows Anki here (docs/anki.md, "Anki's day arithmetic")."""
    tz = ZoneInfo("America/New_York")  # clocks go back on 2026-11-01 at 02:00
    sched = make(tz="America/New_York", rollover=4)
    t1 = datetime(2026, 10, 31, 4, 30, tzinfo=tz)
    t2 = datetime(2026, 11, 1, 3, 50, tzinfo=tz)
    assert t2.astimezone(UTC) - t1.astimezone(UTC) > timedelta(hours=24)
    assert sched.elapsed_days(t1, t2) == 1
    assert two_reviews(sched, t1, t2).stability == pytest.approx(
        recall_s(init_d(3), W[2], recall_r(1, W[2]), 3)
    )


def test_dst_spring_forward_due_time_stays_at_local_rollover() -> None:
    tz = ZoneInfo("America/New_York")  # clocks go forward on 2026-03-08 at 02:00
    sched = make(tz="America/New_York", rollover=4, learning=())
    t1 = datetime(2026, 3, 7, 5, 0, tzinfo=tz)
    t2 = datetime(2026, 3, 8, 4, 30, tzinfo=tz)  # 22.5 real hours later, next study day
    assert sched.elapsed_days(t1, t2) == 1
    first = sched.review(CardState("c"), Rating.GOOD, t1).after
    assert first.due.astimezone(tz).hour == 4
    second = sched.review(first, Rating.GOOD, t2).after
    assert second.stability == pytest.approx(recall_s(init_d(3), W[2], recall_r(1, W[2]), 3))
    assert second.due.astimezone(tz).hour == 4


# ---- retrievability ---------------------------------------------------------------------


def test_retrievability_uses_fractional_days() -> None:
    sched = make()
    t = at("2026-01-05T09:00:00+00:00")
    state = sched.review(CardState("c"), Rating.GOOD, t).after
    assert sched.retrievability(CardState("new"), t) is None
    assert sched.retrievability(state, t) == pytest.approx(1.0)
    half = sched.retrievability(state, t + timedelta(hours=12))
    assert half == pytest.approx(recall_r(0.5, W[2]))
    assert 0.9 < half < 1.0
    assert sched.retrievability(state, t + timedelta(days=W[2])) == pytest.approx(0.9)


# ---- fuzz -------------------------------------------------------------------------------

review_states = st.builds(
    lambda s, d, days_ago, reps, cid: CardState(
        cid,
        phase="review",
        stability=s,
        difficulty=d,
        reps=reps,
        interval_days=max(1, round(days_ago)),
        last_review=at("2026-06-01T12:00:00+00:00") - timedelta(days=days_ago),
        due=at("2026-06-01T04:00:00+00:00"),
    ),
    st.floats(0.1, 5000),
    st.floats(1, 10),
    st.floats(0, 400),
    st.integers(1, 200),
    st.text("abcdefgh0123456789", min_size=4, max_size=10),
)


@settings(max_examples=300, deadline=None)
@given(
    state=review_states,
    maximum=st.sampled_from([36500, 365, 30, 3]),
    retention=st.floats(0.7, 0.97),
)
def test_fuzzed_buttons_are_ordered_and_deterministic(
    state: CardState, maximum: int, retention: float
) -> None:
    sched = make(fuzz=True, maximum=maximum, retention=retention)
    now = at("2026-06-01T12:00:00+00:00")
    p = sched.preview(state, now)
    assert p == sched.preview(state, now)  # same preview every time
    for rating in Rating:
        assert sched.review(state, rating, now).after == p[rating]
    hard, good, easy = (p[r].interval_days for r in (Rating.HARD, Rating.GOOD, Rating.EASY))
    assert 1 <= hard <= good <= easy <= maximum
    if easy < maximum:
        assert hard < good < easy
    for r in (Rating.HARD, Rating.GOOD, Rating.EASY):
        assert p[r].due == day_start(
            date(2026, 6, 1) + timedelta(days=p[r].interval_days), UTC_TZ, 4
        )


def test_fuzz_spreads_intervals_within_bounds_and_depends_on_card_and_reps() -> None:
    sched = make(fuzz=True)
    plain = make(fuzz=False)
    now = at("2026-06-01T12:00:00+00:00")
    seen = set()
    for i in range(200):
        state = CardState(
            f"card{i}",
            phase="review",
            stability=30.0,
            difficulty=5.0,
            reps=5,
            last_review=now - timedelta(days=30),
            due=now,
            interval_days=30,
        )
        good = sched.preview(state, now)[Rating.GOOD].interval_days
        base = plain.preview(state, now)[Rating.GOOD].interval_days
        lo, hi = fuzz_bounds(base, 1, 36500)
        assert lo <= good <= hi
        seen.add(good)
    assert len(seen) >= 4  # spread
    state = CardState(
        "x",
        phase="review",
        stability=30.0,
        difficulty=5.0,
        reps=5,
        last_review=now - timedelta(days=30),
        due=now,
        interval_days=30,
    )
    by_reps = {
        sched.preview(state.with_(reps=r), now)[Rating.GOOD].interval_days for r in range(40)
    }
    assert len(by_reps) > 1


def test_short_intervals_are_not_fuzzed() -> None:
    assert fuzz_bounds(2.0, 1, 100) == (2, 2)
    assert fuzz_bounds(1.0, 1, 100) == (1, 1)
    lo, hi = fuzz_bounds(100.0, 1, 100)
    assert hi == 100 and lo < 100


# ---- format_interval --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "<1m"),
        (59, "<1m"),
        (60, "1m"),
        (600, "10m"),
        (3599, "1h"),
        (3 * 3600, "3h"),
        (86400, "1d"),
        (4 * 86400, "4d"),
        (45 * 86400, "1.5mo"),
        (90 * 86400, "3mo"),
        (2.1 * 365 * 86400, "2.1y"),
        (365 * 86400, "1y"),
    ],
)
def test_format_interval(seconds: float, text: str) -> None:
    assert format_interval(seconds) == text
