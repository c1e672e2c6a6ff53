"""The fast deck parser (issue 16, cold start) against the old pipeline: markdown-it's full parse
and the original note builder (`tests/parse_reference.py`). Every shipped deck file, every
fixture, hand-written edge cases and generated Markdown must give the same blocks, notes
(all fields, as pydantic made them) and problems."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, ROOT
from dlcards.core.parse import ParsedFile, normalize_newlines, parse_text
from dlcards.core.parse.blocks import MD_TRIM_CHARS, markdown_it_blocks, top_blocks
from parse_reference import parse_text_reference

MARKDOWN_FILES = sorted(
    {
        *ROOT.joinpath("decks").rglob("*.md"),
        *FIXTURES.rglob("*.md"),
        *ROOT.joinpath("docs").rglob("*.md"),
    }
)


def same_parse(text: str, path: str = "t.md", deck: str = "dlcards") -> ParsedFile:
    """Assert that the fast and the reference parse agree, in every detail; the fast one."""
    norm = normalize_newlines(text)
    assert top_blocks(norm) == markdown_it_blocks(norm)
    fast = parse_text(text, path, deck)
    ref = parse_text_reference(text, path, deck)
    assert fast == ref
    assert [n.model_dump() for n in fast.notes] == [n.model_dump() for n in ref.notes]
    for a, b in zip(fast.notes, ref.notes, strict=True):
        # what pickling (the parse cache) and `model_dump(exclude_unset=...)` see
        assert a.__getstate__() == b.__getstate__()
        assert list(a.__dict__) == list(b.__dict__)
    assert pickle.loads(pickle.dumps(fast)) == ref
    return fast


def test_the_trim_characters_are_markdown_its() -> None:
    from markdown_it.common.utils import MD_TRIM_CHARS as markdown_its

    assert markdown_its == MD_TRIM_CHARS


def test_there_are_files_to_compare() -> None:
    assert len(MARKDOWN_FILES) > 150
    assert any(p.parts[-2] == "decks" for p in MARKDOWN_FILES)


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_and_fixture_file_parses_as_before(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    same_parse(text, path.name, "Deck")


def test_fixture_cases_parse_as_before() -> None:
    from parse_fixtures import read_cases

    cases = [c for p in sorted((FIXTURES / "parse").glob("*.md")) for c in read_cases(p)]
    assert len(cases) >= 30
    for case in cases:
        same_parse(case.source)


def test_a_real_deck_file_finds_cards_and_problems() -> None:
    """Not only empty results agree: the comparison covers notes, blocks and problems."""
    deck = ROOT / "decks"
    parsed = [same_parse(p.read_text(encoding="utf-8"), p.name) for p in sorted(deck.rglob("*.md"))]
    notes = [n for p in parsed for n in p.notes]
    assert len(notes) > 500
    assert {n.kind for n in notes} == {"basic", "cloze"}
    assert any(n.blocks for n in notes) and any(n.deletions for n in notes)


EDGES = {
    "fence inside a card": "Q: q?\nA: a\n```check\nx = 1\n```\nmore\n",
    "fence with Q: inside": "```\nQ: not a card\nA: no\n```\n\nQ: real?\nA: yes\n",
    "tilde fence, longer close": "Q: q\nA: a\n~~~~ shapes\nQ: x\n~~~~~~\n",
    "backtick in info is not a fence": "Q: q\nA: a\n``` a`b\nQ: y\n```\n",
    "unclosed fence": "Q: q\nA: a\n```torch\nx\n\nQ: swallowed?\nA: yes\n",
    "indented fence": "  ```check\n  x\n   y\n  ```\nQ: after?\nA: yes\n",
    "tab-indented fence": "\t```check\n\tx\n```\nQ: q\nA: a\n",
    "indented code": "    Q: code, not a card\n    A: no\n\nQ: q\nA: a\n",
    "tab is code": "\tQ: code\n\nQ: q\nA: a\n",
    "math block": "Q: q\nA: a\n$$\nQ: inside math\n$$\n\nQ: next\nA: b\n",
    "math block one line": "$$x^2$$\nQ: after\nA: yes\n",
    "math block with label": "$$\nx\n$$ (eq1)\nQ: q\nA: a\n",
    "math block unclosed": "$$\nQ: x\nA: y\n",
    "dollar paragraph": "$x$ is Q:\nQ: a\nA: b\n",
    "headings": "# A\n## B\nQ: q\nA: a\n### C ###\nC: {{c1::x}}\n# \n#\n####### seven\n#tag\n",
    "closing hashes": "## B ##  \n## C#\n## #\n##   \nQ: q\nA: a\n",
    "setext heading ends a card": "Q: q\nA: a\n===\nQ: r\nA: b\n---\n",
    "setext after a paragraph": "Title\n=====\n\nSub\n---\nQ: q\nA: a\n",
    "hr": "Q: q\nA: a\n\n***\nQ: r\nA: b\n_ _ _\n- - -\n",
    "html block": "<div>\nQ: in html\n</div>\n\nQ: q\nA: a\n<!-- comment\nQ: x -->\nA: y\n",
    "html comment card": "<!-- hidden -->\nQ: q\nA: a\n",
    "table": "Q: q\nA: a\n| a | b |\n|---|---|\n| 1 | 2 |\n\nQ: r\nA: s\n",
    "table interrupts": "Q: q | x\n---|---\nA: a\n",
    "pipes not a table": "Q: what is |x|?\nA: |x| = x\n| y\n",
    "lists": "- Q: in a list\n  A: no\n\nQ: q\nA: a\n- item\n1. one\n2) two\n",
    "list interrupting": "Q: q\n- a\n+ b\n* c\n1. d\n3. e\nA: x\n",
    "empty list item": "Q: q\n-\nA: a\n",
    "blockquote": "> Q: quoted\n> A: no\n\nQ: q\n> A: quoted answer\nA: real\n",
    "reference definition": "[a]: http://x\nQ: q\nA: a\n\n[b]: /y 'title'\n",
    "front matter": "---\nweek: 3\ntopic: softmax\ntags: [a, b]\n---\nQ: q\nA: a\n",
    "front matter dots": "---\nweek: 3\n...\nQ: q\nA: a\n",
    "front matter long marker": "----\nweek: 3\n-----\nQ: q\nA: a\n",
    "front matter short close": "----\nweek: 3\n---\nQ: q\nA: a\n",
    "front matter unclosed": "---\nweek: 3\nQ: q\nA: a\n",
    "front matter indented": " ---\nweek: 3\n---\nQ: q\nA: a\n",
    "front matter after blank": "\n---\nweek: 3\n---\nQ: q\nA: a\n",
    "front matter empty": "---\n---\nQ: q\nA: a\n",
    "front matter yaml": "---\nweek: '3'\ntags:\n  - a\n  - b\nrequires: [x-y]\n---\nQ: q\nA: a\n",
    "front matter bad": "---\nweek: yes\ntopic: Not A Slug\nextra: 1\n---\nQ: q\nA: a\n",
    "front matter alias": "---\na: &x [1]\ntags: *x\n---\nQ: q\nA: a\n",
    "front matter bool key": "---\non: 1\n---\nQ: q\nA: a\n",
    "front matter octal": "---\nweek: 010\n---\nQ: q\nA: a\n",
    "cloze": "C: {{c1::a}} {{c2::b::hint}} {{c3::{x}}} \\{{c4::y}}\nC: {{c1::}} {{c0::z}} {{c1:x}}\n",
    "cloze unbalanced": "C: {{c1::a {b}\nC: {{c1::a}}}} {{c2::\\}}}\nmore {{c3::x\n}}\n",
    "cloze hint depth": "C: {{c1::f(a::b)::h}} {{c2::{a::b}::h2}} {{c3::a\\::b}}\n",
    "no answer": "Q: q\n\nQ: empty?\nA:\nQ:\nA: x\n",
    "answer in a later paragraph": "Q: q\n\nA: not prose of the card? \n",
    "ids": "Q: q <!-- id: abc -->\nA: a <!-- id: x -->\nQ: r <!-- id: bad id! -->\nA: b\n",
    "two ids": "Q: q <!-- id: a --> <!-- id: b -->\nA: a\n",
    "lazy continuation": "Q: q\n    indented\nA: a\n\tand tab\n",
    "NUL": "Q: q\x00\nA: a\n```check\nx\x00\n```\n",
    "odd whitespace": "\x0c\nQ: q\nA: a\n\u00a0\nQ: r\nA: s\n",
    "trailing blanks": "Q: q\nA: a\n   ",
    "no final newline": "Q: q\nA: a",
    "CRLF and BOM": "\ufeff---\r\nweek: 1\r\n---\r\nQ: q\r\nA: a\r\n",
    "only blanks": "  \n\t\n",
    "empty": "",
    "C inside a paragraph": "text\nC: {{c1::not a card}}\n",
    "Q after heading line": "# H\nQ: q\nA: a\n",
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_cases_parse_as_before(name: str) -> None:
    same_parse(EDGES[name])


def test_edges_are_not_trivial() -> None:
    """The edge cases do produce notes and problems (the comparison is not of empties)."""
    parsed = [parse_text(t, "t.md") for t in EDGES.values()]
    assert sum(len(p.notes) for p in parsed) > 40
    assert sum(len(p.problems) for p in parsed) > 15


# -- generated Markdown: line kinds that exercise every block rule's edges -------------------
LINE = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\t",
            "Q: what?",
            "  Q: indented question",
            "Q:",
            "A: answer",
            "A:",
            " A: spaced answer",
            "C: {{c1::x}} and {{c2::y::h}}",
            "C: no deletion",
            "text line",
            "---",
            "===",
            "- item",
            "* item",
            "+ item",
            "1. one",
            "2) two",
            "> quote",
            "# heading",
            "## heading ##",
            "#nospace",
            "```",
            "```check",
            "```torch",
            "~~~",
            "~~~shapes",
            "``` a`b",
            "    code",
            "\tcode",
            "$$",
            "$$ x $$",
            "$x$",
            "<div>",
            "</div>",
            "<!-- c -->",
            "<!-- id: abc -->",
            "| a | b |",
            "|---|---|",
            "a | b",
            "--- | ---",
            "[x]: /url",
            "***",
            "...",
            "week: 2",
            "x <!-- id: q1 -->",
            "\x00",
            "\u00a0",
        ]
    ),
    st.text(alphabet=" \t-=#>*+_`~$|<[]:.!1QAC{}\\acx", max_size=12),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=25), end=st.sampled_from(["", "\n", "\n\n", "  "]))
@example(lines=["---", "week: 2", "---", "Q: a", "A: b"], end="\n")
@example(lines=["Q: a", "| x |", "|---|", "A: b"], end="")
def test_generated_markdown_parses_as_before(lines: list[str], end: str) -> None:
    same_parse("\n".join(lines) + end)


def test_notes_are_made_without_validation_and_equal_validated_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dlcards.core.parse.cards as cards

    text = "\n\n".join([EDGES["cloze"], EDGES["fence inside a card"], EDGES["ids"]])
    fast = same_parse(text)
    assert cards._FAST_NOTES is True  # the probe found pydantic's objects made the same way
    monkeypatch.setattr(cards, "_FAST_NOTES", False)  # another pydantic: validated notes
    validated = same_parse(text)
    assert validated == fast and len(fast.notes) >= 3
