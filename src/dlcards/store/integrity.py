"""Checks made before the review database is written to or backed up, and the names of the
causes when a write fails.

- `precheck(path)`: the file, before SQLite opens it. A zero-byte file (with no write-ahead log
  holding its pages) or a file that is not SQLite is never taken as a new database.
- `check_open(conn, path, latest)`: once open, before anything is written: a database from a
  newer dlcards (user_version above the code's), a SQLite file that is not dlcards', and
  damaged pages (`PRAGMA quick_check`) are refused.
- `describe(exc, path)`: a `sqlite3` failure as a `StoreError` naming the cause — a full disk, a
  read-only file or folder, a busy database, an I/O error, damage — so a full disk is never
  reported as "damaged".
- `quick_check_file(path)`: whether a database file (a backup) reads back whole.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from dlcards.core.errors import StoreError

HEADER = b"SQLite format 3\x00"
# `reviews` is a table up to schema 6 and a view of `review_log` from 7 on (issue 16)
_OUR_TABLES = {"migrations", "cards", "card_state", "reviews", "settings"}


class DamagedStoreError(StoreError):
    """The database file is empty, not a dlcards database, or has damaged pages."""


class FutureStoreError(StoreError):
    """The database was written by a newer dlcards (its schema version is unknown here)."""


class StoreFullError(StoreError):
    """The disk (or the file size limit) is full: nothing was written."""


class StoreReadOnlyError(StoreError):
    """The database file or its folder cannot be written."""


class StoreBusyError(StoreError):
    """Another process holds the database's write lock."""


def restore_hint(path: Path) -> str:
    return (
        f"`dlcards doctor --db '{path}'` shows the backups; `dlcards doctor --restore` puts the "
        "newest good one back (the damaged file is kept aside)"
    )


def precheck(path: Path) -> bool:
    """Refuse a file that is not a database before SQLite opens it; returns whether the file
    exists (False: a new database will be created)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot read the review database: {exc.strerror or exc}",
            hint="check the file's and the folder's permissions, or set DLCARDS_HOME",
        ) from None
    if not path.is_file():
        raise DamagedStoreError(f"{path}: is not a file", hint="move it away or set DLCARDS_HOME")
    if st.st_size == 0:
        wal = path.with_name(path.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            return True  # a new database whose pages are all still in the write-ahead log
        raise DamagedStoreError(
            f"{path}: the review database is empty (0 bytes); it is not taken as a new one",
            hint=restore_hint(path) + "; or delete the file to start a new database",
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(len(HEADER))
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot read the review database: {exc.strerror or exc}",
            hint="check the file's permissions",
        ) from None
    if head != HEADER:
        raise DamagedStoreError(
            f"{path}: the review database is damaged or not a dlcards database (not an SQLite "
            + ("file: too short" if len(head) < len(HEADER) else "file")
            + "); nothing was changed",
            hint=restore_hint(path),
        )
    return True


def check_open(conn: sqlite3.Connection, path: Path, latest: int, *, quick: bool = True) -> None:
    """Before anything is written: the schema version is known, the tables are dlcards', and
    (with `quick`) the pages read back (PRAGMA quick_check)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > latest:
        raise FutureStoreError(
            f"{path}: the review database has schema version {version}, newer than this "
            f"dlcards knows ({latest}); nothing was changed",
            hint="upgrade dlcards (pip install -U dlcards); do not open it with an older version",
        )
    try:
        tables = {
            str(r[0])
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        }
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # a damaged schema page
        problems = quick_check(conn) if quick else []
        raise DamagedStoreError(
            f"{path}: the review database has damaged pages ({problems[0] if problems else exc}); "
            "nothing was written",
            hint=restore_hint(path),
        ) from None
    if (version == 0 and tables) or (version > 0 and not tables >= _OUR_TABLES):
        raise DamagedStoreError(
            f"{path}: an SQLite file, but not a dlcards review database "
            f"(tables: {', '.join(sorted(tables)[:6]) or 'none'}); nothing was changed",
            hint="point DLCARDS_HOME (or --db) elsewhere; " + restore_hint(path),
        )
    if quick:
        problems = quick_check(conn)
        if problems:
            raise DamagedStoreError(
                f"{path}: the review database has damaged pages ({problems[0]}); nothing was "
                "written",
                hint=restore_hint(path),
            )


# -- "closed cleanly, unchanged since": quick_check costs ~1 s per 40 MB, so the open skips
# it while the file is exactly as dlcards left it at its last clean close (size, mtime,
# inode in `<db>.checked`). A crash, a copy, a truncation or any other change to the file
# makes the next open check it again (`dlcards doctor` always runs the full integrity_check).


