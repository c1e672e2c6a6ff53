"""Issue 16, session 4: the faster lint, near-duplicate search, duplicate reasons, prune JSON
and check give exactly what the code they replaced gave (`prune_check_reference_s4.py` holds
that code, or the plainest all-pairs loop)."""

from __future__ import annotations

import json
import random
import re
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prune_check_reference_s4 as ref
from dlcards.core import lint
from dlcards.core.model import Note
from dlcards.core.parse import parse_text
from dlcards.insights import prune, prune_text

ROOT = Path(__file__).resolve().parent.parent

# characters that make word boundaries, case and Unicode matter
ALPHABET = "ab_ZéΩ1٣ .,-$`{}*\\\n\t\u00a0\u2028\x1c"


def shipped_notes() -> list[Note]:
    notes: list[Note] = []
    for path in sorted((ROOT / "decks").glob("*.md")):
        notes += parse_text(path.read_text(encoding="utf-8"), f"decks/{path.name}").notes
    return notes


# -- lint ---------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.text(ALPHABET, min_size=1, max_size=6), st.text(ALPHABET, max_size=30))
def test_literal_searches_are_the_regexes(needle: str, text: str) -> None:
    esc = re.escape(needle)
    for hay in (text, needle + text, text + needle, text + needle + text):
        assert lint._as_word(needle, hay) == bool(re.search(rf"\b{esc}\b", hay))
        assert lint._standalone(needle, hay) == bool(
            re.search(rf"(?<![0-9a-z]){esc}(?![0-9a-z])", hay)
        )


@settings(max_examples=300, deadline=None)
@given(st.text("abc d", min_size=1, max_size=20), st.text("abc d", max_size=40))
def test_shared_run_is_the_longest_match(a: str, b: str) -> None:
    size = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    for k in range(len(a) + 2):
        assert lint._shares_run(a, b, k) == (size.size >= k)


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET + "~~~```<!-->", max_size=60))
def test_prose_words_and_plain_text(markdown: str) -> None:
    assert lint.prose_words(markdown) == ref.prose_words(markdown)
    assert lint._plain(markdown) == ref._plain(markdown)
    assert lint._question_prose(markdown) == ref._question_prose(markdown)
    assert lint._odd_dollars(markdown) == ref._odd_dollars(markdown)
    assert lint._cloze_plain(markdown) == ref._cloze_plain(markdown)


def _deck(rng: random.Random, n: int) -> str:
    """Cards built to reach every warning: repeated and overlapping cloze texts, words inside
    other words, one-letter blanks, long deletions shown elsewhere, two questions, lists."""
    words = ["softmax", "soft", "max", "x", "a_b", "relu", "é", "ReLU", "2", "layer", "norm"]
    out = []
    for i in range(n):
        w = [rng.choice(words) for _ in range(6)]
        if rng.random() < 0.5:
            long = " ".join(w[:4])
            text = rng.choice(
                [
                    f"The {w[0]} of {{{{c1::{w[1]}}}}} is {{{{c2::{w[2]}}}}} and {w[1]}{w[3]}.",
                    f"{{{{c1::{long}}}}} then {long[:-2]} and {{{{c1::{w[4]}}}}}. Also {{{{c1::{w[5]}}}}}",
                    f"A {{{{c1::{w[0]}}}}} and {{{{c2::{w[0]}}}}} ({w[0]}_x) `{w[1]}` ${w[2]}$",
                    f"{{{{c1::{w[3]}::hint}}}} is not {w[3].upper()} nor {w[3]}s.",
                ]
            )
            out.append(f"C: {text} <!-- id: n{i} -->\n")
        else:
            q = rng.choice(
                [
                    f"What is {w[0]} {w[1]}, and why?",
                    f"Name the {w[2]} of {w[3]}?",
                    f"Which {w[0]} is $a$? Which is $b$?",
                    f"What does this print?\n```torch\nprint({i})\n```",
                ]
            )
            a = rng.choice([f"{w[0]} {w[1]}", "True", "- a\n- b\n- c", " ".join(w * 8), "$x"])
            out.append(f"Q: {q} <!-- id: n{i} -->\nA: {a}\n")
    return "\n".join(out)


