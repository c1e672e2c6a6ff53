"""The study calendar: which plan week it is, what is planned for it, ahead or behind. Pure.

Week 1 begins on the study day `plan_start` (the setting); week N is the 7 study days from
`plan_start + 7 (N - 1)`. "Today" is a study day (`StudyCalendar.study_day(now)`: the local
day in the collection's time zone that starts at `day_starts_at`), so at 03:00 local time with
a day start of 4 it is still yesterday, and still last week on the first morning of a week.

The plan is the deck files' `week: N`: the decks of week N are planned for week N. The
learner is **ahead** or **behind** by the cards started (first reviewed) compared with the
plan by today: every card of the weeks before this one, and this week's cards pro rata by the
day of the week. Cards of later weeks already started count as progress. Within a tolerance
of a tenth of this week's cards (at least one card) the learner is "on track".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

Standing = Literal["ahead", "on track", "behind", "not started", "finished"]


def week_of(day: date, plan_start: date) -> int:
    """The plan week `day` falls in (1 = the week starting at `plan_start`; 0 or less before)."""
    return (day - plan_start).days // 7 + 1


def week_dates(week: int, plan_start: date) -> tuple[date, date]:
    """First and last study day of plan week `week`."""
    first = plan_start + timedelta(days=7 * (week - 1))
    return first, first + timedelta(days=6)


@dataclass(frozen=True)
class PlannedCard:
    """A card of the plan: its id, deck file and `week:` (None: in no week)."""

    card_id: str
    path: str
    week: int | None


@dataclass(frozen=True)
class PlanDeck:
    path: str
    cards: int
    started: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "cards": self.cards, "started": self.started}


@dataclass(frozen=True)
class PlanStatus:
    """Where the learner stands in the plan on study day `today`."""

    plan_start: date
    today: date
    week: int
    day_of_week: int  # 1..7
    week_first: date
    week_last: date
    last_week: int | None  # the highest `week:` of the decks
    decks: tuple[PlanDeck, ...]  # the decks planned for this week
    planned_by_today: float
    started: int  # cards of the plan started (any week)
    difference: float  # started - planned_by_today
    standing: Standing
    weeks_behind: float = 0.0
    details: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_start": self.plan_start.isoformat(),
            "today": self.today.isoformat(),
            "week": self.week,
            "day_of_week": self.day_of_week,
            "week_first": self.week_first.isoformat(),
            "week_last": self.week_last.isoformat(),
            "last_week": self.last_week,
            "decks": [d.to_dict() for d in self.decks],
            "planned_by_today": round(self.planned_by_today, 1),
            "started": self.started,
            "difference": round(self.difference, 1),
            "standing": self.standing,
        }

    def sentence(self) -> str:
        """One line: 'Week 5 (day 3 of 7, 2026-02-02 - 2026-02-08): ...'."""
        if self.week < 1:
            return (
                f"The plan starts on {self.plan_start.isoformat()} "
                f"(in {(self.plan_start - self.today).days} days)."
            )
        head = (
            f"Week {self.week} (day {self.day_of_week} of 7, {self.week_first.isoformat()} – "
            f"{self.week_last.isoformat()})"
        )
        decks = (
            ", ".join(f"{d.path} ({d.started}/{d.cards} started)" for d in self.decks)
            if self.decks
            else "no decks planned for this week"
        )
        n = abs(self.difference)
        how = {
            "ahead": f"ahead of the plan by {n:.0f} cards",
            "behind": f"behind the plan by {n:.0f} cards",
            "on track": "on track",
            "finished": "past the last planned week",
            "not started": "not started",
        }[self.standing]
        return f"{head}: {decks}; {self.started} of {self.planned_by_today:.0f} planned cards started, {how}."


def plan_status(
    cards: Iterable[PlannedCard], started: set[str], today: date, plan_start: date
) -> PlanStatus:
    """The plan week of `today` and whether the learner is ahead or behind (see module doc)."""
    cards = list(cards)
    week = week_of(today, plan_start)
    first, last = week_dates(week, plan_start)
    day = (today - first).days + 1
    weeks = [c.week for c in cards if c.week is not None]
    last_week = max(weeks) if weeks else None
    by_path: dict[str, list[PlannedCard]] = {}
    for c in cards:
        if c.week == week:
            by_path.setdefault(c.path, []).append(c)
    decks = tuple(
        PlanDeck(path, len(cs), sum(1 for c in cs if c.card_id in started))
        for path, cs in sorted(by_path.items())
    )
    planned_cards = [c for c in cards if c.week is not None]
    this_week = sum(1 for c in planned_cards if c.week == week)
    before = sum(1 for c in planned_cards if c.week is not None and c.week < week)
    planned = before + this_week * day / 7 if week >= 1 else 0.0
    done = sum(1 for c in planned_cards if c.card_id in started)
    diff = done - planned
    tolerance = max(1.0, this_week / 10)
    standing: Standing
    if week < 1:
        standing = "not started"
    elif last_week is not None and week > last_week and diff >= -tolerance:
        standing = "finished"
    elif diff > tolerance:
        standing = "ahead"
    elif diff < -tolerance:
        standing = "behind"
    else:
        standing = "on track"
    return PlanStatus(
        plan_start=plan_start,
        today=today,
        week=week,
        day_of_week=day,
        week_first=first,
        week_last=last,
        last_week=last_week,
        decks=decks,
        planned_by_today=planned,
        started=done,
        difference=diff,
        standing=standing,
    )


def plan_markdown(status: PlanStatus) -> str:
    """A short Markdown section for the weekly summary."""
    lines = ["", "### The plan", ""]
    lines.append(f"- {status.sentence()}")
    for d in status.decks:
        lines.append(f"- `{d.path}`: {d.started} of {d.cards} cards started")
    return "\n".join(lines) + "\n"
