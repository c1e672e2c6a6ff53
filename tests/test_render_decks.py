"""Every card of the shipped decks reads right in the terminal (issue 14, item 3): no raw LaTeX
survives, no subscript falls back to `_(...)`, and no flattened fraction runs into its
neighbour (`∂f/∂udu/dt`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlcards.core.parse import parse_text
from dlcards.core.render import card_text

DECKS = Path(__file__).resolve().parent.parent / "decks"
RAW_LATEX = re.compile(r"\\[A-Za-z]+|\\[{}_^]")  # a macro or an escaped brace left as typed
SUB_PAREN = re.compile(r"_\(")
# a/bc/d: two fractions with no grouping (not prose such as 80/10/10)
RUN_ON_FRACTION = re.compile(r"/(?=[^\s/()\[\]|,]*[^\d\s/()\[\]|,])[^\s/()\[\]|,]+/")
MARKUP = re.compile(r"</?kbd>|\\(?=[\\`*_\[\]<>#|~])")  # cloze highlight, Markdown escapes
CODE = re.compile(r"^```.*?^```|`[^`\n]+`", re.S | re.M)


def shown_text() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DECKS.rglob("*.md")):
        rel = path.relative_to(DECKS.parent).as_posix()
        parsed = parse_text(path.read_text(encoding="utf-8"), rel, "Deep Learning")
        for note in parsed.notes:
            for card in note.cards():
                for revealed in (False, True):
                    text = card_text(card, revealed=revealed)
                    prose = MARKUP.sub("", CODE.sub("", text.front + "\n" + text.back))
                    out.append((f"{rel}:{note.line} ({card.id}, revealed={revealed})", prose))
    return out


def test_the_decks_are_there() -> None:
    assert len(shown_text()) > 2000


@pytest.mark.parametrize(
    ("name", "pattern"),
    [("raw LaTeX", RAW_LATEX), ("_( subscript", SUB_PAREN), ("run-on fraction", RUN_ON_FRACTION)],
)
def test_no_card_shows(name: str, pattern: re.Pattern[str]) -> None:
    bad = [
        f"{where}: {m.group(0)!r} in {text[max(0, m.start() - 30) : m.end() + 30]!r}"
        for where, text in shown_text()
        for m in [pattern.search(text)]
        if m
    ]
    assert not bad, f"{len(bad)} card sides show {name}:\n" + "\n".join(bad[:20])
