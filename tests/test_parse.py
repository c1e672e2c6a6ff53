"""Parser edge cases that fixture files cannot hold (bytes-level), the examples, and properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from dlcards.core.parse import parse_text

SAMPLE = "---\nweek: 2\ntopic: numpy\n---\n\n# H\n\nQ: One?\nA: Yes.\n\nC: Hide {{c1::this}} and {{c2::that}}.\n"


def summary(text: str) -> list[tuple[str, int, str, str]]:
    parsed = parse_text(text, "t.md")
    assert not parsed.problems
    return [(n.kind, n.line, n.question, n.answer) for n in parsed.notes]


def test_crlf_parses_like_lf() -> None:
    assert summary(SAMPLE.replace("\n", "\r\n")) == summary(SAMPLE)


def test_bom_parses_like_plain() -> None:
    assert summary("\ufeff" + SAMPLE) == summary(SAMPLE)


def test_bare_cr_line_endings_keep_line_numbers() -> None:
    assert summary(SAMPLE.replace("\n", "\r")) == summary(SAMPLE)


def test_front_matter_is_read() -> None:
    parsed = parse_text(SAMPLE, "t.md")
    assert parsed.meta.week == 2 and parsed.meta.topic == "numpy"
    assert parsed.notes[0].tags == ["week02", "numpy"]
    assert parsed.notes[0].context == ("H",)


def test_cloze_note_has_one_card_per_number() -> None:
    from dlcards.core.identity import assign_ids

    note = assign_ids(parse_text("C: {{c2::b}} {{c1::a}} {{c2::again}}\n", "t.md").notes).notes[0]
    assert len(note.id) == 8
    assert [(c.id, c.ordinal) for c in note.cards()] == [(f"{note.id}/c1", 1), (f"{note.id}/c2", 2)]


EXPECTED_EXAMPLES = {
    "week-01-gradients.md": {"basic": 5, "cloze": 1, "check": 2, "shapes": 1, "torch": 0},
    "week-03-softmax.md": {"basic": 5, "cloze": 2, "check": 2, "shapes": 1, "torch": 0},
    "week-07-pytorch.md": {"basic": 5, "cloze": 0, "check": 0, "shapes": 1, "torch": 3},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_EXAMPLES))
def test_example_decks_parse(name: str) -> None:
    parsed = parse_text((EXAMPLES / name).read_text(encoding="utf-8"), name)
    assert parsed.problems == []
    counts = {k: 0 for k in ("basic", "cloze", "check", "shapes", "torch")}
    for note in parsed.notes:
        counts[note.kind] += 1
        for block in note.blocks:
            counts[block.kind] += 1
    assert counts == EXPECTED_EXAMPLES[name]
    assert parsed.meta.deck == "Deep Learning"


def test_example_torch_block_sides() -> None:
    parsed = parse_text((EXAMPLES / "week-07-pytorch.md").read_text(encoding="utf-8"), "x.md")
    sides = [(b.kind, b.side, b.line) for n in parsed.notes for b in n.blocks]
    assert sides == [
        ("torch", "question", 15),
        ("torch", "question", 23),
        ("torch", "answer", 32),
        ("shapes", "answer", 45),
    ]


markdownish = st.lists(
    st.sampled_from(
        [
            "Q: ",
            "A: ",
            "C: ",
            "{{c1::",
            "}}",
            "::",
            "{",
            "}",
            "```",
            "```torch",
            "~~~",
            "$$",
            "$",
            "<!--",
            "-->",
            "<!-- id: ab12 -->",
            "---",
            "# ",
            "## ",
            "\n",
            "\n\n",
            "\r\n",
            "\t",
            " ",
            "word",
            "é∇",
            "\ufeff",
            "- ",
            "> ",
            "1. ",
            "|a|b|",
            "\\",
        ]
    )
    | st.text(max_size=8),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
def test_parse_never_raises(text: str) -> None:
    parsed = parse_text(text, "fuzz.md")
    for note in parsed.notes:
        assert 1 <= note.line <= note.end_line
    for problem in parsed.problems:
        assert problem.location.line >= 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_never_raises_on_any_text(text: str) -> None:
    parse_text(text, "fuzz.md")


def test_parse_ids_do_not_depend_on_path(tmp_path: Path) -> None:
    a = parse_text(SAMPLE, "a.md").notes
    b = parse_text(SAMPLE, "b/c.md").notes
    assert [n.question for n in a] == [n.question for n in b]
