"""Finding the formulas a card states (no sympy): `card_formulas`, `formula_payload`,
`free_payload`.
"""

from __future__ import annotations

import ast
import re

from dlcards.checks.binding.outcomes import CardFormula, FormulaKind
from dlcards.checks.binding.prove import _names
from dlcards.checks.latex import RELATION_MACROS, LatexUnreadable, read_claims, strip_cloze
from dlcards.core.model import Note

# ---------------------------------------------------------------------------------------------
# Finding the card's formulas (no sympy)

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.S | re.M)
_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(?!\s)(.+?)(?<![\s\\])\$", re.S)
# a lone name in a cloze deletion ("row $i$ of $A$") is prose, not a formula
_LONE_NAME = re.compile(r"^\\?[A-Za-z]+(_\{?\w+\}?)?$")
_TUPLE = re.compile(r"^\s*(?:torch\.Size\(\s*\[(.*)\]\s*\)|\((.*)\))\s*$", re.S)


def _blank(m: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def _top_level_relation(latex: str) -> bool:
    """`=`, `\\approx`, `\\neq` or `\\leftarrow` outside braces (not `\\sum_{j=1}`), and no
    inequality."""
    depth = 0
    found = False
    i = 0
    while i < len(latex):
        c = latex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+)", latex[i:])
            if m:
                if depth == 0 and m.group(1) in RELATION_MACROS:
                    found = True  # \approx, \neq, \leftarrow
                if depth == 0 and m.group(1) in ("le", "leq", "ge", "geq", "ll", "gg"):
                    return False
                i += len(m.group(0))
                continue
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and c == "=":
            found = True
        elif depth == 0 and c in "<>":
            return False
        i += 1
    return found


def _is_tuple(text: str) -> bool:
    m = _TUPLE.match(text)
    if not m:
        return False
    inner = m.group(1) if m.group(1) is not None else m.group(2)
    return "," in inner and not re.search(r"[=\\]approx", inner)


def card_formulas(note: Note) -> list[CardFormula]:
    """The formulas `note` states, in order (see the module docstring for what counts)."""
    kinds = {b.kind for b in note.blocks}
    if note.kind == "basic":
        text, first = note.answer, note.answer_line or note.line
    else:
        text, first = note.question, note.line
    # fenced blocks and (for math) code spans blanked out, offsets kept
    prose = _FENCE.sub(_blank, text)
    no_code = _CODE.sub(_blank, prose)
    lead = _lead_lines(note, text)

    def line_of(offset: int) -> int:
        return first + lead + text.count("\n", 0, offset)

    out: list[CardFormula] = []
    spans = [
        (m.start(), m.end(), (m.group(1) if m.group(1) is not None else m.group(2)).strip())
        for m in _MATH.finditer(no_code)
    ]
    deletions = [(d.start, d.end) for d in note.deletions]

    def in_deletion(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in deletions)

    leading_done = False
    tuples: list[tuple[int, str]] = []
    for start, end, raw in spans:
        if note.kind == "cloze" and not in_deletion(start, end):
            # also a span written inside a deletion: {{c1::$x$}}
            continue
        latex = strip_cloze(raw).strip()
        if not latex:
            continue
        after = no_code[end : end + 1]
        unread = (
            "a unit follows the formula: it states a rounded quantity"
            if after.isalpha()
            or after == "%"
            or re.match(r"\s+(million|billion|thousand|%)", no_code[end : end + 12])
            else ""
        )
        if _top_level_relation(latex):
            out.append(CardFormula("relation", latex, line_of(start), unread))
        elif "shapes" in kinds and _is_tuple(latex):
            tuples.append((start, latex))
            continue
        elif "check" in kinds and (
            (note.kind == "basic" and not leading_done)
            or (note.kind == "cloze" and not _LONE_NAME.match(latex))
        ):
            at_answer = note.kind == "cloze" or _answer_position(no_code, start)
            kind: FormulaKind = "answer" if at_answer else "expression"
            out.append(CardFormula(kind, latex, line_of(start), unread))
        leading_done = True
    if "shapes" in kinds:
        for m in _CODE.finditer(prose):
            inner = m.group(2).strip()
            if _is_tuple(inner):
                tuples.append((m.start(), inner))
        if tuples:
            tuples.sort()
            joined = " ; ".join(t for _, t in tuples)
            out.append(CardFormula("shape", joined, line_of(tuples[0][0])))
    return sorted(out, key=lambda f: f.line)


def _answer_position(text: str, start: int) -> bool:
    """Whether a math span is *the* answer: it starts the answer, or follows a colon."""
    before = text[:start].rstrip()
    return not before or before.endswith(":")


def _lead_lines(note: Note, text: str) -> int:
    """Lines the parser stripped before the cloze text (calibrated on a deletion)."""
    if note.kind != "cloze" or not note.deletions:
        return 0
    d = note.deletions[0]
    return d.line - (note.line + text.count("\n", 0, d.start))


def formula_payload(formulas: list[CardFormula]) -> list[list[str]]:
    """What the worker needs of the formulas (and what the cache key holds): kind and LaTeX."""
    return [[f.kind, f.latex, f.unread] for f in formulas]


def free_payload(formulas: list[CardFormula]) -> list[list[str]]:
    """The payload for proving a card's relations that need no block (no check block on the
    card): those that name nothing (numbers, vocabulary functions and constants only, e.g.
    `$784 \\cdot 128 + 128 = 100\\,480$`). The others are left unread (their outcome is
    unbound, and the caller drops it); empty when there is nothing to prove."""
    out = []
    for f in formulas:
        entry = [f.kind, f.latex, "needs a block"]
        if f.kind == "relation" and not f.unread:
            try:
                claims = read_claims(f.latex)
            except LatexUnreadable:
                claims = []
            names: set[str] = set()
            for c in claims:
                try:
                    names |= _names(ast.parse(c.statement, mode="eval").body)
                except SyntaxError:
                    names.add("?")
            if claims and not names - {"pi", "e", "E"}:
                entry = [f.kind, f.latex, ""]
        out.append(entry)
    return out if any(not e[2] for e in out) else []
