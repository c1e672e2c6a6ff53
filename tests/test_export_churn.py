"""Rebuilds without churn, against the real Anki backend (PyPI `anki`, headless).

A note's modification time is the time its content last changed (kept in the review
database), there is no per-build tag, and the note types change only with their templates/CSS.
So re-importing a rebuild updates exactly the notes whose content changed: 0 after no change,
k after k edits; the learner's Anki-side tags (`marked`, `leech`, their own) and field edits on
unchanged notes survive; a deleted card is found by `tag:dlcards::deleted` and nothing else is.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES

anki_collection = pytest.importorskip(
    "anki.collection", reason="the `anki` package is not installed"
)
genanki = pytest.importorskip("genanki", reason="genanki is not installed")

T1 = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
T2 = datetime.fromisoformat("2026-01-06T09:00:00+00:00")
T3 = datetime.fromisoformat("2026-01-07T09:00:00+00:00")
T4 = datetime.fromisoformat("2026-01-08T09:00:00+00:00")
T5 = datetime.fromisoformat("2026-01-09T09:00:00+00:00")


def pin_ids(root: Path) -> None:
    """What `dlcards fix` does: write every card's id comment into the Markdown."""
    from dlcards.core.identity import apply_id_writes
    from dlcards.system.decks import read_decks

    decks = read_decks(root, use_cache=False, lint=False)
    by_file = defaultdict(list)
    for w in decks.writes:
        by_file[w.path].append(w)
    for rel, writes in by_file.items():
        path = root / rel
        path.write_text(apply_id_writes(path.read_text("utf-8"), writes), "utf-8")


def build(root: Path, out: Path, when: datetime, *, no_cache: bool = False) -> Any:
    """What `dlcards build` does: the no-change path when it applies, else a full build."""
    from dlcards.app.anki_io import reuse_previous_build
    from dlcards.app.collection import Collection

    if not no_cache:
        reused = reuse_previous_build(root, None, out, single=False, when=when)
        if reused is not None:
            return reused
    with Collection.open(root, lint=False) as col:
        result = col.build(out, when=when, no_cache=no_cache)
    assert result.written, result.problems
    return result


def notes_of(root: Path) -> list[Any]:
    from dlcards.system.decks import read_decks

    return read_decks(root, use_cache=False, lint=False).notes


def import_apkg(col: Any, path: Path) -> Any:
    """Import like Anki's GUI with its default options (update notes and note types if newer)."""
    from anki.import_export_pb2 import ImportAnkiPackageRequest

    log = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path))).log
    col.models._clear_cache()
    assert list(log.conflicting) == [] and list(log.missing_notetype) == []
    return log


def anki_note(col: Any, note_id: str) -> Any:
    nids = col.db.list("select id from notes where guid = ?", genanki.guid_for("dlcards", note_id))
    assert len(nids) == 1
    return col.get_note(nids[0])


def dlcards_ids_of(col: Any, log_notes: Any) -> set[str]:
    return {col.get_note(n.id.nid)["DlcId"] for n in log_notes}


def notetype_mtimes(col: Any) -> dict[str, int]:
    return {nt["name"]: nt["mod"] for nt in col.models.all() if nt["name"].startswith("dlcards")}


