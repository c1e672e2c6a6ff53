"""The card blocks of `dlcards stats` (counts, forecast, memory distributions, mean difficulty
per topic and week) from state and flag columns (`dlcards.insights.state_arrays`) instead of
one `CardState` per card. Pure. The same numbers as the object builders
(`counts_block`, `forecast_block`, `distributions_block`, `group_rows`): the floating point
steps are the same expressions in the same order (tests/test_stats_columnar.py compares them
on random states).

Retrievability is a forgetting curve given by its constants (`Curve`): `(1 + factor * days /
stability) ** exponent`, which is both `Scheduler.forgetting_curve` and the FSRS-6 default
curve (`fsrs6_retrievability`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from dlcards.core.calendar import StudyCalendar
from dlcards.insights.forecast import FORECAST_DAYS, ForecastBlock, forecast_of_counts
from dlcards.insights.memory import (
    DIFFICULTY_BUCKETS,
    RETRIEVABILITY_BUCKETS,
    STABILITY_BUCKETS,
    Bucket,
    Distribution,
    DistributionsBlock,
)
from dlcards.insights.retention import (
    FSRS6_DEFAULT_DECAY,
    MATURE_DAYS,
    CardFiguresLike,
    CardMeta,
    GroupKey,
    GroupRow,
    ratio,
)
from dlcards.insights.state_arrays import (
    LEARNING,
    NEW,
    NO_TIME,
    RELEARNING,
    REVIEW,
    FlagArrays,
    StateArrays,
    micros,
)
from dlcards.insights.stats_report import CountsBlock


@dataclass(frozen=True, slots=True)
class Curve:
    """A forgetting curve R = (1 + factor * days / stability) ** exponent, `days` the
    fractional days since the last review (never negative)."""

    factor: float
    exponent: float
    positive_stability_only: bool = False  # fsrs6_retrievability: None when stability <= 0

    @classmethod
    def fsrs6_default(cls, decay: float = FSRS6_DEFAULT_DECAY) -> Curve:
        """`dlcards.insights.retention.fsrs6_retrievability`'s curve."""
        return cls(0.9 ** (-1 / decay) - 1, -decay, True)


def counts_of(states: StateArrays, flags: FlagArrays) -> CountsBlock:
    """`counts_block` of aligned columns (one element per card of the decks)."""
    phase = states.phase
    review = phase == REVIEW
    mature = review & (states.interval_days >= MATURE_DAYS)
    return CountsBlock(
        cards=len(states),
        new=int((phase == NEW).sum()),
        learning=int(((phase == LEARNING) | (phase == RELEARNING)).sum()),
        young=int((review & ~mature).sum()),
        mature=int(mature.sum()),
        suspended=int(flags.suspended.sum()),
        leeches=int(flags.leech.sum()),
    )


