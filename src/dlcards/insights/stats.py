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

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dlcards.core.calendar import StudyCalendar
from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, ReviewEntry, require_utc
from dlcards.insights.forecast import FORECAST_DAYS, forecast_block
from dlcards.insights.log_figures import LogFigures
from dlcards.insights.log_figures import total as total_passfail
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
    group_rows,
    is_lapse,
    is_retention_review,
    ratio,
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

if TYPE_CHECKING:
    import numpy as np

    from dlcards.insights.state_arrays import FlagArrays, StateArrays
    from dlcards.insights.stats_columns import Catalogue, Curve

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
    "stats_of_columns",
    "stats_of_figures",
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


def _minutes(duration_ms: int) -> float:
    return round(duration_ms / 60000, 2)


# The review log as the blocks read it: figures per study day and per card, and the recorded
# durations (`dlcards.insights.log_figures`); `History.of(reviews, calendar)` builds them from
# review objects, `dlcards.store.stats_queries.log_figures` in SQLite.
History = LogFigures


# -- one function per block -------------------------------------------------------------------
def mean_durations(history: History) -> tuple[float, float]:
    """(seconds per review, seconds spent learning a new card), from the recorded durations."""
    d = history.durations
    if d.review_n:
        per_review = d.review_ms / d.review_n / 1000
    elif d.any_n:
        per_review = d.any_ms / d.any_n / 1000
    else:
        per_review = DEFAULT_REVIEW_SECONDS
    per_new = (d.learn_ms / d.learn_cards / 1000) if d.learn_cards else 3 * per_review
    return per_review, per_new