def test_lint_note_is_unchanged_on_the_shipped_decks_and_generated_cards() -> None:
    rng = random.Random(16)
    notes = shipped_notes() + parse_text(_deck(rng, 400), "gen.md").notes
    assert len(notes) > 500
    found: set[str] = set()
    for note in notes:
        for limit in (5, 40):
            new = lint.lint_note(note, limit)
            assert new == ref.lint_note(note, limit), note.question
            found |= {p.code for p in new}
    assert {"answer-in-question", "cloze-gives-away", "cloze-same-number"} <= found


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET + "~~~```<!-->{{c1::}}#|>\n2two", max_size=80))
def test_prune_text_helpers_are_unchanged(text: str) -> None:
    assert prune_text.normalize(text) == ref.normalize(text)
    assert prune_text.code_of(text) == ref.code_of(text)
    assert prune_text.exact_parts(text) == ref.exact_parts(text)
    fenced = f"A {text}\n```python\nx = {text}\n```\n$$a$$ $b$ two 3"
    assert prune_text.exact_parts(fenced) == ref.exact_parts(fenced)
    assert prune_text.normalize(fenced) == ref.normalize(fenced)


# -- near-duplicates ----------------------------------------------------------------------------
def _near_duplicates(rng: random.Random, n: int, long: bool) -> str:
    """Questions of a few templates that differ in a few words (many pairs around the 85%
    threshold), some longer than 64 characters after the common prefix, answers around 60%,
    empty cloze answers, code, Unicode, and notes of two files."""
    vocab = ["mean", "head", "loss", "ä", "kernel", "x", "stride", "batch", "norm", "ReLU"]
    formulas = ["$a+b$", "$W x$", ""]
    out = []
    for i in range(n):
        w = [rng.choice(vocab) for _ in range(4)]
        f = rng.choice(formulas)
        kind = rng.random()
        # long: the words that differ at both ends of a long text (nothing common to cut)
        middle = " of the long and winding road that leads to the door of " if long else " "
        if kind < 0.25:
            body = w[0] + middle + " ".join(w[1:])
            out.append(f"C: {{{{c1::{body}}}}} is {w[0]}. <!-- id: c{i} -->\n")
            continue
        q = f"{w[0]} does {f} mean for the{middle}" + " ".join(w[1:]) + "?"
        a = "It is the " + " ".join(rng.choice(vocab) for _ in range(rng.choice([2, 5, 8])))
        if kind > 0.85:
            a += "\n\n```python\nprint(1)\n```"
        out.append(f"Q: {q} <!-- id: q{i} -->\nA: {a}\n")
    return "\n".join(out)


@pytest.mark.parametrize("long", [False, True])
def test_duplicate_pairs_are_every_pair_above_the_thresholds(long: bool) -> None:
    rng = random.Random(6 + long)
    notes = []
    for f in range(2):
        notes += parse_text(_near_duplicates(rng, 160, long), f"decks/f{f}.md").notes
    rng.shuffle(notes)  # pairs are sorted by place, not by position in the list
    expected = ref.duplicate_pairs(notes)
    assert len(expected) > 50  # the fixture has pairs to find
    assert prune_text.duplicate_pairs(notes) == expected
    assert [(a, b) for a, b, *_ in prune.find_duplicates(notes)] == [
        (notes[i], notes[j]) for i, j, *_ in expected
    ]
    assert prune.duplicate_reasons(notes) == ref.duplicate_reasons(notes)


def test_duplicate_pairs_on_the_shipped_decks() -> None:
    notes = shipped_notes()
    assert prune_text.duplicate_pairs(notes) == ref.duplicate_pairs(notes)
    assert prune.duplicate_reasons(notes) == ref.duplicate_reasons(notes)


def test_the_cut_and_the_bound_reach_the_threshold_exactly() -> None:
    """Pairs at exactly 85% / 60%, pairs one character below, identical and empty texts, a
    long common prefix (cut) and texts longer than 64 characters (the piecewise bound)."""
    head = "what does the following long common prefix say about the "
    # 20 + 20 characters, distance 6: 100 * (1 - 6 / 40) = 85.0 exactly
    qs = [
        "abcdefghijklmnopqrst",
        "abcdefghijklmnopqxyz",
        "abcdefghijklmnopqrsz",
        "abcdefghijklmnopqrst",
        "",
        "z" * 70 + "abcdefghij",
        "z" * 69 + "abcdefghik",
        "y" * 70 + "abcdefghij",
    ]
    text = []
    for i, q in enumerate(qs):
        for prefix in ("", head):
            text.append(f"Q: {prefix}{q} <!-- id: p{i}{len(prefix)} -->\nA: it is the same thing\n")
    notes = parse_text("\n".join(text), "decks/t.md").notes
    expected = ref.duplicate_pairs(notes)
    assert any(q == 85.0 for *_, q, _a in expected)
    assert prune_text.duplicate_pairs(notes) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text("ab cdé", max_size=90), min_size=2, max_size=12), st.booleans())
