"""Planned Markdown edits: deleting a card touches only its text; edits are reversible."""

from __future__ import annotations

import itertools
import re

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