def test_rebuilds_update_exactly_what_changed(tmp_path: Path) -> None:
    root = tmp_path / "cards"
    shutil.copytree(EXAMPLES, root / "decks")
    pin_ids(root)
    out = tmp_path / "out"
    apkg = out / "Deep-Learning.apkg"
    notes = notes_of(root)
    first = build(root, out, T1)
    assert first.changed == len(notes) and first.orphaned == 0

    (tmp_path / "anki").mkdir()
    col = anki_collection.Collection(str(tmp_path / "anki" / "collection.anki2"))
    log = import_apkg(col, apkg)
    assert len(log.new) == len(notes)

    # namespaced tags, no build tag
    by_path = defaultdict(list)
    for n in notes:
        by_path[n.path].append(n)
    softmax = next(n for n in notes if n.meta.topic == "softmax")
    tags = set(anki_note(col, softmax.id).tags)
    assert {"dlcards", "dlcards::week::03", "dlcards::topic::softmax"} <= tags
    assert all(t == "dlcards" or t.startswith("dlcards::") for t in tags)
    assert not any("build" in t for t in tags)

    # the learner works in Anki: tags on one note, a field edit on another
    gradients = sorted(by_path["decks/week-01-gradients.md"], key=lambda n: n.line)
    tagged, edited_in_anki = gradients[0], gradients[1]
    an = anki_note(col, tagged.id)
    an.tags += ["marked", "leech", "my-own"]
    col.update_note(an)
    an = anki_note(col, edited_in_anki.id)
    an["Extra"] = an["Extra"] + "<p>my note</p>"
    col.update_note(an)
    css_tweak = "\n.card { font-size: 30px; }"
    basic = col.models.by_name("dlcards Basic")
    basic["css"] += css_tweak
    col.models.update_dict(basic)
    types_before = notetype_mtimes(col)

    # a rebuild with no change (the quick path), then a full one (--no-cache): 0 updates
    quick = build(root, out, T2)
    assert quick.reused
    for no_cache in (False, True):
        if no_cache:
            result = build(root, out, T2, no_cache=True)
            assert not result.reused and result.changed == 0
        log = import_apkg(col, apkg)
        assert list(log.updated) == [] and list(log.new) == []
        assert len(log.duplicate) == len(notes)
    assert notetype_mtimes(col) == types_before
    assert col.models.by_name("dlcards Basic")["css"].endswith(css_tweak)

    # edit k = 3 cards in the Markdown, one of them gaining lines (cards below it shift)
    g = root / "decks" / "week-01-gradients.md"
    text = g.read_text("utf-8")
    target = gradients[3]  # below the two the learner touched
    lines = text.splitlines(keepends=True)
    lines[target.line - 1] = lines[target.line - 1].rstrip("\n") + " (edited)\n"
    lines.insert(target.line, "\nand two more lines of question.\n")
    g.write_text("".join(lines), "utf-8")
    s = root / "decks" / "week-03-softmax.md"
    soft = sorted(by_path["decks/week-03-softmax.md"], key=lambda n: n.line)
    soft_lines = s.read_text("utf-8").splitlines(keepends=True)
    for n in soft[:2]:
        soft_lines[n.line - 1] = soft_lines[n.line - 1].rstrip("\n") + " (v2)\n"
    s.write_text("".join(soft_lines), "utf-8")
    edited = {target.id, soft[0].id, soft[1].id}
    assert {n.id for n in notes_of(root)} == {n.id for n in notes}  # ids pinned

    result = build(root, out, T3)
    assert result.changed == 3
    log = import_apkg(col, apkg)
    assert dlcards_ids_of(col, log.updated) == edited
    assert len(log.duplicate) == len(notes) - 3
    assert "(edited)" in anki_note(col, target.id)["Front"]
    # the learner's work on unchanged notes is intact
    assert {"marked", "leech", "my-own"} <= set(anki_note(col, tagged.id).tags)
    assert anki_note(col, edited_in_anki.id)["Extra"].endswith("<p>my note</p>")
    assert col.models.by_name("dlcards Basic")["css"].endswith(css_tweak)

    # delete one card from the Markdown: it comes back once, tagged, and is the only match
    gone = gradients[2]
    g_lines = g.read_text("utf-8").splitlines(keepends=True)
    start = gone.line - 1
    end = next(i for i in range(start + 1, len(g_lines)) if g_lines[i].startswith(("Q:", "C:")))
    del g_lines[start:end]
    g.write_text("".join(g_lines), "utf-8")
    result = build(root, out, T4)
    assert result.orphaned == 1 and result.changed == 1
    log = import_apkg(col, apkg)
    assert dlcards_ids_of(col, log.updated) == {gone.id}
    deleted = col.find_notes("tag:dlcards::deleted")
    assert [col.get_note(n)["DlcId"] for n in deleted] == [gone.id]
    # live notes edited, marked or leech-tagged in Anki are not matched
    assert anki_note(col, tagged.id).id not in deleted
    assert anki_note(col, edited_in_anki.id).id not in deleted

    # and the next rebuild changes nothing again, the orphan included
    result = build(root, out, T5, no_cache=True)
    assert result.changed == 0 and result.orphaned == 1
    log = import_apkg(col, apkg)
    assert list(log.updated) == [] and list(log.new) == []
    col.close()


def test_note_type_changes_only_with_its_templates(tmp_path: Path) -> None:
    from dlcards.anki import notetypes
    from dlcards.store import Store
    from dlcards.store.anki_notes import notetype_mtimes as mtimes

    with Store.open(tmp_path / "db.sqlite3") as store:
        digests = notetypes.model_digests()
        first = mtimes(store, digests, 1000)
        assert mtimes(store, digests, 2000) == first  # same templates: same time
        changed = dict(digests)
        changed[notetypes.BASIC_MODEL_ID] = "different"
        again = mtimes(store, changed, 1000)  # the clock went back: still later than before
        assert again[notetypes.BASIC_MODEL_ID] == first[notetypes.BASIC_MODEL_ID] + 1
        assert again[notetypes.CLOZE_MODEL_ID] == first[notetypes.CLOZE_MODEL_ID]


def test_note_mtime_follows_content_and_never_goes_back(tmp_path: Path) -> None:
    from dlcards.store import Store
    from dlcards.store.anki_notes import ExportedNote, note_mtimes

    def note(digest: str) -> ExportedNote:
        return ExportedNote("n1", "basic", "Root", digest, ("f",), ("dlcards",), (0,))

    with Store.open(tmp_path / "db.sqlite3") as store:
        first = note_mtimes(store, [note("a")], 500)
        assert first.mtimes == {"n1": 500} and first.changed == {"n1"}
        same = note_mtimes(store, [note("a")], 900)
        assert same.mtimes == {"n1": 500} and same.changed == set()
        # changed in the same second, or with the clock gone back: later anyway
        assert note_mtimes(store, [note("b")], 500).mtimes == {"n1": 501}
        again = note_mtimes(store, [note("c")], 700)
        assert again.mtimes == {"n1": 700} and again.changed == {"n1"}
