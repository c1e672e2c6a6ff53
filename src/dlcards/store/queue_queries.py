"""The review queue's queries (issue 16, item 2): today's due cards by an index, page by page,
instead of every card's state in memory.

Each function takes a connection (`Store.conn`) and returns dlcards values (`CardState`,
`CardFlags`), read with the store's own row conversions. The index `card_state_phase_due`
(migration 8: `card_state (phase, due, card_id)`) serves the due queries in (due, id) order.
Times in `card_state` are ISO 8601 UTC text with microseconds (`rows._ts`), which sorts like
the times themselves, and card ids compare as SQLite's BINARY text (UTF-8 bytes), which sorts
like Python's `str` (code points): so SQL's `ORDER BY due, card_id` is the session's order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from dlcards.core.state import CardFlags, CardState
from dlcards.store.rows import _STATE_FIELDS, _state_from, _ts

_STATE = ", ".join(f"s.{f}" for f in _STATE_FIELDS)
_FLAGS = "f.suspended, f.buried_until, f.flag, f.leech"
_SELECT = (
    f"SELECT s.card_id, {_STATE}, {_FLAGS} FROM card_state AS s "
    "LEFT JOIN card_flags AS f ON f.card_id = s.card_id"
)
_N = len(_STATE_FIELDS)


def _flags_of(card_id: str, row: Sequence[Any]) -> CardFlags | None:
    suspended, buried, flag, leech = row
    if suspended is None:  # no card_flags row
        return None
    return CardFlags(
        card_id=card_id,
        suspended=bool(suspended),
        buried_until=date.fromisoformat(buried) if buried else None,
        flag=flag,
        leech=bool(leech),
    )


def _pairs(rows: Sequence[Sequence[Any]]) -> list[tuple[CardState, CardFlags | None]]:
    return [(_state_from(r[0], r[1 : 1 + _N]), _flags_of(r[0], r[1 + _N : 5 + _N])) for r in rows]


def due_reviews(
    conn: sqlite3.Connection, day_end: datetime, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[CardState, CardFlags | None]]:
    """Review-phase cards due before `day_end`, in (due, card id) order, strictly after
    `after` (a (due, card id) pair; None: from the first), at most `limit`, with their flags."""
    end = _ts(day_end)
    if after is None:
        rows = conn.execute(
            f"{_SELECT} WHERE s.phase = 'review' AND s.due < ? ORDER BY s.due, s.card_id LIMIT ?",
            (end, limit),
        ).fetchall()
    else:
        due, cid = _ts(after[0]), after[1]
        rows = conn.execute(
            f"{_SELECT} WHERE s.phase = 'review' AND s.due < ? "
            "AND (s.due, s.card_id) > (?, ?) "
            "ORDER BY s.due, s.card_id LIMIT ?",
            (end, due, cid, limit),
        ).fetchall()
    return _pairs(rows)


def due_learning(
    conn: sqlite3.Connection, day_end: datetime
) -> list[tuple[CardState, CardFlags | None]]:
    """(Re)learning cards due before `day_end`, with their flags."""
    rows = conn.execute(
        f"{_SELECT} WHERE s.phase IN ('learning', 'relearning') AND s.due < ?",
        (_ts(day_end),),
    ).fetchall()
    return _pairs(rows)


def _ids(conn: sqlite3.Connection, where: str) -> set[str]:
    # one string built by SQLite, split here: ~10x less work than a row per card. Card ids
    # never hold a line break (an id is written on one line).
    (joined,) = conn.execute(
        f"SELECT group_concat(card_id, char(10)) FROM card_state WHERE {where}"
    ).fetchone()
    return set(joined.split("\n")) if joined else set()


def touched_cards(conn: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """(ids whose phase is not new, ids started: not new, or reviewed before and forgotten).
    Ids only: no state is built."""
    not_new = _ids(conn, "phase != 'new'")
    return not_new, not_new | _ids(conn, "phase = 'new' AND reps > 0")
