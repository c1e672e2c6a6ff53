"""Scheduling value types shared by scheduling, store, session, stats and export. Pure.

Times are always timezone-aware UTC datetimes. These are the contract between modules: the
store persists them, `scheduling` computes them, `session` and the TUI display them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Any, Literal

Phase = Literal["new", "learning", "review", "relearning"]
ReviewKind = Literal["learn", "review", "relearn", "manual", "import"]


class Rating(IntEnum):
    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4


@dataclass(frozen=True)
class CardState:
    """Where a card stands in its schedule."""

    card_id: str
    phase: Phase = "new"
    step: int | None = None  # index into the learning / relearning steps while in them
    stability: float | None = None  # FSRS memory state, days
    difficulty: float | None = None  # FSRS memory state, 1..10
    due: datetime | None = None  # UTC; None for a new card
    last_review: datetime | None = None  # UTC
    reps: int = 0
    lapses: int = 0
    interval_days: int = 0  # scheduled interval in whole days (0 while (re)learning)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("due", "last_review"):
            if d[key] is not None:
                d[key] = d[key].isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CardState:
        d = dict(d)
        for key in ("due", "last_review"):
            if d.get(key):
                d[key] = parse_utc(d[key])
        return cls(**d)

    def with_(self, **changes: Any) -> CardState:
        return replace(self, **changes)


@dataclass(frozen=True)
class CardFlags:
    """User actions on a card, independent of its schedule."""

    card_id: str
    suspended: bool = False
    buried_until: date | None = None  # study day on which the card is back (exclusive bury end)
    flag: int = 0  # 0 none, 1..7 Anki's flag colours
    leech: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ReviewEntry:
    """One row of the append-only review log."""

    card_id: str
    time: datetime  # UTC
    rating: Rating
    duration_ms: int
    before: CardState
    after: CardState
    kind: ReviewKind = "review"
    source: str = "dlcards"  # "dlcards" or "anki"
    anki_revlog_id: int | None = None


def parse_utc(text: str) -> datetime:
    """ISO 8601 -> aware UTC datetime. A naive time is rejected."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone; write e.g. 2026-01-05T09:00:00Z")
    return value.astimezone(UTC)


def require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: dlcards takes timezone-aware UTC times")
    return value.astimezone(UTC)
