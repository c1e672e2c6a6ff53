"""`dlcards build` against the real Anki backend (PyPI `anki`, headless).

Build the example decks, import them into a fresh Anki collection with the GUI's default
options, review two cards in Anki, edit the Markdown, rebuild, re-import: notes update in
place, a new cloze number adds a card, and Anki's scheduling and review log are untouched.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES
from dlcards.cli.main import main

anki_collection = pytest.importorskip(
    "anki.collection", reason="the `anki` package is not installed"
)
genanki = pytest.importorskip("genanki", reason="genanki is not installed")

T1 = "2026-01-05T09:00:00Z"
T2 = "2026-01-06T09:00:00Z"
T3 = "2026-01-07T09:00:00Z"


def make_collection(tmp_path: Path) -> Path:
    root = tmp_path / "cards"
    shutil.copytree(EXAMPLES, root / "decks")
    return root


def dlcards(monkeypatch: pytest.MonkeyPatch, now: str, *args: str) -> int:
    monkeypatch.setenv("DLCARDS_NOW", now)
    return main(list(args))


def new_anki(tmp_path: Path, name: str = "anki") -> Any:
    folder = tmp_path / name
    folder.mkdir()
    return anki_collection.Collection(str(folder / "collection.anki2"))


def import_apkg(col: Any, path: Path) -> Any:
    """Import like Anki's GUI with its default options (the empty options message)."""
    from anki.import_export_pb2 import ImportAnkiPackageRequest

    log = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path))).log
    col.models._clear_cache()  # the notetype cache goes stale after an import
    return log


def assert_clean_log(log: Any) -> None:
    assert list(log.conflicting) == []
    assert list(log.missing_notetype) == []
    assert list(log.missing_deck) == []
    assert list(log.empty_first_field) == []
    assert list(log.first_field_match) == []


def dlcards_notes(root: Path) -> list[Any]:
    from dlcards.system.decks import read_decks

    return read_decks(root, use_cache=False).notes


def anki_note_by_id(col: Any, note_id: str) -> Any:
    guid = genanki.guid_for("dlcards", note_id)
    nids = col.db.list("select id from notes where guid = ?", guid)
    assert len(nids) == 1, f"{len(nids)} Anki notes for dlcards note {note_id}"
    return col.get_note(nids[0])


def scheduling(col: Any, card_id: int) -> tuple[Any, ...]:
    return tuple(
        col.db.first(
            "select type, queue, due, ivl, factor, reps, lapses, left, data from cards where id = ?",
            card_id,
        )
    )


def revlog(col: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in col.db.all("select * from revlog order by id")]


def review_two(col: Any) -> list[int]:
    """Answer the first two queued cards through Anki's v3 scheduler (Good, then Easy)."""
    from anki.scheduler_pb2 import CardAnswer

    col.decks.select(col.decks.id_for_name("Deep Learning"))  # what a click on the deck does
    answered = []
    for rating in (CardAnswer.GOOD, CardAnswer.EASY):
        queued = col.sched.get_queued_cards(fetch_limit=1)
        top = queued.cards[0]
        card = col.get_card(top.card.id)
        card.start_timer()
        col.sched.answer_card(col.sched.build_answer(card=card, states=top.states, rating=rating))
        answered.append(card.id)
    return answered


