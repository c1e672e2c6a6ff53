"""What `dlcards sync` keeps in the review database, and its one write transaction.

Tables (migration 3, `anki_sync`):

- `sync_notes`: per Anki target and dlcards note, the field values, deck and orphan mark
  after the last sync: the base of the three-way merge that tells a Markdown edit (write it to
  Anki) from an Anki edit (a conflict, reported and left alone);
- `sync_cards`: per target and card, the suspend / bury / flag / leech values after the last
  sync (a change on one side since then is copied to the other);
- `sync_review_ids`: the Anki revlog id each dlcards review was written to Anki as. Reviews
  that came from Anki carry theirs in `reviews.anki_revlog_id`. Together: every review has
  one id on both sides, so nothing comes back as new;
- `sync_targets`: when each target was last synced, and the summary.

`commit_sync` writes everything a sync changes on the dlcards side in ONE transaction
(BEGIN IMMEDIATE ... COMMIT): a crash before the commit leaves dlcards as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dlcards.core.state import CardFlags, CardState, ReviewEntry
from dlcards.store.db import Store
from dlcards.store.rows import _UPSERT_STATE, _state_values, _ts


@dataclass(frozen=True)
class SyncedNote:
    """A note as the last sync left it in one Anki target."""

    note_id: str
    fields: tuple[str, ...]
    deck: str
    conflict: dict[int, str] = field(default_factory=dict)  # field index -> Markdown value
    orphaned: bool = False
    position: int | None = None  # curriculum position (a new card's place in Anki's order)


@dataclass(frozen=True)
class SyncedCard:
    """A card's flags as the last sync left them (equal on both sides then)."""

    card_id: str
    suspended: bool = False
    buried: bool = False
    flag: int = 0
    leech: bool = False


@dataclass
class SyncWrite:
    """Everything one sync writes on the dlcards side."""

    target: str
    now: datetime
    reviews: list[ReviewEntry] = field(default_factory=list)  # from Anki (anki_revlog_id set)
    links: dict[int, int] = field(default_factory=dict)  # dlcards review id -> Anki revlog id
    states: list[CardState] = field(default_factory=list)
    flags: list[CardFlags] = field(default_factory=list)  # full rows (replace)
    notes: list[SyncedNote] = field(default_factory=list)  # upserts
    forget_notes: list[str] = field(default_factory=list)  # deleted in Anki: no base any more
    cards: list[SyncedCard] = field(default_factory=list)  # upserts
    summary: dict[str, Any] = field(default_factory=dict)
    # what the next sync may start from (`dlcards.anki.sync.incremental`): kept in the summary
    # with the store's side (`store_cursor`) added inside the commit; None: no cursor (full next)
    cursor: dict[str, Any] | None = None


def known_revlog_ids(store: Store) -> set[int]:
    """Every Anki revlog id dlcards knows: reviews imported from Anki, and dlcards reviews
    already written to Anki."""
    rows = store.conn.execute(
        "SELECT anki_revlog_id FROM review_log WHERE anki_revlog_id IS NOT NULL "
        "UNION ALL SELECT revlog_id FROM sync_review_ids"
    )
    return {int(r[0]) for r in rows}


def review_links(store: Store) -> dict[int, int]:
    """dlcards review id -> the Anki revlog id it was written as."""
    return {
        int(a): int(b)
        for a, b in store.conn.execute("SELECT review_id, revlog_id FROM sync_review_ids")
    }


def pending_reviews(store: Store, in_anki: set[int]) -> list[tuple[int, ReviewEntry]]:
    """(review id, entry) of the reviews answered in dlcards that this Anki collection lacks:
    never written to Anki, or written to another target (their revlog id is not `in_anki`)."""
    pending = PendingReviews(store, in_anki)
    return pending.of(sorted(pending.cards))


