"""The review log reduced to what `dlcards stats` shows: figures per study day, per card and
the recorded durations. Pure.

Two producers build the same `LogFigures`: `LogFigures.of(reviews, calendar)` from review
objects (small logs, tests, and the oracle of the SQL path), and
`dlcards.store.stats_queries.log_figures`, which aggregates in SQLite without reading the log
into Python objects (a million reviews in a few hundred kilobytes of figures). The stats
builders (`dlcards.insights.stats`) take only these figures.

Definitions (as before): *retained* counts the first retention review of each (card, study day)
(`dlcards.insights.retention`); a *lapse* is an Again on a card in the review phase.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import Rating, ReviewEntry
from dlcards.insights.retention import (
    PassFail,
    first_retention_reviews,
    is_lapse,
)


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One study day of the review log."""

    day: date
    reviews: int
    cards: int  # distinct cards reviewed
    new_cards: int  # distinct cards started (a learn review of a new card)
    again: int
    learn: int
    review: int
    relearn: int
    duration_ms: int
    lapses: int
    retained: PassFail  # the first retention review of each card that day


@dataclass(frozen=True, slots=True)
class CardFigures:
    """One card's whole log: reviews, lapses and its retained reviews' passes and fails."""

    reviews: int = 0
    lapses: int = 0
    passed: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class DurationFigures:
    """Sums behind the mean review time and the mean time to learn a new card."""

    review_ms: int = 0  # review-kind entries with a recorded duration
    review_n: int = 0
    any_ms: int = 0  # every entry with a recorded duration
    any_n: int = 0
    learn_ms: int = 0  # every learn-kind entry
    learn_cards: int = 0  # distinct cards with a learn entry


@dataclass(frozen=True, slots=True)
class LogFigures:
    """The review log as the stats see it."""

    days: dict[date, DayFigures]
    cards: dict[str, CardFigures]
    durations: DurationFigures

    @property
    def studied(self) -> list[date]:
        return sorted(self.days)

    def between(self, first: date, last: date) -> list[DayFigures]:
        """The study days `first`..`last` (inclusive) with reviews."""
        return [f for d, f in self.days.items() if first <= d <= last]

    @classmethod
    def empty(cls) -> LogFigures:
        return cls({}, {}, DurationFigures())

    @classmethod
    def of(cls, reviews: Iterable[ReviewEntry], cal: StudyCalendar) -> LogFigures:
        """The figures of review objects (in any order; ties in time keep the given order)."""
        ordered = sorted(reviews, key=lambda e: e.time)
        days: dict[date, list[ReviewEntry]] = {}
        for e in ordered:
            days.setdefault(cal.study_day(e.time), []).append(e)
        retained_by_day: dict[date, list[ReviewEntry]] = {}
        passed: dict[str, int] = {}
        failed: dict[str, int] = {}
        for d, e in first_retention_reviews(ordered, cal):
            retained_by_day.setdefault(d, []).append(e)
            bucket = failed if e.rating == Rating.AGAIN else passed
            bucket[e.card_id] = bucket.get(e.card_id, 0) + 1
        by_day = {d: _day(d, es, retained_by_day.get(d, [])) for d, es in days.items()}
        return cls(by_day, card_figures(ordered, passed, failed), duration_figures(ordered))


def _day(d: date, entries: list[ReviewEntry], retained: list[ReviewEntry]) -> DayFigures:
    return DayFigures(
        day=d,
        reviews=len(entries),
        cards=len({e.card_id for e in entries}),
        new_cards=len(
            {e.card_id for e in entries if e.kind == "learn" and e.before.phase == "new"}
        ),
        again=sum(1 for e in entries if e.rating == Rating.AGAIN),
        learn=sum(1 for e in entries if e.kind == "learn"),
        review=sum(1 for e in entries if e.kind == "review"),
        relearn=sum(1 for e in entries if e.kind == "relearn"),
        duration_ms=sum(e.duration_ms for e in entries),
        lapses=sum(1 for e in entries if is_lapse(e)),
        retained=PassFail.of(retained),
    )


def card_figures(
    entries: Iterable[ReviewEntry], passed: dict[str, int], failed: dict[str, int]
) -> dict[str, CardFigures]:
    """Reviews and lapses per card of `entries`, with the given retained passes and fails."""
    counts: dict[str, list[int]] = {}
    for e in entries:
        c = counts.setdefault(e.card_id, [0, 0])
        c[0] += 1
        c[1] += int(is_lapse(e))
    for cid in (*passed, *failed):
        counts.setdefault(cid, [0, 0])
    return {
        cid: CardFigures(n, lapses, passed.get(cid, 0), failed.get(cid, 0))
        for cid, (n, lapses) in counts.items()
    }


def duration_figures(entries: Iterable[ReviewEntry]) -> DurationFigures:
    review_ms = review_n = any_ms = any_n = learn_ms = 0
    learners: set[str] = set()
    for e in entries:
        if e.duration_ms > 0:
            any_ms += e.duration_ms
            any_n += 1
            if e.kind == "review":
                review_ms += e.duration_ms
                review_n += 1
        if e.kind == "learn":
            learn_ms += e.duration_ms
            learners.add(e.card_id)
    return DurationFigures(review_ms, review_n, any_ms, any_n, learn_ms, len(learners))


def total(counts: Iterable[PassFail]) -> PassFail:
    """The sum of several PassFail counts."""
    yp = yf = mp = mf = 0
    for c in counts:
        yp += c.young_passed
        yf += c.young_failed
        mp += c.mature_passed
        mf += c.mature_failed
    return PassFail(yp, yf, mp, mf)
