"""Pieces shared by the block checkers: statements with their lines, block-relative problems.

Checkers return `BlockProblem`s whose `offset` is the 0-based index of the statement's first
line within the block text; `dlcards.app.verify` turns them into located `Problem`s. Keeping the
offset relative lets cached results survive a card moving within its file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]

# The code of a problem that ran out of its CPU-time budget (a `check` claim, a `shapes`
# statement). Such a result says something about the machine, not the block: it is never
# cached (app.verify's ResultCache asks `cacheable()`), and it is computed again next run.
PROOF_BUDGET = "proof-budget"
UNCACHEABLE_CODES = frozenset({PROOF_BUDGET, "internal", "code-not-run", "code-timeout"})


def cacheable(problems: list[dict[str, Any]]) -> bool:
    """Whether a block's problems (as `to_dict()`s) may be cached: none depends on speed."""
    return not any(d.get("code") in UNCACHEABLE_CODES for d in problems)


@dataclass(frozen=True)
class BlockProblem:
    """A problem of one statement of a block: `offset` lines below the block's first line."""

    offset: int
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlockProblem:
        return cls(
            int(d["offset"]), d["severity"], str(d["code"]), str(d["message"]), d.get("hint")
        )


@dataclass(frozen=True)
class Statement:
    """One logical statement: its text (continuation lines joined) and its first line's offset."""

    offset: int
    text: str


class CheckError(Exception):
    """A statement cannot be evaluated; the message is shown to the author."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def strip_comment(line: str) -> str:
    """The line without a `# comment` (a `#` inside quotes is kept)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def statements(text: str) -> list[Statement]:
    """Split block text into statements; a statement continues while a bracket is open."""
    out: list[Statement] = []
    buf: list[str] = []
    start = 0
    depth = 0
    for i, raw in enumerate(text.split("\n")):
        line = strip_comment(raw).rstrip()
        if not buf:
            if not line.strip():
                continue
            start = i
        buf.append(line.strip())
        for ch in line:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
        if depth <= 0:
            out.append(Statement(start, " ".join(buf)))
            buf = []
            depth = 0
    if buf:
        out.append(Statement(start, " ".join(buf)))
    return out


def split_commas(text: str) -> list[str]:
    """`text` split at the commas outside brackets; every part, empty ones included (`N,` is
    `["N", ""]`: a one-element tuple)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def split_definition(text: str) -> tuple[str, str] | None:
    """`f(x) = expr` (not Python): the two sides of the top-level single `=`, stripped, or None
    when there is none (`==`, `!=`, `<=`, `>=` and an `=` inside brackets are not one)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0:
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt == "=" or prev in "=!<>":
                continue
            return text[:i].strip(), text[i + 1 :].strip()
    return None


def parse_expression(text: str) -> ast.expr:
    """Parse Python expression syntax, turning a SyntaxError into a CheckError."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        hint = None
        if "^" in text:
            hint = "powers are written `**` (`^` is xor in Python syntax)"
        raise CheckError(f"cannot parse `{text.strip()}`: {exc.msg}", hint) from None
    return tree.body
