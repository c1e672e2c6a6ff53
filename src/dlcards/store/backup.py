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
    """A complete copy of the open database at `target` (written to a .tmp, verified with
    quick_check, then renamed): a backup that does not read back is never put in place."""
    from dlcards.store.integrity import DamagedStoreError, quick_check_file, restore_hint

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        dst = sqlite3.connect(tmp)
        try:
            conn.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        problems = quick_check_file(tmp)
        if problems:
            raise DamagedStoreError(
                f"{target}: the new backup does not read back ({problems[0]}); it was not kept "
                "and no older backup was removed",
                hint=restore_hint(target),
            )
        tmp.replace(target)
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)


def _sweep_tmp(db_path: Path) -> None:
    """Remove the .tmp of a backup interrupted by a kill (untouched for an hour: not one being
    written by another dlcards right now)."""
    import time

    folder = db_path.parent / BACKUP_DIR
    if folder.is_dir():
        for p in folder.glob(f"{BACKUP_PREFIX}*.sqlite3.tmp"):
            with suppress(OSError):
                if time.time() - p.stat().st_mtime > 3600:
                    p.unlink()


def daily_backup(conn: sqlite3.Connection, db_path: Path, day: date, keep: int) -> Path | None:
    """At most one backup per study day; keeps the newest `keep`. Returns the new backup's
    path, or None when that day's exists already or `keep` is 0.

    The copy is verified before it is named a backup, and rotation never removes the last good
    backup: when none of the `keep` newest reads back whole with reviews in it, the newest
    older one that does is kept too."""
    if keep <= 0:
        return None
    _sweep_tmp(db_path)
    target = daily_backup_path(db_path, day)
    made = None
    if not target.exists():
        copy_database(conn, target)
        made = target
    backups = list_backups(db_path)
    old = backups[keep:]
    if old:
        from dlcards.store.integrity import quick_check_file, review_count_of

        def good(b: BackupInfo) -> bool:
            return not quick_check_file(b.path) and review_count_of(b.path) > 0

        if not any(good(b) for b in backups[:keep]):
            for b in old:
                if good(b):
                    old = [o for o in old if o.path != b.path]
                    break
    for b in old:
        with suppress(OSError):
            b.path.unlink()
    return made