def test_build_import_review_rebuild_reimport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_collection(tmp_path)
    out = tmp_path / "out"
    assert dlcards(monkeypatch, T1, "-C", str(root), "build", "-o", str(out)) == 0
    packages = sorted(out.glob("*.apkg"))
    assert [p.name for p in packages] == ["Deep-Learning.apkg"]

    notes = dlcards_notes(root)
    expected_cards = sum(len(n.card_ids()) for n in notes)
    col = new_anki(tmp_path)
    log = import_apkg(col, packages[0])
    assert_clean_log(log)
    assert len(log.new) == len(notes)
    assert col.note_count() == len(notes)
    assert col.card_count() == expected_cards

    # fields, note types, tags and decks
    for note in notes:
        an = anki_note_by_id(col, note.id)
        nt = an.note_type()
        assert nt["name"] == ("dlcards Basic" if note.kind == "basic" else "dlcards Cloze")
        assert an["DlcId"] == note.id
        assert an["Source"] == f"decks/{Path(note.path).name}"  # no line: it would churn
        assert an["Spare"] == ""
        week, topic = note.meta.week, note.meta.topic
        assert set(an.tags) >= {
            "dlcards",
            f"dlcards::week::{week:02d}",
            f"dlcards::topic::{topic}",
            *(f"dlcards::tag::{t}" for t in note.meta.tags),
        }
        assert all(" " not in t for t in an.tags)
        assert all(t == "dlcards" or t.startswith("dlcards::") for t in an.tags)
        assert not any(t.startswith("dlcards::build::") for t in an.tags)
        decks = {col.decks.name(c.did) for c in an.cards()}
        assert decks == {f"Deep Learning::Week {week:02d} · {topic}"}
        expected_ords = [0] if note.kind == "basic" else [n - 1 for n in note.numbers]
        assert sorted(c.ord for c in an.cards()) == expected_ords  # Anki's cloze parser agrees
    names = {d.name for d in col.decks.all_names_and_ids()}
    assert {
        "Deep Learning::Week 01 · gradients",
        "Deep Learning::Week 03 · softmax",
        "Deep Learning::Week 07 · pytorch",
    } <= names

    # rendered cards: MathJax, highlighted code, verified notes, cloze inside math
    by_first_line = {n.first_question_line: n for n in notes}
    nabla = next(n for q, n in by_first_line.items() if q.startswith("What does $\\nabla f(x)$"))
    card = anki_note_by_id(col, nabla.id).cards()[0]
    assert r"\(\nabla f(x)\)" in card.question()
    assert r"\(f:\mathbb{R}^n \to \mathbb{R}\)" in card.question()
    assert r"\frac{\partial f}{\partial x_1}" in card.answer()
    assert "$" not in card.question()

    conv = next(n for q, n in by_first_line.items() if q.startswith("What shape does this print?"))
    q = anki_note_by_id(col, conv.id).cards()[0].question()
    assert 'class="dlc-code"' in q
    assert re.search(r'<span class="n">Conv2d</span>', q)
    assert ".dlc-code .k" in q or ".dlc-code .kc" in q  # Pygments CSS is in the note type
    assert "<script" not in q
    a = anki_note_by_id(col, conv.id).cards()[0].answer()
    assert "<code>torch.Size([8, 16, 16, 16])</code>" in a

    chain = next(n for q, n in by_first_line.items() if q.startswith("State the chain rule"))
    chain_card = anki_note_by_id(col, chain.id).cards()[0]
    assert r"\[h'(x) = f'(g(x))\,g'(x)\]" in chain_card.answer()
    assert 'class="dlc-verified"' in chain_card.answer()
    assert 'class="dlc-verified"' not in chain_card.question()
    assert "diff(sin" not in chain_card.answer().replace('title="diff', "")  # not shown as code

    softmax_cloze = next(
        n
        for q, n in by_first_line.items()
        if q.startswith("C: The softmax") or q.startswith("The softmax of $z$")
    )
    sc = anki_note_by_id(col, softmax_cloze.id).cards()[0]
    assert r"\(p_i = " in sc.question() and "[...]" in sc.question()
    assert r"\frac{e^{z_i} }{\sum_j e^{z_j} }" in sc.answer()

    # new cards come in curriculum order: week, then file, then position in the file
    rows = col.db.all(
        "select n.flds, c.due from cards c join notes n on n.id = c.nid where c.type = 0"
    )
    order = [flds.split("\x1f")[-2] for flds, due in sorted(rows, key=lambda r: r[1])]
    curriculum = [n.id for n in sorted(notes, key=lambda n: (n.meta.week, n.path, n.index))]
    assert list(dict.fromkeys(order)) == curriculum

    ok_msg, ok = col.fix_integrity()
    assert ok, ok_msg
    assert len(ok_msg.strip().splitlines()) == 1, ok_msg  # only "Database rebuilt and optimized."

    # review two cards in Anki
    reviewed = review_two(col)
    before_sched = {cid: scheduling(col, cid) for cid in reviewed}
    before_revlog = revlog(col)
    assert len(before_revlog) == 2
    reviewed_notes = {col.get_card(cid).note()["DlcId"] for cid in reviewed}
    assert nabla.id in reviewed_notes  # week 1 comes first: curriculum order

    # pin ids, edit the Markdown, add a cloze number, rebuild later, re-import
    assert dlcards(monkeypatch, T1, "-C", str(root), "fix") == 0
    g = root / "decks" / "week-01-gradients.md"
    text = g.read_text()
    text = text.replace(
        "it points in the direction of steepest ascent.",
        "it points in the direction of steepest **increase**.",
    )
    assert text.count("as the weights.") == 1
    text = text.replace("as the weights.", "as the {{c3::weights}}.")
    g.write_text(text)
    assert dlcards(monkeypatch, T2, "-C", str(root), "build", "-o", str(out)) == 0
    notes2 = dlcards_notes(root)
    assert {n.id for n in notes2} == {n.id for n in notes}
    log2 = import_apkg(col, out / "Deep-Learning.apkg")
    assert_clean_log(log2)
    assert list(log2.new) == []
    # only the two notes whose content changed are updated (pinning ids changes no field)
    cloze = next(n for n in dlcards_notes(root) if "{{c3::weights}}" in n.question)
    updated = {col.get_note(n.id.nid)["DlcId"] for n in log2.updated}
    assert updated == {nabla.id, cloze.id}
    assert len(log2.duplicate) == len(notes) - 2
    assert col.note_count() == len(notes)
    assert col.card_count() == expected_cards + 1

    edited = anki_note_by_id(col, nabla.id)
    assert "steepest <strong>increase</strong>" in edited["Back"]
    cloze_cards = sorted(anki_note_by_id(col, cloze.id).cards(), key=lambda c: c.ord)
    assert [c.ord for c in cloze_cards] == [0, 1, 2]
    assert cloze_cards[2].type == 0  # the new deletion is a new card
    assert "{{c3::weights}}" in anki_note_by_id(col, cloze.id)["Text"]

    assert {cid: scheduling(col, cid) for cid in reviewed} == before_sched
    assert revlog(col) == before_revlog
    ok_msg, ok = col.fix_integrity()
    assert ok and len(ok_msg.strip().splitlines()) == 1, ok_msg

    # a rebuild with no change (the previous build written again) updates nothing in Anki
    fields_before = {nid: col.get_note(nid).fields for nid in col.find_notes("")}
    capsys.readouterr()
    assert dlcards(monkeypatch, T3, "-C", str(root), "build", "-o", str(out)) == 0
    assert "nothing changed since the last build" in capsys.readouterr().err
    log3 = import_apkg(col, out / "Deep-Learning.apkg")
    assert_clean_log(log3)
    assert list(log3.new) == [] and list(log3.updated) == []
    assert len(log3.duplicate) == len(notes)
    assert {nid: col.get_note(nid).fields for nid in col.find_notes("")} == fields_before
    assert col.card_count() == expected_cards + 1
    assert {cid: scheduling(col, cid) for cid in reviewed} == before_sched
    col.close()


