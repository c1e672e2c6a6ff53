"""The compact text tables (issue 16, item 5; migration 10 `compact_text_tables`).

- The migration from schema 9 is exact on a real-sized collection: a collection written by
  `scripts/gen_collection.py --bulk` and built for Anki by `dlcards build`, put back in the
  schema-9 layout (the tables' own v9 statements), then made irregular (time texts in other
  ISO forms, a text whose card row is missing, a digest that is not hex, fields with quotes,
  backslashes, newlines and non-ASCII text, a note whose cards are gone): everything the
  public API and the raw tables show is the same after the migration, the file is smaller,
  and a migration that fails leaves the old database as it was.
- `anki_notes` packing round-trips any fields, tags and digest; its dictionary is frozen.
- `card_texts` writes skip unchanged texts, follow the cards table (cascade), and the
  `card_text` view shows the old columns.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcards.core.errors import StoreError
from dlcards.store import Store
from dlcards.store.anki_notes import ExportedNote, note_mtimes, orphaned_notes
from dlcards.store.card_text import (
    CardText,
    last_known_text,
    last_known_texts,
    remember_card_texts,
)
from dlcards.store.migrations import MIGRATIONS
from dlcards.store.packing import _DICT_V1, digest_from_db, digest_to_db, pack_note, unpack_note
from dlcards.store.rows import _state_from
from test_store_packed import back_to_v10

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
V9 = 9
_OLD_TABLES = ("card_text", "anki_notes", "card_state")


# -- a real collection in the schema-9 layout ------------------------------------------------------


def v9_statements(tmp: Path) -> dict[str, str]:
    """The CREATE statements of the tables (and the index) migration 10 rebuilds, as schema 9
    has them (from the migrations' own SQL)."""
    path = tmp / "v9-schema.sqlite3"
    conn = sqlite3.connect(path)
    for m in MIGRATIONS[:V9]:
        conn.executescript(m.sql)
    out = {
        name: sql
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN "
            "('card_text', 'anki_notes', 'card_state', 'card_state_phase_due')"
        )
    }
    conn.close()
    return out