class PendingReviews:
    """`pending_reviews` a few cards at a time: which cards have any (`cards`), then their
    reviews (`of`), so a first sync of a million reviews never holds them all at once."""

    def __init__(self, store: Store, in_anki: set[int]):
        self.store = store
        self.links = review_links(store)
        self.missing = {rid for rid, revlog_id in self.links.items() if revlog_id not in in_anki}
        self.cards: set[str] = {
            r[0]
            for r in store.conn.execute(
                "SELECT DISTINCT c.card_id FROM review_log AS l JOIN cards AS c ON c.id = l.card "
                "WHERE l.anki_revlog_id IS NULL "
                "AND l.id NOT IN (SELECT review_id FROM sync_review_ids)"
            )
        }
        if self.missing:
            ids = sorted(self.missing)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                self.cards.update(
                    r[0]
                    for r in store.conn.execute(
                        "SELECT c.card_id FROM review_log AS l JOIN cards AS c ON c.id = l.card "
                        f"WHERE l.id IN ({', '.join('?' * len(chunk))})",
                        chunk,
                    )
                )

    def of(self, cards: list[str]) -> list[tuple[int, ReviewEntry]]:
        """The pending reviews of these cards, in time order."""
        if not cards:
            return []
        links, missing = self.links, self.missing
        return [
            (rid, e)
            for rid, e in self.store.reviews_with_ids(cards)
            if e.anki_revlog_id is None and (rid not in links or rid in missing)
        ]


# ---- incremental sync: what changed since the last sync ----------------------------------

CURSOR_KEY = "cursor"


def store_cursor(conn: Any) -> dict[str, Any]:
    """The store's side of a sync cursor: the review log's last id and its change counter
    (`log_changes`, migration 9: anything but an append), how many review ids are linked, and
    the schema version. While the counter, the links and the schema stay, every review after
    the cursor has an id above `review_max`."""
    review_max = conn.execute("SELECT coalesce(max(id), 0) FROM review_log").fetchone()[0]
    changes = conn.execute("SELECT n, instance FROM log_changes WHERE id = 1").fetchone()
    links = conn.execute("SELECT count(*) FROM sync_review_ids").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return {
        "review_max": int(review_max),
        "log_changes": [int(changes[0]), str(changes[1])] if changes else None,
        "links": int(links),
        "schema": int(version),
    }


def sync_cursor(store: Store, target: str) -> dict[str, Any] | None:
    """The cursor the last sync with this target left (None: none, or an older dlcards)."""
    found = last_sync(store, target)
    if found is None:
        return None
    cursor = found[1].get(CURSOR_KEY)
    return cursor if isinstance(cursor, dict) else None


def set_cursor_anki(store: Store, target: str, marks: dict[str, Any] | None) -> None:
    """After a full upload to a sync server (the mirror reopened): its Anki side of the cursor
    as it is now; None: the cursor is dropped (the next sync is a full one)."""

    def change(summary: dict[str, Any]) -> None:
        if marks is None or not isinstance(summary.get(CURSOR_KEY), dict):
            summary.pop(CURSOR_KEY, None)
        else:
            summary[CURSOR_KEY]["anki"] = marks

    _change_summary(store, target, change)


