"""Backups of the review database: one per study day (the caller says which day it is), and a
copy before each migration. Made with SQLite's online backup API, so a backup is a complete,
consistent database even while answers are being written (WAL)."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

BACKUP_DIR = "backups"
BACKUP_PREFIX = "dlcards-"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    day: date
    size: int


def list_backups(db_path: Path) -> list[BackupInfo]:
    """The daily backups next to a database (backups/dlcards-YYYY-MM-DD.sqlite3), newest first.
    Works without opening the database (e.g. when it is damaged)."""
    folder = db_path.parent / BACKUP_DIR
    out = []
    if folder.is_dir():
        for p in folder.glob(f"{BACKUP_PREFIX}????-??-??.sqlite3"):
            try:
                day = date.fromisoformat(p.stem[len(BACKUP_PREFIX) :])
            except ValueError:
                continue
            out.append(BackupInfo(p, day, p.stat().st_size))
    return sorted(out, key=lambda b: b.day, reverse=True)


def daily_backup_path(db_path: Path, day: date) -> Path:
    return db_path.parent / BACKUP_DIR / f"{BACKUP_PREFIX}{day.isoformat()}.sqlite3"


def migration_backup_path(db_path: Path, version: int) -> Path:
    return db_path.parent / BACKUP_DIR / f"{BACKUP_PREFIX}before-v{version}.sqlite3"


def copy_database(conn: sqlite3.Connection, target: Path) -> None:
    """A complete copy of the open database at `target` (written to a .tmp, then renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    dst = sqlite3.connect(tmp)
    try:
        conn.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
    tmp.replace(target)


def daily_backup(conn: sqlite3.Connection, db_path: Path, day: date, keep: int) -> Path | None:
    """At most one backup per study day; keeps the newest `keep`. Returns the new backup's
    path, or None when that day's exists already or `keep` is 0."""
    if keep <= 0:
        return None
    target = daily_backup_path(db_path, day)
    made = None
    if not target.exists():
        copy_database(conn, target)
        made = target
    for old in list_backups(db_path)[keep:]:
        with suppress(OSError):
            old.path.unlink()
    return made
