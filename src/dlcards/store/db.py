"""The Store: cards known to the collection, scheduling state, the append-only review log,
user flags and settings, in one SQLite file.

Durability: WAL journal, `synchronous=FULL`, and every answer is its own transaction
(`record_review` appends the log row and updates the state together), so closing the
terminal, `kill -9` or a power cut after the answer returns loses nothing answered.

The store neither knows the study calendar nor reads the clock: the caller (the application
layer, `dlcards.app.Collection`) passes the study day of the daily backup and a `now_fn` for
the few stamps the store writes itself (placeholder card rows, migration times).

Row encoding lives in `dlcards.store.rows`, migrations and health checks in
`dlcards.store.schema`, backups in `dlcards.store.backup`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from dlcards.core.errors import StoreError
from dlcards.core.state import CardFlags, CardState
from dlcards.store import integrity, schema
from dlcards.store.backup import BACKUP_DIR, BACKUP_PREFIX, BackupInfo, daily_backup, list_backups
from dlcards.store.migrations import LATEST
from dlcards.store.reviewlog import ReviewLog
from dlcards.store.rows import (
    _CHUNK,
    _STATE_FIELDS,
    _UPSERT_STATE,
    CardInfo,
    CardRow,
    _dt,
    _note_of,
    _state_from,
    _state_values,
    _ts,
    card_infos,
    card_rows,
)

__all__ = [
    "BACKUP_DIR",
    "BACKUP_PREFIX",
    "DB_NAME",
    "BackupInfo",
    "CardInfo",
    "Store",
    "card_infos",
    "card_rows",
    "default_path",
    "list_backups",
]

DB_NAME = "dlcards.sqlite3"
NowFn = Callable[[], datetime]


def default_path() -> Path:
    """state_dir()/dlcards.sqlite3 (DLCARDS_HOME or the platform's user data folder)."""
    from dlcards.system.paths import state_dir

    return state_dir() / DB_NAME


def _system_now() -> datetime:
    from dlcards.system.clock import now

    return now()


def _create(path: Path, now_fn: NowFn) -> None:
    """A new database, built whole under a temporary name and then linked into place: a kill
    while creating it never leaves an empty file that would later be refused as damaged."""
    tmp = path.with_name(f"{path.name}.new-{os.getpid()}")  # two creators never share it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA synchronous = FULL")
            schema.migrate(conn, tmp, now_fn())
        finally:
            conn.close()
        try:
            os.link(tmp, path)  # fails if another process created it meanwhile: theirs is kept
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: rename unless one appeared
            if not path.exists():
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, sqlite3.Error) as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise integrity.describe(exc, path, "create") from None