def schema_of(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(
            conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )
    finally:
        conn.close()


def generated_collection(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A generated collection with its review history and an Anki build; the database path."""
    pytest.importorskip("genanki", reason="genanki is not installed")
    home, root = tmp / "home", tmp / "collection"
    env = {**os.environ, "DLCARDS_HOME": str(home), "TZ": "UTC"}
    env.pop("DLCARDS_NOW", None)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gen_collection.py"),
            str(root),
            "--cards",
            "300",
            "--reviews",
            "3000",
            "--files",
            "3",
            "--home",
            str(home),
            "--now",
            NOW.isoformat(),
            "--bulk",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    monkeypatch.setenv("DLCARDS_HOME", str(home))
    from dlcards.app.collection import Collection

    with Collection.open(root, lint=False) as col:
        result = col.build(tmp / "out", when=NOW, no_cache=True)
    assert result.written, result.problems
    return home / "dlcards.sqlite3"


def to_v9(path: Path, statements: dict[str, str]) -> None:
    """Put a schema-10 (or later) database back in the schema-9 layout (the same data)."""
    back_to_v10(path)  # the review log without migration 11's column
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("BEGIN")
    texts = conn.execute("SELECT card_id, question, answer, updated_at FROM card_text").fetchall()
    notes = conn.execute(
        "SELECT note_id, kind, root, digest, mtime, content, ords FROM anki_notes"
    ).fetchall()
    states = conn.execute("SELECT * FROM card_state").fetchall()
    conn.execute("DROP VIEW card_text")
    conn.execute("DROP TABLE card_texts")
    conn.execute("DROP TABLE anki_notes")
    conn.execute("DROP TABLE card_state")
    # the v9 tables came from renames: their statements name them as after the rename
    for name in ("card_text", "anki_notes", "card_state"):
        conn.execute(statements[name])
    conn.execute(statements["card_state_phase_due"])
    conn.executemany("INSERT INTO card_text VALUES (?, ?, ?, ?)", texts)
    rows = []
    for note_id, kind, root, digest, mtime, content, ords in notes:
        fields, tags = unpack_note(content)
        rows.append(
            (
                note_id,
                kind,
                root,
                digest_from_db(digest),
                mtime,
                json.dumps(list(fields), ensure_ascii=False),
                json.dumps(list(tags), ensure_ascii=False),
                ords,
            )
        )
    conn.executemany("INSERT INTO anki_notes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany(f"INSERT INTO card_state VALUES ({', '.join('?' * 10)})", states)
    conn.execute("DELETE FROM migrations WHERE version > ?", (V9,))
    conn.execute(f"PRAGMA user_version = {V9}")
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    conn.close()


ODD_FIELDS = ('a "quoted" <b>field</b>', "back\\slash \\(x\\)\nnew line", "naïve – 日本語 🙂", "")


def make_irregular(path: Path) -> None:
    """What a v9 database written by older code, or by hand, may hold."""
    conn = sqlite3.connect(path, isolation_level=None)
    ids = [r[0] for r in conn.execute("SELECT card_id FROM card_text ORDER BY card_id LIMIT 6")]
    # times in other valid ISO forms
    conn.execute(
        "UPDATE card_text SET updated_at = '2026-01-05T10:00:00Z' WHERE card_id = ?", (ids[0],)
    )
    conn.execute(
        "UPDATE card_text SET updated_at = '2026-01-05T11:30:00.5+01:00' WHERE card_id = ?",
        (ids[1],),
    )
    # a text whose card row is gone (written with foreign keys off)
    conn.execute(
        "INSERT INTO card_text VALUES ('lost0001', 'Lost question?', 'Lost answer', "
        "'2025-12-01T08:00:00.000001+00:00')"
    )
    # unusual exported notes: a digest that is not hex, fields that need escaping, no tags;
    # and one whose cards are all gone (an orphaned note)
    conn.execute(
        "INSERT INTO anki_notes VALUES ('hand0001', 'basic', 'Hand', 'not-a-hex-digest', 1700000000, "
        "?, '[]', '[0]')",
        (json.dumps(list(ODD_FIELDS), ensure_ascii=False),),
    )
    note = conn.execute("SELECT note_id FROM anki_notes ORDER BY note_id LIMIT 1").fetchone()[0]
    conn.execute(
        "UPDATE cards SET present = 0, gone_since = '2026-01-04T00:00:00.000000+00:00' "
        "WHERE note_id = ?",
        (note,),
    )
    conn.close()


def canonical(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="microseconds")


def raw_view(path: Path) -> dict[str, Any]:
    """Every row of the three tables, decoded the way its schema stores it."""
    conn = sqlite3.connect(path)
    try:
        text_rows = {
            r[0]: r[1:]
            for r in conn.execute("SELECT card_id, question, answer, updated_at FROM card_text")
        }
        columns = {r[1] for r in conn.execute("PRAGMA table_info(anki_notes)")}
        notes = {}
        if "fields" in columns:
            for nid, kind, root, digest, mtime, fields, tags, ords in conn.execute(
                "SELECT note_id, kind, root, digest, mtime, fields, tags, ords FROM anki_notes"
            ):
                notes[nid] = (
                    kind,
                    root,
                    digest,
                    mtime,
                    tuple(json.loads(fields)),
                    tuple(json.loads(tags)),
                    ords,
                )
        else:
            for nid, kind, root, digest, mtime, content, ords in conn.execute(
                "SELECT note_id, kind, root, digest, mtime, content, ords FROM anki_notes"
            ):
                notes[nid] = (
                    kind,
                    root,
                    digest_from_db(digest),
                    mtime,
                    *unpack_note(content),
                    ords,
                )
        states = sorted(conn.execute("SELECT * FROM card_state"))
        return {"texts": text_rows, "notes": notes, "states": states}
    finally:
        conn.close()


def dump(path: Path) -> dict[str, list[Any]]:
    """Every row of every table, as stored."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"'), key=repr) for n in names}
    finally:
        conn.close()


def public_view(path: Path) -> dict[str, Any]:
    with Store.open(path) as store:
        reviews = hashlib.sha256(repr(store.reviews_with_ids()).encode()).hexdigest()
        return {
            "texts": last_known_texts(store),
            "orphaned": orphaned_notes(store),
            "states": store.states(),
            "flags": store.flags(),
            "reviews": reviews,
        }


@pytest.fixture(scope="module")
def v9_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A generated, built collection's database in the v9 layout (read-only: tests copy it)."""
    tmp = tmp_path_factory.mktemp("v9")
    with pytest.MonkeyPatch.context() as mp:
        db = generated_collection(tmp, mp)
    statements = v9_statements(tmp)
    to_v9(db, statements)
    make_irregular(db)
    return db, statements


def copy_db(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / "dlcards.sqlite3"
    dst.write_bytes(src.read_bytes())
    return dst


def test_the_v9_layout_is_schema_9(v9_pair: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    db, _ = v9_pair
    fresh = tmp_path / "fresh9.sqlite3"
    conn = sqlite3.connect(fresh)
    for m in MIGRATIONS[:V9]:
        conn.executescript(m.sql)
    conn.close()
    assert schema_of(db) == schema_of(fresh)


def test_migration_from_v9_is_exact(v9_pair: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    db = copy_db(v9_pair[0], tmp_path / "home")
    before_raw = raw_view(db)
    assert len(before_raw["texts"]) > 300 and len(before_raw["notes"]) > 200
    size_before = db.stat().st_size

    after_public = public_view(db)  # opens: migrates
    with Store.open(db) as store:
        assert store.schema_version == MIGRATIONS[-1].version
        assert store.integrity_check() == []
    after_raw = raw_view(db)

    # the texts: every row, the odd times in the store's form of the same instant
    expected = {cid: (q, a, canonical(t)) for cid, (q, a, t) in before_raw["texts"].items()}
    assert after_raw["texts"] == expected
    assert after_public["texts"] == {
        cid: CardText(cid, q, a) for cid, (q, a, _) in before_raw["texts"].items()
    }
    assert after_public["texts"]["lost0001"] == CardText(
        "lost0001", "Lost question?", "Lost answer"
    )
    # the exported notes and the states, unchanged
    assert after_raw["notes"] == before_raw["notes"]
    assert after_raw["notes"]["hand0001"][4] == ODD_FIELDS
    assert after_raw["states"] == before_raw["states"]
    assert after_public["states"] == {r[0]: _state_from(r[0], r[1:]) for r in before_raw["states"]}
    # the orphaned note is still exported, exactly
    assert [n.note_id for n in after_public["orphaned"]]
    for n in after_public["orphaned"]:
        kind, root, digest, mtime, fields, tags, ords = before_raw["notes"][n.note_id]
        assert (n.kind, n.root, n.digest, n.mtime, n.fields, n.tags) == (
            kind,
            root,
            digest,
            mtime,
            fields,
            tags,
        )
        assert list(n.ords) == json.loads(ords)
    # the migrated database is smaller (VACUUMed after the migration)
    assert db.stat().st_size < size_before
    # a copy of the old database was kept
    backups = list((db.parent / "backups").glob("dlcards-before-v*.sqlite3"))
    assert backups and raw_view(backups[0])["notes"] == before_raw["notes"]


def test_unchanged_notes_keep_their_times_after_the_migration(
    v9_pair: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db = copy_db(v9_pair[0], tmp_path / "home")
    before = raw_view(db)["notes"]
    with Store.open(db) as store:
        notes = [
            ExportedNote(nid, kind, root, digest, fields, tags, tuple(json.loads(ords)))
            for nid, (kind, root, digest, _m, fields, tags, ords) in before.items()
        ]
        times = note_mtimes(store, notes, 1_900_000_000)
        assert times.changed == frozenset()
        assert times.mtimes == {nid: row[3] for nid, row in before.items()}
        edited = [
            ExportedNote(n.note_id, n.kind, n.root, "0" * 64, (*n.fields, "x"), n.tags, n.ords)
            for n in notes[:3]
        ]
        again = note_mtimes(store, edited, 1_900_000_000)
        assert again.changed == {n.note_id for n in edited}
    after = raw_view(db)["notes"]
    for n in edited:
        assert after[n.note_id][2] == "0" * 64 and after[n.note_id][4] == n.fields


def test_a_failed_migration_leaves_the_old_database(
    v9_pair: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db = copy_db(v9_pair[0], tmp_path / "home")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE anki_notes SET tags = '{broken' WHERE note_id = 'hand0001'")
    conn.commit()
    conn.close()
    before = dump(db)
    schema_before = schema_of(db)
    with pytest.raises(StoreError, match=r"migration 10 .*version 9"):
        Store.open(db)
    assert schema_of(db) == schema_before
    assert dump(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == V9
    conn.close()


def test_the_tables_shrink(v9_pair: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    db = copy_db(v9_pair[0], tmp_path / "home")

    def sizes() -> dict[str, int]:
        conn = sqlite3.connect(db)
        try:
            return dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        finally:
            conn.close()

    old = sizes()
    with Store.open(db):
        pass
    new = sizes()
    assert new["card_texts"] < old["card_text"]
    assert new["anki_notes"] < old["anki_notes"] + old["sqlite_autoindex_anki_notes_1"]
    assert new["card_state"] < old["card_state"] + old["sqlite_autoindex_card_state_1"]
    assert "sqlite_autoindex_card_state_1" not in new
    assert "sqlite_autoindex_anki_notes_1" not in new


# -- the packing ---------------------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)


@settings(max_examples=200, deadline=None)
@given(fields=st.lists(_TEXT, max_size=8), tags=st.lists(_TEXT, max_size=6))
def test_packing_round_trips(fields: list[str], tags: list[str]) -> None:
    packed = pack_note(fields, tags)
    assert packed[0] == 1
    assert unpack_note(packed) == (tuple(fields), tuple(tags))


@given(digest=st.one_of(st.binary(min_size=32, max_size=32).map(bytes.hex), _TEXT))
def test_digests_round_trip(digest: str) -> None:
    stored = digest_to_db(digest)
    assert digest_from_db(stored) == digest
    assert isinstance(stored, bytes) == (len(digest) == 64 and digest == digest.lower())


def test_the_dictionary_is_frozen() -> None:
    # a packed note can only be read with the dictionary it was written with
    assert hashlib.sha256(_DICT_V1).hexdigest()[:16] == "6385a8025793740d"


def test_unknown_or_damaged_content_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="unknown format"):
        unpack_note(b"\x02abc")
    with pytest.raises(StoreError, match="cannot be read"):
        unpack_note(b"\x01not deflate at all")


# -- card texts ----------------------------------------------------------------------------------


def test_texts_skip_unchanged_and_follow_the_cards(tmp_path: Path) -> None:
    from dlcards.store.rows import CardInfo

    with Store.open(tmp_path / "db.sqlite3") as store:
        store.sync_cards(
            [CardInfo(c, c.split("/")[0], "cloze", "a.md", 1, "h") for c in ("n1/c1", "n1/c2")]
            + [CardInfo("b1", "b1", "basic", "a.md", 5, "h")],
            NOW,
        )
        texts = [CardText("n1/c1", "Q {{c1::x}}", ""), CardText("b1", "Q?", "A")]
        assert remember_card_texts(store, [*texts, CardText("unknown", "q", "a")], NOW) == 2
        later = NOW + timedelta(days=1)
        assert remember_card_texts(store, texts, later) == 0
        assert remember_card_texts(store, [CardText("b1", "Q?", "A2")], later) == 1
        assert last_known_texts(store) == {
            "n1/c1": texts[0],
            "b1": CardText("b1", "Q?", "A2"),
        }
        assert last_known_text(store, "n1/c2") is None
        rows = store.conn.execute(
            "SELECT card_id, updated_at FROM card_text ORDER BY card_id"
        ).fetchall()
        assert rows == [
            ("b1", later.isoformat(timespec="microseconds")),
            ("n1/c1", NOW.isoformat(timespec="microseconds")),
        ]
        with pytest.raises(sqlite3.OperationalError):
            store.conn.execute("INSERT INTO card_text VALUES ('b1', 'q', 'a', 'x')")
        store.delete_card("b1")
        assert set(last_known_texts(store)) == {"n1/c1"}
        # a renamed card id keeps its text (the key is the card's number)
        with store._tx() as conn:
            conn.execute("UPDATE cards SET card_id = 'n1/c9' WHERE card_id = 'n1/c1'")
        assert last_known_text(store, "n1/c9") == CardText("n1/c9", "Q {{c1::x}}", "")
