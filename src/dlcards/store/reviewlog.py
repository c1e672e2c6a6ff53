"""The append-only review log: recording and undoing answers, reading the history, importing
Anki's reviews, relinking a card's history to a new id. One part of `Store` (its base class);
each write is one transaction.

The log is stored lean (`review_log`, see `dlcards.store.rows`): a review's `before` state is
the card's previous review's `after` (in (time, id) order; a new card's state for its first
review) unless the row stores it. Reading walks each card's rows in that order; every write
keeps the rule true: an answer appended at the end of its card's history stores its `before`
only when it differs from the previous `after`, and a write into the middle of a history
(an import, a sync, a relink) re-derives that card's stored `before`s from the exact states
read before the write (`_true_befores`, `_normalize`), so nothing read back ever changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import StoreError
from dlcards.core.state import CardState, ReviewEntry
from dlcards.store.rows import (
    _CHUNK,
    _INSERT_LOG,
    _L_BEFORE,
    _L_ID,
    _L_REF,
    _L_TIME,
    _LOG_SELECT,
    _STATE_FIELDS,
    NEW_KEY,
    StateKey,
    _after_key,
    _entry_from,
    _json_key,
    _key_json,
    _log_values,
    _new_state,
    _state_from,
    _state_key,
    _state_of_key,
    _us,
)

# The time index holds whole seconds (`time / 1000000`: a 4-byte key instead of 8, a quarter
# less index): time ranges bound that expression first, then `time`; orderings sort by it
# first so SQLite walks the index and sorts only the rows within one second.
_BY_TIME = " ORDER BY l.time / 1000000, l.time, l.id"
_CARD_ROWS = (
    "SELECT id, card, time, info, step, stability, difficulty, due, last_review, reps, lapses, "
    "interval_days, before FROM review_log WHERE card IN ({}) ORDER BY card, time, id"
)


def _card_row_after(row: Sequence[Any]) -> StateKey:
    """`_after_key` for a `_CARD_ROWS` row (id, card, time, info, step, ..., before)."""
    t, due, last = row[2], row[7], row[8]
    return (
        row[3] >> 5,
        row[4],
        row[5],
        row[6],
        None if due is None else t + due,
        None if last is None else t + last,
        row[9],
        row[10],
        row[11],
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

    # ---- writing ----------------------------------------------------------------------------

    @staticmethod
    def _card_ref(conn: sqlite3.Connection, card_id: str) -> int:
        row = conn.execute("SELECT id FROM cards WHERE card_id = ?", (card_id,)).fetchone()
        if row is None:
            raise StoreError(f"card {card_id} is not in the review database")
        return int(row[0])

    def _append(self, conn: sqlite3.Connection, entry: ReviewEntry) -> int:
        """Insert one review (the card row must exist); returns its id. At the end of the
        card's history (the common case) one indexed look-up decides whether `before` is
        stored; anywhere else the card's stored befores are re-derived."""
        ref = self._card_ref(conn, entry.card_id)
        key = _state_key(entry.before)
        last = conn.execute(
            "SELECT id, card, time, info, step, stability, difficulty, due, last_review, reps, "
            "lapses, interval_days, before FROM review_log WHERE card = ? "
            "ORDER BY time DESC, id DESC LIMIT 1",
            (ref,),
        ).fetchone()
        if last is None or last[2] <= _us(entry.time):
            previous = NEW_KEY if last is None else _card_row_after(last)
            before = None if key == previous else _key_json(key)
            cur = conn.execute(_INSERT_LOG, _log_values(entry, ref, before))
            return int(cur.lastrowid)  # type: ignore[arg-type]
        truth = self._true_befores(conn, [ref])
        cur = conn.execute(_INSERT_LOG, _log_values(entry, ref, _key_json(key)))
        rid = int(cur.lastrowid)  # type: ignore[arg-type]
        truth[rid] = key
        self._normalize(conn, [ref], truth)
        return rid

    def _insert_entries(
        self,
        conn: sqlite3.Connection,
        entries: Iterable[ReviewEntry],
        skip: Callable[[ReviewEntry], bool] | None = None,
    ) -> tuple[int, int]:
        """Insert many reviews inside the caller's transaction (card rows must exist),
        skipping those `skip` says are known; (inserted, skipped). The touched cards' stored
        befores are re-derived once at the end."""
        pending: list[tuple[ReviewEntry, int]] = []
        refs: dict[str, int] = {}
        skipped = 0
        for entry in entries:
            if skip is not None and skip(entry):
                skipped += 1
                continue
            if entry.card_id not in refs:
                self._ensure_cards(conn, [entry.card_id], entry.time)
                refs[entry.card_id] = self._card_ref(conn, entry.card_id)
            pending.append((entry, refs[entry.card_id]))
        if not pending:
            return 0, skipped
        touched = sorted(set(refs.values()))
        truth = self._true_befores(conn, touched)
        # a first guess of each stored `before` (right for histories imported whole and in
        # order: then `_normalize` changes nothing); `_normalize` makes it exact
        with_history = self._cards_with_rows(conn, touched)
        keys = [_state_key(entry.before) for entry, _ in pending]
        guess: list[str | None] = [None] * len(pending)
        previous: dict[int, tuple[Any, StateKey]] = {}
        for i in sorted(range(len(pending)), key=lambda i: (pending[i][1], pending[i][0].time, i)):
            entry, ref = pending[i]
            expected = previous[ref][1] if ref in previous else None
            if expected is None and ref not in with_history:
                expected = NEW_KEY
            if keys[i] != expected:
                guess[i] = _key_json(keys[i])
            previous[ref] = (entry, _state_key(entry.after))
        for (entry, ref), key, before in zip(pending, keys, guess, strict=True):
            cur = conn.execute(_INSERT_LOG, _log_values(entry, ref, before))
            truth[int(cur.lastrowid)] = key  # type: ignore[arg-type]
        self._normalize(conn, touched, truth)
        return len(pending), skipped

    @staticmethod
    def _cards_with_rows(conn: sqlite3.Connection, refs: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for i in range(0, len(refs), _CHUNK):
            chunk = refs[i : i + _CHUNK]
            out.update(
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT card FROM review_log WHERE card IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return out

    def _card_rows(self, conn: sqlite3.Connection, refs: Sequence[int]) -> list[Any]:
        rows: list[Any] = []
        for i in range(0, len(refs), _CHUNK):
            chunk = refs[i : i + _CHUNK]
            rows.extend(conn.execute(_CARD_ROWS.format(", ".join("?" * len(chunk))), chunk))
        rows.sort(key=lambda r: (r[1], r[2], r[0]))
        return rows

    def _true_befores(self, conn: sqlite3.Connection, refs: Sequence[int]) -> dict[int, StateKey]:
        """Review id -> its `before` state (plain values) for every review of these cards."""
        out: dict[int, StateKey] = {}
        card, previous = None, NEW_KEY
        for row in self._card_rows(conn, refs):
            if row[1] != card:
                card, previous = row[1], NEW_KEY
            out[row[0]] = previous if row[12] is None else _json_key(row[12])
            previous = _card_row_after(row)
        return out

    def _normalize(
        self, conn: sqlite3.Connection, refs: Sequence[int], truth: dict[int, StateKey]
    ) -> None:
        """Store `before` exactly where the previous review's `after` is not it."""
        updates: list[tuple[str | None, int]] = []
        card, previous = None, NEW_KEY
        for row in self._card_rows(conn, refs):
            if row[1] != card:
                card, previous = row[1], NEW_KEY
            true = truth[row[0]]
            want = None if true == previous else _key_json(true)
            if want != row[12] and (want is None or row[12] is None or _json_key(row[12]) != true):
                updates.append((want, row[0]))
            previous = _card_row_after(row)
        conn.executemany("UPDATE review_log SET before = ? WHERE id = ?", updates)

    def record_review(self, entry: ReviewEntry) -> int:
        """ONE transaction: append the log row and update the state; returns the review id."""
        with self._tx() as conn:
            self._ensure_cards(conn, [entry.card_id], entry.time)
            rid = self._append(conn, entry)
            self._write_state(conn, entry.after)
        return rid

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
            rid = self._append(conn, entry)
            self._write_state(conn, entry.after)
        return rid, entry

    def _state_in(self, conn: sqlite3.Connection, card_id: str) -> CardState:
        row = conn.execute(
            "SELECT " + ", ".join(_STATE_FIELDS) + " FROM card_state WHERE card_id = ?",
            (card_id,),
        ).fetchone()
        return _state_from(card_id, row) if row else CardState(card_id)

    # ---- reading ----------------------------------------------------------------------------

    def _previous_after(self, conn: sqlite3.Connection, row: Sequence[Any]) -> CardState:
        """The state after the review before this row's in its card's (time, id) order."""
        prev = conn.execute(
            _LOG_SELECT + " WHERE l.card = ? AND (l.time < ? OR (l.time = ? AND l.id < ?)) "
            "ORDER BY l.time DESC, l.id DESC LIMIT 1",
            (row[_L_REF], row[_L_TIME], row[_L_TIME], row[_L_ID]),
        ).fetchone()
        card_id = row[1]
        return _new_state(card_id) if prev is None else _state_of_key(card_id, _after_key(prev))

    def _decode(
        self, conn: sqlite3.Connection, rows: Iterable[Sequence[Any]], complete: bool
    ) -> list[tuple[int, ReviewEntry]]:
        """`_LOG_SELECT` rows in (time, id) order -> (id, entry). `complete`: the rows hold
        each of their cards' whole history (else a card's first row here may need the row
        before it, looked up)."""
        last: dict[int, CardState] = {}
        out: list[tuple[int, ReviewEntry]] = []
        for row in rows:
            ref = row[_L_REF]
            if row[_L_BEFORE] is not None:
                before = _state_of_key(row[1], _json_key(row[_L_BEFORE]))
            elif ref in last:
                before = last[ref]
            elif complete:
                before = _new_state(row[1])
            else:
                before = self._previous_after(conn, row)
            entry = _entry_from(row, before)
            last[ref] = entry.after
            out.append((row[_L_ID], entry))
        return out

    def review(self, review_id: int) -> ReviewEntry | None:
        conn = self.conn
        row = conn.execute(_LOG_SELECT + " WHERE l.id = ?", (review_id,)).fetchone()
        return self._decode(conn, [row], complete=False)[0][1] if row else None

    def undo_review(self, review_id: int) -> ReviewEntry:
        """Delete that review row and restore `entry.before`, in one transaction.

        Only a card's latest review can be undone (an older one would clobber later answers)."""
        with self._tx() as conn:
            row = conn.execute(_LOG_SELECT + " WHERE l.id = ?", (review_id,)).fetchone()
            if row is None:
                raise StoreError(f"review {review_id} is not in the log (already undone?)")
            entry = self._decode(conn, [row], complete=False)[0][1]
            later = conn.execute(
                "SELECT 1 FROM review_log WHERE card = ? AND (time > ? OR (time = ? AND id > ?)) "
                "LIMIT 1",
                (row[_L_REF], row[_L_TIME], row[_L_TIME], review_id),
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
            conn.execute("DELETE FROM review_log WHERE id = ?", (review_id,))
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
        conn = self.conn
        where, params = [], []
        if since is not None:
            where.append("l.time / 1000000 >= ? / 1000000 AND l.time >= ?")  # see _BY_TIME
            params += [_us(since), _us(since)]
        if card_ids is None:
            rows = conn.execute(
                _LOG_SELECT + (" WHERE " + " AND ".join(where) if where else "") + _BY_TIME,
                params,
            ).fetchall()
        else:
            ids = list(dict.fromkeys(card_ids))
            rows = []
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                cond = [*where, f"c.card_id IN ({', '.join('?' * len(chunk))})"]
                rows.extend(
                    conn.execute(_LOG_SELECT + " WHERE " + " AND ".join(cond), [*params, *chunk])
                )
            rows.sort(key=lambda r: (r[_L_TIME], r[_L_ID]))
        return self._decode(conn, rows, complete=since is None)

    def reviews_on_day(self, day_start: datetime, day_end: datetime) -> list[ReviewEntry]:
        """Reviews with day_start <= time < day_end, in time order."""
        conn = self.conn
        rows = conn.execute(
            _LOG_SELECT + " WHERE l.time / 1000000 BETWEEN ?1 / 1000000 AND ?2 / 1000000 "
            "AND l.time >= ?1 AND l.time < ?2" + _BY_TIME,
            (_us(day_start), _us(day_end)),
        ).fetchall()
        return [entry for _, entry in self._decode(conn, rows, complete=False)]

    def rated_answers(self) -> list[tuple[str, str, int]]:
        """(card id, time as stored text `...+00:00`, rating) of every answer but manual
        entries, in time order: the narrow read behind the browser's `rated:` search."""
        return [
            (str(cid), str(t), int(rating))
            for cid, t, rating in self.conn.execute(
                "SELECT c.card_id, strftime('%Y-%m-%dT%H:%M:%S', l.time / 1000000, 'unixepoch') "
                "|| printf('.%06d+00:00', l.time % 1000000), (l.info & 3) + 1 "
                "FROM review_log AS l JOIN cards AS c ON c.id = l.card "
                "WHERE (l.info >> 2) & 7 != 3" + _BY_TIME
            )
        ]

    # ---- imports and relinks ----------------------------------------------------------------

    def import_reviews(
        self, entries: Iterable[ReviewEntry], states: Iterable[CardState] = ()
    ) -> tuple[int, int]:
        """Append imported reviews, deduplicated by anki_revlog_id: (imported, duplicates).

        One transaction. States are not touched unless given: the caller recomputes them
        (`Scheduler.replay` over `reviews(card_ids)`) and passes them here, so the log and the
        states are written together, or calls `set_states` afterwards."""
        with self._tx() as conn:
            for state in states:
                self._write_state(conn, state)
            seen: set[int] = set()

            def known(entry: ReviewEntry) -> bool:
                rid = entry.anki_revlog_id
                if rid is None:
                    return False
                if (
                    rid in seen
                    or conn.execute(
                        "SELECT 1 FROM review_log WHERE anki_revlog_id = ?", (rid,)
                    ).fetchone()
                ):
                    return True
                seen.add(rid)
                return False

            return self._insert_entries(conn, entries, known)

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
            old_ref, new_ref = self._card_ref(conn, old_id), self._card_ref(conn, new_id)
            truth = self._true_befores(conn, [old_ref, new_ref])
            moved = conn.execute(
                "UPDATE review_log SET card = ? WHERE card = ?", (new_ref, old_ref)
            ).rowcount
            if moved:
                self._normalize(conn, [new_ref], truth)
            for table in ("card_state", "card_flags"):
                if conn.execute(f"SELECT 1 FROM {table} WHERE card_id = ?", (old_id,)).fetchone():
                    conn.execute(f"DELETE FROM {table} WHERE card_id = ?", (new_id,))
                    conn.execute(
                        f"UPDATE {table} SET card_id = ? WHERE card_id = ?", (new_id, old_id)
                    )
            conn.execute("DELETE FROM cards WHERE card_id = ? AND present = 0", (old_id,))
        return int(moved)
