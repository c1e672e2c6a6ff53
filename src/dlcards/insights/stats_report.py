"""The typed `dlcards stats` report: one frozen dataclass per block, each with `to_dict()`
(the forecast's and the memory distributions' types live with their builders in
`dlcards.insights.forecast` and `dlcards.insights.memory`).

`to_dict()` gives the exact `dlcards stats --json` shape, described by the `...Dict` TypedDicts
next to each class; `scripts/write_schema.py` turns `StatsReportDict` into
`schemas/stats.schema.json`. Values are stored as the JSON shows them (rounded); days and
times stay `date` / `datetime` until `to_dict()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from typing_extensions import TypedDict

from dlcards.insights.forecast import ForecastBlock, ForecastDict
from dlcards.insights.memory import DistributionsBlock, DistributionsDict
from dlcards.insights.retention import GroupRow, GroupRowDict, PassFail, RetentionDict


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


# -- today, streak, time, counts --------------------------------------------------------------
class ByKindDict(TypedDict):
    learn: int
    review: int
    relearn: int


class TodayDict(TypedDict):
    day: str
    reviews: int
    cards: int
    new_cards: int
    again: int
    by_kind: ByKindDict
    minutes: float


@dataclass(frozen=True, slots=True)
class TodayBlock:
    day: date
    reviews: int
    cards: int
    new_cards: int
    again: int
    learn: int
    review: int
    relearn: int
    minutes: float

    def to_dict(self) -> TodayDict:
        return {
            "day": self.day.isoformat(),
            "reviews": self.reviews,
            "cards": self.cards,
            "new_cards": self.new_cards,
            "again": self.again,
            "by_kind": {"learn": self.learn, "review": self.review, "relearn": self.relearn},
            "minutes": self.minutes,
        }


class StreakDict(TypedDict):
    current: int
    longest: int
    studied_days: int
    studied_today: bool


@dataclass(frozen=True, slots=True)
class StreakBlock:
    current: int
    longest: int
    studied_days: int
    studied_today: bool

    def to_dict(self) -> StreakDict:
        return {
            "current": self.current,
            "longest": self.longest,
            "studied_days": self.studied_days,
            "studied_today": self.studied_today,
        }


class TimeDict(TypedDict):
    today_minutes: float
    week_minutes: float
    total_minutes: float
    weekly_budget_minutes: float
    daily_budget_minutes: float
    avg_seconds_per_review: float
    avg_seconds_per_new_card: float


@dataclass(frozen=True, slots=True)
class TimeBlock:
    today_minutes: float
    week_minutes: float
    total_minutes: float
    weekly_budget_minutes: float
    daily_budget_minutes: float
    avg_seconds_per_review: float
    avg_seconds_per_new_card: float

    def to_dict(self) -> TimeDict:
        return {
            "today_minutes": self.today_minutes,
            "week_minutes": self.week_minutes,
            "total_minutes": self.total_minutes,
            "weekly_budget_minutes": self.weekly_budget_minutes,
            "daily_budget_minutes": self.daily_budget_minutes,
            "avg_seconds_per_review": self.avg_seconds_per_review,
            "avg_seconds_per_new_card": self.avg_seconds_per_new_card,
        }


class CountsDict(TypedDict):
    cards: int
    new: int
    learning: int
    young: int
    mature: int
    suspended: int
    leeches: int


@dataclass(frozen=True, slots=True)
class CountsBlock:
    cards: int
    new: int
    learning: int
    young: int
    mature: int
    suspended: int
    leeches: int

    def to_dict(self) -> CountsDict:
        return {
            "cards": self.cards,
            "new": self.new,
            "learning": self.learning,
            "young": self.young,
            "mature": self.mature,
            "suspended": self.suspended,
            "leeches": self.leeches,
        }


# -- true retention per period ----------------------------------------------------------------
RetentionPeriodDict = TypedDict(
    "RetentionPeriodDict",
    {
        "period": str,
        "from": str | None,  # None for all_time when nothing was studied yet
        "to": str,
        "young_passed": int,
        "young_failed": int,
        "young_retention": float | None,
        "mature_passed": int,
        "mature_failed": int,
        "mature_retention": float | None,
        "passed": int,
        "failed": int,
        "retention": float | None,
    },
)


@dataclass(frozen=True, slots=True)
class RetentionPeriod:
    period: str  # today, yesterday, week, month, year, all_time
    first: date | None
    last: date
    counts: PassFail

    def to_dict(self) -> RetentionPeriodDict:
        c: RetentionDict = self.counts.to_dict()
        return {
            "period": self.period,
            "from": _iso(self.first),
            "to": self.last.isoformat(),
            "young_passed": c["young_passed"],
            "young_failed": c["young_failed"],
            "young_retention": c["young_retention"],
            "mature_passed": c["mature_passed"],
            "mature_failed": c["mature_failed"],
            "mature_retention": c["mature_retention"],
            "passed": c["passed"],
            "failed": c["failed"],
            "retention": c["retention"],
        }


# -- heatmap ----------------------------------------------------------------------------------
class HeatDayDict(TypedDict):
    day: str
    reviews: int
    minutes: float


@dataclass(frozen=True, slots=True)
class HeatDay:
    day: date
    reviews: int
    minutes: float

    def to_dict(self) -> HeatDayDict:
        return {"day": self.day.isoformat(), "reviews": self.reviews, "minutes": self.minutes}


HeatmapDict = TypedDict("HeatmapDict", {"from": str, "to": str, "days": list[HeatDayDict]})


@dataclass(frozen=True, slots=True)
class HeatmapBlock:
    first: date
    last: date
    days: tuple[HeatDay, ...]  # study days with reviews only, oldest first

    def to_dict(self) -> HeatmapDict:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "days": [d.to_dict() for d in self.days],
        }


# -- retention and lapses per calendar week ---------------------------------------------------
WeekRowDict = TypedDict(
    "WeekRowDict",
    {
        "from": str,
        "to": str,
        "reviews": int,
        "lapses": int,
        "passed": int,
        "failed": int,
        "retention": float | None,
    },
)


@dataclass(frozen=True, slots=True)
class WeekRow:
    first: date
    last: date
    reviews: int
    lapses: int
    passed: int
    failed: int
    retention: float | None

    def to_dict(self) -> WeekRowDict:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "reviews": self.reviews,
            "lapses": self.lapses,
            "passed": self.passed,
            "failed": self.failed,
            "retention": self.retention,
        }


# -- the whole report -------------------------------------------------------------------------
class StatsReportDict(TypedDict):
    now: str
    today: TodayDict
    streak: StreakDict
    time: TimeDict
    counts: CountsDict
    true_retention: list[RetentionPeriodDict]
    forecast: ForecastDict
    heatmap: HeatmapDict
    distributions: DistributionsDict
    weekly: list[WeekRowDict]
    study_weeks: list[GroupRowDict]
    topics: list[GroupRowDict]


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Every figure of `dlcards stats`."""

    now: datetime
    today: TodayBlock
    streak: StreakBlock
    time: TimeBlock
    counts: CountsBlock
    true_retention: tuple[RetentionPeriod, ...]
    forecast: ForecastBlock
    heatmap: HeatmapBlock
    distributions: DistributionsBlock
    weekly: tuple[WeekRow, ...]
    study_weeks: tuple[GroupRow, ...]  # weakest first
    topics: tuple[GroupRow, ...]  # weakest first

    def period(self, name: str) -> RetentionPeriod:
        return next(p for p in self.true_retention if p.period == name)

    def to_dict(self) -> StatsReportDict:
        return {
            "now": self.now.isoformat(),
            "today": self.today.to_dict(),
            "streak": self.streak.to_dict(),
            "time": self.time.to_dict(),
            "counts": self.counts.to_dict(),
            "true_retention": [p.to_dict() for p in self.true_retention],
            "forecast": self.forecast.to_dict(),
            "heatmap": self.heatmap.to_dict(),
            "distributions": self.distributions.to_dict(),
            "weekly": [w.to_dict() for w in self.weekly],
            "study_weeks": [g.to_dict() for g in self.study_weeks],
            "topics": [g.to_dict() for g in self.topics],
        }
