"""The study calendar: plan weeks around week boundaries, day starts and time zones; ahead or
behind; `dlcards stats` with and without `plan_start`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.cli.main import main
from dlcards.core.calendar import StudyCalendar
from dlcards.insights.plan import PlannedCard, plan_status, week_dates, week_of

START = date(2026, 1, 5)  # a Monday


def test_week_of_and_dates() -> None:
    assert week_of(date(2026, 1, 5), START) == 1
    assert week_of(date(2026, 1, 11), START) == 1
    assert week_of(date(2026, 1, 12), START) == 2
    assert week_of(date(2026, 2, 2), START) == 5
    assert week_of(date(2026, 1, 4), START) == 0
    assert week_dates(5, START) == (date(2026, 2, 2), date(2026, 2, 8))


@pytest.mark.parametrize(
    ("tz", "utc_time", "week"),
    [
        # New York, day starts at 4: 03:59 local on Monday 12 Jan is still Sunday: week 1
        ("America/New_York", datetime(2026, 1, 12, 8, 59, tzinfo=UTC), 1),
        ("America/New_York", datetime(2026, 1, 12, 9, 0, tzinfo=UTC), 2),
        # Tokyo: Monday 04:00 local is Sunday 19:00 UTC
        ("Asia/Tokyo", datetime(2026, 1, 11, 18, 59, tzinfo=UTC), 1),
        ("Asia/Tokyo", datetime(2026, 1, 11, 19, 0, tzinfo=UTC), 2),
        # UTC
        ("UTC", datetime(2026, 1, 12, 3, 59, tzinfo=UTC), 1),
        ("UTC", datetime(2026, 1, 12, 4, 0, tzinfo=UTC), 2),
    ],
)
def test_week_boundary_follows_the_study_day(tz: str, utc_time: datetime, week: int) -> None:
    cal = StudyCalendar(ZoneInfo(tz), 4)
    assert week_of(cal.study_day(utc_time), START) == week


def _cards() -> list[PlannedCard]:
    out = [PlannedCard(f"w1-{i}", "decks/week-01.md", 1) for i in range(20)]
    out += [PlannedCard(f"w2-{i}", "decks/week-02.md", 2) for i in range(14)]
    out += [PlannedCard(f"x-{i}", "decks/extra.md", None) for i in range(5)]
    return out


def test_ahead_on_track_behind() -> None:
    cards = _cards()
    day = date(2026, 1, 15)  # week 2, day 4: planned 20 + 14 * 4/7 = 28
    on_track = {f"w1-{i}" for i in range(20)} | {f"w2-{i}" for i in range(8)}
    s = plan_status(cards, on_track, day, START)
    assert (s.week, s.day_of_week, s.planned_by_today, s.standing) == (2, 4, 28.0, "on track")
    assert [(d.path, d.cards, d.started) for d in s.decks] == [("decks/week-02.md", 14, 8)]
    assert (
        plan_status(cards, on_track | {f"w2-{i}" for i in range(14)}, day, START).standing
        == "ahead"
    )
    behind = plan_status(cards, {f"w1-{i}" for i in range(15)}, day, START)
    assert behind.standing == "behind" and behind.difference == pytest.approx(-13)
    assert "behind the plan by 13 cards" in behind.sentence()
    assert plan_status(cards, set(), date(2026, 1, 1), START).standing == "not started"
    assert (
        plan_status(
            cards, on_track | {f"w2-{i}" for i in range(14)}, date(2026, 1, 30), START
        ).standing
        == "finished"
    )


def test_stats_with_and_without_plan_start(
    collection: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (collection / "decks" / "w5.md").write_text("---\nweek: 5\n---\n\nQ: a? <!-- id: a -->\nA: b\n")
    monkeypatch.setenv("DLCARDS_NOW", "2026-02-03T12:00:00Z")
    (collection / "dlcards.toml").write_text('[dlcards]\ntimezone = "UTC"\n')
    assert main(["-C", str(collection), "stats", "--json"]) == 0
    assert "plan" not in json.loads(capsys.readouterr().out)
    (collection / "dlcards.toml").write_text(
        '[dlcards]\ntimezone = "UTC"\nplan_start = 2026-01-05\n'
    )
    assert main(["-C", str(collection), "stats", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["week"] == 5 and plan["day_of_week"] == 2
    assert plan["decks"] == [{"path": "decks/w5.md", "cards": 1, "started": 0}]
    assert main(["-C", str(collection), "stats", "--text"]) == 0
    assert capsys.readouterr().out.startswith("Week 5 (day 2 of 7, 2026-02-02 – 2026-02-08)")
    assert main(["-C", str(collection), "stats", "--week", "5", "--markdown"]) == 0
    md = capsys.readouterr().out
    assert "### The plan" in md and "`decks/w5.md`: 0 of 1 cards started" in md
    assert main(["-C", str(collection), "stats", "--week", "5", "--json"]) == 0
    week = json.loads(capsys.readouterr().out)
    assert week["from"] == "2026-02-02"
