"""Card states and flags read as columns (`dlcards.insights.state_arrays`): one scan of
`card_state` / `card_flags` straight into numpy arrays, no `CardState` object per card. Used by
`dlcards stats`, `dlcards prune` and `dlcards list` (issue 16).

Times are returned as integer microseconds since the epoch. Stored times are ISO 8601 UTC text
with microseconds (`dlcards.store.rows._ts`); an integer column (a later schema) is taken as
it is stored only if it is already in microseconds, so the conversion is spelled out in
`_MICROS` below and checked by tests/test_stats_columnar.py against `Store.states()`.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.store.list_digest import connect_read

if TYPE_CHECKING:  # numpy only where the arrays are built: `dlcards list` reads `schedule_rows`
    from dlcards.insights.state_arrays import FlagArrays, StateArrays

__all__ = [
    "flag_arrays",
    "read_schedule",
    "read_schedule_digest",
    "schedule_rows",
    "state_arrays",
]

_CHUNK = 16384
_PHASES = ("new", "learning", "review", "relearning")  # dlcards.insights.state_arrays.PHASES
_PHASE = "CASE phase " + " ".join(f"WHEN '{p}' THEN {i}" for i, p in enumerate(_PHASES)) + " END"
NO_TIME = -(2**63)  # dlcards.insights.state_arrays.NO_TIME


def _micros(column: str) -> str:
    """SQL: a stored time (ISO 8601 UTC text, `+00:00`) as integer microseconds; NULL stays
    NULL. The seconds are read without their fraction: `unixepoch('...:26.999619+00:00')`
    rounds to milliseconds first (27 s)."""
    return (
        f"unixepoch(substr({column}, 1, 19)) * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER)"
    )


_STATES = f"""
SELECT card_id, {_PHASE}, coalesce({_micros("due")}, {NO_TIME}),
       coalesce({_micros("last_review")}, {NO_TIME}), interval_days, reps,
       lapses, stability, difficulty
FROM card_state"""
_FLAGS = "SELECT card_id, suspended, leech, flag, buried_until FROM card_flags"


def _ids_filter(card_ids: Iterable[str] | None) -> tuple[str, tuple[str, ...]]:
    if card_ids is None:
        return "", ()
    import json

    return " WHERE card_id IN (SELECT value FROM json_each(?))", (json.dumps(list(card_ids)),)


def state_arrays(conn: sqlite3.Connection, card_ids: Iterable[str] | None = None) -> StateArrays:
    """Every stored state (or those of `card_ids`) as columns, in one scan."""
    import numpy as np

    from dlcards.insights.state_arrays import StateArrays

    where, args = _ids_filter(card_ids)
    ids: list[str] = []
    ints: list[np.ndarray] = []
    floats: list[np.ndarray] = []
    cur = conn.execute(_STATES + where, args)
    first, six, two = itemgetter(0), itemgetter(1, 2, 3, 4, 5, 6), itemgetter(7, 8)
    while rows := cur.fetchmany(_CHUNK):
        ids += map(first, rows)
        k = len(rows)
        chunk = np.fromiter(itertools.chain.from_iterable(map(six, rows)), np.int64, 6 * k)
        ints.append(chunk.reshape(k, 6))
        floats.append(np.array(list(map(two, rows)), dtype=np.float64).reshape(k, 2))  # None: NaN
    i = np.concatenate(ints) if ints else np.empty((0, 6), np.int64)
    f = np.concatenate(floats) if floats else np.empty((0, 2), np.float64)
    return StateArrays(
        ids,
        i[:, 0].astype(np.int8),
        np.ascontiguousarray(f[:, 0]),
        np.ascontiguousarray(f[:, 1]),
        np.ascontiguousarray(i[:, 1]),
        np.ascontiguousarray(i[:, 2]),
        np.ascontiguousarray(i[:, 3]),
        np.ascontiguousarray(i[:, 4]),
        np.ascontiguousarray(i[:, 5]),
    )


def flag_arrays(conn: sqlite3.Connection, card_ids: Iterable[str] | None = None) -> FlagArrays:
    """Every stored flag row (or those of `card_ids`) as columns."""
    import numpy as np

    from dlcards.insights.state_arrays import FlagArrays

    where, args = _ids_filter(card_ids)
    rows = conn.execute(_FLAGS + where, args).fetchall()
    return FlagArrays(
        [r[0] for r in rows],
        np.array([r[1] for r in rows], dtype=bool),
        np.array([r[2] for r in rows], dtype=bool),
        np.array([r[3] for r in rows], dtype=np.int8),
        [date.fromisoformat(r[4]) if r[4] else None for r in rows],
    )


_SCHEDULE = f"""
SELECT card_id, phase, {_micros("due")}, {_micros("last_review")}, stability FROM card_state"""
_FLAG_CELLS = "SELECT card_id, suspended, leech, flag FROM card_flags"


def schedule_rows(
    conn: sqlite3.Connection,
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """What `dlcards list`'s table shows of the cards with a state or flags, without numpy:
    (card id -> (phase, due µs, last review µs, stability), card id -> (suspended, leech,
    flag)); a time or stability the card has not is None."""
    states = {r[0]: r[1:] for r in conn.execute(_SCHEDULE)}
    flags = {r[0]: r[1:] for r in conn.execute(_FLAG_CELLS)}
    return states, flags


def read_schedule(
    path: Path,
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]], str] | None:
    """`schedule_rows` of the store file and a fingerprint of its adopted FSRS parameters,
    through a read-only connection without the `Store`'s set-up (a light read); None on any
    SQLite error (the caller takes the full path)."""
    try:
        conn = connect_read(str(path.resolve()))
        try:
            states, flags = schedule_rows(conn)
            row = conn.execute(
                "SELECT count(*), max(id), count(rolled_back_at) FROM fsrs_params"
            ).fetchone()
            return states, flags, repr(tuple(row))
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def read_schedule_digest(
    path: Path,
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]], str, str] | None:
    """`read_schedule` and `dlcards.store.list_digest.digest` of one snapshot of the store
    (one read transaction); None on any SQLite error."""
    from dlcards.store.list_digest import digest as schedule_digest

    try:
        conn = connect_read(str(path.resolve()))
        try:
            conn.execute("BEGIN")
            states, flags = schedule_rows(conn)
            row = conn.execute(
                "SELECT count(*), max(id), count(rolled_back_at) FROM fsrs_params"
            ).fetchone()
            digest = schedule_digest(conn)
            conn.execute("COMMIT")
            return states, flags, repr(tuple(row)), digest
        finally:
            conn.close()
    except sqlite3.Error:
        return None
