"""Derived card ids, pinned. A card without an `<!-- id: -->` comment is known by an id derived
from its kind and question; the review history hangs on that id. A change to the recipe
(hash input, normalisation, alphabet, length, salting) would silently orphan the history of
every unpinned card, so these exact values must never change. If one of these tests fails,
the id recipe changed: revert it, or ship it as a migration that rewrites the stored ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.core.identity import assign_ids, derive_id
from dlcards.core.model import Note
from dlcards.core.parse import parse_text

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "examples"


def ids(text: str, path: str = "decks/x.md") -> list[tuple[int, str, str]]:
    """(line, kind, effective id) of each note of a deck file, parsed and identified for real."""
    parsed = parse_text(text, path)
    assert parsed.problems == []
    notes: list[Note] = assign_ids(parsed.notes).notes
    return [(n.line, n.kind, n.id) for n in notes]


@pytest.mark.parametrize(
    ("file", "line", "kind", "expected"),
    [
        ("week-01-gradients.md", 10, "basic", "6q5z4n23"),  # basic, math in the question
        ("week-01-gradients.md", 42, "cloze", "y7ctfewg"),  # cloze, an en dash (non-ASCII)
        ("week-03-softmax.md", 11, "basic", "7v88fcbw"),  # plain basic
        ("week-03-softmax.md", 17, "cloze", "ceh2kcsw"),  # cloze
        ("week-07-pytorch.md", 14, "basic", "zdx89z4x"),  # a question with a torch block
    ],
)
def test_fixture_cards_keep_their_derived_ids(
    file: str, line: int, kind: str, expected: str
) -> None:
    text = (EXAMPLES / file).read_text(encoding="utf-8")
    assert "<!-- id:" not in text  # the fixture's ids are all derived
    assert (line, kind, expected) in ids(text, f"decks/{file}")


NON_ASCII = "Q: Wie lautet die Ableitung von $e^{x}$ für $x ∈ ℝ$ — naïvement?\nA: $e^{x}$\n"


@pytest.mark.parametrize(
    "text",
    [
        NON_ASCII,
        # runs of spaces, a tab, a line break inside the question, trailing blanks, another answer
        "Q:   Wie  lautet\tdie Ableitung\nvon $e^{x}$ für $x ∈ ℝ$   —  naïvement?  \n"
        "A: $e^{x}$, unverändert.\n",
        NON_ASCII.replace("\n", "\r\n"),  # Windows line endings
        "\ufeff" + NON_ASCII,  # a byte-order mark
    ],
)
def test_non_ascii_question_id_ignores_whitespace_and_the_answer(text: str) -> None:
    assert ids(text) == [(1, "basic", "h5b50v03")]


def test_the_recipe_itself() -> None:
    assert derive_id("basic", "What is a tensor?") == "hkyq11dw"
    assert derive_id("cloze", "What is a tensor?") == "a1eg42st"  # the kind is hashed too
    assert derive_id("basic", "  What is\n a   tensor?\t") == "hkyq11dw"
    assert derive_id("basic", "What is a tensor?", 1) == "5kpzp5gc"
    assert derive_id("basic", "What is a tensor?", 2) == "8dj33e9a"


def test_colliding_derived_ids_are_salted_in_file_order() -> None:
    same = "Q: What is a tensor?\nA: {}\n\n"
    text = same.format("An n-dimensional array.") + same.format("A multilinear map.")
    text += same.format("A thing.")
    assert ids(text) == [
        (1, "basic", "hkyq11dw"),
        (4, "basic", "5kpzp5gc"),
        (7, "basic", "8dj33e9a"),
    ]


def test_an_explicit_id_claims_first_and_the_derived_one_is_salted() -> None:
    text = (
        "Q: What is a tensor?\nA: An array.\n\n"
        "Q: Something else entirely. <!-- id: hkyq11dw -->\nA: Pinned.\n"
    )
    assert ids(text) == [(1, "basic", "5kpzp5gc"), (4, "basic", "hkyq11dw")]
