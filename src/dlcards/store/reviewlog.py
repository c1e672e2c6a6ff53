"""The append-only review log: recording and undoing answers, reading the history, importing
Anki's reviews, relinking a card's history to a new id. One part of `Store` (its base class);
each write is one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from dlcards.core.errors import StoreError
from dlcards.core.state import CardState, ReviewEntry
from dlcards.store.rows import (
    _CHUNK,
    _INSERT_REVIEW,
    _REVIEW_COLUMNS,
    _STATE_FIELDS,
    _review_from,
    _review_values,
    _state_from,
    _ts,
)


class ReviewLog:
    """The review-log methods of `Store`."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _ensure_cards(
            self, conn: sqlite3.Connection, card_ids: Iterable[str], now: datetime | None = None
        ) -> None: ...

        def _write_state(self, conn: sqlite3.Connection, state: CardState) -> None: ...

    def record_review(self, entry: ReviewEntry) -> int:
        """ONE transaction: append the log row and update the state; returns the review id."""
        with self._tx() as conn:
            self._ensure_cards(conn, [entry.card_id], entry.time)
            cur = conn.execute(_INSERT_REVIEW, _review_values(entry))
            self._write_state(conn, entry.after)
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def record_answer(
        self, card_id: str, answer: Callable[[CardState], ReviewEntry]
    ) -> tuple[int, ReviewEntry]:
        """ONE transaction: read the card's state as the database has it now, compute the
        answer from it (`answer(before)`, e.g. the scheduler's review), append the log row and
        write the state. Returns (review id, the entry written).

        The state is never taken from a caller's memory: an answer given in another window,
        or an import, since the caller last read the card is the `before` of this one."""
        with self._tx() as conn:
            before = self._state_in(conn, card_id)
            entry = answer(before)
            if entry.card_id != card_id or entry.before != before:
                raise StoreError(f"answer of {card_id} was not computed from its stored state")
            self._ensure_cards(conn, [card_id], entry.time)
            cur = conn.execute(_INSERT_REVIEW, _review_values(entry))
            self._write_state(conn, entry.after)
        return int(cur.lastrowid), entry  # type: ignore[arg-type]

    def _state_in(self, conn: sqlite3.Connection, card_id: str) -> CardState:
        row = conn.execute(
            "SELECT " + ", ".join(_STATE_FIELDS) + " FROM card_state WHERE card_id = ?",
            (card_id,),
        ).fetchone()
        return _state_from(card_id, row) if row else CardState(card_id)

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
                    f"cannot undo: that answer is not the latest of the card {entry.card_id} (it was answered again "
                    "since, in another window or with the clock set back); nothing was changed",
                    hint="only a card's latest answer can be undone",
                )
            if self._state_in(conn, entry.card_id) != entry.after:
                raise StoreError(
                    f"cannot undo: the card {entry.card_id}'s state changed after that answer; "
                    "nothing was changed",
                    hint="`dlcards doctor` checks states against the log",
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
