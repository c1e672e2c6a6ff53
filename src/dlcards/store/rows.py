"""How rows are written and read: times as ISO 8601 UTC text, card states and review-log rows
as column tuples, the SQL that writes them, and the `CardInfo` rows of the cards table.

Times are stored with microseconds (`2026-01-05T09:00:00.000000+00:00`): readable in the sqlite3
shell and sortable as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dlcards.core.state import CardState, Rating, ReviewEntry, require_utc

if TYPE_CHECKING:
    from dlcards.core.model import Note  # typing only: no pydantic on light paths

_STATE_FIELDS = (
    "phase",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "interval_days",
)
_CLOZE_ID = re.compile(r"(.+)/c[0-9]+")
_CHUNK = 500
_RATINGS = {int(r): r for r in Rating}  # ids per IN (...) query, well under SQLite's variable limit


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return require_utc(value).isoformat(timespec="microseconds")


@lru_cache(maxsize=8192)
def _dt(text: str | None) -> datetime | None:
    """Stored time -> aware UTC datetime (cached: a review's `before` repeats the last `after`)."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _note_of(card_id: str) -> str:
    """The note id of a card id (`<note>/c<n>` for cloze cards)."""
    match = _CLOZE_ID.fullmatch(card_id)
    return match.group(1) if match else card_id


def _state_values(state: CardState) -> tuple[Any, ...]:
    return (
        state.phase,
        state.step,
        state.stability,
        state.difficulty,
        _ts(state.due),
        _ts(state.last_review),
        state.reps,
        state.lapses,
        state.interval_days,
    )


def _fast(cls: type[Any], fields: dict[str, Any]) -> Any:
    """Build a frozen dataclass from trusted, complete column values without its __init__
    (frozen __init__ costs a setattr per field; reading 100k reviews spends most time there)."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def _state_from(card_id: str, row: Sequence[Any]) -> CardState:
    phase, step, stability, difficulty, due, last_review, reps, lapses, interval = row
    state: CardState = _fast(
        CardState,
        {
            "card_id": card_id,
            "phase": phase,
            "step": step,
            "stability": stability,
            "difficulty": difficulty,
            "due": _dt(due),
            "last_review": _dt(last_review),
            "reps": reps,
            "lapses": lapses,
            "interval_days": interval,
        },
    )
    return state


_REVIEW_COLUMNS = (
    "id, card_id, time, rating, duration_ms, kind, source, anki_revlog_id, "
    + ", ".join(f"before_{f}" for f in _STATE_FIELDS)
    + ", "
    + ", ".join(f"after_{f}" for f in _STATE_FIELDS)
)
_INSERT_REVIEW = (
    "INSERT INTO reviews (card_id, time, rating, duration_ms, kind, source, anki_revlog_id, "
    + ", ".join(f"before_{f}" for f in _STATE_FIELDS)
    + ", "
    + ", ".join(f"after_{f}" for f in _STATE_FIELDS)
    + ") VALUES ("
    + ", ".join("?" * (7 + 2 * len(_STATE_FIELDS)))
    + ")"
)
_UPSERT_STATE = (
    "INSERT INTO card_state (card_id, "
    + ", ".join(_STATE_FIELDS)
    + ") VALUES ("
    + ", ".join("?" * (1 + len(_STATE_FIELDS)))
    + ") ON CONFLICT (card_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _STATE_FIELDS)
)


def _review_values(entry: ReviewEntry) -> tuple[Any, ...]:
    return (
        entry.card_id,
        _ts(entry.time),
        int(entry.rating),
        int(entry.duration_ms),
        entry.kind,
        entry.source,
        entry.anki_revlog_id,
        *_state_values(entry.before),
        *_state_values(entry.after),
    )


def _review_from(row: Sequence[Any]) -> tuple[int, ReviewEntry]:
    n = len(_STATE_FIELDS)
    rid, card_id, time, rating, duration, kind, source, anki_id = row[:8]
    before = _state_from(card_id, row[8 : 8 + n])
    after = _state_from(card_id, row[8 + n : 8 + 2 * n])
    entry: ReviewEntry = _fast(
        ReviewEntry,
        {
            "card_id": card_id,
            "time": _dt(time),
            "rating": _RATINGS[rating],
            "duration_ms": duration,
            "before": before,
            "after": after,
            "kind": kind,
            "source": source,
            "anki_revlog_id": anki_id,
        },
    )
    return rid, entry


@dataclass(frozen=True)
class CardInfo:
    """A card as the Markdown has it: ids, kind, source location, content hash."""

    card_id: str
    note_id: str
    kind: str
    path: str
    line: int
    content_hash: str


def card_infos(notes: Iterable[Note]) -> list[CardInfo]:
    """The store's view of every card of these notes (what `Store.sync_cards` takes)."""
    return [
        CardInfo(cid, note.id, note.kind, note.path, note.line, note.content_hash)
        for note in notes
        for cid in note.card_ids()
    ]
