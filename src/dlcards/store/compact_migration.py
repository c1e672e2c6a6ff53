"""The Python half of migration 10 (`compact_text_tables`, issue 16), run inside the
migration's transaction just before its SQL (`dlcards.store.migrations.V10_COMPACT_TEXT`).

1. Every `card_text.updated_at` not in the store's own form is rewritten in it, from the same
   instant (the SQL converts that form to microseconds exactly and checks every row).
2. A text whose card row is missing gets a placeholder card (nothing is dropped by the join).
3. Every `anki_notes` row's fields and tags are packed (`dlcards.store.packing`) and its
   digest made bytes, into `temp.packed_notes`; each packed value is read back and compared
   first. The SQL copies them into the new table and checks the counts.

A failure anywhere rolls the whole migration back: the old database stays as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from dlcards.store.lean_migration import _canonical, _is_canonical
from dlcards.store.packing import digest_from_db, digest_to_db, pack_note, unpack_note
from dlcards.store.rows import _note_of

_PACKED = (
    "CREATE TEMP TABLE IF NOT EXISTS packed_notes "
    "(note_id TEXT PRIMARY KEY, digest ANY NOT NULL, content BLOB NOT NULL) STRICT"
)


def _is_table(conn: sqlite3.Connection, name: str) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
    )


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} is not a JSON list of strings")
    return tuple(value)


def _packed(conn: sqlite3.Connection) -> Iterator[tuple[str, bytes | str, bytes]]:
    for note_id, digest, fields_json, tags_json in conn.execute(
        "SELECT note_id, digest, fields, tags FROM anki_notes"
    ):
        fields = _strings(json.loads(fields_json), f"the exported fields of note {note_id}")
        tags = _strings(json.loads(tags_json), f"the exported tags of note {note_id}")
        content = pack_note(fields, tags)
        stored = digest_to_db(digest)
        if unpack_note(content) != (fields, tags) or digest_from_db(stored) != digest:
            raise ValueError(f"note {note_id} does not read back as it was written")
        yield note_id, stored, content


def prepare(conn: sqlite3.Connection) -> None:
    """Steps 1-3 above (inside the caller's transaction)."""
    conn.execute(_PACKED)
    conn.execute("DELETE FROM temp.packed_notes")
    if _is_table(conn, "card_text"):
        # 1. times in the one form the SQL converts
        odd = conn.execute(
            f"SELECT card_id, updated_at FROM card_text WHERE NOT {_is_canonical('updated_at')}"
        ).fetchall()
        conn.executemany(
            "UPDATE card_text SET updated_at = ? WHERE card_id = ?",
            [(_canonical(text), cid) for cid, text in odd],
        )
        # 2. a card row for every text
        stamp = conn.execute(
            "SELECT coalesce(min(updated_at), '1970-01-01T00:00:00.000000+00:00') FROM card_text"
        ).fetchone()[0]
        missing = [
            r[0]
            for r in conn.execute(
                "SELECT card_id FROM card_text WHERE card_id NOT IN (SELECT card_id FROM cards)"
            )
        ]
        conn.executemany(
            "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, "
            "present, gone_since) VALUES (?, ?, 'unknown', '', 0, '', ?, 0, ?)",
            [(cid, _note_of(cid), stamp, stamp) for cid in missing],
        )
    # 3. the exported notes, packed
    if _is_table(conn, "anki_notes") and "fields" in {
        r[1] for r in conn.execute("PRAGMA table_info(anki_notes)")
    }:
        conn.executemany(
            "INSERT INTO temp.packed_notes (note_id, digest, content) VALUES (?, ?, ?)",
            list(_packed(conn)),
        )
