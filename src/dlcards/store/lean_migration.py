"""The Python half of migration 7 (`lean_review_log`, issue 16), run inside the migration's
transaction just before its SQL (`dlcards.store.migrations.V7_LEAN_REVIEW_LOG`).

The SQL converts every stored time with integer arithmetic that is exact for the text the
store writes (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`), then checks every converted time against the
original text before the old table is dropped. This step makes that true for every row:

1. any time written in another form (an offset, no fraction) is rewritten in that form, in the
   old table, from the same instant (`_dt` then `_ts`: exact);
2. a review whose card row is missing gets a placeholder card (nothing is dropped by a join);
3. every review whose `before` state is not its card's previous review's `after` (a new
   card's state for its first) has that state written, exactly (floats as their repr, times
   in microseconds), to `temp.lean_before`, which the SQL stores in the new `before` column.

A failure anywhere rolls the whole migration back: the old database stays as it was.
"""

from __future__ import annotations

import sqlite3

from dlcards.store.rows import _PHASE_CODE, _dt, _key_json, _note_of, _us

_CANONICAL = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]."
    "[0-9][0-9][0-9][0-9][0-9][0-9]+00:00"
)
_TIME_COLUMNS = (
    "time",
    "before_due",
    "before_last_review",
    "after_due",
    "after_last_review",
)
_STATE_ALL = (
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


def _canonical(text: str | None) -> str | None:
    if text is None:
        return None
    value = _dt(text)
    assert value is not None
    return value.isoformat(timespec="microseconds")


def _is_canonical(column: str) -> str:
    return f"({column} IS NULL OR ({column} GLOB '{_CANONICAL}' AND {column} >= '1970'))"


def prepare(conn: sqlite3.Connection) -> None:
    """Steps 1-3 above (inside the caller's transaction)."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reviews'"
    ).fetchone():
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS lean_before (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"
        )
        return
    # 1. times in the one form the SQL converts
    odd = " OR ".join(f"NOT {_is_canonical(c)}" for c in _TIME_COLUMNS)
    rows = conn.execute(
        f"SELECT id, {', '.join(_TIME_COLUMNS)} FROM reviews WHERE {odd}"
    ).fetchall()
    for rid, *texts in rows:
        fixed = [_canonical(t) for t in texts]
        conn.execute(
            f"UPDATE reviews SET {', '.join(f'{c} = ?' for c in _TIME_COLUMNS)} WHERE id = ?",
            (*fixed, rid),
        )
    # 2. a card row for every review
    stamp = conn.execute(
        "SELECT coalesce(min(time), '1970-01-01T00:00:00.000000+00:00') FROM reviews"
    ).fetchone()[0]
    missing = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT card_id FROM reviews WHERE card_id NOT IN (SELECT card_id FROM cards)"
        )
    ]
    conn.executemany(
        "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, present, "
        "gone_since) VALUES (?, ?, 'unknown', '', 0, '', ?, 0, ?)",
        [(cid, _note_of(cid), stamp, stamp) for cid in missing],
    )
    # 3. the befores that are not the previous review's after
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS lean_before (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"
    )
    conn.execute("DELETE FROM temp.lean_before")
    lagged = ", ".join(f"lag(after_{f}) OVER w AS p_{f}" for f in _STATE_ALL)
    same_as_previous = " AND ".join(f"before_{f} IS p_{f}" for f in _STATE_ALL)
    same_as_new = (
        "before_phase = 'new' AND before_step IS NULL AND before_stability IS NULL AND "
        "before_difficulty IS NULL AND before_due IS NULL AND before_last_review IS NULL AND "
        "before_reps = 0 AND before_lapses = 0 AND before_interval_days = 0"
    )
    befores = ", ".join(f"before_{f}" for f in _STATE_ALL)
    explicit = conn.execute(
        f"SELECT id, {befores} FROM (SELECT *, row_number() OVER w AS n, {lagged} FROM reviews "
        "WINDOW w AS (PARTITION BY card_id ORDER BY time, id)) "
        f"WHERE NOT coalesce(CASE WHEN n = 1 THEN {same_as_new} ELSE {same_as_previous} END, 0)"
    ).fetchall()
    conn.executemany(
        "INSERT INTO temp.lean_before (id, state) VALUES (?, ?)",
        [
            (
                rid,
                _key_json(
                    (
                        _PHASE_CODE[phase],
                        step,
                        stability,
                        difficulty,
                        None if due is None else _us(_dt(due)),  # type: ignore[arg-type]
                        None if last is None else _us(_dt(last)),  # type: ignore[arg-type]
                        reps,
                        lapses,
                        interval,
                    )
                ),
            )
            for rid, phase, step, stability, difficulty, due, last, reps, lapses, interval in explicit
        ],
    )
