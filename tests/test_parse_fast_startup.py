"""The rest of issue 16's faster cold start, each against what it replaced: flat front matter
read without PyYAML, the store's card sync (read, compare, write the changes), the review
catalogue's session cards and columns."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from dlcards.core.parse.front_matter import flat_yaml

# -- front matter -----------------------------------------------------------------------------
WORD = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True),
    st.sampled_from(["yes", "No", "TRUE", "off", "On", "null", "NULL", "y", "n", "inf", "e5"]),
)
VALUE = st.one_of(
    st.integers(min_value=0, max_value=10**10).map(str),
    st.sampled_from(["010", "0x1F", "1_000", "3.5", "1e3", "1:30", "2024-01-02", "~", "'q'"]),
    st.lists(WORD, max_size=3).map(lambda ws: " ".join(ws)),
    st.lists(WORD, max_size=3).map(lambda ws: "[" + ", ".join(ws) + "]"),
    st.lists(WORD, max_size=3).map(lambda ws: "[" + ",".join(ws) + "]"),
    st.sampled_from(["a # c", "a: b", "[a, [b]]", "{a: 1}", "&x a", "*x", "a  b", "[ a ]", ""]),
)
KEY = st.one_of(WORD, st.sampled_from(["week", "topic", "tags", "requires", "deck", "on", "1"]))
FM_LINE = st.one_of(
    st.tuples(KEY, VALUE).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.sampled_from(["", " ", "# comment", "- a", "  tags: [a]", "week:3", "week : 3"]),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(FM_LINE, max_size=6))
def test_flat_front_matter_reads_as_pyyaml(lines: list[str]) -> None:
    content = "\n".join(lines)
    fast = flat_yaml(content)
    if fast is None:
        return  # left to PyYAML
    assert fast == yaml.safe_load(content)
    assert type(fast) is dict
    for key, value in fast.items():
        assert type(key) is str
        assert type(value) in (int, str, list)


def test_flat_front_matter_is_used_for_ordinary_files() -> None:
    """The shipped decks' front matter takes the fast path (it is not always None)."""
    read = 0
    for path in sorted((ROOT / "decks").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            content = text.split("---\n")[1].rstrip("\n")
            fast = flat_yaml(content)
            if fast is not None:
                read += 1
                assert fast == yaml.safe_load(content)
    assert read >= 10
    assert flat_yaml("week: 3\ntopic: softmax\ntags: [a, b-c]\ndeck: Deep Learning") == {
        "week": 3,
        "topic": "softmax",
        "tags": ["a", "b-c"],
        "deck": "Deep Learning",
    }
    for hard in ("week: 010", "on: 1", "tags: [yes]", "deck: null", "x: 'q'", "a: *b", "week: 3 "):
        assert flat_yaml(hard) is None, hard


# -- the store's card sync ----------------------------------------------------------------------
OLD_SYNC = [
    "CREATE TEMP TABLE IF NOT EXISTS seen (card_id TEXT PRIMARY KEY)",
    "DELETE FROM temp.seen",
]
OLD_UPSERT = (
    "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, present) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (card_id) DO UPDATE SET "
    "note_id = excluded.note_id, kind = excluded.kind, path = excluded.path, line = excluded.line, "
    "content_hash = excluded.content_hash, present = 1, gone_since = NULL "
    "WHERE cards.present = 0 OR cards.note_id IS NOT excluded.note_id OR cards.kind IS NOT excluded.kind "
    "OR cards.path IS NOT excluded.path OR cards.line IS NOT excluded.line "
    "OR cards.content_hash IS NOT excluded.content_hash"
)


def old_sync(store: Any, rows: list[tuple[Any, ...]], now: datetime) -> None:
    """`Store.sync_cards` as it was before issue 16 (an upsert of every card)."""
    from dlcards.store.rows import _ts

    stamp = _ts(now)
    full = [(*r, stamp) for r in rows]
    with store._tx() as conn:
        for sql in OLD_SYNC:
            conn.execute(sql)
        conn.executemany(
            "INSERT OR IGNORE INTO temp.seen (card_id) VALUES (?)", [(r[0],) for r in full]
        )
        conn.executemany(OLD_UPSERT, full)
        conn.execute(
            "UPDATE cards SET present = 0, gone_since = ? WHERE present = 1 "
            "AND card_id NOT IN (SELECT card_id FROM temp.seen)",
            (stamp,),
        )
        conn.execute("DELETE FROM temp.seen")


def table(store: Any) -> list[tuple[Any, ...]]:
    return store.conn.execute("SELECT * FROM cards ORDER BY id").fetchall()


@pytest.mark.parametrize("seed", range(6))
def test_card_sync_writes_what_the_upsert_of_every_card_wrote(tmp_path: Path, seed: int) -> None:
    from dlcards.store import CardInfo, Store

    rnd = random.Random(seed)
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    ids = [f"c{i:03d}" for i in range(60)] + [f"n{i}/c{k}" for i in range(10) for k in (1, 2)]
    with Store.open(tmp_path / "new.sqlite3") as new, Store.open(tmp_path / "old.sqlite3") as old:
        for step in range(8):
            now = t0 + timedelta(days=step)
            chosen = rnd.sample(ids, rnd.randint(0, len(ids)))
            rows = [
                (
                    cid,
                    cid.split("/")[0],
                    "cloze" if "/" in cid else "basic",
                    rnd.choice(["a.md", "b.md"]),
                    rnd.randint(1, 3),
                    rnd.choice(["h1", "h2"]),
                )
                for cid in chosen
            ]
            if rows and rnd.random() < 0.3:  # a repeated id: the last row counts
                rows.append((*rows[0][:4], 99, "hx"))
            if step % 2:
                new.sync_cards([CardInfo(*r) for r in rows], now)
            else:
                new.sync_card_rows(rows, now)
            old_sync(old, rows, now)
            assert table(new) == table(old)
        assert any(r[8] == 0 for r in table(new)) and any(r[8] == 1 for r in table(new))


def test_collection_sync_cards_marks_the_markdowns_cards(tmp_path: Path) -> None:
    from dlcards.app.collection import Collection
    from dlcards.store import card_infos

    root = tmp_path / "col"
    (root / "decks").mkdir(parents=True)
    deck = root / "decks" / "a.md"
    deck.write_text("Q: one?\nA: 1\n\nC: {{c1::a}} {{c2::b}}\n", encoding="utf-8")
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with Collection.open(root, store_path=tmp_path / "db.sqlite3") as col:
        col.sync_cards(now)
        want = sorted(
            (c.card_id, c.note_id, c.kind, c.path, c.line, c.content_hash)
            for c in card_infos(col.notes)
        )
        got = col.store.conn.execute(
            "SELECT card_id, note_id, kind, path, line, content_hash FROM cards WHERE present = 1"
        ).fetchall()
        assert sorted(got) == want and len(want) == 3
        deck.write_text("Q: one?\nA: 1\n", encoding="utf-8")
        col.reload_decks()
        col.sync_cards(now + timedelta(days=1))
        present = col.store.conn.execute("SELECT card_id FROM cards WHERE present = 1").fetchall()
        assert present == [(col.notes[0].id,)]


# -- the review catalogue -----------------------------------------------------------------------
def old_catalogue_payload(cards: list[Any], lines: dict[str, int]) -> dict[str, Any]:
    """`CardCatalogue.of(cards, lines).payload()` as it was before issue 16."""
    ordered = sorted(cards, key=lambda c: (c.order, c.id))
    group_of: dict[tuple[Any, ...], int] = {}
    tags_of: dict[tuple[str, ...], int] = {}
    cols: dict[str, list[Any]] = {
        k: [] for k in ("ids", "notes", "groups", "index", "ordinals", "lines", "tags")
    }
    for c in ordered:
        wk, fo, path, index, ordinal = c.order
        group = (wk, fo, path, c.week, c.topic, tuple(c.requires), c.deck, c.path)
        cols["ids"].append(c.id)
        cols["notes"].append(None if c.note_id == c.id else c.note_id)
        cols["groups"].append(group_of.setdefault(group, len(group_of)))
        cols["index"].append(index)
        cols["ordinals"].append(ordinal)
        cols["lines"].append(lines.get(c.id, 0))
        cols["tags"].append(tags_of.setdefault(tuple(c.tags), len(tags_of)))
    return {**cols, "group_values": list(group_of), "tag_values": list(tags_of)}


def test_catalogue_of_the_shipped_decks_is_as_before() -> None:
    from dlcards.app.review_catalogue import session_cards_of
    from dlcards.review.cards import note_session_cards
    from dlcards.review.queue import CardCatalogue
    from dlcards.system.decks import read_decks

    decks = read_decks(ROOT, use_cache=False, lint=False)
    order = {f.rel: i for i, f in enumerate(decks.files)}
    triples = session_cards_of(decks)
    assert triples == note_session_cards(decks.notes, order)
    assert len(triples) > 1000 and len({t[0].tags for t in triples}) > 5
    cards = [t[0] for t in triples]
    rnd = random.Random(3)
    rnd.shuffle(cards)  # `of` sorts
    lines = {t[0].id: t[1].line for t in triples}
    assert CardCatalogue.of(cards, lines).payload() == old_catalogue_payload(cards, lines)


def test_catalogue_of_odd_cards_is_as_before() -> None:
    from dlcards.review.cards import SessionCard
    from dlcards.review.queue import CardCatalogue

    cards = [
        SessionCard("a", "a", (1, 0, "x.md", 0, 1), "t", ["r"], 1, "D", ["x"], "x.md"),  # type: ignore[arg-type]
        SessionCard("b", "n", (1, 0, "x.md", 1, 2), "t", ("r",), 1, "D", ("x",), "x.md"),
        SessionCard("c", "n", (1, 0, "x.md", 1, 1), None, (), None, "D", (), "x.md"),
        SessionCard("d", "d", (2, 1, "y.md", 0, 1), "u", (), 2, "E", ("x",), "y.md"),
        SessionCard("e", "e", (1, 0, "x.md", 0, 1), "t", ("r",), 1, "D", ("x",), "x.md"),
    ]
    assert CardCatalogue.of(cards, {"a": 3}).payload() == old_catalogue_payload(cards, {"a": 3})
