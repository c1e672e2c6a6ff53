"""What `dlcards build` last exported to Anki, and since when (migration 5, `anki_notes`).

Anki updates a note on import only when the incoming note is newer than its own copy, and it
treats every update as a change (sync pushes it, `edited:1` matches it, the learner's tags go).
So a note's modification time must be the time its *content* last changed, not the build
time: `note_mtimes` keeps, per note, the digest of what Anki receives and the time that digest
was first built. The note types' templates and CSS get the same treatment (`notetype_mtimes`).

The last exported fields and tags are kept too: a note deleted from the Markdown, whose cards
the store knows are gone (`cards.present = 0`), can then still be exported, tagged
`dlcards::deleted` (`orphaned_notes`). Functions take an open `Store`; each write is one
transaction. Fields and tags are stored packed, the digest as bytes (migration 10:
`dlcards.store.packing`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dlcards.store.db import Store
from dlcards.store.packing import digest_from_db, digest_to_db, pack_note, unpack_note


@dataclass(frozen=True)
class ExportedNote:
    """A note as an .apkg carries it (what `anki_notes` keeps)."""

    note_id: str
    kind: str  # "basic" | "cloze"
    root: str  # deck root
    digest: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    ords: tuple[int, ...]
    mtime: int = 0  # seconds; 0 until recorded


def _row(note: ExportedNote, mtime: int) -> tuple[object, ...]:
    return (
        note.note_id,
        note.kind,
        note.root,
        digest_to_db(note.digest),
        mtime,
        pack_note(note.fields, note.tags),
        json.dumps(list(note.ords)),
    )


@dataclass(frozen=True)
class NoteTimes:
    mtimes: dict[str, int]  # note id -> modification time (seconds)
    changed: frozenset[str]  # notes that are new or whose content changed


def note_mtimes(store: Store, notes: Iterable[ExportedNote], now: int) -> NoteTimes:
    """Record these notes as exported at `now` (seconds); each one's modification time.

    A note whose digest is unchanged keeps its time. A new or changed note gets `now`, and
    always a time later than the one it had, so Anki takes the update even when two builds
    fall in the same second or the clock went back.
    """
    notes = list(notes)
    out: dict[str, int] = {}
    with store._tx() as conn:
        known: dict[str, tuple[str, int]] = {}
        ids = [n.note_id for n in notes]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for note_id, digest, mtime in conn.execute(
                f"SELECT note_id, digest, mtime FROM anki_notes WHERE note_id IN "
                f"({', '.join('?' * len(chunk))})",
                chunk,
            ):
                known[note_id] = (digest_from_db(digest), mtime)
        changed = []
        ids_changed: set[str] = set()
        for note in notes:
            old = known.get(note.note_id)
            if old is not None and old[0] == note.digest:
                out[note.note_id] = old[1]
                continue
            mtime = now if old is None else max(now, old[1] + 1)
            out[note.note_id] = mtime
            changed.append(_row(note, mtime))
            ids_changed.add(note.note_id)
        conn.executemany(
            "INSERT INTO anki_notes (note_id, kind, root, digest, mtime, content, ords) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (note_id) DO UPDATE SET "
            "kind = excluded.kind, root = excluded.root, digest = excluded.digest, "
            "mtime = excluded.mtime, content = excluded.content, ords = excluded.ords",
            changed,
        )
    return NoteTimes(out, frozenset(ids_changed))


def notetype_mtimes(store: Store, digests: Mapping[int, str], now: int) -> dict[int, int]:
    """Each note type's modification time: kept while its digest (templates, CSS, fields) is
    unchanged, else `now` (later than before)."""
    out: dict[int, int] = {}
    with store._tx() as conn:
        for model_id, digest in digests.items():
            row = conn.execute(
                "SELECT digest, mtime FROM anki_notetypes WHERE model_id = ?", (model_id,)
            ).fetchone()
            if row is not None and row[0] == digest:
                out[model_id] = int(row[1])
                continue
            mtime = now if row is None else max(now, int(row[1]) + 1)
            conn.execute(
                "INSERT INTO anki_notetypes (model_id, digest, mtime) VALUES (?, ?, ?) "
                "ON CONFLICT (model_id) DO UPDATE SET digest = excluded.digest, "
                "mtime = excluded.mtime",
                (model_id, digest, mtime),
            )
            out[model_id] = mtime
    return out


def orphaned_notes(store: Store, exclude: Iterable[str] = ()) -> list[ExportedNote]:
    """Exported notes (not in `exclude`) that the store knows are gone from the Markdown:
    it has cards of the note, and none of them is present. Pruned cards (no rows) do not count.
    """
    skip = set(exclude)
    # one pass over the cards (cards.note_id has no index): notes none of whose cards is present
    rows = store.conn.execute(
        "SELECT a.note_id, a.kind, a.root, a.digest, a.mtime, a.content, a.ords "
        "FROM anki_notes a JOIN (SELECT note_id FROM cards GROUP BY note_id "
        "HAVING max(present) = 0) gone ON gone.note_id = a.note_id ORDER BY a.note_id"
    )
    out = []
    for note_id, kind, root, digest, mtime, content, ords in rows:
        if note_id in skip:
            continue
        fields, tags = unpack_note(content)
        out.append(
            ExportedNote(
                note_id,
                kind,
                root,
                digest_from_db(digest),
                fields,
                tags,
                tuple(json.loads(ords)),
                int(mtime),
            )
        )
    return out
