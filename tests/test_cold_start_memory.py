"""A cold review start lets the parsed notes go before the store is written, and behaves as a
warm one (issue 16, item 2: the cold first card's peak memory).

A cold start (no dlcards cache: `DLCARDS_CACHE_OFF=all`, or the first start after an upgrade
or after every deck file changed) reads every deck file, makes the review catalogue and the
store sync's rows from the notes, and then lets the notes go: a card's note is read from its
own file when it is shown, as after a warm start (the catalogue from the cache). These tests
run a real generated collection (scripts/gen_collection.py) through cold and warm starts, each
on its own copy of the review database, and compare everything a review sees: the queue, the
cards shown and their notes, the card rows and texts synced into the store; and they compare
those with what the whole decks, read as before, say (the old cold path kept every note).
No memory or timing is measured here: the benchmark does that (scripts/bench.py).
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlcards.app.collection import Collection
from dlcards.core.model import Block, Deletion, Note
from dlcards.core.parse import parse_text
from dlcards.core.state import Rating

ROOT = Path(__file__).resolve().parent.parent
GENERATED_AT = datetime(2026, 1, 5, 9, tzinfo=UTC)


def generate(tmp: Path) -> tuple[Path, Path]:
    """A generated collection (basic and cloze cards, explicit ids) and its review database
    with a history."""
    home, root = tmp / "gen-home", tmp / "collection"
    env = {**os.environ, "DLCARDS_HOME": str(home), "TZ": "UTC"}
    env.pop("DLCARDS_NOW", None)
    env.pop("DLCARDS_CACHE_OFF", None)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gen_collection.py"),
            str(root),
            "--cards",
            "240",
            "--reviews",
            "1500",
            "--files",
            "4",
            "--home",
            str(home),
            "--now",
            GENERATED_AT.isoformat(),
            "--bulk",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return root, home / "dlcards.sqlite3"


@dataclass
class Run:
    """What one review start saw and did."""

    from_cache: bool
    counts: list[Any]
    shown: list[tuple[str, int, str, Note, tuple[Path, int] | None]]
    present: list[tuple[Any, ...]]
    absent: list[tuple[Any, ...]]
    texts: dict[str, tuple[str, str]]
    numbering: list[str]  # the store's card numbers: new cards are numbered as they are synced
    deck_errors: int
    code_cards: bool


def review(root: Path, db: Path, now: datetime, answers: int = 6, hold: bool = False) -> Run:
    """One review start: the first `answers` cards shown and answered (again/good in turn),
    then the store's card rows and texts. `hold`: the decks are read (and held) first, as
    `dlcards review` does on a cold start (`deck_error_count`) and the home screen."""
    from dlcards.store.card_text import last_known_texts

    with Collection.open(root, store_path=db, now_fn=lambda: now) as col:
        held = col.decks if hold else None
        size = (len(held.notes), len(held.files)) if held else None
        svc = col.review()
        if held is not None:  # a holder's decks are never emptied (only the review's own)
            assert (len(held.notes), len(held.files)) == size
        counts: list[Any] = [svc.session.counts(now)]
        shown: list[tuple[str, int, str, Note, tuple[Path, int] | None]] = []
        for k in range(answers):
            cid = svc.session.next_card(now)
            if cid is None:
                break
            card = svc.card(cid)
            assert card is not None, cid
            shown.append((cid, card.ordinal, card.note_id, card.note, svc.file_of(cid)))
            svc.apply(svc.session.answer(Rating.GOOD if k % 2 else Rating.AGAIN, now, 1200))
            counts.append(svc.session.counts(now))
        assert not svc.write_errors
        store = col.store
        return Run(
            svc._catalogue.from_cache,
            counts,
            shown,
            [tuple(vars(c).values()) for c in store.cards(present=True)],
            [tuple(vars(c).values()) for c in store.cards(present=False)],
            {cid: (t.question, t.answer) for cid, t in last_known_texts(store).items()},
            [r[0] for r in store.conn.execute("SELECT card_id FROM cards ORDER BY id")],
            svc.deck_errors,
            svc.has_code_cards(),
        )


def cold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "all")


def warm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLCARDS_CACHE_OFF", raising=False)


def reference(root: Path, run: Run) -> None:
    """What the whole decks, read as before, say: each card shown is its note there (with its
    effective id), and the store has exactly their card rows and texts."""
    from dlcards.app.review_catalogue import session_cards_of
    from dlcards.store import card_rows
    from dlcards.store.card_text import texts_of
    from dlcards.system.decks import read_decks

    decks = read_decks(root.resolve(), use_cache=False, lint=False)
    where = {sc.id: (note, ordinal) for sc, note, ordinal in session_cards_of(decks)}
    for cid, ordinal, note_id, note, at in run.shown:
        assert where[cid] == (note, ordinal)
        assert note_id == note.id and at == (root.resolve() / note.path, note.line)
    rows = sorted(card_rows(decks.notes))
    assert run.present == rows
    texts = {t.card_id: (t.question, t.answer) for t in texts_of(decks.notes)}
    assert {cid: run.texts[cid] for cid in texts} == texts
    assert run.deck_errors == len(decks.errors)
    assert run.code_cards == any(b.kind == "torch" for n in decks.notes for b in n.blocks)


def same(a: Run, b: Run) -> None:
    assert a.counts == b.counts
    assert [s[:3] for s in a.shown] == [s[:3] for s in b.shown]
    assert a.shown == b.shown  # the same notes, where they are
    assert (a.present, a.absent, a.texts) == (b.present, b.absent, b.texts)
    assert a.numbering == b.numbering
    assert (a.deck_errors, a.code_cards) == (b.deck_errors, b.code_cards)


BROKEN = """---
week: not-a-week
---

