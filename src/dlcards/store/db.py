"""The Store: cards known to the collection, scheduling state, the append-only review log,
user flags and settings, in one SQLite file.

Durability: WAL journal, `synchronous=FULL`, and every answer is its own transaction
(`record_review` appends the log row and updates the state together), so closing the
terminal, `kill -9` or a power cut after the answer returns loses nothing answered.

Times are stored as ISO 8601 UTC text with microseconds (`2026-01-05T09:00:00.000000+00:00`):
readable in the sqlite3 shell and sortable as text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from dlcards.core.errors import StoreError
from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc
from dlcards.store.migrations import LATEST, MIGRATIONS

DB_NAME = "dlcards.sqlite3"
BACKUP_DIR = "backups"
BACKUP_PREFIX = "dlcards-"
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


def default_path() -> Path:
    """state_dir()/dlcards.sqlite3 (DLCARDS_HOME or the platform's user data folder)."""
    from dlcards.system.config import state_dir

    return state_dir() / DB_NAME


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
    return _fast(
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


_REVIEW_COLUMNS = (
    "id, card_id, time, rating, duration_ms, kind, source, anki_revlog_id, "
    + ", ".join(f"before_{f}" for f in _STATE_FIELDS)
    + ", "
    + ", ".join(f"after_{f}" for f in _STATE_FIELDS)
)
_INSERT_REVIEW = (
    "INSERT INTO reviews (card_id, time, rating, duration_ms, kind, source, anki_revlog_id, "
    + ", ".join(f"before_{f}" for f in _STATE_FIELDS)
    + ", "
    + ", ".join(f"after_{f}" for f in _STATE_FIELDS)
    + ") VALUES ("
    + ", ".join("?" * (7 + 2 * len(_STATE_FIELDS)))
    + ")"
)
_UPSERT_STATE = (
    "INSERT INTO card_state (card_id, "
    + ", ".join(_STATE_FIELDS)
    + ") VALUES ("
    + ", ".join("?" * (1 + len(_STATE_FIELDS)))
    + ") ON CONFLICT (card_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _STATE_FIELDS)
)


def _review_values(entry: ReviewEntry) -> tuple[Any, ...]:
    return (
        entry.card_id,
        _ts(entry.time),
        int(entry.rating),
        int(entry.duration_ms),
        entry.kind,
        entry.source,
        entry.anki_revlog_id,
        *_state_values(entry.before),
        *_state_values(entry.after),
    )


def _review_from(row: Sequence[Any]) -> tuple[int, ReviewEntry]:
    n = len(_STATE_FIELDS)
    rid, card_id, time, rating, duration, kind, source, anki_id = row[:8]
    before = _state_from(card_id, row[8 : 8 + n])
    after = _state_from(card_id, row[8 + n : 8 + 2 * n])
    entry: ReviewEntry = _fast(
        ReviewEntry,
        {
            "card_id": card_id,
            "time": _dt(time),
            "rating": _RATINGS[rating],
            "duration_ms": duration,
            "before": before,
            "after": after,
            "kind": kind,
            "source": source,
            "anki_revlog_id": anki_id,
        },
    )
    return rid, entry


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


@dataclass(frozen=True)
class CardInfo:
    """A card as the Markdown has it: ids, kind, source location, content hash."""

    card_id: str
    note_id: str
    kind: str
    path: str
    line: int
    content_hash: str


def card_infos(notes: Iterable[Note]) -> list[CardInfo]:
    """The store's view of every card of these notes (what `Store.sync_cards` takes)."""
    return [
        CardInfo(cid, note.id, note.kind, note.path, note.line, note.content_hash)
        for note in notes
        for cid in note.card_ids()
    ]


class Store:
    """The review database of one user. Every answer is committed in its own transaction."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        tz: ZoneInfo | None = None,
        day_starts_at: int = 4,
        backups_keep: int = 7,
    ):
        self._conn = conn
        self.path = path
        self.tz = tz
        self.day_starts_at = day_starts_at
        self.backups_keep = backups_keep
        self.migrated_from: int | None = None  # schema version before this open, if migrated

    # ---- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        now: datetime | None = None,
        tz: ZoneInfo | None = None,
        day_starts_at: int = 4,
        backups_keep: int = 7,
    ) -> Store:
        """Open (creating and migrating) the database; default state_dir()/"dlcards.sqlite3".

        With `now`, a daily backup is made (at most one per study day, keeping `backups_keep`);
        commands that only read (list, doctor) pass no `now` and make none. Before migrating an
        existing database a copy is saved as backups/dlcards-before-v<N>.sqlite3.
        """
        path = Path(path) if path is not None else default_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=10.0, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"{path}: cannot open the review database: {exc}",
                hint="check the folder's permissions, or set DLCARDS_HOME",
            ) from None
        store = cls(conn, path, tz=tz, day_starts_at=day_starts_at, backups_keep=backups_keep)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 10000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{path}: cannot switch the database to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            store._migrate()
            if now is not None:
                store.backup(now, backups_keep)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{path}: the review database is damaged or not a dlcards database: {exc}",
                hint="run `dlcards doctor` to see the backups, and restore the newest good one",
            ) from None
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection (also via `with Store.open() as store:`)."""
        conn, self._conn = self._conn, None  # type: ignore[assignment]
        if conn is not None:
            with suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

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
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # ---- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The applied schema version (PRAGMA user_version)."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def applied_migrations(self) -> list[tuple[int, str, str]]:
        """(version, name, applied_at) of every applied migration."""
        return [
            tuple(r)
            for r in self.conn.execute(
                "SELECT version, name, applied_at FROM migrations ORDER BY version"
            )
        ]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > LATEST:
            raise StoreError(
                f"{self.path}: the database has schema version {version}, newer than this dlcards "
                f"knows ({LATEST})",
                hint="upgrade dlcards; do not open this database with an older version",
            )
        if version == LATEST:
            return
        if version > 0:
            self._backup_to(
                self.path.parent / BACKUP_DIR / f"{BACKUP_PREFIX}before-v{LATEST}.sqlite3"
            )
        self.migrated_from = version
        from dlcards.system.clock import now as clock_now

        applied_at = clock_now().isoformat(timespec="seconds")
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            script = (
                "BEGIN IMMEDIATE;\n" + migration.sql + "\n"
                f"INSERT INTO migrations (version, name, applied_at) VALUES "
                f"({migration.version}, '{migration.name}', '{applied_at}');\n"
                f"PRAGMA user_version = {migration.version};\nCOMMIT;"
            )
            try:
                self.conn.executescript(script)
            except sqlite3.Error:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        problems = [tuple(r) for r in self.conn.execute("PRAGMA foreign_key_check")]
        if problems:
            raise StoreError(f"{self.path}: foreign key problems after migrating: {problems[:5]}")

    # ---- cards ------------------------------------------------------------------------------

    def _ensure_cards(
        self, conn: sqlite3.Connection, card_ids: Iterable[str], now: datetime | None = None
    ) -> None:
        """Create placeholder rows (not present in the Markdown) for unknown card ids."""
        if now is None:
            from dlcards.system.clock import now as clock_now

            now = clock_now()
        stamp = _ts(now)
        conn.executemany(
            "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, present, gone_since) "
            "VALUES (?, ?, 'unknown', '', 0, '', ?, 0, ?) ON CONFLICT (card_id) DO NOTHING",
            [(cid, _note_of(cid), stamp, stamp) for cid in dict.fromkeys(card_ids)],
        )

    def sync_cards(self, cards: Iterable[CardInfo], now: datetime) -> None:
        """Upsert the cards found in the Markdown (first_seen kept); all others are marked absent."""
        stamp = _ts(now)
        rows = [
            (c.card_id, c.note_id, c.kind, c.path, c.line, c.content_hash, stamp) for c in cards
        ]
        with self._tx() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS seen (card_id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.seen")
            conn.executemany(
                "INSERT OR IGNORE INTO temp.seen (card_id) VALUES (?)", [(r[0],) for r in rows]
            )
            conn.executemany(
                "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, present) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (card_id) DO UPDATE SET "
                "note_id = excluded.note_id, kind = excluded.kind, path = excluded.path, line = excluded.line, "
                "content_hash = excluded.content_hash, present = 1, gone_since = NULL "
                "WHERE cards.present = 0 OR cards.note_id IS NOT excluded.note_id OR cards.kind IS NOT excluded.kind "
                "OR cards.path IS NOT excluded.path OR cards.line IS NOT excluded.line "
                "OR cards.content_hash IS NOT excluded.content_hash",
                rows,
            )
            conn.execute(
                "UPDATE cards SET present = 0, gone_since = ? WHERE present = 1 "
                "AND card_id NOT IN (SELECT card_id FROM temp.seen)",
                (stamp,),
            )
            conn.execute("DELETE FROM temp.seen")

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
            "(EXISTS (SELECT 1 FROM reviews r WHERE r.card_id = c.card_id) "
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
            n = conn.execute("DELETE FROM reviews WHERE card_id = ?", (card_id,)).rowcount
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

    # ---- the review log ---------------------------------------------------------------------

    def record_review(self, entry: ReviewEntry) -> int:
        """ONE transaction: append the log row and update the state; returns the review id."""
        with self._tx() as conn:
            self._ensure_cards(conn, [entry.card_id], entry.time)
            cur = conn.execute(_INSERT_REVIEW, _review_values(entry))
            self._write_state(conn, entry.after)
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def review(self, review_id: int) -> ReviewEntry | None:
        row = self.conn.execute(
            f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE id = ?", (review_id,)
        ).fetchone()
        return _review_from(row)[1] if row else None

    def undo_review(self, review_id: int) -> ReviewEntry:
        """Delete that review row and restore `entry.before`, in one transaction.

        Only a card's latest review can be undone (an older one would clobber later answers)."""
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE id = ?", (review_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"review {review_id} is not in the log (already undone?)")
            _, entry = _review_from(row)
            later = conn.execute(
                "SELECT 1 FROM reviews WHERE card_id = ? AND (time > ? OR (time = ? AND id > ?)) LIMIT 1",
                (entry.card_id, row[2], row[2], review_id),
            ).fetchone()
            if later:
                raise StoreError(
                    f"review {review_id} of {entry.card_id} is not its latest; only the latest can be undone"
                )
            conn.execute("DELETE FROM reviews WHERE id = ?", (review_id,))
            self._write_state(conn, entry.before)
        return entry

    def reviews(
        self, card_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> list[ReviewEntry]:
        """Review log entries in time order."""
        return [entry for _, entry in self.reviews_with_ids(card_ids, since)]

    def reviews_with_ids(
        self, card_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> list[tuple[int, ReviewEntry]]:
        """(review id, entry) pairs in time order."""
        sql = f"SELECT {_REVIEW_COLUMNS} FROM reviews"
        where, params = [], []
        if since is not None:
            where.append("time >= ?")
            params.append(_ts(since))
        if card_ids is None:
            rows = self.conn.execute(
                sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY time, id",
                params,
            ).fetchall()
        else:
            ids = list(dict.fromkeys(card_ids))
            rows = []
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                cond = [*where, f"card_id IN ({', '.join('?' * len(chunk))})"]
                rows.extend(
                    self.conn.execute(sql + " WHERE " + " AND ".join(cond), [*params, *chunk])
                )
            rows.sort(key=lambda r: (r[2], r[0]))
        return [_review_from(r) for r in rows]

    def reviews_on_day(self, day_start: datetime, day_end: datetime) -> list[ReviewEntry]:
        """Reviews with day_start <= time < day_end, in time order."""
        rows = self.conn.execute(
            f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE time >= ? AND time < ? ORDER BY time, id",
            (_ts(day_start), _ts(day_end)),
        )
        return [_review_from(r)[1] for r in rows]

    def import_reviews(
        self, entries: Iterable[ReviewEntry], states: Iterable[CardState] = ()
    ) -> tuple[int, int]:
        """Append imported reviews, deduplicated by anki_revlog_id: (imported, duplicates).

        One transaction. States are not touched unless given: the caller recomputes them
        (`Scheduler.replay` over `reviews(card_ids)`) and passes them here, so the log and the
        states are written together, or calls `set_states` afterwards."""
        imported = duplicates = 0
        with self._tx() as conn:
            for state in states:
                self._write_state(conn, state)
            for entry in entries:
                if (
                    entry.anki_revlog_id is not None
                    and conn.execute(
                        "SELECT 1 FROM reviews WHERE anki_revlog_id = ?", (entry.anki_revlog_id,)
                    ).fetchone()
                ):
                    duplicates += 1
                    continue
                self._ensure_cards(conn, [entry.card_id], entry.time)
                conn.execute(_INSERT_REVIEW, _review_values(entry))
                imported += 1
        return imported, duplicates

    def relink(self, old_id: str, new_id: str) -> int:
        """Move the whole history, state and flags of `old_id` to `new_id`; returns reviews moved.

        The new id's own state and flags (if any) are replaced by the old ones when the old card
        has any; a no longer present old card row is then removed."""
        if old_id == new_id:
            return 0
        with self._tx() as conn:
            if not conn.execute("SELECT 1 FROM cards WHERE card_id = ?", (old_id,)).fetchone():
                raise StoreError(f"card {old_id} is not in the review database")
            self._ensure_cards(conn, [new_id])
            moved = conn.execute(
                "UPDATE reviews SET card_id = ? WHERE card_id = ?", (new_id, old_id)
            ).rowcount
            for table in ("card_state", "card_flags"):
                if conn.execute(f"SELECT 1 FROM {table} WHERE card_id = ?", (old_id,)).fetchone():
                    conn.execute(f"DELETE FROM {table} WHERE card_id = ?", (new_id,))
                    conn.execute(
                        f"UPDATE {table} SET card_id = ? WHERE card_id = ?", (new_id, old_id)
                    )
            conn.execute("DELETE FROM cards WHERE card_id = ? AND present = 0", (old_id,))
        return int(moved)

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
        q = self.conn.execute
        return {
            "cards": q("SELECT count(*) FROM cards").fetchone()[0],
            "present": q("SELECT count(*) FROM cards WHERE present = 1").fetchone()[0],
            "orphans": len(self.orphans()),
            "states": q("SELECT count(*) FROM card_state").fetchone()[0],
            "reviews": q("SELECT count(*) FROM reviews").fetchone()[0],
            "imported_reviews": q(
                "SELECT count(*) FROM reviews WHERE anki_revlog_id IS NOT NULL"
            ).fetchone()[0],
            "suspended": q("SELECT count(*) FROM card_flags WHERE suspended = 1").fetchone()[0],
            "leeches": q("SELECT count(*) FROM card_flags WHERE leech = 1").fetchone()[0],
        }

    def integrity_check(self) -> list[str]:
        """Problems found by PRAGMA integrity_check and foreign_key_check and a few consistency
        checks of our own; [] when healthy."""
        try:
            return self._integrity_problems()
        except sqlite3.DatabaseError as exc:
            return [f"the database cannot be read: {exc}"]

    def _integrity_problems(self) -> list[str]:
        problems: list[str] = []
        for (msg,) in self.conn.execute("PRAGMA integrity_check"):
            if msg != "ok":
                problems.append(f"integrity_check: {msg}")
        for table, rowid, parent, _ in self.conn.execute("PRAGMA foreign_key_check"):
            problems.append(
                f"foreign_key_check: {table} row {rowid} refers to a missing {parent} row"
            )
        bad = self.conn.execute(
            "SELECT count(*) FROM card_state WHERE phase != 'new' AND (stability IS NULL OR difficulty IS NULL "
            "OR last_review IS NULL OR due IS NULL)"
        ).fetchone()[0]
        if bad:
            problems.append(f"{bad} card states lack stability, difficulty, last review or due")
        version = self.schema_version
        recorded = self.conn.execute("SELECT coalesce(max(version), 0) FROM migrations").fetchone()[
            0
        ]
        if recorded != version:
            problems.append(f"schema version {version} but the migrations table records {recorded}")
        return problems

    # ---- backups ----------------------------------------------------------------------------

    @property
    def backup_dir(self) -> Path:
        return self.path.parent / BACKUP_DIR

    def backups(self) -> list[BackupInfo]:
        """Daily backups, newest first."""
        return list_backups(self.path)

    def _study_day(self, now: datetime) -> date:
        from dlcards.core.calendar import study_day, zone

        return study_day(require_utc(now), self.tz or zone(None), self.day_starts_at)

    def backup(self, now: datetime, keep: int) -> Path | None:
        """At most one backup per study day (sqlite backup API); keeps the newest `keep`.

        Returns the new backup's path, or None when today's exists already or keep is 0."""
        if keep <= 0:
            return None
        day = self._study_day(now)
        target = self.backup_dir / f"{BACKUP_PREFIX}{day.isoformat()}.sqlite3"
        made = None
        if not target.exists():
            self._backup_to(target)
            made = target
        for old in self.backups()[keep:]:
            with suppress(OSError):
                old.path.unlink()
        return made

    def _backup_to(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        if tmp.exists():
            tmp.unlink()
        dst = sqlite3.connect(tmp)
        try:
            self.conn.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        tmp.replace(target)
