"""Stable ids: derivation, duplicates, and `fix`'s byte-exact write-back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dlcards.core.identity import apply_id_writes, assign_ids, derive_id, strip_id_comments
from dlcards.core.parse import parse_text

DECK = "# T\n\nQ: What is a rank?\nA: Number of dims.\n\nC: Hide {{c1::this}}.\n"


def ids_of(text: str, path: str = "d.md") -> list[str]:
    return [n.id for n in assign_ids(parse_text(text, path).notes).notes]


def test_derived_id_shape_and_stability() -> None:
    i = derive_id("basic", "What is a rank?")
    assert len(i) == 8 and i.isalnum() and i == i.lower()
    assert derive_id("basic", "What  is a\nrank? ") == i  # whitespace-insensitive
    assert derive_id("cloze", "What is a rank?") != i
    assert derive_id("basic", "What is a rank?", salt=1) != i


def test_editing_the_answer_keeps_a_derived_id() -> None:
    assert ids_of(DECK) == ids_of(DECK.replace("Number of dims.", "The number of axes."))


def test_editing_the_question_changes_a_derived_id_but_not_a_pinned_one() -> None:
    assert ids_of(DECK)[0] != ids_of(DECK.replace("a rank", "the rank"))[0]
    pinned = DECK.replace("What is a rank?", "What is a rank? <!-- id: keepme01 -->")
    assert ids_of(pinned.replace("a rank", "the rank"))[0] == "keepme01"


def test_duplicate_explicit_ids_are_an_error_naming_both_places() -> None:
    text = "Q: One? <!-- id: same -->\nA: 1\n\nQ: Two? <!-- id: same -->\nA: 2\n"
    result = assign_ids(parse_text(text, "d.md").notes)
    [problem] = result.problems
    assert problem.severity == "error" and problem.code == "duplicate-id"
    assert problem.location.line == 4 and "d.md:1" in problem.message
    assert result.notes[0].id == "same" and result.notes[1].id != "same"
    assert [(w.line, w.replace) for w in result.writes] == [(4, True)]


def test_duplicate_across_files_the_later_path_loses() -> None:
    a = parse_text("Q: A? <!-- id: dup -->\nA: a\n", "a.md").notes
    b = parse_text("Q: B? <!-- id: dup -->\nA: b\n", "b.md").notes
    result = assign_ids(b + a)
    assert [w.path for w in result.writes] == ["b.md"]


def test_same_question_twice_gets_distinct_ids_and_a_warning() -> None:
    text = "Q: Same?\nA: 1\n\nQ: Same?\nA: 2\n"
    result = assign_ids(parse_text(text, "d.md").notes)
    assert len({n.id for n in result.notes}) == 2
    assert [p.code for p in result.problems] == ["duplicate-question"]


def test_fix_writes_then_is_idempotent() -> None:
    notes = parse_text(DECK, "d.md").notes
    result = assign_ids(notes)
    fixed = apply_id_writes(DECK, result.writes)
    again = assign_ids(parse_text(fixed, "d.md").notes)
    assert again.writes == [] and again.problems == []
    assert [n.id for n in again.notes] == [n.id for n in result.notes]
    assert strip_id_comments(fixed) == DECK


def test_fix_keeps_crlf_and_bom() -> None:
    text = "\ufeff" + DECK.replace("\n", "\r\n")
    result = assign_ids(parse_text(text, "d.md").notes)
    fixed = apply_id_writes(text, result.writes)
    assert fixed.startswith("\ufeff")
    assert "Q: What is a rank? <!-- id: " in fixed and fixed.count("\r\n") == text.count("\r\n")
    assert strip_id_comments(fixed) == text


line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30
)
card = st.tuples(st.sampled_from(["Q: ", "C: "]), line, line).map(
    lambda t: (
        f"{t[0]}{t[1]}{' {{c1::x}}' if t[0] == 'C: ' else ''}\n"
        + ("A: " + t[2] + "\n" if t[0] == "Q: " else "")
    )
)
deck = st.tuples(
    st.lists(st.one_of(card, line.map(lambda s: s + "\n")), max_size=12),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
).map(lambda t: ("\ufeff" if t[2] else "") + "".join(t[0]).replace("\n", t[1]))


@settings(max_examples=200, deadline=None)
@given(deck.filter(lambda t: "<!--" not in t))
def test_fix_then_strip_returns_the_original_bytes(text: str) -> None:
    result = assign_ids(parse_text(text, "d.md").notes)
    fixed = apply_id_writes(text, [w for w in result.writes if not w.replace])
    assert strip_id_comments(fixed).encode("utf-8") == text.encode("utf-8")
    again = assign_ids(parse_text(fixed, "d.md").notes)
    assert not [w for w in again.writes if not w.replace]