def test_duplicate_pairs_random(texts: list[str], same_answer: bool) -> None:
    deck = "\n".join(
        f"Q: {t.strip() or 'x'} <!-- id: h{i} -->\nA: {'same' if same_answer else t[::-1] or 'y'}\n"
        for i, t in enumerate(texts)
    )
    notes = parse_text(deck, "decks/h.md").notes
    assert prune_text.duplicate_pairs(notes) == ref.duplicate_pairs(notes)
    assert prune.duplicate_reasons(notes) == ref.duplicate_reasons(notes)


# -- the prune JSON ------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(ALPHABET + '"\x00\x7f\ud7ff'),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text('ab"é'), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_json_text_is_json_dumps(value: object) -> None:
    from dlcards.cli.prune import json_text

    assert json_text(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_json_text_leaves_other_values_to_json_dumps() -> None:
    from dlcards.cli.prune import json_text

    class Score(float):
        pass

    value = {"a": (1, Score(2.5)), "b": [{1: "int key"}]}
    assert json_text(value) == json.dumps(value, indent=2, ensure_ascii=False)


# -- check: repeated blocks ------------------------------------------------------------------------
REPEATED = """\
Q: Derivative of the sigmoid? <!-- id: s1 -->
A: $\\sigma(1-\\sigma)$

```check
diff(sigmoid(x), x) == sigmoid(x)*(1 + sigmoid(x))
```

Q: The same derivative, asked again? <!-- id: s2 -->
A: $\\sigma(1-\\sigma)$

```check
diff(sigmoid(x), x) == sigmoid(x)*(1 + sigmoid(x))
```

Q: Shape of the scores? <!-- id: s3 -->
A: $(B, h, T, T)$

```shapes
Q: (B, h, T, d_k)
K: (B, h, T, d_k)
Q @ K -> (B, h, T, T)
```
"""


def test_repeated_blocks_run_once_and_report_at_each_place(collection: Path) -> None:
    """Two cards with the same check block: it is checked once (cold) and read once (warm),
    and its problem is reported at each card's block, as when each block ran on its own."""
    from dlcards.app import verify
    from dlcards.system.decks import read_decks

    (collection / "decks" / "a.md").write_text(REPEATED, encoding="utf-8")
    (collection / "decks" / "b.md").write_text(REPEATED.replace("id: s", "id: t"), "utf-8")
    ran: list[int] = []
    real = verify.run_pure

    def counting(items: list[tuple[str, str]], **kw: object) -> list[list[dict[str, object]]]:
        ran.append(len(items))
        return real(items, **kw)  # type: ignore[arg-type]

    def problems(**kw: bool) -> tuple[list[tuple[str, int, str]], verify.CheckTally]:
        col = read_decks(collection)
        tally = verify.CheckTally()
        found = verify.run_checks(col, list(col.problems), report=tally, no_exec=True, **kw)
        return [(p.location.path, p.location.line, p.code) for p in found], tally

    mp = pytest.MonkeyPatch()
    mp.setattr(verify, "run_pure", counting)
    try:
        cold, t1 = problems(no_cache=True)
        warm, t2 = problems()  # the cold run stored every result
        ran_cold = ran[0]
    finally:
        mp.undo()
    # the distinct blocks: the false claim and the shapes (a.md and b.md repeat them)
    assert ran_cold == 2 and len(ran) == 1
    assert (t1.blocks, t1.ran, t1.cached) == (6, 6, 0)
    assert (t2.ran, t2.cached) == (0, 6)
    assert cold == warm
    false_at = [(Path(path).name, line) for path, line, code in cold if code == "claim-false"]
    assert false_at == [
        ("a.md", 5),
        ("a.md", 12),
        ("b.md", 5),
        ("b.md", 12),
    ]