def today_block(history: History, today: date) -> TodayBlock:
    d = history.days.get(today)
    if d is None:
        return TodayBlock(today, 0, 0, 0, 0, 0, 0, 0, 0.0)
    return TodayBlock(
        day=today,
        reviews=d.reviews,
        cards=d.cards,
        new_cards=d.new_cards,
        again=d.again,
        learn=d.learn,
        review=d.review,
        relearn=d.relearn,
        minutes=_minutes(d.duration_ms),
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


def _ms_between(history: History, first: date, last: date) -> int:
    return sum(d.duration_ms for d in history.between(first, last))


def time_block(
    history: History, today: date, weekly_hours: float, per_review: float, per_new: float
) -> TimeBlock:
    return TimeBlock(
        today_minutes=_minutes(_ms_between(history, today, today)),
        week_minutes=_minutes(_ms_between(history, today - timedelta(days=6), today)),
        total_minutes=_minutes(sum(d.duration_ms for d in history.days.values())),
        weekly_budget_minutes=round(weekly_hours * 60, 2),
        daily_budget_minutes=round(weekly_hours * 60 / 7, 2),
        avg_seconds_per_review=round(per_review, 2),
        avg_seconds_per_new_card=round(per_new, 2),
    )


def _retained_between(history: History, first: date, last: date) -> PassFail:
    return total_passfail(d.retained for d in history.between(first, last))


def true_retention(history: History, today: date) -> tuple[RetentionPeriod, ...]:
    """True retention per period (today ... year), then all time."""
    periods = []
    for name, first_off, last_off in RETENTION_PERIODS:
        lo, hi = today - timedelta(days=first_off), today - timedelta(days=last_off)
        periods.append(RetentionPeriod(name, lo, hi, _retained_between(history, lo, hi)))
    studied = history.studied
    all_time = total_passfail(d.retained for d in history.days.values())
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
            HeatDay(d, history.days[d].reviews, _minutes(history.days[d].duration_ms))
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
        in_week = history.between(lo, hi)
        pf = total_passfail(d.retained for d in in_week)
        reviews = sum(d.reviews for d in in_week)
        lapses = sum(d.lapses for d in in_week)
        rows.append(WeekRow(lo, hi, reviews, lapses, pf.passed, pf.failed, pf.retention))
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
    """Every figure of `dlcards stats` (`.to_dict()` is the `--json` shape) from review objects.
    The study days come from `calendar`, else from `tz` (default UTC) and `day_starts_at`."""
    cal = calendar or StudyCalendar(tz or ZoneInfo("UTC"), day_starts_at)
    return stats_of_figures(
        card_meta(notes),
        History.of(reviews, cal),
        states,
        flags,
        now=now,
        calendar=cal,
        weekly_hours=weekly_hours,
        new_per_day=new_per_day,
        retrievability=retrievability,
        forecast_days=forecast_days,
        heatmap_days=heatmap_days,
    )


def stats_of_figures(
    meta: dict[str, CardMeta],
    history: LogFigures,
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
    *,
    now: datetime,
    calendar: StudyCalendar,
    weekly_hours: float = 9.0,
    new_per_day: int = 20,
    retrievability: Retrievability | None = None,
    forecast_days: int = FORECAST_DAYS,
    heatmap_days: int = HEATMAP_DAYS,
) -> StatsReport:
    """Every figure of `dlcards stats` from the review log's figures (`LogFigures`, read by
    `History.of` or aggregated in SQLite by `dlcards.store.stats_queries.log_figures`) and
    each card's place in the decks (`card_meta(notes)`, or a cached catalogue of it)."""
    now = require_utc(now)
    cal = calendar
    today = cal.study_day(now)
    card_ids = list(meta)
    per_review, per_new = mean_durations(history)
    suspended = suspended_cards(card_ids, flags)
    today_counts = today_block(history, today)
    topics = group_rows(meta, history.cards, states, _topic)
    weeks = group_rows(meta, history.cards, states, _week)
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


def stats_of_columns(
    catalogue: Catalogue,
    history: LogFigures,
    states: StateArrays,
    flags: FlagArrays,
    *,
    now: datetime,
    calendar: StudyCalendar,
    curve: Curve | None = None,
    weekly_hours: float = 9.0,
    new_per_day: int = 20,
    forecast_days: int = FORECAST_DAYS,
    heatmap_days: int = HEATMAP_DAYS,
    card_figures: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> StatsReport:
    """`stats_of_figures` with the cards as columns (`Catalogue`, or `Catalogue.of(meta)`),
    the states and flags as columns (`dlcards.store.state_columns`, any order, any extra
    cards) and retrievability by its curve's constants (default: the FSRS-6 default curve, as
    `stats_of_figures` without a `retrievability`). The same report. `card_figures`: the
    cards' `card_figure_columns` when the caller has them as columns (then `history.cards`
    is not read)."""
    from dlcards.insights.stats_columns import (
        Curve,
        card_figure_columns,
        counts_of,
        distributions_of,
        forecast_of,
        group_rows_columns,
    )

    now = require_utc(now)
    cal = calendar
    today = cal.study_day(now)
    card_ids = catalogue.ids
    st = states.aligned(card_ids)
    fl = flags.aligned(card_ids)
    per_review, per_new = mean_durations(history)
    today_counts = today_block(history, today)
    figures = card_figure_columns(card_ids, history.cards) if card_figures is None else card_figures
    return StatsReport(
        now=now,
        today=today_counts,
        streak=streak_block(history, today),
        time=time_block(history, today, weekly_hours, per_review, per_new),
        counts=counts_of(st, fl),
        true_retention=true_retention(history, today),
        forecast=forecast_of(
            st,
            fl,
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
        distributions=distributions_of(st, fl, curve or Curve.fsrs6_default(), now),
        weekly=weekly_rows(history, today),
        study_weeks=tuple(
            sorted(
                group_rows_columns(list(catalogue.weeks), figures, st),
                key=weakest_first,
            )
        ),
        topics=tuple(
            sorted(
                group_rows_columns(list(catalogue.topics), figures, st),
                key=weakest_first,
            )
        ),
    )


def _topic(m: CardMeta) -> str | None:
    return m.topic


def _week(m: CardMeta) -> int | None:
    return m.week
