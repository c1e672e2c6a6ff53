"""`strip_cloze` and the tokenizer: LaTeX text -> `_Tok` tokens (letters, digits, grouped
numbers with units, macros, symbols), each with its column."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dlcards.checks.latex.tables import (
    _CLOZE,
    _SIZING,
    _SPACE,
    LatexUnreadable,
)


def strip_cloze(latex: str) -> str:
    """The formula with cloze deletions filled in (`{{c1::x::hint}}` -> `x`)."""
    previous = None
    while previous != latex:
        previous, latex = latex, _CLOZE.sub(r"\1", latex)
    return latex


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, letter, macro, sym, prime
    text: str
    col: int
    spaced: bool = False  # a space or a spacing macro (`\\,`) stands before it


_MACRO = re.compile(r"\\([A-Za-z]+|.)")
_GROUPED = re.compile(r"\d{1,3}(?:(?:\\,|\{,\}|\\ )\d{3})+(?![\d.])")
_DELIMITER_MACROS = {"lfloor", "rfloor", "lceil", "rceil", "lVert", "rVert", "Vert", "|"}
UNITS = {"k", "m", "million", "b", "billion", "g", "gb", "mb", "kb", "tb", "ms", "s", "%", "x"}


def _tokens(s: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    space = False

    def add(kind: str, text: str, col: int) -> None:
        nonlocal space
        out.append(_Tok(kind, text, col, space))
        space = False

    while i < len(s):
        c = s[i]
        if c.isspace():
            space = True
            i += 1
            continue
        if c == "\\":
            m = _MACRO.match(s, i)
            if m is None:
                raise LatexUnreadable("a backslash at the end", i + 1)
            name = m.group(1)
            if name in ("|", "lVert", "rVert", "Vert"):
                add("sym", "‖", i + 1)
            elif name in ("{", "}"):
                raise LatexUnreadable(
                    f"a literal brace \\{name} has no meaning in a formula", i + 1
                )
            elif name in _SPACE:
                space = True
            elif name in _SIZING:
                # \left( \bigr] ... size the delimiter that follows; the delimiter is what is read
                at = m.end()
                while at < len(s) and s[at] == " ":
                    at += 1
                nxt = s[at : at + 2]
                after = _MACRO.match(s, at)
                delimiter = after is not None and after.group(1) in _DELIMITER_MACROS
                if not (nxt[:1] in ("(", ")", "[", "]", "|") or nxt == "\\|" or delimiter):
                    raise LatexUnreadable(f"\\{name} must stand before a delimiter", i + 1)
            else:
                add("macro", name, i + 1)
            i = m.end()
            continue
        if c.isdigit():
            grouped = _GROUPED.match(s, i)
            if grouped is not None:  # 101\,770 and 60{,}000: thousands separators
                add("num", re.sub(r"\D", "", grouped.group(0)), i + 1)
                i = grouped.end()
                continue
        if c.isdigit() or (c == "." and i + 1 < len(s) and s[i + 1].isdigit()):
            m2 = re.compile(r"\d*\.?\d+").match(s, i)
            assert m2 is not None
            add("num", m2.group(0), i + 1)
            i = m2.end()
            continue
        if c.isascii() and c.isalpha():
            add("letter", c, i + 1)
        elif c == "'":
            add("prime", c, i + 1)
        elif c in "+-*/=(){}[]^_,|<>":
            add("sym", c, i + 1)
        else:
            raise LatexUnreadable(f"'{c}' is not read in formulas", i + 1)
        i += 1
    return out