def forecast_of(
    states: StateArrays,
    flags: FlagArrays,
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
    """`forecast_block` of aligned columns: the due times are placed among the next `days`
    study days' starts (as the calendar computes them; overdue counts on today)."""
    suspended = flags.suspended
    phase = states.phase
    due = states.due_us[~suspended & (phase != NEW) & (states.due_us != NO_TIME)]
    starts = np.array([micros(cal.day_start(today + timedelta(days=i))) for i in range(days + 1)])
    offset = np.maximum(np.searchsorted(starts, due, side="right") - 1, 0)
    due_per_day = np.bincount(offset[offset < days], minlength=days).tolist()
    new_left = int((~suspended & (phase == NEW)).sum())
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


def _histogram(
    values: np.ndarray, edges: tuple[tuple[str, float, float], ...]
) -> tuple[Bucket, ...]:
    """`dlcards.insights.memory.histogram`: each value in the first bucket lo <= v < hi (the
    last bucket also takes v == hi)."""
    taken = np.zeros(values.shape, dtype=bool)
    out = []
    for i, (label, lo, hi) in enumerate(edges):
        inside = (values >= lo) & (values < hi)
        if i == len(edges) - 1:
            inside |= values == hi
        inside &= ~taken
        taken |= inside
        out.append(Bucket(label, int(inside.sum())))
    return tuple(out)


def _distribution(values: np.ndarray, edges: tuple[tuple[str, float, float], ...]) -> Distribution:
    """`dlcards.insights.memory.distribution` (the mean summed in sorted order, as there)."""
    buckets = _histogram(values, edges)
    if not len(values):
        return Distribution(0, None, None, buckets)
    s = np.sort(values).tolist()
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return Distribution(n, round(sum(s) / n, 4), round(median, 4), buckets)


def retrievabilities(
    states: StateArrays, mask: np.ndarray, curve: Curve, now: datetime
) -> list[float]:
    """R at `now` of the cards in `mask` that have a stability and a last review (the curve's
    expression, in Python floats: bit for bit the scheduler's)."""
    has = mask & ~np.isnan(states.stability) & (states.last_us != NO_TIME)
    if curve.positive_stability_only:
        has &= states.stability > 0
    now_us = micros(now)
    factor, exponent = curve.factor, curve.exponent
    return [
        float((1 + factor * max((now_us - last) / 1000000 / 86400.0, 0.0) / s) ** exponent)
        for s, last in zip(
            states.stability[has].tolist(), states.last_us[has].tolist(), strict=True
        )
    ]


def distributions_of(
    states: StateArrays, flags: FlagArrays, curve: Curve, now: datetime
) -> DistributionsBlock:
    """`distributions_block` of aligned columns."""
    mask = (states.phase != NEW) & ~flags.suspended
    stab = states.stability[mask]
    diff = states.difficulty[mask]
    retr = np.array(retrievabilities(states, mask, curve, now), dtype=np.float64)
    return DistributionsBlock(
        stability=_distribution(stab[~np.isnan(stab)], STABILITY_BUCKETS),
        difficulty=_distribution(diff[~np.isnan(diff)], DIFFICULTY_BUCKETS),
        retrievability=_distribution(retr, RETRIEVABILITY_BUCKETS),
    )


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The cards of the decks as the stats group them, as columns (card order): what
    `card_meta(notes)` gives without one `CardMeta` per card."""

    ids: list[str]
    topics: list[str | None]
    weeks: list[int | None]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, meta: Mapping[str, CardMeta]) -> Catalogue:
        ms = list(meta.values())
        return cls(list(meta), [m.topic for m in ms], [m.week for m in ms])


def card_figure_columns(
    ids: list[str], cards: Mapping[str, CardFiguresLike]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(reviews, lapses, retained passes, retained fails) of each of `ids` (0: no reviews)."""
    get = cards.get
    none = (0, 0, 0, 0)
    rows = [
        none if f is None else (f.reviews, f.lapses, f.passed, f.failed)
        for f in (get(c) for c in ids)
    ]
    table = np.array(rows, dtype=np.int64).reshape(len(ids), 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def group_rows_columns(
    keys: list[GroupKey],
    figures: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    states: StateArrays,
) -> list[GroupRow]:
    """`group_rows` of aligned columns: `keys[i]` the group of card i, `figures` its
    `card_figure_columns`, `states` its state. Groups in the order they first appear; the
    mean difficulty sums in card order, as `group_rows_of` does (`bincount` adds its weights
    one by one in index order)."""
    # the groups in the order they first appear (`dict.fromkeys` keeps it), then their codes
    index: dict[GroupKey, int] = dict.fromkeys(keys, 0)
    for i, k in enumerate(index):
        index[k] = i
    codes = np.fromiter(map(index.__getitem__, keys), np.int64, len(keys))
    n = len(index)
    counts = np.bincount(codes, minlength=n).tolist()
    sums = [
        np.bincount(codes, weights=f, minlength=n).round().astype(np.int64).tolist()
        for f in figures
    ]
    has = (states.phase != NEW) & ~np.isnan(states.difficulty)
    d_sum = np.bincount(codes[has], weights=states.difficulty[has], minlength=n).tolist()
    d_n = np.bincount(codes[has], minlength=n).tolist()
    out = []
    for g, i in index.items():
        reviews, lapses, passed, failed = (s[i] for s in sums)
        out.append(
            GroupRow(
                g,
                counts[i],
                reviews,
                lapses,
                passed,
                failed,
                ratio(passed, failed),
                round(d_sum[i] / d_n[i], 2) if d_n[i] else None,
            )
        )
    return out
