"""Planned edits of deck files. Pure: text in, a `TextEdit` out; nothing is read or written here.

A `TextEdit` replaces `removed` at character `offset` of a file's text with `inserted`; its
`inverse()` undoes it. Edits work on the file's original text, so a UTF-8 BOM and CRLF/CR line
endings are kept: every byte outside the edited span stays as it was.

Deleting a note removes exactly its lines (`Note.line`..`Note.end_line`, as the parser counts
them) plus, where the note sat between two blank lines (or between the top of the file and a
blank line, or a blank line and the end of the file), one of those blank lines, so that no
double blank line is left behind.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from dlcards.core.errors import DlcardsError

LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
CONTEXT_CHARS = 80


class EditError(DlcardsError):
    """A planned edit does not fit the file's text (the file changed, or a bad line range)."""


@dataclass(frozen=True)
class Line:
    start: int  # offset of the line's first character
    end: int  # offset just past its line ending
    text: str  # without the line ending

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def split_lines(text: str) -> list[Line]:
    """The lines of `text` with their offsets; only \\r\\n, \\r and \\n end a line (as the parser)."""
    out = []
    for m in LINE_RE.finditer(text):
        if m.start() == m.end():
            continue
        raw = m.group(0)
        body = raw.rstrip("\r\n")
        out.append(Line(m.start(), m.end(), body))
    if out and out[0].text.startswith("\ufeff"):
        first = out[0]
        out[0] = Line(first.start + 1, first.end, first.text[1:])
    return out


@dataclass(frozen=True)
class TextEdit:
    """Replace `removed` at `offset` with `inserted`."""

    offset: int
    removed: str
    inserted: str = ""

    def apply(self, text: str) -> str:
        if text[self.offset : self.offset + len(self.removed)] != self.removed:
            raise EditError(
                "the file's text at the edit does not match what was planned",
                hint="the file changed since it was read; read it again",
            )
        return text[: self.offset] + self.inserted + text[self.offset + len(self.removed) :]

    def inverse(self) -> TextEdit:
        return TextEdit(self.offset, self.inserted, self.removed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextEdit:
        return cls(int(d["offset"]), str(d["removed"]), str(d.get("inserted", "")))


def plan_delete(text: str, line: int, end_line: int) -> TextEdit:
    """Delete lines `line`..`end_line` (1-based, inclusive) and at most one adjoining blank line."""
    lines = split_lines(text)
    if not 1 <= line <= end_line <= len(lines):
        raise EditError(
            f"lines {line}-{end_line} are not in the file ({len(lines)} lines)",
            hint="the file changed since it was read; read it again",
        )
    first, last = line - 1, end_line - 1
    before_blank = first == 0 or lines[first - 1].blank
    after_exists = last + 1 < len(lines)
    if after_exists and lines[last + 1].blank and before_blank:
        last += 1
    elif not after_exists and first > 0 and lines[first - 1].blank:
        first -= 1
    start, end = lines[first].start, lines[last].end
    return TextEdit(start, text[start:end], "")


def plan_replace_lines(text: str, line: int, end_line: int, new_lines: str) -> TextEdit:
    """Replace lines `line`..`end_line` (their text, not the last line ending) with `new_lines`."""
    lines = split_lines(text)
    if not 1 <= line <= end_line <= len(lines):
        raise EditError(f"lines {line}-{end_line} are not in the file ({len(lines)} lines)")
    start = lines[line - 1].start
    last = lines[end_line - 1]
    end = last.start + len(last.text)
    return TextEdit(start, text[start:end], new_lines)


def diff_edit(before: str, after: str) -> TextEdit:
    """The single smallest span edit turning `before` into `after` (common prefix and suffix)."""
    n = min(len(before), len(after))
    p = 0
    while p < n and before[p] == after[p]:
        p += 1
    s = 0
    while s < n - p and before[len(before) - 1 - s] == after[len(after) - 1 - s]:
        s += 1
    return TextEdit(p, before[p : len(before) - s], after[p : len(after) - s])


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AnchoredEdit:
    """A `TextEdit` with the text around it, so that it can be found again after other edits."""

    edit: TextEdit
    before: str  # up to CONTEXT_CHARS characters before the edit
    after: str  # up to CONTEXT_CHARS characters after the edited span (in the new text)

    @classmethod
    def of(cls, text: str, edit: TextEdit) -> AnchoredEdit:
        """Anchor `edit` as applied to `text` (the text before the edit)."""
        end = edit.offset + len(edit.removed)
        return cls(
            edit,
            text[max(0, edit.offset - CONTEXT_CHARS) : edit.offset],
            text[end : end + CONTEXT_CHARS],
        )

    def undo_in(self, text: str) -> str:
        """Undo the edit in `text` (the file now): at the same offset when it still fits there,
        else at the one place where the surrounding text is found again."""
        inv = self.edit.inverse()
        at = inv.offset
        here = (
            text[max(0, at - len(self.before)) : at] == self.before
            and text[at : at + len(inv.removed)] == inv.removed
            and text[at + len(inv.removed) : at + len(inv.removed) + len(self.after)] == self.after
        )
        if here:
            return inv.apply(text)
        for n in (CONTEXT_CHARS, 40, 24, 12, 6):
            before = self.before[-n:] if n < len(self.before) else self.before
            needle = before + inv.removed + self.after[:n]
            if needle and text.count(needle) == 1:
                at = text.index(needle) + len(before)
                return TextEdit(at, inv.removed, inv.inserted).apply(text)
        raise EditError(
            "cannot find the place of this edit in the file any more",
            hint="the text around it changed; restore it by hand from the journal",
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.edit.to_dict(), "context_before": self.before, "context_after": self.after}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnchoredEdit:
        return cls(
            TextEdit.from_dict(d), str(d.get("context_before", "")), str(d.get("context_after", ""))
        )


def decode(data: bytes) -> str:
    """A deck file's bytes as text, keeping the BOM and line endings (edits are exact)."""
    return data.decode("utf-8")


def encode(text: str) -> bytes:
    return text.encode("utf-8")
