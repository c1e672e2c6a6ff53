"""Migration 11 (`packed_review_log`, issue 16 item 1, session 5): every review carries what
the statistics read of it in one STORED generated integer, `review_log.packed`. These tests
take a real store back to the schema-10 layout, migrate it, and check that nothing changed but
the new column, that the column holds the frozen layout for every row (computed here in Python
from the row's own columns, not from the SQL that defines it), and that the rest of the schema
(the `reviews` view, the change-counting triggers, the indexes, the sync links) still works."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dlcards.insights.log_figures import LogFigures
from dlcards.insights.retention import MATURE_DAYS
from dlcards.store import Store
from dlcards.store import stats_queries as Q
from dlcards.store.migrations import (
    MIGRATIONS,
    PACKED_DURATION_SHIFT,
    PACKED_MATURE_DAYS,
)
from test_stats_log_cache import CAL
from test_stats_sql import random_history

END = datetime(2026, 4, 1, 12, tzinfo=UTC)
V10 = 10
_NAMES = (
    "id, card, time, info, duration_ms, step, stability, difficulty, due, last_review, reps, "
    "lapses, interval_days, anki_revlog_id, source, before"
)
_PHASES = {"new": 0, "learning": 1, "review": 2, "relearning": 3}


def _class(interval: int) -> int:
    return 2 if interval >= 21 else 1 if interval >= 1 else 0


def expected_packed(row: tuple[Any, ...]) -> int | None:
    """The frozen layout of `packed`, from the row's columns (see migrations.V11)."""
    card, info, duration, interval, before = row
    if not -(1 << 24) <= duration < 1 << 24:
        return None
    stored = 0
    if before is not None:
        b = json.loads(before)
        phase = b[0] if isinstance(b[0], int) else _PHASES[b[0]]
        stored = 1 | (phase << 1) | (_class(b[8]) << 3)
    packed: int = card | (stored << 24) | (info << 29) | (_class(interval) << 36) | (duration << 38)
    return packed


def fresh_schema(tmp: Path, upto: int) -> list[tuple[str, str, str]]:
    path = tmp / f"fresh{upto}.sqlite3"
    conn = sqlite3.connect(path)
    for m in MIGRATIONS[:upto]:
        conn.executescript(m.sql)
    out = schema_of(conn)
    conn.close()
    return out


