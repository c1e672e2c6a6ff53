"""Stats on a fixed, simulated history: every number below is counted by hand in the comments."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.parse import parse_text
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry
from dlcards.insights.stats import (
    compute_stats,
    fsrs6_retrievability,
    utc,
    week_markdown,
    week_summary,
)

UTC_TZ = ZoneInfo("UTC")
NOW = utc(2026, 3, 10, 12)  # study day 2026-03-10 (days start at 04:00)

SOFTMAX = """---
week: 3
topic: softmax
---
Q: Card A? <!-- id: a -->
A: a

Q: Card B? <!-- id: b -->
A: b

Q: Card E? <!-- id: e -->
A: e

Q: Card F? <!-- id: f -->
A: f
"""
GRADIENTS = """---
week: 1
topic: gradients
---
Q: Card C? <!-- id: c -->
A: c

Q: Card D? <!-- id: d -->
A: d
"""


def notes():
    return (
        parse_text(SOFTMAX, "decks/softmax.md").notes + parse_text(GRADIENTS, "decks/grad.md").notes
    )


def entry(
    card: str, when, rating: int, *, kind="review", phase="review", ivl=0, ms=0
) -> ReviewEntry:
    before = CardState(card, phase=phase, interval_days=ivl)  # type: ignore[arg-type]
    return ReviewEntry(card, when, Rating(rating), ms, before, CardState(card), kind=kind)  # type: ignore[arg-type]


AGAIN, HARD, GOOD = 1, 2, 3

HISTORY = [
    entry("a", utc(2026, 3, 1, 5), GOOD, kind="learn", phase="new", ms=30_000),
    entry("d", utc(2026, 3, 2, 8), GOOD, kind="learn", phase="new", ms=60_000),
    entry("a", utc(2026, 3, 3, 10), GOOD, ivl=2, ms=8_000),  # young pass
    entry("d", utc(2026, 3, 4, 9), HARD, ivl=3, ms=10_000),  # young pass (Hard passes)
    entry("d", utc(2026, 3, 4, 9, 5), GOOD, kind="manual", ivl=6),  # manual: never counted
    entry("a", utc(2026, 3, 8, 10), AGAIN, ivl=5, ms=12_000),  # young fail, lapse
    entry(
        "a", utc(2026, 3, 8, 10, 10), GOOD, kind="relearn", phase="relearning", ms=5_000
    ),  # ivl 0: excluded
    entry("a", utc(2026, 3, 9, 10), GOOD, ivl=1, ms=6_000),  # young pass
    entry(
        "c", utc(2026, 3, 9, 20), GOOD, ivl=25, ms=4_000
    ),  # mature pass (first of study day 03-09)
    entry(
        "c", utc(2026, 3, 10, 3), AGAIN, ivl=40, ms=10_000
    ),  # 03:00 < 04:00: still day 03-09 -> not first; lapse
    entry("b", utc(2026, 3, 10, 5), AGAIN, ivl=30, ms=20_000),  # mature fail, lapse
    entry("b", utc(2026, 3, 10, 6), GOOD, kind="relearn", phase="relearning", ms=4_000),
]

STATES = {
    "a": CardState(
        "a",
        phase="review",
        stability=3.5,
        difficulty=5.5,
        due=utc(2026, 3, 12, 10),
        last_review=utc(2026, 3, 9, 10),
        interval_days=3,
        reps=4,
        lapses=1,
    ),
    "b": CardState(
        "b",
        phase="relearning",
        stability=0.5,
        difficulty=8.7,
        due=utc(2026, 3, 10, 6, 10),
        last_review=utc(2026, 3, 10, 6),
        interval_days=0,
        reps=2,
        lapses=1,
    ),
    "c": CardState(
        "c",
        phase="review",
        stability=45.0,
        difficulty=3.0,
        due=utc(2026, 4, 5, 10),
        last_review=utc(2026, 3, 10, 3),
        interval_days=40,
        reps=2,
        lapses=1,
    ),
    "d": CardState(
        "d",
        phase="review",
        stability=10.0,
        difficulty=4.2,
        due=utc(2026, 3, 9, 9),
        last_review=utc(2026, 3, 4, 9),
        interval_days=6,
        reps=2,
    ),
}
FLAGS = {"f": CardFlags("f", suspended=True)}


def fake_r(state: CardState, now) -> float:
    return 0.95 if state.card_id == "c" else 0.85


@pytest.fixture(scope="module")
def report():
    return compute_stats(
        notes(),
        HISTORY,
        STATES,
        FLAGS,
        now=NOW,
        tz=UTC_TZ,
        day_starts_at=4,
        weekly_hours=0.07,
        new_per_day=1,
        retrievability=fake_r,
    ).to_dict()


def period(report, name):
    return next(p for p in report["true_retention"] if p["period"] == name)


def test_true_retention_counts_first_review_per_card_and_study_day(report):
    today = period(report, "today")
    # only b's 05:00 Again (mature, ivl 30); c's 03:00 review belongs to study day 03-09
    assert (
        today["young_passed"],
        today["young_failed"],
        today["mature_passed"],
        today["mature_failed"],
    ) == (0, 0, 0, 1)
    assert today["mature_retention"] == 0.0 and today["young_retention"] is None
    yesterday = period(report, "yesterday")
    # a 03-09 young pass; c 20:00 mature pass (its 03:00 Again the next UTC day is the 2nd of that study day)
    assert (
        yesterday["young_passed"],
        yesterday["young_failed"],
        yesterday["mature_passed"],
        yesterday["mature_failed"],
    ) == (1, 0, 1, 0)
    week = period(report, "week")  # 03-04 .. 03-10: d Hard, a Again, a Good | c Good, b Again
    assert (
        week["young_passed"],
        week["young_failed"],
        week["mature_passed"],
        week["mature_failed"],
    ) == (2, 1, 1, 1)
    assert week["from"] == "2026-03-04"
    month = period(report, "month")  # + a 03-03
    assert (
        month["young_passed"],
        month["young_failed"],
        month["mature_passed"],
        month["mature_failed"],
    ) == (3, 1, 1, 1)
    assert month["young_retention"] == 0.75 and month["retention"] == round(4 / 6, 4)
    assert period(report, "all_time")["passed"] == 4 and period(report, "all_time")["failed"] == 2


def test_today_streak_and_time(report):
    assert report["today"] == {
        "day": "2026-03-10",
        "reviews": 2,
        "cards": 1,
        "new_cards": 0,
        "again": 1,
        "by_kind": {"learn": 0, "review": 1, "relearn": 1},
        "minutes": 0.4,  # 20 s + 4 s
    }
    # study days 03-01..03-04 (4 in a row), then 03-08..03-10 (3, ending today)
    assert report["streak"] == {
        "current": 3,
        "longest": 4,
        "studied_days": 7,
        "studied_today": True,
    }
    t = report["time"]
    assert t["avg_seconds_per_review"] == 10.0  # (8+10+12+6+4+10+20) / 7 review-kind entries
    assert t["avg_seconds_per_new_card"] == 45.0  # (30 + 60) / 2 learned cards
    assert t["total_minutes"] == round(169 / 60, 2)
    assert t["week_minutes"] == round(71 / 60, 2)  # 03-04..03-10: 10+0+12+5+6+4+10+20+4
    assert t["daily_budget_minutes"] == 0.6  # 0.07 h * 60 / 7


def test_counts_forecast_and_budget(report):
    assert report["counts"] == {
        "cards": 6,
        "new": 2,
        "learning": 1,
        "young": 2,
        "mature": 1,
        "suspended": 1,
        "leeches": 0,
    }
    days = report["forecast"]["days"]
    assert len(days) == 30
    # today: b (due today) + d (overdue) at 10 s, plus 1 new card (e; f is suspended) at 45 s
    assert days[0]["due"] == 2 and days[0]["new"] == 1
    assert days[0]["minutes"] == round((2 * 10 + 45) / 60, 2) and days[0]["over_budget"]
    assert days[2]["day"] == "2026-03-12" and days[2]["due"] == 1 and not days[2]["over_budget"]
    assert days[26]["day"] == "2026-04-05" and days[26]["due"] == 1
    assert sum(d["due"] for d in days) == report["forecast"]["total_due"] == 4
    assert sum(d["new"] for d in days) == 1
    assert report["forecast"]["days_over_budget"] == 1


def test_heatmap_and_distributions(report):
    heat = {d["day"]: d["reviews"] for d in report["heatmap"]["days"]}
    assert heat == {
        "2026-03-01": 1,
        "2026-03-02": 1,
        "2026-03-03": 1,
        "2026-03-04": 2,
        "2026-03-08": 2,
        "2026-03-09": 3,
        "2026-03-10": 2,
    }
    dist = report["distributions"]
    stab = {b["label"]: b["count"] for b in dist["stability"]["buckets"]}
    assert stab == {"<1d": 1, "1-3d": 0, "3-7d": 1, "1-3w": 1, "3w-3mo": 1, "3mo-1y": 0, ">1y": 0}
    assert dist["difficulty"]["mean"] == round((5.5 + 8.7 + 3.0 + 4.2) / 4, 4)
    retr = {b["label"]: b["count"] for b in dist["retrievability"]["buckets"]}
    assert retr["80-90%"] == 3 and retr["90-100%"] == 1 and sum(retr.values()) == 4


def test_topics_weakest_first(report):
    topics = report["topics"]
    assert [t["group"] for t in topics] == ["softmax", "gradients"]
    soft, grad = topics
    # softmax: a pass/fail/pass, b fail; lapses a 03-08, b 03-10; 5 entries of a + 2 of b
    assert (
        soft["passed"],
        soft["failed"],
        soft["retention"],
        soft["lapses"],
        soft["reviews"],
        soft["cards"],
    ) == (2, 2, 0.5, 2, 7, 4)
    # gradients: c pass, d pass; c's 03:00 Again is a lapse
    assert (grad["passed"], grad["failed"], grad["retention"], grad["lapses"], grad["reviews"]) == (
        2,
        0,
        1.0,
        1,
        5,
    )
    assert [w["group"] for w in report["study_weeks"]] == [3, 1]
    last_week = report["weekly"][-1]
    assert (last_week["from"], last_week["to"], last_week["lapses"]) == (
        "2026-03-04",
        "2026-03-10",
        3,
    )


def test_week_summary_and_markdown():
    summary = week_summary(
        notes(), HISTORY, STATES, week=1, now=NOW, tz=UTC_TZ, start=date(2026, 3, 8)
    )
    s = summary.to_dict()
    assert (s["from"], s["to"]) == ("2026-03-08", "2026-03-14")
    assert s["reviews"] == 7 and s["study_days"] == 3 and s["lapses"] == 3
    assert s["cards_in_week_files"] == 2 and s["cards_started"] == 0
    assert s["minutes"] == round(61 / 60, 2)
    r = s["retention"]
    assert (r["young_passed"], r["young_failed"], r["mature_passed"], r["mature_failed"]) == (
        1,
        1,
        1,
        1,
    )
    # one Again each; ties broken by difficulty: b 8.7, a 5.5, c 3.0
    assert [h["card_id"] for h in s["hardest_cards"]] == ["b", "a", "c"]
    assert [(t["group"], t["retention"]) for t in s["weakest_topics"]] == [
        ("softmax", round(1 / 3, 4)),
        ("gradients", 1.0),
    ]
    md = week_markdown(summary)
    assert md.startswith("## Week 1 in review (2026-03-08 – 2026-03-14)")
    assert "Reviews: **7** on 3 days" in md and "True retention: **50.0%**" in md
    assert "- Card B? — 1 × Again in 2 reviews, difficulty 8.7" in md
    assert "- softmax: retention 33.3%, 2 lapses" in md


def test_week_start_defaults_to_first_review_of_that_weeks_cards():
    s = week_summary(notes(), HISTORY, STATES, week=3, now=NOW, tz=UTC_TZ).to_dict()
    assert s["from"] == "2026-03-01"  # a's first learning step
    assert s["cards_started"] == 2  # a (03-01) and d (03-02) left the new phase in the week
    assert s["cards_in_week_files"] == 4


def test_fsrs6_curve_is_90_percent_at_stability():
    st = CardState("x", phase="review", stability=10.0, last_review=utc(2026, 1, 1))
    assert fsrs6_retrievability(st, utc(2026, 1, 11)) == pytest.approx(0.9)
    assert fsrs6_retrievability(CardState("n"), NOW) is None


def test_empty_history():
    r = compute_stats([], [], {}, {}, now=NOW, tz=UTC_TZ).to_dict()
    assert r["streak"]["current"] == 0 and r["forecast"]["total_due"] == 0
    assert period(r, "all_time")["retention"] is None


def test_blocks_one_at_a_time():
    """compute_stats assembles one function per block; each can be called on its own."""
    from dlcards.core.calendar import StudyCalendar
    from dlcards.insights.forecast import forecast_block
    from dlcards.insights.memory import distributions_block
    from dlcards.insights.stats import (
        History,
        heatmap_block,
        mean_durations,
        streak_block,
        today_block,
        true_retention,
        weekly_rows,
    )

    cal = StudyCalendar(UTC_TZ, 4)
    today = date(2026, 3, 10)
    history = History.of(HISTORY, cal)
    full = compute_stats(
        notes(),
        HISTORY,
        STATES,
        FLAGS,
        now=NOW,
        calendar=cal,
        weekly_hours=0.07,
        new_per_day=1,
        retrievability=fake_r,
    )
    assert today_block(history, today) == full.today
    assert streak_block(history, today) == full.streak
    assert true_retention(history, today) == full.true_retention
    assert heatmap_block(history, today) == full.heatmap
    assert weekly_rows(history, today) == full.weekly
    assert mean_durations(history) == (10.0, 45.0)
    # the forecast alone: only d (overdue) and c; a generous budget; two new cards a day
    fc = forecast_block(
        ["c", "d", "e"],
        STATES,
        set(),
        cal=cal,
        today=today,
        new_today=0,
        new_per_day=2,
        per_review=60.0,
        per_new=120.0,
        budget_day=10.0,
        days=3,
    )
    assert [(d.due, d.new, d.minutes, d.over_budget) for d in fc.days] == [
        (1, 1, 3.0, False),
        (0, 0, 0.0, False),
        (0, 0, 0.0, False),
    ]
    assert fc.total_due == 1 and fc.total_minutes == 3.0
    dist = distributions_block(["a", "b", "f"], STATES, {"b"}, fake_r, NOW)
    assert (dist.stability.count, dist.stability.mean) == (1, 3.5)  # b suspended, f new


def test_calendar_or_zone_give_the_same_report():
    from dlcards.core.calendar import StudyCalendar

    by_zone = compute_stats(notes(), HISTORY, STATES, FLAGS, now=NOW, tz=UTC_TZ, day_starts_at=4)
    by_cal = compute_stats(
        notes(), HISTORY, STATES, FLAGS, now=NOW, calendar=StudyCalendar(UTC_TZ, 4)
    )
    assert by_zone == by_cal
    # a later day start moves c's 03:00 review back onto study day 03-09 either way; a day
    # starting at midnight makes it the first review of 03-10
    midnight = compute_stats(notes(), HISTORY, STATES, FLAGS, now=NOW, tz=UTC_TZ, day_starts_at=0)
    assert midnight.period("today").counts.mature_failed == 2


def test_weeks_not_studied_yet_sort_numerically() -> None:
    """Issue 14: stats listed weeks `1, 10, 11, …, 2`."""
    from dlcards.insights.retention import GroupRow, weakest_first

    rows = [
        GroupRow(
            group=g,
            cards=1,
            reviews=0,
            lapses=0,
            passed=0,
            failed=0,
            retention=None,
            mean_difficulty=None,
        )
        for g in (10, 2, 1, 11, 20)
    ]
    assert [r.group for r in sorted(rows, key=weakest_first)] == [1, 2, 10, 11, 20]