def test_build_with_media_packs_unique_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cards"
    (root / "decks" / "a").mkdir(parents=True)
    (root / "decks" / "b").mkdir(parents=True)
    (root / "decks" / "a" / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\nfirst image")
    (root / "decks" / "b" / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\nsecond image")
    (root / "decks" / "a" / "one.md").write_text(
        "---\nweek: 2\ntopic: plots\n---\n\nQ: What does this show?\n\n![loss curve](plot.png)\n\nA: A loss curve.\n"
    )
    (root / "decks" / "b" / "two.md").write_text(
        '---\nweek: 2\ntopic: plots\n---\n\nQ: And this one?\n\n<img src="plot.png" width="200">\n\nA: Accuracy.\n'
    )
    out = tmp_path / "out"
    assert dlcards(monkeypatch, T1, "-C", str(root), "build", "-o", str(out)) == 0
    col = new_anki(tmp_path)
    log = import_apkg(col, out / "dlcards.apkg")
    assert_clean_log(log)
    media = sorted(p.name for p in Path(col.media.dir()).iterdir())
    assert len(media) == 2
    assert all(name.endswith("-plot.png") for name in media)
    contents = {(Path(col.media.dir()) / n).read_bytes() for n in media}
    assert contents == {b"\x89PNG\r\n\x1a\nfirst image", b"\x89PNG\r\n\x1a\nsecond image"}
    fronts = " ".join(col.get_note(nid)["Front"] for nid in col.find_notes(""))
    for name in media:
        assert f'src="{name}"' in fronts
    assert col.media.check().missing == []
    col.close()
