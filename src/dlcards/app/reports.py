"""Progress reports of a collection: the stats figures, a week's summary and one card's info.
The wiring (what is read from the decks and the store) is done through the `Collection`; the
numbers themselves come from the pure `dlcards.insights`. Shared by the `stats` / `info`
commands and their TUI screens, which call `Collection.stats_report` / `Collection.card_info`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import DlcardsError

# the pure card-info builders live in dlcards.insights.cardinfo (re-exported for old importers)
from dlcards.insights.cardinfo import CardInfoReport, card_info_of, history_rows

__all__ = ["StatsData", "UnknownCardError", "card_info_from", "card_info_of", "history_rows"]

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from dlcards.app.collection import Collection
    from dlcards.core.model import Note
    from dlcards.core.state import CardFlags, CardState, ReviewEntry
    from dlcards.insights.stats import StatsReport
    from dlcards.insights.week import WeekSummary
    from dlcards.review.scheduling import Scheduler


@dataclass
class StatsData:
    """What the stats figures are computed from (read once by `Collection.stats_data`)."""

    root: Path
    settings: Any  # dlcards.system.config.Settings
    notes: list[Note]
    reviews: list[ReviewEntry]
    states: dict[str, CardState]
    flags: dict[str, CardFlags]
    now: datetime
    calendar: StudyCalendar

    @property
    def tz(self) -> ZoneInfo:
        return self.calendar.tz


def report_of(data: StatsData, scheduler: Scheduler) -> StatsReport:
    """The full `dlcards stats --json` report of already-read data."""
    from dlcards.insights.stats import compute_stats

    s = data.settings
    return compute_stats(
        data.notes,
        data.reviews,
        data.states,
        data.flags,
        now=data.now,
        calendar=data.calendar,
        weekly_hours=s.weekly_hours,
        new_per_day=s.new_per_day,
        retrievability=scheduler.retrievability,
    )


def stats_report_from_store(collection: Collection, now: datetime) -> StatsReport:
    """The full `dlcards stats --json` report (`_stats_report_from_store`) with the cyclic GC
    paused: what it builds all lives on until the report is made (the decks' notes when they
    are read, the columns), so collecting meanwhile only walks them again and again (at 50k
    cards the collections were ~a fifth of a first run's CPU)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        return _stats_report_from_store(collection, now)
    finally:
        if was:
            gc.enable()


def _stats_report_from_store(collection: Collection, now: datetime) -> StatsReport:
    """The full `dlcards stats --json` report, the review log aggregated in the store (one
    columnar pass, `dlcards.store.stats_queries.log_figures_table`, the older days kept
    between runs) instead of read as objects;
    the same numbers as `report_of` (tests/test_stats_sql.py)."""
    from dlcards.app.list_cache import card_columns, remember
    from dlcards.insights.retention import card_meta
    from dlcards.insights.stats import stats_of_columns
    from dlcards.insights.stats_columns import Catalogue, Curve
    from dlcards.store.state_columns import flag_arrays, state_arrays
    from dlcards.store.stats_queries import log_figures_table

    store = collection.store
    s = collection.settings
    states = state_arrays(store.conn)  # columns: no CardState per card (issue 16)
    curve = Curve(*collection.scheduler.curve) if len(states) else None
    catalogue = card_columns(collection)  # the cards' groups without the note models, if cached
    if catalogue is None:
        catalogue = Catalogue.of(card_meta(collection.notes))
        remember(collection, now)  # ... for the next run (and `dlcards list`: the curve too)
    history, cards = log_figures_table(store.conn, collection.calendar)
    return stats_of_columns(
        catalogue,
        history,
        states,
        flag_arrays(store.conn),
        now=now,
        calendar=collection.calendar,
        curve=curve,
        weekly_hours=s.weekly_hours,
        new_per_day=s.new_per_day,
        card_figures=cards.columns(catalogue.ids),
    )


def week_summary_from_store(
    collection: Collection, week: int, start: date | None, now: datetime
) -> WeekSummary:
    """`dlcards stats --week N` reading only that week's reviews: the week's first day comes
    from two indexed queries (the first review of a card of week N, else the first review),
    then the reviews of its seven study days are read. The same summary as `week_summary_of`
    (a card's first retention review of a day depends on that day's reviews alone)."""
    from datetime import timedelta

    from dlcards.insights.retention import card_meta
    from dlcards.insights.week import week_summary
    from dlcards.store.stats_queries import first_review_time

    cal = collection.calendar
    store = collection.store
    notes = collection.notes
    if start is None:
        ids = [cid for cid, m in card_meta(notes).items() if m.week == week]
        first_of_week = first_review_time(store.conn, ids)
        if first_of_week is not None:
            start = cal.study_day(first_of_week)
        else:
            first = first_review_time(store.conn, None)
            start = (
                cal.study_day(first) + timedelta(days=7 * (week - 1))
                if first is not None
                else cal.study_day(now)
            )
    lo, hi = cal.day_start(start), cal.day_start(start + timedelta(days=7))
    reviews = [e for e in store.reviews(since=lo) if e.time < hi]
    return week_summary(
        notes, reviews, store.states(), week=week, now=now, calendar=cal, start=start
    )


def week_summary_of(data: StatsData, week: int, start: date | None = None) -> WeekSummary:
    """`dlcards stats --week N`: the summary of one study week."""
    from dlcards.insights.stats import week_summary

    return week_summary(
        data.notes,
        data.reviews,
        data.states,
        week=week,
        now=data.now,
        calendar=data.calendar,
        start=start,
    )


class UnknownCardError(DlcardsError):
    """No card with that id in the decks or the review database."""


def card_info_from(collection: Collection, card_id: str, now: datetime) -> CardInfoReport:
    """Read the card from the collection's decks and store. Raises UnknownCardError."""
    note = next((n for n in collection.notes if card_id in n.card_ids()), None)
    store = collection.store
    state = store.states([card_id]).get(card_id)
    flags = store.flags([card_id]).get(card_id)
    reviews = store.reviews([card_id])
    orphan = (
        None
        if note is not None
        else next((o for o in store.orphans() if o.card_id == card_id), None)
    )
    if note is None and orphan is None:  # gone from the Markdown since the last sync
        orphan = next((c for c in store.cards() if c.card_id == card_id), None)
    if note is None and orphan is None and not reviews and state is None:
        raise UnknownCardError(
            f"no card with id {card_id!r}",
            hint="`dlcards list` shows the ids; a cloze card's id ends in /c1, /c2, ...",
        )
    retrievability = collection.scheduler.retrievability
    last_text = None
    if note is None:
        from dlcards.store.card_text import last_known_text

        last_text = last_known_text(store, card_id)
    tz = collection.calendar.tz
    return card_info_of(
        card_id,
        note,
        state,
        flags,
        reviews,
        now,
        retrievability,
        orphan,
        last_text=last_text,
        timezone=getattr(tz, "key", None) or str(tz),
    )