def _checked_path(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _stat_key(path: Path) -> str | None:
    """Size, mtime, inode and a hash of the first and last pages (mtimes are coarse)."""
    import hashlib

    try:
        st = path.stat()
        with path.open("rb") as fh:
            h = hashlib.sha256(fh.read(4096))
            fh.seek(max(0, st.st_size - 4096))
            h.update(fh.read(4096))
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{h.hexdigest()[:32]}"


def unchanged_since_clean_close(path: Path) -> bool:
    """Whether the file is as dlcards left it at its last clean close (no -wal pending)."""
    key = _stat_key(path)
    if key is None or path.with_name(path.name + "-wal").exists():
        return False
    try:
        return _checked_path(path).read_text(encoding="ascii").strip() == key
    except OSError:
        return False


def mark_clean_close(path: Path) -> None:
    """After the last connection closed (the -wal is gone): remember the file as it is."""
    marker = _checked_path(path)
    try:
        if path.with_name(path.name + "-wal").exists():
            marker.unlink(missing_ok=True)  # other connections are open: check next time
            return
        key = _stat_key(path)
        if key is not None:
            marker.write_text(key + "\n", encoding="ascii")
    except OSError:
        pass  # a read-only folder: the next open checks again


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """PRAGMA quick_check's findings ([] when the pages read back whole)."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    except UnicodeDecodeError:  # the schema's own text is damaged
        return ["the schema's text does not read back (damaged page)"]
    return [str(r[0]) for r in rows if r[0] != "ok"]


def quick_check_file(path: Path) -> list[str]:
    """quick_check of a database file opened read-only ([] when good; else what is wrong)."""
    try:
        if path.stat().st_size == 0:
            return ["empty file"]
        with path.open("rb") as fh:
            if fh.read(len(HEADER)) != HEADER:
                return ["not an SQLite file"]
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (OSError, sqlite3.Error) as exc:
        return [str(exc)]
    try:
        problems = quick_check(conn)
        if not problems:
            tables = {
                str(r[0])
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                )
            }
            if not tables >= _OUR_TABLES:
                problems = ["not a dlcards database"]
        return problems
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()


def review_count_of(path: Path) -> int:
    """Reviews in a (backup) database; -1 when it cannot be read."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return -1
    try:
        lean = conn.execute(  # schema 7 on: `reviews` is a view of `review_log`
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'review_log'"
        ).fetchone()
        table = "review_log" if lean else "reviews"
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return -1
    finally:
        conn.close()


_FULL = {"SQLITE_FULL"}
_READONLY = {
    "SQLITE_READONLY",
    "SQLITE_READONLY_DIRECTORY",
    "SQLITE_READONLY_DBMOVED",
    "SQLITE_READONLY_RECOVERY",
    "SQLITE_READONLY_CANTINIT",
    "SQLITE_READONLY_CANTLOCK",
    "SQLITE_READONLY_ROLLBACK",
    "SQLITE_PERM",
    "SQLITE_CANTOPEN",
}
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY"}
_DAMAGE = {"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_VTAB"}


def _no_room(path: Path) -> bool:
    """After an I/O error: is the disk (almost) full, or the process's file size limit
    (RLIMIT_FSIZE) reached by the database or its log? SQLite reports both as I/O errors."""
    import shutil

    try:
        if shutil.disk_usage(path.parent).free < 1 << 20:
            return True
    except OSError:
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - no resource module
        return False
    if soft == resource.RLIM_INFINITY:
        return False
    for suffix in ("", "-wal", "-journal"):
        f = path.with_name(path.name + suffix)
        try:
            if f.stat().st_size + (1 << 16) >= soft:
                return True
        except OSError:
            continue
    return False


def describe(exc: BaseException, path: Path, doing: str = "write to") -> StoreError:
    """A failure while opening or writing the database, as a StoreError that names the cause."""
    if isinstance(exc, StoreError):
        return exc
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc)
    low = text.lower()
    err = getattr(exc, "errno", None)
    io_error = name.startswith("SQLITE_IOERR") or "i/o error" in low
    if (
        name in _FULL
        or "disk is full" in low
        or err in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
        or (io_error and _no_room(path))
    ):
        return StoreFullError(
            f"{path}: the disk is full (or the file size limit is reached): could not {doing} "
            "the review database; nothing was written",
            hint=f"free some space on the disk holding {path.parent}, then try again",
        )
    if name.startswith("SQLITE_READONLY") or name in _READONLY or "readonly" in low:
        return StoreReadOnlyError(
            f"{path}: the review database (or its folder) is read-only: could not {doing} it; "
            "nothing was written",
            hint=f"check the permissions of {path} and {path.parent}, or set DLCARDS_HOME",
        )
    if err in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreReadOnlyError(
            f"{path}: permission denied: could not {doing} the review database ({text})",
            hint=f"check the permissions of {path.parent}, or set DLCARDS_HOME",
        )
    if name in _BUSY or "database is locked" in low:
        return StoreBusyError(
            f"{path}: the review database is busy (another dlcards is writing); nothing was "
            "written",
            hint="try again in a moment",
        )
    if name in _DAMAGE or "malformed" in low or "not a database" in low:
        return DamagedStoreError(
            f"{path}: the review database is damaged ({text}); nothing was written",
            hint=restore_hint(path),
        )
    if io_error:
        return StoreError(
            f"{path}: an I/O error while trying to {doing} the review database ({text}); the "
            "disk may be full, removed or failing",
            hint="check the disk, then `dlcards doctor`",
        )
    return StoreError(
        f"{path}: could not {doing} the review database: {text}",
        hint="run `dlcards doctor` to check it",
    )
