"""Planned Markdown edits: deleting a card touches only its text; edits are reversible."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlcards.core.edit import AnchoredEdit, EditError, TextEdit, diff_edit, plan_delete, split_lines
from dlcards.core.parse import normalize_newlines, parse_text

# -- generated decks --------------------------------------------------------------------------
words = st.text(alphabet="abcdefghij xyz", min_size=1, max_size=12).map(lambda s: s.strip() or "w")


@st.composite
def card_block(draw):
    n = draw(st.integers(0, 10_000))
    kind = draw(st.sampled_from(["basic", "basic-multi", "cloze", "fence"]))
    with_id = draw(st.booleans())
    tag = f" <!-- id: k{n} -->" if with_id else ""
    if kind == "basic":
        return [f"Q: question {n} {draw(words)}?{tag}", f"A: answer {draw(words)}"]
    if kind == "basic-multi":
        return [
            f"Q: question {n} {draw(words)}{tag}",
            "continued here?",
            "A: first",
            "",
            "- item one",
            "- item two",
        ]
    if kind == "cloze":
        return [f"C: cloze {n} {{{{c1::{draw(words)}}}}} and {{{{c2::more}}}}{tag}"]
    return [f"Q: code {n}?{tag}", "```python", "x = 1", "", "y = 2", "```", "A: `3`"]


@st.composite
def deck(draw):
    blocks: list[list[str]] = []
    if draw(st.booleans()):
        blocks.append(["---", f"week: {draw(st.integers(1, 9))}", "topic: t", "---"])
    for _ in range(draw(st.integers(1, 6))):
        what = draw(st.sampled_from(["card", "card", "card", "heading", "para"]))
        if what == "card":
            block = draw(card_block())
        elif what == "heading":
            block = [f"## Heading {draw(words)}"]
        else:
            block = [f"Some prose {draw(words)}."]
        blocks.append(block)
    lines: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            gap = draw(st.integers(1, 3))
            if block[0].startswith(("Q:", "C:")) and blocks[i - 1][0].startswith("##"):
                gap = draw(st.integers(0, 2))  # a card right under its heading
            lines.extend([""] * gap)
        lines.extend(block)
    lines = [
        " " * draw(st.integers(0, 2)) if (not ln and draw(st.booleans())) else ln for ln in lines
    ]
    if draw(st.booleans()):
        lines = [""] * draw(st.integers(1, 2)) + lines if lines[0] != "---" else lines
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(lines)
    if draw(st.booleans()):
        text += eol * draw(st.integers(1, 2))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


def _blank_runs(text: str) -> int:
    """Number of places with two blank lines in a row (in the parser's view of the text)."""
    lines = normalize_newlines(text).split("\n")
    return sum(1 for a, b in itertools.pairwise(lines) if not a.strip() and not b.strip())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=deck(), pick=st.integers(0, 1000))
def test_delete_touches_only_the_card(text: str, pick: int) -> None:
    parsed = parse_text(text, "d.md")
    if not parsed.notes:
        return
    note = parsed.notes[pick % len(parsed.notes)]
    edit = plan_delete(text, note.line, note.end_line)
    new = edit.apply(text)
    # every byte outside the removed span is identical, in order
    assert new == text[: edit.offset] + text[edit.offset + len(edit.removed) :]
    assert edit.inserted == ""
    # the removed span is the card's own lines, plus at most one blank line (with its ending)
    lines = split_lines(text)
    card_span = text[lines[note.line - 1].start : lines[note.end_line - 1].end]
    assert card_span in edit.removed
    extra = edit.removed.replace(card_span, "", 1)
    assert extra.strip() == "" and len(re.findall(r"\r\n|\r|\n", extra)) <= 1
    # a BOM stays, and no new kind of line ending appears
    assert new.startswith("\ufeff") == text.startswith("\ufeff") or not new
    assert set(re.findall(r"\r\n|\r|\n", new)) <= set(re.findall(r"\r\n|\r|\n", text))
    # no new double blank line
    assert _blank_runs(new) <= _blank_runs(text)
    # the other cards are still there, unchanged
    after = parse_text(new, "d.md")

    def key(n):
        return (n.kind, n.question, n.answer, n.id)

    remaining = [key(n) for n in parsed.notes if n is not note]
    assert [key(n) for n in after.notes] == remaining
    # and the edit is reversible
    assert edit.inverse().apply(new) == text


