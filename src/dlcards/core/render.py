"""Cards as terminal-friendly Markdown: LaTeX math -> readable Unicode, cloze blanks, hidden
check blocks. Pure: strings in, strings out; no Textual, no I/O.

This module does the Markdown (fenced blocks, math in prose, escaping) and the cards (front,
back, cloze text, context line); the LaTeX -> Unicode conversion itself is
`dlcards.core.latex_text` (its `latex_to_unicode`, `script` and highlight markers are
re-exported here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlcards.core.comments import strip_html_comments
from dlcards.core.latex_text import HL_CLOSE, HL_OPEN, latex_to_unicode, script

if TYPE_CHECKING:
    from dlcards.core.model import Block, Card

__all__ = [
    "HIDDEN_BLOCKS",
    "HL_CLOSE",
    "HL_OPEN",
    "LEXERS",
    "CardText",
    "FencedBlock",
    "card_text",
    "cloze_text",
    "context_line",
    "escape_markdown",
    "fenced_blocks",
    "latex_to_unicode",
    "script",
    "terminal_markdown",
]


# -- Markdown --------------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_MD_ESCAPE = re.compile(r"([\\`*_\[\]<>#|~])")
_INLINE_SEGMENTS = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?P=ticks))"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$])\$(?P<inline>(?:[^$`\n]|\n(?!\s*\n))+?)(?<!\\)\$(?![\d$])",
    re.S,
)


def escape_markdown(text: str) -> str:
    return _MD_ESCAPE.sub(r"\\\1", text)


def _math_in_prose(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group("code"):
            return m.group(0)
        if m.group("display") is not None:
            body = escape_markdown(latex_to_unicode(m.group("display")))
            return f"\n\n\u2003\u2003{body}\n\n"
        return escape_markdown(latex_to_unicode(m.group("inline")))

    return _INLINE_SEGMENTS.sub(repl, text)


@dataclass(frozen=True)
class FencedBlock:
    info: str
    start: int  # index of the opening line
    end: int  # index one past the closing line


def fenced_blocks(lines: list[str]) -> list[FencedBlock]:
    """The fenced code blocks of Markdown lines (unclosed ones run to the end)."""
    out: list[FencedBlock] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m or (m.group(1)[0] == "`" and "`" in lines[i].strip()[len(m.group(1)) :]):
            i += 1
            continue
        marker = m.group(1)
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(marker[0] * len(marker)) and set(stripped) <= {marker[0]}:
                break
            j += 1
        out.append(FencedBlock(m.group(2), i, min(j + 1, len(lines))))
        i = j + 1
    return out


HIDDEN_BLOCKS = ("check", "shapes")
LEXERS = {"torch": "python", "py": "python"}


def terminal_markdown(markdown: str, *, show_checks: bool = False) -> str:
    """Card Markdown ready for a terminal renderer: math as Unicode, `check`/`shapes` blocks
    removed (or kept as plain code with `show_checks`), `torch` blocks highlighted as Python,
    HTML comments dropped, cloze markers turned into `<kbd>` spans."""
    lines = strip_html_comments(markdown).split("\n")
    pieces: list[str] = []
    pos = 0
    for block in fenced_blocks(lines):
        pieces.append(_math_in_prose("\n".join(lines[pos : block.start])))
        if block.info in HIDDEN_BLOCKS:
            if show_checks:
                body = lines[block.start + 1 : block.end - 1]
                pieces.append("\n".join([f"```text  {block.info}", *body, "```"]))
        else:
            first = lines[block.start]
            if block.info in LEXERS:
                first = first.replace(block.info, LEXERS[block.info], 1)
            pieces.append("\n".join([first, *lines[block.start + 1 : block.end]]))
        pos = block.end
    pieces.append(_math_in_prose("\n".join(lines[pos:])))
    text = "\n".join(p for p in pieces if p is not None)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text.replace(HL_OPEN, "<kbd>").replace(HL_CLOSE, "</kbd>")


# -- cards -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardText:
    """What the review screen shows for one card."""

    front: str  # terminal Markdown of the question side
    back: str  # terminal Markdown of the answer side (shown under the front), "" for cloze
    # `check`/`shapes` blocks: the review screen says what they proved of the card's text
    # ("✓ formula proved" only when bound and proved: app.verify.binding_status); `v` shows them
    checks: tuple[Block, ...]
    has_torch: bool


def cloze_text(
    text: str, deletions: list[tuple[int, int, int, str, str | None]], ordinal: int, revealed: bool
) -> str:
    """Cloze note text for card `ordinal`: its deletions as [...]/[hint] (or highlighted
    when revealed), the others as plain text. `deletions`: (number, start, end, text, hint)."""
    out: list[str] = []
    pos = 0
    for number, start, end, body, hint in sorted(deletions, key=lambda d: d[1]):
        out.append(text[pos:start])
        if number != ordinal:
            out.append(body)
        elif revealed:
            out.append(f"{HL_OPEN}{body}{HL_CLOSE}")
        else:
            out.append(f"{HL_OPEN}[{hint or '...'}]{HL_CLOSE}")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def card_text(card: Card, *, revealed: bool, show_checks: bool = False) -> CardText:
    note = card.note
    checks = tuple(b for b in note.blocks if b.kind in HIDDEN_BLOCKS)
    has_torch = any(b.kind == "torch" for b in note.blocks)
    if note.kind == "cloze":
        dels = [(d.number, d.start, d.end, d.text, d.hint) for d in note.deletions]
        raw = cloze_text(note.question, dels, card.ordinal, revealed)
        text = terminal_markdown(raw, show_checks=show_checks and revealed)
        return CardText(text, "", checks, has_torch)
    front = terminal_markdown(note.question, show_checks=show_checks)
    back = terminal_markdown(note.answer, show_checks=show_checks) if revealed else ""
    return CardText(front, back, checks, has_torch)


def context_line(card: Card, sep: str = " › ") -> str:
    """deck › week N › topic › heading › subheading"""
    note = card.note
    parts = [note.deck]
    if note.meta.week is not None:
        parts.append(f"week {note.meta.week}")
    if note.meta.topic:
        parts.append(note.meta.topic)
    parts.extend(h for h in note.context if h)
    return sep.join(parts)
