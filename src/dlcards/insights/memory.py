"""Distributions of the memory state (stability, difficulty, retrievability) for `dlcards
stats`: count, mean, median and a histogram each. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from typing_extensions import TypedDict

from dlcards.core.state import CardState
from dlcards.insights.retention import Retrievability

STABILITY_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<1d", 0.0, 1.0),
    ("1-3d", 1.0, 3.0),
    ("3-7d", 3.0, 7.0),
    ("1-3w", 7.0, 21.0),
    ("3w-3mo", 21.0, 90.0),
    ("3mo-1y", 90.0, 365.0),
    (">1y", 365.0, math.inf),
)
DIFFICULTY_BUCKETS = tuple((f"{i}-{i + 1}", float(i), float(i + 1)) for i in range(1, 10))
RETRIEVABILITY_BUCKETS = tuple(
    (f"{i * 10}-{i * 10 + 10}%", i / 10, (i + 1) / 10) for i in range(10)
)


class BucketDict(TypedDict):
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str
    count: int

    def to_dict(self) -> BucketDict:
        return {"label": self.label, "count": self.count}


class DistributionDict(TypedDict):
    count: int
    mean: float | None
    median: float | None
    buckets: list[BucketDict]


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    mean: float | None
    median: float | None
    buckets: tuple[Bucket, ...]

    def to_dict(self) -> DistributionDict:
        return {
            "count": self.count,
            "mean": self.mean,
            "median": self.median,
            "buckets": [b.to_dict() for b in self.buckets],
        }


class DistributionsDict(TypedDict):
    stability: DistributionDict
    difficulty: DistributionDict
    retrievability: DistributionDict


@dataclass(frozen=True, slots=True)
class DistributionsBlock:
    stability: Distribution
    difficulty: Distribution
    retrievability: Distribution

    def to_dict(self) -> DistributionsDict:
        return {
            "stability": self.stability.to_dict(),
            "difficulty": self.difficulty.to_dict(),
            "retrievability": self.retrievability.to_dict(),
        }


def histogram(
    values: list[float], edges: tuple[tuple[str, float, float], ...]
) -> tuple[Bucket, ...]:
    counts = [0] * len(edges)
    for v in values:
        for i, (_, lo, hi) in enumerate(edges):
            if lo <= v < hi or (i == len(edges) - 1 and v == hi):
                counts[i] += 1
                break
    return tuple(Bucket(label, c) for (label, _, _), c in zip(edges, counts, strict=True))


def distribution(values: list[float], edges: tuple[tuple[str, float, float], ...]) -> Distribution:
    buckets = histogram(values, edges)
    if not values:
        return Distribution(0, None, None, buckets)
    s = sorted(values)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return Distribution(n, round(sum(s) / n, 4), round(median, 4), buckets)


def distributions_block(
    card_ids: list[str],
    states: dict[str, CardState],
    suspended: set[str],
    retrievability: Retrievability,
    now: datetime,
) -> DistributionsBlock:
    """Stability, difficulty and retrievability of the cards with a memory state (not suspended)."""
    stab: list[float] = []
    diff: list[float] = []
    retr: list[float] = []
    for cid in card_ids:
        st = states.get(cid)
        if st is None or st.phase == "new" or cid in suspended:
            continue
        if st.stability is not None:
            stab.append(st.stability)
        if st.difficulty is not None:
            diff.append(st.difficulty)
        r = retrievability(st, now)
        if r is not None:
            retr.append(r)
    return DistributionsBlock(
        stability=distribution(stab, STABILITY_BUCKETS),
        difficulty=distribution(diff, DIFFICULTY_BUCKETS),
        retrievability=distribution(retr, RETRIEVABILITY_BUCKETS),
    )