def schema_of(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    return sorted(
        conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    )


def back_to_v10(path: Path) -> None:
    """The store's file as schema 10 had it (the same data): a database made by migrations
    1-10 alone, every table's rows copied in (the columns schema 10 has), put in its place.
    Later migrations (this one's column and any after it) are gone with their schema."""
    fresh_path = path.with_name(path.name + ".v10")
    fresh = sqlite3.connect(fresh_path, isolation_level=None)
    for m in MIGRATIONS[:V10]:
        fresh.executescript(m.sql)
    fresh.execute("PRAGMA foreign_keys = OFF")
    fresh.execute("ATTACH DATABASE ? AS latest", (str(path),))
    fresh.execute("BEGIN")
    tables = [
        r[0]
        for r in fresh.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        mine = [r[1] for r in fresh.execute(f"PRAGMA main.table_xinfo({table})") if not r[6]]
        theirs = {r[1] for r in fresh.execute(f"PRAGMA latest.table_xinfo({table})")}
        names = ", ".join(c for c in mine if c in theirs)
        fresh.execute(f"DELETE FROM main.{table}")
        fresh.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM latest.{table}")
    fresh.execute(f"DELETE FROM main.migrations WHERE version > {V10}")
    fresh.execute(f"PRAGMA main.user_version = {V10}")
    fresh.execute("COMMIT")
    fresh.execute("DETACH DATABASE latest")
    fresh.close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    fresh_path.replace(path)


@pytest.fixture
def v10_store(tmp_path: Path) -> Path:
    """A real store with a varied history (imports with stored `before` states, long and
    negative durations, Anki links), taken back to schema 10."""
    path = tmp_path / "home" / "dlcards.sqlite3"
    path.parent.mkdir()
    with Store.open(path) as s:
        s.import_reviews(random_history(7, 60, 400, END))
        s.import_reviews(random_history(8, 30, 150, END))  # a second history over the first
        with s.conn:
            s.conn.execute("UPDATE review_log SET duration_ms = 1 << 30 WHERE id % 37 = 1")
            s.conn.execute("UPDATE review_log SET duration_ms = -(1 << 24) WHERE id % 41 = 2")
            s.conn.execute("UPDATE review_log SET duration_ms = (1 << 24) - 1 WHERE id % 43 = 3")
            s.conn.execute(
                "INSERT INTO sync_review_ids (review_id, revlog_id) "
                "SELECT id, 1700000000000 + id FROM review_log WHERE id % 5 = 0"
            )
    back_to_v10(path)
    return path


def test_the_v10_layout_is_schema_10(v10_store: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(v10_store)
    try:
        assert schema_of(conn) == fresh_schema(tmp_path, V10)
    finally:
        conn.close()


def test_the_migration_keeps_every_review_and_packs_each(v10_store: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(v10_store)
    before = conn.execute(f"SELECT {_NAMES} FROM review_log ORDER BY id").fetchall()
    view_before = conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    links_before = conn.execute("SELECT * FROM sync_review_ids ORDER BY review_id").fetchall()
    conn.close()
    assert len(before) > 500
    assert any(r[-1] is not None for r in before), "no stored `before` state to pack"

    with Store.open(v10_store) as s:  # opening migrates
        assert s.schema_version == MIGRATIONS[-1].version >= 11
        assert s.integrity_check() == []
        assert schema_of(s.conn) == fresh_schema(tmp_path, len(MIGRATIONS))  # as a new one has it
        after = s.conn.execute(f"SELECT {_NAMES} FROM review_log ORDER BY id").fetchall()
        assert after == before
        assert s.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall() == view_before
        assert (
            s.conn.execute("SELECT * FROM sync_review_ids ORDER BY review_id").fetchall()
            == links_before
        )
        rows = s.conn.execute(
            "SELECT card, info, duration_ms, interval_days, before, packed FROM review_log"
        ).fetchall()
        assert [r[5] for r in rows] == [expected_packed(r[:5]) for r in rows]
        assert sum(r[5] is None for r in rows) > 5  # the long durations
        assert any(r[5] is not None and r[5] < 0 for r in rows)  # the negative ones
        # writers never name the column: a new answer is packed when written
        s.conn.execute("UPDATE review_log SET interval_days = 30 WHERE id = 2")
        row = s.conn.execute(
            "SELECT card, info, duration_ms, interval_days, before, packed FROM review_log "
            "WHERE id = 2"
        ).fetchone()
        assert row[5] == expected_packed(row[:5])
        # the triggers count what is not an append
        n0 = s.conn.execute("SELECT n FROM log_changes").fetchone()[0]
        s.conn.execute("UPDATE review_log SET duration_ms = 5 WHERE id = 3")
        s.conn.execute("DELETE FROM sync_review_ids WHERE review_id = 4")
        s.conn.execute("DELETE FROM review_log WHERE id = 4")
        assert s.conn.execute("SELECT n FROM log_changes").fetchone()[0] == n0 + 2
        # the statistics read the packed column and agree with the review objects
        got = Q.log_figures(s.conn, CAL)
        oracle = LogFigures.of(s.reviews(), CAL)
        assert (got.days, got.cards, got.durations) == (oracle.days, oracle.cards, oracle.durations)
    assert list((v10_store.parent / "backups").glob("dlcards-before-v*.sqlite3"))


def test_a_fresh_database_has_the_column(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.sqlite3") as s:
        s.import_reviews(random_history(3, 5, 20, END))
        rows = s.conn.execute(
            "SELECT card, info, duration_ms, interval_days, before, packed FROM review_log"
        ).fetchall()
    assert rows and [r[5] for r in rows] == [expected_packed(r[:5]) for r in rows]


def test_the_layout_constants_match_the_statistics() -> None:
    """`packed` classes intervals at 21 days: if the statistics' mature threshold moves, the
    scan must not read the stale class (it falls back to the columns: `_all_rows`)."""
    assert PACKED_MATURE_DAYS == MATURE_DAYS == 21
    assert PACKED_DURATION_SHIFT == 38