EXAMPLE = "# Title\n\nQ: one?\nA: 1\n\nQ: two?\nA: 2\n\nQ: three?\nA: 3\n"


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, "# Title\n\nQ: two?\nA: 2\n\nQ: three?\nA: 3\n"),
        (1, "# Title\n\nQ: one?\nA: 1\n\nQ: three?\nA: 3\n"),
        (2, "# Title\n\nQ: one?\nA: 1\n\nQ: two?\nA: 2\n"),
    ],
)
def test_delete_examples(index: int, expected: str) -> None:
    note = parse_text(EXAMPLE, "x.md").notes[index]
    assert plan_delete(EXAMPLE, note.line, note.end_line).apply(EXAMPLE) == expected


def test_delete_keeps_crlf_and_bom() -> None:
    text = "\ufeffQ: one?\r\nA: 1\r\n\r\nQ: two?\r\nA: 2"
    first, second = parse_text(text, "x.md").notes
    assert plan_delete(text, first.line, first.end_line).apply(text) == "\ufeffQ: two?\r\nA: 2"
    assert (
        plan_delete(text, second.line, second.end_line).apply(text) == "\ufeffQ: one?\r\nA: 1\r\n"
    )


def test_card_under_heading_keeps_separation() -> None:
    text = "## H\nQ: a?\nA: 1\n\nQ: b?\nA: 2\n"
    note = parse_text(text, "x.md").notes[0]
    assert plan_delete(text, note.line, note.end_line).apply(text) == "## H\n\nQ: b?\nA: 2\n"


def test_apply_refuses_when_text_moved() -> None:
    edit = plan_delete(EXAMPLE, 3, 4)
    with pytest.raises(EditError):
        edit.apply("x" + EXAMPLE)
    with pytest.raises(EditError):
        plan_delete(EXAMPLE, 20, 21)


def test_anchored_undo_after_an_unrelated_edit_earlier_in_the_file() -> None:
    note = parse_text(EXAMPLE, "x.md").notes[1]
    edit = plan_delete(EXAMPLE, note.line, note.end_line)
    anchored = AnchoredEdit.of(EXAMPLE, edit)
    new = edit.apply(EXAMPLE)
    later = new.replace("# Title", "# A longer title")  # the learner edited elsewhere
    assert anchored.undo_in(later) == EXAMPLE.replace("# Title", "# A longer title")
    assert AnchoredEdit.from_dict(anchored.to_dict()) == anchored
    with pytest.raises(EditError):
        anchored.undo_in("completely different\n")


@given(st.text(max_size=40), st.text(max_size=40))
def test_diff_edit_round_trip(before: str, after: str) -> None:
    e = diff_edit(before, after)
    assert e.apply(before) == after
    assert e.inverse().apply(after) == before
    assert TextEdit.from_dict(e.to_dict()) == e


# --- write-back safety (issue 17 items 9, 10, 13) ----------------------------------------------


def _snapshot_and_race(path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool):  # type: ignore[no-untyped-def]
    """Patch fsutil so that an 'editor' rewrites `path` (by rename, as editors save) right
    after dlcards' last check and just before its rename/exchange."""
    from dlcards.system import fsutil

    real = fsutil._exchange

    def racing(a, b):  # type: ignore[no-untyped-def]
        other = path.with_name("editor.tmp")
        other.write_bytes(b"Q: edited meanwhile?\nA: yes\n")
        os.replace(other, path)
        return real(a, b) if exchange else False

    monkeypatch.setattr(fsutil, "_exchange", racing)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "link-fallback"])
