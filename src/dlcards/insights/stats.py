"""Progress statistics over the review log and the cards. Pure: no I/O, `now` is a parameter.

Definitions (also shown by `dlcards stats --help`):

- A *study day* starts at `day_starts_at` local time (`dlcards.core.calendar`), as in Anki.
- *True retention* and *lapses*: see `dlcards.insights.retention`. Periods end at the start of
  the next study day: today, yesterday, the last 7, 30 and 365 days, all time.
- The forecast counts cards (not suspended, not new) whose due time falls in each of the next
  30 study days (overdue cards count on today), times the mean recorded duration of a review;
  new cards are added at `new_per_day` (less those already started today) times the mean
  total time spent learning a new card. The daily budget is `weekly_hours * 60 / 7` minutes.

`compute_stats` assembles the report from one function per block, each returning its typed
block: `today_block`, `streak_block`, `time_block`, `true_retention`, `counts_block`,
`heatmap_block`, `weekly_rows` (here), `forecast_block` (`dlcards.insights.forecast`),
`distributions_block` (`dlcards.insights.memory`) and `group_retention` for topics and study
weeks (`dlcards.insights.retention`). The report types are in `dlcards.insights.stats_report`;
the study-week summary is `dlcards.insights.week`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dlcards.core.calendar import StudyCalendar
from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc
from dlcards.insights.forecast import FORECAST_DAYS, forecast_block
from dlcards.insights.memory import distributions_block
from dlcards.insights.retention import (
    FSRS6_DEFAULT_DECAY,
    MATURE_DAYS,
    Calendar,
    CardMeta,
    PassFail,
    Retrievability,
    card_meta,
    first_retention_reviews,
    fsrs6_retrievability,
    group_retention,
    is_lapse,
    is_retention_review,
    ratio,
    retention_between,
    utc,
    weakest_first,
)
from dlcards.insights.stats_report import (
    CountsBlock,
    HeatDay,
    HeatmapBlock,
    RetentionPeriod,
    StatsReport,
    StreakBlock,
    TimeBlock,
    TodayBlock,
    WeekRow,
)
from dlcards.insights.week import week_markdown, week_summary

__all__ = [
    "FSRS6_DEFAULT_DECAY",
    "MATURE_DAYS",
    "Calendar",
    "CardMeta",
    "History",
    "PassFail",
    "StatsReport",
    "card_meta",
    "compute_stats",
    "first_retention_reviews",
    "fsrs6_retrievability",
    "is_lapse",
    "is_retention_review",
    "ratio",
    "utc",
    "week_markdown",
    "week_summary",
]

HEATMAP_DAYS = 365
WEEKS_SHOWN = 12
DEFAULT_REVIEW_SECONDS = 10.0  # used only before any duration was recorded
RETENTION_PERIODS: tuple[tuple[str, int, int], ...] = (
    # name, first day offset (days before today, inclusive), last day offset (inclusive)
    ("today", 0, 0),
    ("yesterday", 1, 1),
    ("week", 6, 0),
    ("month", 29, 0),
    ("year", 364, 0),
)


def _minutes(entries: list[ReviewEntry] | tuple[ReviewEntry, ...]) -> float:
    return round(sum(e.duration_ms for e in entries) / 60000, 2)


@dataclass(frozen=True, slots=True)
class History:
    """The review log read once for every block: by study day, and its retention reviews."""

    reviews: tuple[ReviewEntry, ...]  # in time order
    by_day: dict[date, list[ReviewEntry]]
    retained: list[tuple[date, ReviewEntry]]  # first retention review per card and study day

    @classmethod
    def of(cls, reviews: list[ReviewEntry], cal: StudyCalendar) -> History:
        ordered = tuple(sorted(reviews, key=lambda e: e.time))
        by_day: dict[date, list[ReviewEntry]] = defaultdict(list)
        for e in ordered:
            by_day[cal.study_day(e.time)].append(e)
        return cls(ordered, dict(by_day), first_retention_reviews(ordered, cal))

    @property
    def studied(self) -> list[date]:
        return sorted(self.by_day)

    def between(self, first: date, last: date) -> list[ReviewEntry]:
        return [e for d, es in self.by_day.items() if first <= d <= last for e in es]


# -- one function per block -------------------------------------------------------------------
def mean_durations(history: History) -> tuple[float, float]:
    """(seconds per review, seconds spent learning a new card), from the recorded durations."""
    reviews = history.reviews
    review_ms = [e.duration_ms for e in reviews if e.kind == "review" and e.duration_ms > 0]
    any_ms = [e.duration_ms for e in reviews if e.duration_ms > 0]
    if review_ms:
        per_review = sum(review_ms) / len(review_ms) / 1000
    elif any_ms:
        per_review = sum(any_ms) / len(any_ms) / 1000
    else:
        per_review = DEFAULT_REVIEW_SECONDS
    learn_ms: dict[str, int] = defaultdict(int)
    for e in reviews:
        if e.kind == "learn":
            learn_ms[e.card_id] += e.duration_ms
    per_new = (sum(learn_ms.values()) / len(learn_ms) / 1000) if learn_ms else 3 * per_review
    return per_review, per_new


def today_block(history: History, today: date) -> TodayBlock:
    todays = history.by_day.get(today, [])
    return TodayBlock(
        day=today,
        reviews=len(todays),
        cards=len({e.card_id for e in todays}),
        new_cards=len({e.card_id for e in todays if e.kind == "learn" and e.before.phase == "new"}),
        again=sum(1 for e in todays if e.rating == Rating.AGAIN),
        learn=sum(1 for e in todays if e.kind == "learn"),
        review=sum(1 for e in todays if e.kind == "review"),
        relearn=sum(1 for e in todays if e.kind == "relearn"),
        minutes=_minutes(todays),
    )


def streak_block(history: History, today: date) -> StreakBlock:
    studied = history.studied
    studied_set = set(studied)
    current = 0
    d = today if today in studied_set else today - timedelta(days=1)
    while d in studied_set:
        current += 1
        d -= timedelta(days=1)
    longest = run = 0
    prev: date | None = None
    for d in studied:
        run = run + 1 if prev is not None and (d - prev).days == 1 else 1
        longest = max(longest, run)
        prev = d
    return StreakBlock(current, longest, len(studied), today in studied_set)


def time_block(
    history: History, today: date, weekly_hours: float, per_review: float, per_new: float
) -> TimeBlock:
    return TimeBlock(
        today_minutes=_minutes(history.by_day.get(today, [])),
        week_minutes=_minutes(history.between(today - timedelta(days=6), today)),
        total_minutes=_minutes(history.reviews),
        weekly_budget_minutes=round(weekly_hours * 60, 2),
        daily_budget_minutes=round(weekly_hours * 60 / 7, 2),
        avg_seconds_per_review=round(per_review, 2),
        avg_seconds_per_new_card=round(per_new, 2),
    )


def true_retention(history: History, today: date) -> tuple[RetentionPeriod, ...]:
    """True retention per period (today ... year), then all time."""
    periods = []
    for name, first_off, last_off in RETENTION_PERIODS:
        lo, hi = today - timedelta(days=first_off), today - timedelta(days=last_off)
        periods.append(RetentionPeriod(name, lo, hi, retention_between(history.retained, lo, hi)))
    studied = history.studied
    all_time = PassFail.of(e for _, e in history.retained)
    periods.append(RetentionPeriod("all_time", studied[0] if studied else None, today, all_time))
    return tuple(periods)


def suspended_cards(card_ids: list[str], flags: dict[str, CardFlags]) -> set[str]:
    known = set(card_ids)
    return {cid for cid, f in flags.items() if f.suspended and cid in known}


def counts_block(
    card_ids: list[str], states: dict[str, CardState], flags: dict[str, CardFlags]
) -> CountsBlock:
    known = set(card_ids)
    phases = {"new": 0, "learning": 0, "young": 0, "mature": 0}
    for cid in card_ids:
        st = states.get(cid)
        if st is None or st.phase == "new":
            phases["new"] += 1
        elif st.phase in ("learning", "relearning"):
            phases["learning"] += 1
        elif st.interval_days >= MATURE_DAYS:
            phases["mature"] += 1
        else:
            phases["young"] += 1
    return CountsBlock(
        cards=len(card_ids),
        new=phases["new"],
        learning=phases["learning"],
        young=phases["young"],
        mature=phases["mature"],
        suspended=len(suspended_cards(card_ids, flags)),
        leeches=sum(1 for cid, f in flags.items() if f.leech and cid in known),
    )


def heatmap_block(history: History, today: date, days: int = HEATMAP_DAYS) -> HeatmapBlock:
    first = today - timedelta(days=days - 1)
    return HeatmapBlock(
        first,
        today,
        tuple(
            HeatDay(d, len(history.by_day[d]), _minutes(history.by_day[d]))
            for d in history.studied
            if first <= d <= today
        ),
    )


def weekly_rows(history: History, today: date, weeks: int = WEEKS_SHOWN) -> tuple[WeekRow, ...]:
    """Retention and lapses per calendar week (7 study days ending today), oldest first."""
    rows = []
    for w in range(weeks - 1, -1, -1):
        hi = today - timedelta(days=7 * w)
        lo = hi - timedelta(days=6)
        pf = retention_between(history.retained, lo, hi)
        in_week = history.between(lo, hi)
        lapses = sum(1 for e in in_week if is_lapse(e))
        rows.append(WeekRow(lo, hi, len(in_week), lapses, pf.passed, pf.failed, pf.retention))
    return tuple(rows)


# -- the report -------------------------------------------------------------------------------
def compute_stats(
    notes: list[Note],
    reviews: list[ReviewEntry],
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
    *,
    now: datetime,
    tz: ZoneInfo | None = None,
    day_starts_at: int = 4,
    calendar: StudyCalendar | None = None,
    weekly_hours: float = 9.0,
    new_per_day: int = 20,
    retrievability: Retrievability | None = None,
    forecast_days: int = FORECAST_DAYS,
    heatmap_days: int = HEATMAP_DAYS,
) -> StatsReport:
    """Every figure of `dlcards stats` (`.to_dict()` is the `--json` shape). The study days
    come from `calendar`, else from `tz` (default UTC) and `day_starts_at`."""
    now = require_utc(now)
    cal = calendar or StudyCalendar(tz or ZoneInfo("UTC"), day_starts_at)
    today = cal.study_day(now)
    meta = card_meta(notes)
    card_ids = list(meta)
    history = History.of(reviews, cal)
    per_review, per_new = mean_durations(history)
    suspended = suspended_cards(card_ids, flags)
    today_counts = today_block(history, today)
    topics = group_retention(meta, list(history.reviews), history.retained, states, _topic)
    weeks = group_retention(meta, list(history.reviews), history.retained, states, _week)
    return StatsReport(
        now=now,
        today=today_counts,
        streak=streak_block(history, today),
        time=time_block(history, today, weekly_hours, per_review, per_new),
        counts=counts_block(card_ids, states, flags),
        true_retention=true_retention(history, today),
        forecast=forecast_block(
            card_ids,
            states,
            suspended,
            cal=cal,
            today=today,
            new_today=today_counts.new_cards,
            new_per_day=new_per_day,
            per_review=per_review,
            per_new=per_new,
            budget_day=weekly_hours * 60 / 7,
            days=forecast_days,
        ),
        heatmap=heatmap_block(history, today, heatmap_days),
        distributions=distributions_block(
            card_ids, states, suspended, retrievability or fsrs6_retrievability, now
        ),
        weekly=weekly_rows(history, today),
        study_weeks=tuple(sorted(weeks, key=weakest_first)),
        topics=tuple(sorted(topics, key=weakest_first)),
    )


def _topic(m: CardMeta) -> str | None:
    return m.topic


def _week(m: CardMeta) -> int | None:
    return m.week