def _change_summary(store: Store, target: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the target's last summary in place, in one transaction (nothing without one)."""
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT summary FROM sync_targets WHERE target = ?", (target,)
        ).fetchone()
        if row is not None:
            summary = json.loads(row[0])
            change(summary)
            conn.execute(
                "UPDATE sync_targets SET summary = ? WHERE target = ?",
                (json.dumps(summary, ensure_ascii=False), target),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def synced_note_index(store: Store, target: str) -> dict[str, tuple[bool, int | None]]:
    """note id -> (orphaned, curriculum position) after the last sync (no fields read)."""
    return {
        str(note_id): (bool(orphaned), None if position is None else int(position))
        for note_id, orphaned, position in store.conn.execute(
            "SELECT note_id, orphaned, position FROM sync_notes WHERE target = ?", (target,)
        )
    }


def known_among(store: Store, revlog_ids: Iterable[int]) -> set[int]:
    """The Anki revlog ids among these that dlcards already knows (`known_revlog_ids`, asked
    for a few ids by the indexes instead of reading them all)."""
    ids = sorted(set(revlog_ids))
    out: set[int] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(
            int(r[0])
            for r in store.conn.execute(
                f"SELECT anki_revlog_id FROM review_log WHERE anki_revlog_id IN ({marks}) "
                f"UNION ALL SELECT revlog_id FROM sync_review_ids WHERE revlog_id IN ({marks})",
                [*chunk, *chunk],
            )
        )
    return out


def pending_reviews_since(store: Store, review_max: int) -> list[tuple[int, ReviewEntry]]:
    """`pending_reviews` when the last sync left every older review linked or imported (its
    cursor holds): the reviews answered in dlcards after review id `review_max`, never written
    to Anki."""
    conn = store.conn
    rows = conn.execute(
        "SELECT l.id, c.card_id FROM review_log AS l JOIN cards AS c ON c.id = l.card "
        "WHERE l.id > ? AND l.anki_revlog_id IS NULL",
        (review_max,),
    ).fetchall()
    if not rows:
        return []
    new = {int(r[0]) for r in rows}
    linked: set[int] = set()
    ids = sorted(new)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        linked.update(
            int(r[0])
            for r in conn.execute(
                "SELECT review_id FROM sync_review_ids "
                f"WHERE review_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    cards = sorted({str(r[1]) for r in rows if int(r[0]) not in linked})
    if not cards:
        return []
    return [
        (rid, e)
        for rid, e in store.reviews_with_ids(cards)
        if rid in new and rid not in linked and e.anki_revlog_id is None
    ]


def synced_notes(store: Store, target: str) -> dict[str, SyncedNote]:
    out = {}
    for note_id, fields, conflict, deck, orphaned in store.conn.execute(
        "SELECT note_id, fields, conflict, deck, orphaned FROM sync_notes WHERE target = ?",
        (target,),
    ):
        out[note_id] = SyncedNote(
            note_id,
            tuple(json.loads(fields)),
            deck,
            {int(k): v for k, v in json.loads(conflict).items()} if conflict else {},
            bool(orphaned),
        )
    return out


def synced_cards(store: Store, target: str) -> dict[str, SyncedCard]:
    return {
        row[0]: SyncedCard(row[0], bool(row[1]), bool(row[2]), int(row[3]), bool(row[4]))
        for row in store.conn.execute(
            "SELECT card_id, suspended, buried, flag, leech FROM sync_cards WHERE target = ?",
            (target,),
        )
    }


def last_sync(store: Store, target: str) -> tuple[datetime, dict[str, Any]] | None:
    row = store.conn.execute(
        "SELECT last_sync, summary FROM sync_targets WHERE target = ?", (target,)
    ).fetchone()
    if row is None:
        return None
    return datetime.fromisoformat(row[0]), json.loads(row[1])


def targets(store: Store) -> list[tuple[str, datetime, dict[str, Any]]]:
    return [
        (t, datetime.fromisoformat(when), json.loads(summary))
        for t, when, summary in store.conn.execute(
            "SELECT target, last_sync, summary FROM sync_targets ORDER BY target"
        )
    ]


def commit_sync(store: Store, write: SyncWrite) -> int:
    """Apply one sync's dlcards-side changes in ONE transaction; returns reviews inserted.

    Reviews from Anki whose revlog id is already known are skipped (never duplicated)."""
    conn = store.conn
    stamp = _ts(write.now)
    inserted = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        touched = {e.card_id for e in write.reviews} | {s.card_id for s in write.states}
        touched |= {f.card_id for f in write.flags}
        conn.executemany(
            "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, "
            "present, gone_since) VALUES (?, ?, 'unknown', '', 0, '', ?, 0, ?) "
            "ON CONFLICT (card_id) DO NOTHING",
            [(cid, cid.split("/c")[0], stamp, stamp) for cid in sorted(touched)],
        )
        seen: set[int] = set()

        def known(entry: ReviewEntry) -> bool:
            rid = entry.anki_revlog_id
            if rid is None:
                return False
            if (
                rid in seen
                or conn.execute(
                    "SELECT 1 FROM review_log WHERE anki_revlog_id = ? UNION ALL "
                    "SELECT 1 FROM sync_review_ids WHERE revlog_id = ?",
                    (rid, rid),
                ).fetchone()
            ):
                return True
            seen.add(rid)
            return False

        inserted = store._insert_entries(conn, write.reviews, known)[0]
        conn.executemany(
            "INSERT INTO sync_review_ids (review_id, revlog_id) VALUES (?, ?) "
            "ON CONFLICT (review_id) DO NOTHING",
            sorted(write.links.items()),
        )
        for state in write.states:
            if state.phase == "new" and state.reps == 0 and state.stability is None:
                conn.execute("DELETE FROM card_state WHERE card_id = ?", (state.card_id,))
            else:
                conn.execute(_UPSERT_STATE, (state.card_id, *_state_values(state)))
        conn.executemany(
            "INSERT INTO card_flags (card_id, suspended, buried_until, flag, leech) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (card_id) DO UPDATE SET "
            "suspended = excluded.suspended, buried_until = excluded.buried_until, "
            "flag = excluded.flag, leech = excluded.leech",
            [
                (
                    f.card_id,
                    int(f.suspended),
                    f.buried_until.isoformat() if f.buried_until else None,
                    f.flag,
                    int(f.leech),
                )
                for f in write.flags
            ],
        )
        if write.flags:
            conn.execute(
                "DELETE FROM card_flags WHERE suspended = 0 AND buried_until IS NULL "
                "AND flag = 0 AND leech = 0"
            )
        conn.executemany(
            "INSERT INTO sync_notes (target, note_id, fields, conflict, deck, orphaned, position) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, note_id) DO UPDATE SET "
            "fields = excluded.fields, conflict = excluded.conflict, deck = excluded.deck, "
            "orphaned = excluded.orphaned, position = excluded.position",
            [
                (
                    write.target,
                    n.note_id,
                    json.dumps(list(n.fields), ensure_ascii=False),
                    json.dumps({str(k): v for k, v in n.conflict.items()}, ensure_ascii=False)
                    if n.conflict
                    else None,
                    n.deck,
                    int(n.orphaned),
                    n.position,
                )
                for n in write.notes
            ],
        )
        conn.executemany(
            "DELETE FROM sync_notes WHERE target = ? AND note_id = ?",
            [(write.target, n) for n in write.forget_notes],
        )
        conn.executemany(
            "INSERT INTO sync_cards (target, card_id, suspended, buried, flag, leech) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target, card_id) DO UPDATE SET "
            "suspended = excluded.suspended, buried = excluded.buried, flag = excluded.flag, "
            "leech = excluded.leech",
            [
                (write.target, c.card_id, int(c.suspended), int(c.buried), c.flag, int(c.leech))
                for c in write.cards
            ],
        )
        summary = dict(write.summary)
        if write.cursor is not None:
            summary[CURSOR_KEY] = {**write.cursor, "store": store_cursor(conn)}
        else:
            summary.pop(CURSOR_KEY, None)
        conn.execute(
            "INSERT INTO sync_targets (target, last_sync, summary) VALUES (?, ?, ?) "
            "ON CONFLICT (target) DO UPDATE SET last_sync = excluded.last_sync, "
            "summary = excluded.summary",
            (write.target, stamp, json.dumps(summary, ensure_ascii=False)),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return inserted


def store_fingerprint(store: Store) -> str:
    """Changes whenever something a sync sends to Anki changes: a review, a flag, a link."""
    import hashlib

    h = hashlib.sha256()
    for sql in (
        "SELECT count(*), coalesce(max(id), 0) FROM review_log",
        "SELECT count(*), coalesce(max(review_id), 0) FROM sync_review_ids",
        "SELECT card_id, suspended, buried_until, flag, leech FROM card_flags ORDER BY card_id",
    ):
        for row in store.conn.execute(sql):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def set_fingerprint(store: Store, target: str, fingerprint: dict[str, Any]) -> None:
    """Keep, with the target's last summary, what both sides looked like after the sync."""
    _change_summary(store, target, lambda summary: summary.update(fingerprint=fingerprint))