def test_a_change_between_the_check_and_the_rename_is_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    from dlcards.core.errors import FileChangedError
    from dlcards.system.fsutil import read_snapshot, write_atomic

    deck = tmp_path / "d.md"
    deck.write_bytes(b"Q: one?\nA: 1\n")
    snap = read_snapshot(deck)
    _snapshot_and_race(deck, monkeypatch, exchange)
    with pytest.raises(FileChangedError) as err:
        write_atomic(snap, b"Q: one? <!-- id: x -->\nA: 1\n")
    if exchange:  # the editor's version is put back: nothing overwritten
        assert deck.read_bytes() == b"Q: edited meanwhile?\nA: yes\n"
        assert "your change is kept" in err.value.message
    else:  # no exchange: the editor's version survives next to the file, and we say where
        kept = [p for p in tmp_path.iterdir() if ".changed-" in p.name]
        assert [p.read_bytes() for p in kept] == [b"Q: edited meanwhile?\nA: yes\n"]
        assert str(kept[0]) in err.value.message
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_without_a_race_the_write_goes_through_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    from dlcards.system.fsutil import read_snapshot, write_atomic

    deck = tmp_path / "d.md"
    deck.write_bytes(b"Q: one?\nA: 1\n")
    deck.chmod(0o640)
    write_atomic(read_snapshot(deck), b"Q: one? <!-- id: x -->\nA: 1\n")
    assert deck.read_bytes() == b"Q: one? <!-- id: x -->\nA: 1\n"
    assert deck.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.md"]


def test_fix_writes_through_a_symlinked_deck(
    collection: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.cli.main import main

    outside = tmp_path_factory.mktemp("elsewhere") / "linked.md"
    outside.write_text("Q: Linked question?\nA: yes\n", encoding="utf-8")
    link = collection / "decks" / "linked.md"
    link.symlink_to(outside)
    monkeypatch.chdir(collection)
    assert main(["fix"]) == 0
    assert link.is_symlink() and link.resolve() == outside.resolve()
    assert "<!-- id: " in outside.read_text(encoding="utf-8")


def test_fix_reports_a_racing_change_and_exits_non_zero(
    collection: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.cli.main import main

    deck = collection / "decks" / "race.md"
    deck.write_text("Q: Raced question?\nA: yes\n", encoding="utf-8")
    monkeypatch.chdir(collection)
    _snapshot_and_race(deck, monkeypatch, exchange=True)
    assert main(["fix"]) != 0
    assert "changed while dlcards was writing it" in capsys.readouterr().err
    assert deck.read_bytes() == b"Q: edited meanwhile?\nA: yes\n"


def test_an_unreadable_deck_folder_is_an_error_not_a_silent_skip(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.core.errors import CollectionError
    from dlcards.system.paths import deck_files

    sub = collection / "decks" / "private"
    sub.mkdir()
    (sub / "a.md").write_text("Q: hidden?\nA: yes\n", encoding="utf-8")
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        # chmod 000 does not stop root (the usual user in containers): refuse like the kernel
        if Path(path) == sub:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(CollectionError) as err:
        deck_files(collection, None)
    assert str(sub) in err.value.message and "cannot read this folder" in err.value.message


def test_prune_journals_before_it_deletes(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.app.prune_workspace import PruneWorkspace
    from dlcards.system import fsutil

    deck = collection / "decks" / "p.md"
    deck.write_text("Q: Keep me? <!-- id: keepme -->\nA: yes\n", encoding="utf-8")
    seen: list[bool] = []

    def failing_write(snapshot, data):  # type: ignore[no-untyped-def]
        seen.append(ws.journal.path.exists() and "keepme" in ws.journal.path.read_text())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil, "write_atomic", failing_write)
    with Collection.open(collection) as c:
        ws = PruneWorkspace(c)
        with pytest.raises(OSError):
            ws.delete("keepme")
        assert seen == [True]  # the removed text was journalled before the file was touched
        assert ws.journal.last_undoable() is None  # the failed delete is void: nothing to undo
    assert "Keep me?" in deck.read_text(encoding="utf-8")