class Store(ReviewLog):
    """The review database of one user. Every answer is committed in its own transaction."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        backups_keep: int = 7,
        now_fn: NowFn | None = None,
    ):
        self._conn = conn
        self.path = path
        self.backups_keep = backups_keep
        self.now_fn: NowFn = now_fn or _system_now
        self.migrated_from: int | None = None  # schema version before this open, if migrated
        self._batched = False  # inside `batch()`: writes join its one transaction

    # ---- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        backup_day: date | None = None,
        backups_keep: int = 7,
        now_fn: NowFn | None = None,
        quick_check: bool = True,
    ) -> Store:
        """Open (creating and migrating) the database; default state_dir()/"dlcards.sqlite3".

        An existing file is checked first (`dlcards.store.integrity`): an empty or foreign
        file, a newer schema, or (with `quick_check`) damaged pages raise a StoreError before
        anything is written or backed up.

        With `backup_day` (a study day, from the caller's calendar), a daily backup is made (at
        most one per study day, keeping `backups_keep`); commands that only read (list, doctor)
        pass none and make none. Before migrating an existing database a copy is saved as
        backups/dlcards-before-v<N>.sqlite3. `now_fn` stamps the rows the store writes itself
        (default: `dlcards.system.clock.now`, which honours DLCARDS_NOW).
        """
        path = Path(path) if path is not None else default_path()
        # Nothing is created, written or backed up before the file is known to be ours and
        # whole (issue 17): an empty or foreign file is never taken as a new database.
        created = not integrity.precheck(path)
        if created:
            _create(path, now_fn or _system_now)
        try:
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=10.0, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise integrity.describe(exc, path, "open") from None
        store = cls(conn, path, backups_keep=backups_keep, now_fn=now_fn)
        if created:
            store.migrated_from = 0
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            integrity.check_open(
                conn,
                path,
                LATEST,
                quick=quick_check and not integrity.unchanged_since_clean_close(path),
            )
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{path}: cannot switch the database to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            store._migrate()
            if backup_day is not None:
                store.backup(backup_day, backups_keep)
        except (sqlite3.Error, OSError) as exc:
            conn.close()
            raise integrity.describe(exc, path, "open") from None
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection (also via `with Store.open() as store:`)."""
        conn, self._conn = self._conn, None  # type: ignore[assignment]
        if conn is not None:
            with suppress(sqlite3.Error):
                # a bounded ANALYZE (SQLite's advice for optimize on close): without the limit
                # it re-reads the whole review log (~0.09 s of every command at 1M reviews)
                conn.execute("PRAGMA analysis_limit=400")
                conn.execute("PRAGMA optimize")
            conn.close()
            integrity.mark_clean_close(self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the review database is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error.
        Inside `batch()` the writes join the batch's transaction (it commits or rolls back)."""
        conn = self.conn
        if self._batched:
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise integrity.describe(exc, self.path) from None
        try:
            yield conn
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise integrity.describe(exc, self.path) from None
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise integrity.describe(exc, self.path) from None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several writes as ONE transaction: one COMMIT, so one fsync (an answer and the
        burial of its siblings), all or nothing. An error inside rolls every write back."""
        if self._batched:
            yield
            return
        with self._tx():
            self._batched = True
            try:
                yield
            finally:
                self._batched = False

    # ---- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The applied schema version (PRAGMA user_version)."""
        return schema.schema_version(self.conn)

    def applied_migrations(self) -> list[tuple[int, str, str]]:
        """(version, name, applied_at) of every applied migration."""
        return schema.applied_migrations(self.conn)

    def _migrate(self) -> None:
        if schema.schema_version(self.conn) == LATEST:
            return  # the common case: no clock read
        self.migrated_from = schema.migrate(self.conn, self.path, self.now_fn())

    # ---- cards ------------------------------------------------------------------------------

    def _ensure_cards(
        self, conn: sqlite3.Connection, card_ids: Iterable[str], now: datetime | None = None
    ) -> None:
        """Create placeholder rows (not present in the Markdown) for unknown card ids."""
        stamp = _ts(now if now is not None else self.now_fn())
        conn.executemany(
            "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, present, gone_since) "
            "VALUES (?, ?, 'unknown', '', 0, '', ?, 0, ?) ON CONFLICT (card_id) DO NOTHING",
            [(cid, _note_of(cid), stamp, stamp) for cid in dict.fromkeys(card_ids)],
        )

    def sync_cards(self, cards: Iterable[CardInfo], now: datetime) -> None:
        """Upsert the cards found in the Markdown (first_seen kept); all others are marked absent."""
        self.sync_card_rows(
            [(c.card_id, c.note_id, c.kind, c.path, c.line, c.content_hash) for c in cards], now
        )

    def sync_card_rows(self, rows: Sequence[CardRow], now: datetime) -> None:
        """`sync_cards` of plain rows (card_id, note_id, kind, path, line, content_hash).

        Reads the present cards once and upserts only the rows that are not among them as
        they are (issue 16: at 50,000 cards an upsert of every card took ~0.2 s of each
        start, and a start usually changes nothing). The same effect as upserting every row:
        a new card is inserted (first_seen = now); a known one that is absent or differs is
        updated and made present again (gone_since cleared); of repeated ids the last row
        counts; every present card not among the rows is marked absent (gone_since = now)."""
        stamp = _ts(now)
        latest: dict[str, CardRow] = {}
        for row in rows:
            latest[row[0]] = row
        with self._tx() as conn:
            present = conn.execute(
                "SELECT card_id, note_id, kind, path, line, content_hash FROM cards "
                "WHERE present = 1"
            ).fetchall()
            unchanged = set(present)
            todo = [(*row, stamp) for row in latest.values() if row not in unchanged]
            del unchanged
            if todo:
                conn.executemany(
                    "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, "
                    "first_seen, present) VALUES (?, ?, ?, ?, ?, ?, ?, 1) "
                    "ON CONFLICT (card_id) DO UPDATE SET note_id = excluded.note_id, "
                    "kind = excluded.kind, path = excluded.path, line = excluded.line, "
                    "content_hash = excluded.content_hash, present = 1, gone_since = NULL "
                    "WHERE cards.present = 0 OR cards.note_id IS NOT excluded.note_id "
                    "OR cards.kind IS NOT excluded.kind OR cards.path IS NOT excluded.path "
                    "OR cards.line IS NOT excluded.line "
                    "OR cards.content_hash IS NOT excluded.content_hash",
                    todo,
                )
            gone = [(stamp, r[0]) for r in present if r[0] not in latest]
            if gone:
                conn.executemany(
                    "UPDATE cards SET present = 0, gone_since = ? WHERE card_id = ?", gone
                )

    def cards(self, present: bool | None = None) -> list[CardInfo]:
        """Known cards (all, or only present / absent ones)."""
        sql = "SELECT card_id, note_id, kind, path, line, content_hash FROM cards"
        if present is not None:
            sql += f" WHERE present = {1 if present else 0}"
        return [CardInfo(*row) for row in self.conn.execute(sql + " ORDER BY card_id")]

    def orphans(self) -> list[CardInfo]:
        """Cards with history or state whose id is no longer in the Markdown."""
        rows = self.conn.execute(
            "SELECT card_id, note_id, kind, path, line, content_hash FROM cards c WHERE present = 0 AND "
            "(EXISTS (SELECT 1 FROM review_log r WHERE r.card = c.id) "
            " OR EXISTS (SELECT 1 FROM card_state s WHERE s.card_id = c.card_id)) ORDER BY card_id"
        )
        return [CardInfo(*row) for row in rows]

    def gone_since(self, card_id: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT gone_since FROM cards WHERE card_id = ?", (card_id,)
        ).fetchone()
        return _dt(row[0]) if row else None

    def delete_card(self, card_id: str) -> int:
        """Forget a card entirely: its state, flags and review history. Returns reviews deleted."""
        with self._tx() as conn:
            n = conn.execute(
                "DELETE FROM review_log WHERE card = (SELECT id FROM cards WHERE card_id = ?)",
                (card_id,),
            ).rowcount
            conn.execute("DELETE FROM cards WHERE card_id = ?", (card_id,))
        return int(n)

    # ---- state and flags --------------------------------------------------------------------

    def _select_by_ids(self, sql: str, card_ids: Iterable[str] | None) -> Iterator[Sequence[Any]]:
        if card_ids is None:
            yield from self.conn.execute(sql)
            return
        ids = list(dict.fromkeys(card_ids))
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            yield from self.conn.execute(
                f"{sql} WHERE card_id IN ({', '.join('?' * len(chunk))})", chunk
            )

    def states(self, card_ids: Iterable[str] | None = None) -> dict[str, CardState]:
        """Stored states; ids without a state are absent from the dict (caller treats as new)."""
        sql = "SELECT card_id, " + ", ".join(_STATE_FIELDS) + " FROM card_state"
        return {row[0]: _state_from(row[0], row[1:]) for row in self._select_by_ids(sql, card_ids)}

    def flags(self, card_ids: Iterable[str] | None = None) -> dict[str, CardFlags]:
        """Stored user flags (suspended, buried, flag, leech); absent ids have none."""
        sql = "SELECT card_id, suspended, buried_until, flag, leech FROM card_flags"
        out = {}
        for cid, suspended, buried, flag, leech in self._select_by_ids(sql, card_ids):
            out[cid] = CardFlags(
                card_id=cid,
                suspended=bool(suspended),
                buried_until=date.fromisoformat(buried) if buried else None,
                flag=flag,
                leech=bool(leech),
            )
        return out

    def set_state(self, state: CardState) -> None:
        """Replace a card's state (a `new` state with no reps removes the row)."""
        with self._tx() as conn:
            self._write_state(conn, state)

    def set_states(self, states: Iterable[CardState]) -> int:
        """Replace many cards' states in one transaction (after an import or a reschedule)."""
        n = 0
        with self._tx() as conn:
            for state in states:
                self._write_state(conn, state)
                n += 1
        return n

    def _write_state(self, conn: sqlite3.Connection, state: CardState) -> None:
        self._ensure_cards(conn, [state.card_id])
        if state.phase == "new" and state.reps == 0 and state.stability is None:
            conn.execute("DELETE FROM card_state WHERE card_id = ?", (state.card_id,))
        else:
            conn.execute(_UPSERT_STATE, (state.card_id, *_state_values(state)))

    def _set_flag_column(self, card_ids: Iterable[str], column: str, value: Any) -> None:
        ids = list(dict.fromkeys(card_ids))
        with self._tx() as conn:
            self._ensure_cards(conn, ids)
            conn.executemany(
                f"INSERT INTO card_flags (card_id, {column}) VALUES (?, ?) "
                f"ON CONFLICT (card_id) DO UPDATE SET {column} = excluded.{column}",
                [(cid, value) for cid in ids],
            )
            conn.execute(
                "DELETE FROM card_flags WHERE suspended = 0 AND buried_until IS NULL "
                "AND flag = 0 AND leech = 0"
            )

    def set_suspended(self, card_ids: Iterable[str], suspended: bool) -> None:
        self._set_flag_column(card_ids, "suspended", 1 if suspended else 0)

    def set_flag(self, card_id: str, flag: int) -> None:
        if not 0 <= flag <= 7:
            raise StoreError(f"flag {flag} is not 0..7")
        self._set_flag_column([card_id], "flag", flag)

    def set_buried(self, card_ids: Iterable[str], until: date | None) -> None:
        self._set_flag_column(card_ids, "buried_until", until.isoformat() if until else None)

    def set_leech(self, card_id: str, leech: bool) -> None:
        self._set_flag_column([card_id], "leech", 1 if leech else 0)

    # ---- settings ---------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # ---- health -----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Row counts for `doctor`: cards, present, orphans, states, reviews, suspended, leeches."""
        return schema.row_counts(self.conn, len(self.orphans()))

    def integrity_check(self) -> list[str]:
        """Problems found by PRAGMA integrity_check and foreign_key_check and a few consistency
        checks of our own; [] when healthy."""
        try:
            return schema.integrity_problems(self.conn)
        except sqlite3.DatabaseError as exc:
            return [f"the database cannot be read: {exc}"]

    # ---- backups ----------------------------------------------------------------------------

    @property
    def backup_dir(self) -> Path:
        return self.path.parent / BACKUP_DIR

    def backups(self) -> list[BackupInfo]:
        """Daily backups, newest first."""
        return list_backups(self.path)

    def backup(self, day: date, keep: int) -> Path | None:
        """At most one backup per study day `day` (sqlite backup API); keeps the newest `keep`.

        Returns the new backup's path, or None when that day's exists already or keep is 0."""
        return daily_backup(self.conn, self.path, day, keep)
