"""The workload forecast of `dlcards stats`: reviews due and new cards per study day, in
minutes, against the daily study budget. Pure.

Cards (not suspended, not new) count on the study day their due time falls in (overdue cards
count on today), times the mean recorded duration of a review; new cards are added at
`new_per_day` (less those already started today) times the mean time spent learning a new card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from typing_extensions import TypedDict

from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardState

FORECAST_DAYS = 30


class ForecastDayDict(TypedDict):
    day: str
    offset: int
    due: int
    review_minutes: float
    new: int
    new_minutes: float
    minutes: float
    over_budget: bool


@dataclass(frozen=True, slots=True)
class ForecastDay:
    day: date
    offset: int
    due: int
    review_minutes: float
    new: int
    new_minutes: float
    minutes: float
    over_budget: bool

    def to_dict(self) -> ForecastDayDict:
        return {
            "day": self.day.isoformat(),
            "offset": self.offset,
            "due": self.due,
            "review_minutes": self.review_minutes,
            "new": self.new,
            "new_minutes": self.new_minutes,
            "minutes": self.minutes,
            "over_budget": self.over_budget,
        }


class ForecastDict(TypedDict):
    daily_budget_minutes: float
    days: list[ForecastDayDict]
    total_due: int
    total_minutes: float
    days_over_budget: int


@dataclass(frozen=True, slots=True)
class ForecastBlock:
    daily_budget_minutes: float
    days: tuple[ForecastDay, ...]

    @property
    def total_due(self) -> int:
        return sum(d.due for d in self.days)

    @property
    def total_minutes(self) -> float:
        return round(sum(d.minutes for d in self.days), 2)

    @property
    def days_over_budget(self) -> int:
        return sum(1 for d in self.days if d.over_budget)

    def to_dict(self) -> ForecastDict:
        return {
            "daily_budget_minutes": self.daily_budget_minutes,
            "days": [d.to_dict() for d in self.days],
            "total_due": self.total_due,
            "total_minutes": self.total_minutes,
            "days_over_budget": self.days_over_budget,
        }


def forecast_block(
    card_ids: list[str],
    states: dict[str, CardState],
    suspended: set[str],
    *,
    cal: StudyCalendar,
    today: date,
    new_today: int,
    new_per_day: int,
    per_review: float,
    per_new: float,
    budget_day: float,
    days: int = FORECAST_DAYS,
) -> ForecastBlock:
    due_per_day = [0] * days
    for cid in card_ids:
        st = states.get(cid)
        if cid in suspended or st is None or st.phase == "new" or st.due is None:
            continue
        offset = max(0, (cal.study_day(st.due) - today).days)
        if offset < days:
            due_per_day[offset] += 1
    new_left = sum(
        1
        for cid in card_ids
        if cid not in suspended and (states.get(cid) is None or states[cid].phase == "new")
    )
    return forecast_of_counts(
        due_per_day,
        new_left,
        today=today,
        new_today=new_today,
        new_per_day=new_per_day,
        per_review=per_review,
        per_new=per_new,
        budget_day=budget_day,
    )


def forecast_of_counts(
    due_per_day: list[int],
    new_left: int,
    *,
    today: date,
    new_today: int,
    new_per_day: int,
    per_review: float,
    per_new: float,
    budget_day: float,
) -> ForecastBlock:
    """The forecast from the reviews due on each coming study day and the new cards left:
    new cards fill each day's quota (today's what is left of it) until none are left."""
    rows = []
    for offset, due in enumerate(due_per_day):
        quota = max(0, new_per_day - new_today) if offset == 0 else new_per_day
        new_n = min(quota, new_left)
        new_left -= new_n
        review_min = due * per_review / 60
        new_min = new_n * per_new / 60
        total = review_min + new_min
        rows.append(
            ForecastDay(
                day=today + timedelta(days=offset),
                offset=offset,
                due=due,
                review_minutes=round(review_min, 2),
                new=new_n,
                new_minutes=round(new_min, 2),
                minutes=round(total, 2),
                over_budget=total > budget_day + 1e-9,
            )
        )
    return ForecastBlock(round(budget_day, 2), tuple(rows))