# Broken on purpose

Q: A fine card in a broken file?
A: Yes, it is still reviewed.

Q: A card without an answer

C: A cloze card without any deletion.

C: The {{c1::first}} and {{c2::second}} deletion, {{c2::again}}.

Q: Duplicate question without an id?
A: One.

Q: Duplicate   question without an id?
A: Two (the same question, other blanks: its derived id is salted).

Q: This one takes an id already used <!-- id: {taken} -->
A: It is given a derived id.

```torch
x = 1
"""


def move_card(src: Path, dst: Path) -> str:
    """Move the second basic card (question and answer lines, id kept) from `src` to the
    end of `dst`; its id."""
    text = src.read_text(encoding="utf-8")
    found = list(re.finditer(r"^Q: .*<!-- id: (\w+) -->\nA: .*\n", text, re.M))
    m = found[1]
    src.write_text(text[: m.start()] + text[m.end() :], encoding="utf-8")
    with dst.open("a", encoding="utf-8") as out:
        out.write("\n\n" + m.group(0))
    return m.group(1)


def test_cold_and_warm_starts_give_the_same_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dlcards.app.review as review_mod

    monkeypatch.setattr(review_mod, "_CHUNK", 2)  # the notes let go a few at a time
    root, db = generate(tmp_path)
    files = sorted((root / "decks").glob("*.md"))
    assert len(files) == 4 and "{{c1::" in files[0].read_text(encoding="utf-8")
    db_cold, db_warm = tmp_path / "cold" / "d.sqlite3", tmp_path / "warm" / "d.sqlite3"
    db_held = tmp_path / "held" / "d.sqlite3"
    for db_copy in (db_cold, db_warm, db_held):
        db_copy.parent.mkdir()
        shutil.copyfile(db, db_copy)
    now = GENERATED_AT + timedelta(hours=1)

    def both(step: str) -> tuple[Run, Run]:
        cold(monkeypatch)
        a = review(root, db_cold, now)
        held = review(root, db_held, now, hold=True)  # the decks read before the review
        warm(monkeypatch)
        review(root, db_warm, now, answers=0)  # reads the decks, writes the catalogue
        b = review(root, db_warm, now)  # from the catalogue: no deck read
        assert (a.from_cache, held.from_cache, b.from_cache) == (False, False, True), step
        same(a, b)
        same(a, held)
        reference(root, a)
        assert a.shown, step
        return a, b

    first, _ = both("as generated")
    assert any("/c" in cid for cid in first.texts)  # cloze cards are among them

    # a deck file edited between starts: a question reworded (its id kept), a card added
    now += timedelta(minutes=10)
    text = files[0].read_text(encoding="utf-8")
    q = re.search(r"^Q: (What does .*?) <!-- id: (\w+) -->$", text, re.M)
    assert q is not None
    text = text.replace(q.group(1), "Reworded: " + q.group(1), 1)
    files[0].write_text(text + "\nQ: A new card, no id yet?\nA: Derived.\n", encoding="utf-8")
    edited, _ = both("edited")
    assert edited.texts[q.group(2)][0].startswith("Reworded: ")

    # a card moved to another file (its id, history and state go with it)
    now += timedelta(minutes=10)
    moved = move_card(files[1], files[2])
    after_move, _ = both("moved")
    row = {r[0]: r for r in after_move.present}[moved]
    assert row[3] == files[2].relative_to(root).as_posix()

    # a file with parse errors (front matter, cards, a duplicate id, an open fence) and one
    # that is not UTF-8
    now += timedelta(minutes=10)
    (root / "decks" / "zz-broken.md").write_text(BROKEN.replace("{taken}", moved), encoding="utf-8")
    (root / "decks" / "zz-latin1.md").write_bytes(b"Q: caf\xe9?\nA: x\n")
    broken, _ = both("broken")
    assert broken.deck_errors >= 5
    present = {r[0] for r in broken.present}
    assert moved in present and any(r[3] == "decks/zz-broken.md" for r in broken.present)

    # the next day, nothing changed: cold and warm again
    now += timedelta(days=1)
    both("next day")


def test_a_cold_start_keeps_no_parsed_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notes of the full read are let go once the catalogue and the sync rows are made;
    the card shown is read again from its own file."""
    import dlcards.system.decks as decks_mod

    root, db = generate(tmp_path)
    now = GENERATED_AT + timedelta(hours=1)
    cold(monkeypatch)
    read: list[weakref.ref[Note]] = []
    real = decks_mod.read_decks

    def tracking(root_: Path, paths: list[Path] | None = None, **kw: Any) -> Any:
        decks = real(root_, paths, **kw)
        if paths is None:
            read.extend(weakref.ref(n) for n in decks.notes)
        return decks

    monkeypatch.setattr(decks_mod, "read_decks", tracking)
    with Collection.open(root, store_path=db, now_fn=lambda: now) as col:
        svc = col.review()
        cid = svc.session.next_card(now)
        assert cid is not None
        card = svc.card(cid)
        gc.collect()
        assert len(read) > 100 and not [r for r in read if r() is not None]
        assert card is not None and card.id == cid
        assert col._decks is None  # the collection reads them again when asked
        assert any(n.id == card.note_id for n in col.decks.notes)
        # the store was synced from the rows made before the notes went
        assert {c.card_id for c in col.store.cards(present=True)} == set(svc.card_ids)


def test_a_read_only_cold_start_makes_no_sync_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another window holds the write lease: nothing is synced (as before), the review works."""
    root, db = generate(tmp_path)
    now = GENERATED_AT + timedelta(hours=1)
    (root / "decks" / "new.md").write_text("Q: Brand new?\nA: Yes.\n", encoding="utf-8")
    cold(monkeypatch)
    with Collection.open(root, store_path=db, now_fn=lambda: now) as holder:
        holder.take_lease("review")
        with Collection.open(root, store_path=db, now_fn=lambda: now) as col:
            svc = col.review()
            assert svc.read_only is not None and svc._prepared is None
            new = [cid for cid in svc.card_ids if svc.file_of(cid)[0].name == "new.md"]  # type: ignore[index]
            assert len(new) == 1
            assert new[0] not in {c.card_id for c in col.store.cards()}
            card = svc.card(svc.session.next_card(now))
            assert card is not None


def test_parsed_models_share_their_fields_set_and_equal_validated_ones() -> None:
    """The parser's notes, blocks and deletions share one `fields_set` per list of names
    (pydantic's own is one set per object); copying one never changes another's."""
    import pickle

    text = (
        "Q: One? <!-- id: a1 -->\nA: Yes.\n\n```check\n1 == 1\n```\n\n"
        "Q: Two? <!-- id: a2 -->\nA: Yes.\n\n"
        "C: {{c1::x::h}} and {{c2::y}} <!-- id: a3 -->\n\nC: {{c1::z}} <!-- id: a4 -->\n"
    )
    notes = parse_text(text, "p.md").notes
    assert len(notes) == 4
    assert notes[0].__pydantic_fields_set__ is notes[1].__pydantic_fields_set__
    assert notes[2].__pydantic_fields_set__ is notes[3].__pydantic_fields_set__
    deletions = [d for n in notes for d in n.deletions]
    assert len({id(d.__pydantic_fields_set__) for d in deletions}) == 1
    for note in notes:
        validated = Note(**{k: getattr(note, k) for k in note.__pydantic_fields_set__})
        assert validated == note and validated.model_fields_set == note.model_fields_set
        assert pickle.loads(pickle.dumps(note)) == note
    block = notes[0].blocks[0]
    assert block == Block(kind="check", side="answer", line=block.line, text=block.text)
    d = notes[2].deletions[0]
    assert d == Deletion(number=1, text="x", hint="h", line=d.line, start=d.start, end=d.end)
    shared = set(notes[1].__pydantic_fields_set__)
    copy = notes[0].model_copy(update={"id": "other", "answer_line": None})
    assert copy.id == "other" and notes[0].id == "a1"
    assert notes[1].__pydantic_fields_set__ == shared
    with pytest.raises(Exception, match="frozen"):
        notes[0].line = 3  # type: ignore[misc]
    assert notes[1].__pydantic_fields_set__ == shared


# -- the catalogue made in columns equals the one made of every card's SessionCard ----------
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the times `catalogue_of` falls back to the general way."""
    import dlcards.app.review_catalogue as rc

    calls: list[int] = []
    real = rc._catalogue_of_cards

    def counting(decks: Any) -> Any:
        calls.append(1)
        return real(decks)

    monkeypatch.setattr(rc, "_catalogue_of_cards", counting)
    return calls


def both_catalogues(root: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    from dlcards.app.review_catalogue import _catalogue_of_cards, catalogue_of
    from dlcards.system.decks import read_decks

    decks = read_decks(root.resolve(), use_cache=False, lint=False)
    general = _catalogue_of_cards(decks).payload()
    return catalogue_of(decks).payload(), general, len(decks.notes)


def test_the_catalogue_in_columns_equals_the_sorted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = generate(tmp_path)
    calls = fallbacks(monkeypatch)
    fast, general, notes = both_catalogues(root)
    assert fast == general and len(fast["ids"]) == 240 and notes < 240
    # weeks out of file order, a file without a week, no front matter, a broken file, a
    # cloze note without deletion (no card), derived and duplicate ids, other tags and decks
    decks = root / "decks"
    (decks / "a-late.md").write_text(
        "---\nweek: 30\ntopic: late\ntags: [x, y]\ndeck: Other\nrequires: [early]\n---\n\n"
        "Q: Late one?\nA: Yes.\n\nC: {{c3::c}} {{c1::a}} {{c3::again}}\n",
        encoding="utf-8",
    )
    (decks / "b-none.md").write_text("Q: No week?\nA: None.\n\nC: none here\n", encoding="utf-8")
    (decks / "c-early.md").write_text(
        "---\nweek: 1\ntopic: early\ntags: [x, y]\n---\n\n# H\n\nQ: Early?\nA: Yes.\n",
        encoding="utf-8",
    )
    (decks / "zz-broken.md").write_text(BROKEN.replace("{taken}", "g000001"), encoding="utf-8")
    fast, general, _ = both_catalogues(root)
    assert fast == general
    assert len(fast["group_values"]) == 4 + 4 and len(fast["tag_values"]) >= 3
    paths = [fast["group_values"][g][2] for g in fast["groups"]]
    # week 1 first (the earliest file of week 1 first), then by week, the weekless last
    assert paths[0] == "decks/c-early.md" and paths[-1] == "decks/zz-broken.md"
    assert paths.index("decks/b-none.md") > paths.index("decks/a-late.md")
    assert len(calls) == 2  # the general way, made here for the comparison only


def test_the_catalogue_falls_back_to_sorting_when_the_notes_are_not_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.app import review_catalogue
    from dlcards.app.review_catalogue import catalogue_of
    from dlcards.system.decks import read_decks

    _catalogue_of_cards = review_catalogue._catalogue_of_cards
    root, _ = generate(tmp_path)
    calls = fallbacks(monkeypatch)
    decks = read_decks(root.resolve(), use_cache=False, lint=False)
    general = _catalogue_of_cards(decks).payload()
    original = list(decks.notes)
    shuffled = original[::-1]
    decks.notes = shuffled  # a file's notes backwards, and the files' runs reversed
    assert catalogue_of(decks).payload() == general == _catalogue_of_cards(decks).payload()
    assert len(calls) == 1  # `catalogue_of` fell back
    split = [n for n in original if n.path.endswith("000.md")]
    rest = [n for n in original if not n.path.endswith("000.md")]
    decks.notes = split[: len(split) // 2] + rest + split[len(split) // 2 :]  # a path twice
    assert catalogue_of(decks).payload() == general and len(calls) == 2
