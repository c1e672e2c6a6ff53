"""How rows are written and read: times as ISO 8601 UTC text, card states and review-log rows
as column tuples, the SQL that writes them, and the `CardInfo` rows of the cards table.

Times outside the review log are stored with microseconds (`2026-01-05T09:00:00.000000+00:00`):
readable in the sqlite3 shell and sortable as text.

The review log (`review_log`, migration 7, issue 16) is stored lean: the card by its number
in `cards`, the time as microseconds since 1970 UTC, rating / kind / phase after packed in
`info`, the state after the answer with `due` and `last_review` as microseconds after the
review's time, and the state before it only where it is not the card's previous review's
state after (or a new card's, for the first): then as JSON (`_key_json`). The view `reviews`
shows the old columns (without `before_*`) for the sqlite3 shell and scripts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import StoreError
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


_UPSERT_STATE = (
    "INSERT INTO card_state (card_id, "
    + ", ".join(_STATE_FIELDS)
    + ") VALUES ("
    + ", ".join("?" * (1 + len(_STATE_FIELDS)))
    + ") ON CONFLICT (card_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _STATE_FIELDS)
)

# -- the lean review log ----------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
PHASES = ("new", "learning", "review", "relearning")  # code = index
KINDS = ("learn", "review", "relearn", "manual", "import")  # code = index
_PHASE_CODE = {p: i for i, p in enumerate(PHASES)}
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
# A state as plain values: (phase code, step, stability, difficulty, due µs, last review µs,
# reps, lapses, interval days). Compared to tell a derivable `before` from one to store.
StateKey = tuple[Any, ...]
NEW_KEY: StateKey = (0, None, None, None, None, None, 0, 0, 0)


def _us(value: datetime) -> int:
    """An aware time -> microseconds since 1970 UTC (exact integer arithmetic)."""
    return (require_utc(value) - EPOCH) // _ONE_US


@lru_cache(maxsize=8192)
def _at(us: int | None) -> datetime | None:
    """Microseconds since 1970 UTC -> aware UTC datetime (exact)."""
    return None if us is None else EPOCH + timedelta(microseconds=us)


def _info(rating: int, kind: str, phase: str) -> int:
    """(rating - 1) | kind code << 2 | phase-after code << 5: one byte on disk."""
    try:
        if not 1 <= int(rating) <= 4:
            raise KeyError(rating)
        return (int(rating) - 1) | _KIND_CODE[kind] << 2 | _PHASE_CODE[phase] << 5
    except KeyError:
        raise StoreError(
            f"cannot store a review with rating {rating!r}, kind {kind!r}, phase {phase!r}"
        ) from None


def _state_key(state: CardState) -> StateKey:
    try:
        phase = _PHASE_CODE[state.phase]
    except KeyError:
        raise StoreError(f"unknown card phase {state.phase!r}") from None
    return (
        phase,
        state.step,
        state.stability,
        state.difficulty,
        None if state.due is None else _us(state.due),
        None if state.last_review is None else _us(state.last_review),
        state.reps,
        state.lapses,
        state.interval_days,
    )


def _key_json(key: StateKey) -> str:
    """A stored `before`: JSON keeps every float exactly (repr round-trips)."""
    return json.dumps(list(key), allow_nan=True)


def _json_key(text: str) -> StateKey:
    return tuple(json.loads(text))


def _state_of_key(card_id: str, key: Sequence[Any]) -> CardState:
    phase, step, stability, difficulty, due, last, reps, lapses, interval = key
    state: CardState = _fast(
        CardState,
        {
            "card_id": card_id,
            "phase": PHASES[phase],
            "step": step,
            "stability": stability,
            "difficulty": difficulty,
            "due": _at(due),
            "last_review": _at(last),
            "reps": reps,
            "lapses": lapses,
            "interval_days": interval,
        },
    )
    return state


# columns of a log row as `_LOG_SELECT` returns them
_L_ID, _L_CARD_ID, _L_REF, _L_TIME, _L_INFO, _L_DURATION = range(6)
_L_STEP, _L_STAB, _L_DIFF, _L_DUE, _L_LAST, _L_REPS, _L_LAPSES, _L_IVL = range(6, 14)
_L_ANKI, _L_SOURCE, _L_BEFORE = 14, 15, 16
_LOG_COLUMNS = (
    "l.id, c.card_id, l.card, l.time, l.info, l.duration_ms, l.step, l.stability, "
    "l.difficulty, l.due, l.last_review, l.reps, l.lapses, l.interval_days, "
    "l.anki_revlog_id, l.source, l.before"
)
_LOG_SELECT = f"SELECT {_LOG_COLUMNS} FROM review_log AS l JOIN cards AS c ON c.id = l.card"
_INSERT_LOG = (
    "INSERT INTO review_log (card, time, info, duration_ms, step, stability, difficulty, due, "
    "last_review, reps, lapses, interval_days, anki_revlog_id, source, before) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _after_key(row: Sequence[Any]) -> StateKey:
    """The state after the review of a `_LOG_SELECT` row, as plain values."""
    t, due, last = row[_L_TIME], row[_L_DUE], row[_L_LAST]
    return (
        row[_L_INFO] >> 5,
        row[_L_STEP],
        row[_L_STAB],
        row[_L_DIFF],
        None if due is None else t + due,
        None if last is None else t + last,
        row[_L_REPS],
        row[_L_LAPSES],
        row[_L_IVL],
    )


def _log_values(entry: ReviewEntry, card_ref: int, before: str | None) -> tuple[Any, ...]:
    """The `_INSERT_LOG` parameters of an entry (its `before` column given: None = derived)."""
    after = entry.after
    t = _us(entry.time)
    return (
        card_ref,
        t,
        _info(entry.rating, entry.kind, after.phase),
        int(entry.duration_ms),
        after.step,
        after.stability,
        after.difficulty,
        None if after.due is None else _us(after.due) - t,
        None if after.last_review is None else _us(after.last_review) - t,
        after.reps,
        after.lapses,
        after.interval_days,
        entry.anki_revlog_id,
        None if entry.source == "dlcards" else entry.source,
        before,
    )


def _new_state(card_id: str) -> CardState:
    return _state_of_key(card_id, NEW_KEY)


def _entry_from(row: Sequence[Any], before: CardState) -> ReviewEntry:
    """A `_LOG_SELECT` row -> ReviewEntry, with the `before` state found by the caller."""
    card_id = row[_L_CARD_ID]
    info = row[_L_INFO]
    entry: ReviewEntry = _fast(
        ReviewEntry,
        {
            "card_id": card_id,
            "time": _at(row[_L_TIME]),
            "rating": _RATINGS[(info & 3) + 1],
            "duration_ms": row[_L_DURATION],
            "before": before,
            "after": _state_of_key(card_id, _after_key(row)),
            "kind": KINDS[(info >> 2) & 7],
            "source": "dlcards" if row[_L_SOURCE] is None else row[_L_SOURCE],
            "anki_revlog_id": row[_L_ANKI],
        },
    )
    return entry


@dataclass(frozen=True)
class CardInfo:
    """A card as the Markdown has it: ids, kind, source location, content hash."""

    card_id: str
    note_id: str
    kind: str
    path: str
    line: int
    content_hash: str


# a card as `Store.sync_card_rows` takes it: card_id, note_id, kind, path, line, content_hash
CardRow = tuple[str, str, str, str, int, str]


def card_rows(notes: Iterable[Note]) -> list[CardRow]:
    """The store's view of every card of these notes, as plain rows (no object per card)."""
    return [
        (cid, note.id, note.kind, note.path, note.line, note.content_hash)
        for note in notes
        for cid in note.card_ids()
    ]


def card_infos(notes: Iterable[Note]) -> list[CardInfo]:
    """The store's view of every card of these notes (what `Store.sync_cards` takes)."""
    return [CardInfo(*row) for row in card_rows(notes)]
