"""The database's schema: applying the named migrations in order (with a backup first), and
the health checks `dlcards doctor` runs (integrity, foreign keys, our own consistency rules,
row counts)."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from dlcards.core.errors import StoreError
from dlcards.store.backup import copy_database, migration_backup_path
from dlcards.store.migrations import LATEST, MIGRATIONS


def schema_version(conn: sqlite3.Connection) -> int:
    """The applied schema version (PRAGMA user_version)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def applied_migrations(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(version, name, applied_at) of every applied migration."""
    return [
        (int(v), str(n), str(a))
        for v, n, a in conn.execute(
            "SELECT version, name, applied_at FROM migrations ORDER BY version"
        )
    ]


def migrate(conn: sqlite3.Connection, path: Path, now: datetime) -> int | None:
    """Bring the database to the latest schema; returns the version it had when one was
    applied (None when it was current). An existing database is copied to
    backups/dlcards-before-v<N>.sqlite3 first; each migration is its own transaction."""
    version = schema_version(conn)
    if version > LATEST:
        raise StoreError(
            f"{path}: the database has schema version {version}, newer than this dlcards "
            f"knows ({LATEST})",
            hint="upgrade dlcards; do not open this database with an older version",
        )
    if version == LATEST:
        return None
    if version > 0:
        copy_database(conn, migration_backup_path(path, LATEST))
    applied_at = now.isoformat(timespec="seconds")
    # Migrations that rebuild a table drop and rename it: with foreign keys on, dropping a
    # parent would cascade to its children. They are off while migrating (SQLite ignores the
    # pragma inside a transaction, so it is set around them) and checked after.
    foreign_keys = int(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    conn.execute("PRAGMA foreign_keys = OFF")
    vacuum = False
    try:
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            record = (
                f"INSERT INTO migrations (version, name, applied_at) VALUES "
                f"({migration.version}, '{migration.name}', '{applied_at}');\n"
                f"PRAGMA user_version = {migration.version};\nCOMMIT;"
            )
            try:
                if migration.prepare is None:
                    conn.executescript("BEGIN IMMEDIATE;\n" + migration.sql + "\n" + record)
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    migration.prepare(conn)
                    # executescript would COMMIT the open transaction first: the statements
                    # run one by one inside it
                    for statement in _statements(migration.sql + "\n" + record):
                        conn.execute(statement)
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, (ValueError, KeyError, TypeError)):  # data `prepare` refused
                    raise StoreError(
                        f"{path}: migration {migration.version} ({migration.name}) failed: {exc}; "
                        f"the database stays at schema version {schema_version(conn)}",
                        hint="`dlcards doctor` shows the schema version; report this with the file",
                    ) from None
                raise
            vacuum = vacuum or (migration.vacuum and version > 0)
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    if vacuum:  # give the freed pages back to the file system; best effort: another
        # process reading the file makes it busy, and the data is migrated either way
        with suppress(sqlite3.OperationalError):
            conn.execute("VACUUM")
    problems = [tuple(r) for r in conn.execute("PRAGMA foreign_key_check")]
    if problems:
        raise StoreError(f"{path}: foreign key problems after migrating: {problems[:5]}")
    return version


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """PRAGMA integrity_check and foreign_key_check plus our own consistency checks."""
    problems: list[str] = []
    for (msg,) in conn.execute("PRAGMA integrity_check"):
        if msg != "ok":
            problems.append(f"integrity_check: {msg}")
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"foreign_key_check: {table} row {rowid} refers to a missing {parent} row")
    bad = conn.execute(
        "SELECT count(*) FROM card_state WHERE phase != 'new' AND (stability IS NULL OR difficulty IS NULL "
        "OR last_review IS NULL OR due IS NULL)"
    ).fetchone()[0]
    if bad:
        problems.append(f"{bad} card states lack stability, difficulty, last review or due")
    version = schema_version(conn)
    recorded = conn.execute("SELECT coalesce(max(version), 0) FROM migrations").fetchone()[0]
    if recorded != version:
        problems.append(f"schema version {version} but the migrations table records {recorded}")
    return problems


def row_counts(conn: sqlite3.Connection, orphans: int) -> dict[str, int]:
    """Row counts for `doctor`: cards, present, orphans, states, reviews, suspended, leeches."""
    q = conn.execute
    return {
        "cards": q("SELECT count(*) FROM cards").fetchone()[0],
        "present": q("SELECT count(*) FROM cards WHERE present = 1").fetchone()[0],
        "orphans": orphans,
        "states": q("SELECT count(*) FROM card_state").fetchone()[0],
        "reviews": q("SELECT count(*) FROM review_log").fetchone()[0],
        "imported_reviews": q(
            "SELECT count(*) FROM review_log WHERE anki_revlog_id IS NOT NULL"
        ).fetchone()[0],
        "suspended": q("SELECT count(*) FROM card_flags WHERE suspended = 1").fetchone()[0],
        "leeches": q("SELECT count(*) FROM card_flags WHERE leech = 1").fetchone()[0],
    }


def _statements(script: str) -> list[str]:
    """An SQL script split into complete statements (`sqlite3.complete_statement`)."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current)
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        out.append(current)
    return out
