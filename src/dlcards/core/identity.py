"""Card identity: explicit ids, derived content ids, duplicate resolution, id write-back.

Rules (also in the README):
- A card's id is the `<!-- id: ... -->` comment at the end of its first line, when present.
- Otherwise it is derived from the card's kind and question text (basic) or cloze text:
  8 Crockford base-32 characters of a SHA-256. Editing the answer keeps a derived id; editing
  the question changes it, which is why `dlcards fix` pins ids into the files.
- Explicit ids are claimed first, in (path, line) order; the later of two cards with the same
  explicit id is an error, and `fix` gives it a fresh id. A derived id that collides is salted
  deterministically, so review (before `fix`) and `fix` agree on every id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.model import Note
from dlcards.core.parse import find_id_comment

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base 32, lowercase
ID_LENGTH = 8
LINE_SPLIT_RE = re.compile(r"(\r\n|\r|\n)")


def _normalize(text: str) -> str:
    return " ".join(text.split())


def derive_id(kind: str, text: str, salt: int = 0) -> str:
    """The content id of a note: stable under whitespace changes, independent of the answer."""
    material = f"dlcards-id-v1\0{kind}\0{_normalize(text)}"
    if salt:
        material += f"\0{salt}"
    digest = int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest()[:5], "big")
    out = []
    for _ in range(ID_LENGTH):
        out.append(ALPHABET[digest & 31])
        digest >>= 5
    return "".join(reversed(out))


@dataclass(frozen=True)
class IdWrite:
    """A planned id comment: insert (or, for a duplicate, replace) on a note's first line."""

    path: str
    line: int
    new_id: str
    replace: bool


@dataclass
class IdentityResult:
    notes: list[Note]
    problems: list[Problem]
    writes: list[IdWrite]


def assign_ids(notes: list[Note]) -> IdentityResult:
    """Give every note its effective id; report duplicates; plan what `fix` would write."""
    ordered = sorted(range(len(notes)), key=lambda i: (notes[i].path, notes[i].line))
    taken: dict[str, Note] = {}
    effective: dict[int, str] = {}
    problems: list[Problem] = []
    writes: list[IdWrite] = []
    pending: list[int] = []
    for i in ordered:
        note = notes[i]
        if not note.id_explicit:
            pending.append(i)
            continue
        first = taken.get(note.id)
        if first is None:
            taken[note.id] = note
            effective[i] = note.id
            continue
        problems.append(
            Problem(
                SourceLocation(note.path, note.line),
                "error",
                "duplicate-id",
                f"duplicate id `{note.id}`: also used by the card at {first.path}:{first.line}",
                "run `dlcards fix` to give this card a new id (the review history stays with the first card)",
            )
        )
        pending.append(i)
    for i in pending:
        note = notes[i]
        salt = 0
        new_id = derive_id(note.kind, note.question)
        clash = taken.get(new_id)
        while new_id in taken:
            salt += 1
            new_id = derive_id(note.kind, note.question, salt)
        if (
            clash is not None
            and not note.id_explicit
            and _normalize(clash.question) == _normalize(note.question)
        ):
            problems.append(
                Problem(
                    SourceLocation(note.path, note.line),
                    "warning",
                    "duplicate-question",
                    f"same question as the card at {clash.path}:{clash.line}",
                    "delete one of them, or reword one so each card asks one distinct thing",
                )
            )
        taken[new_id] = note
        effective[i] = new_id
        writes.append(IdWrite(note.path, note.line, new_id, replace=note.id_explicit))
    out = [
        notes[i]
        if effective[i] == notes[i].id
        else notes[i].model_copy(update={"id": effective[i]})
        for i in range(len(notes))
    ]
    writes.sort(key=lambda w: (w.path, w.line))
    return IdentityResult(out, problems, writes)


def apply_id_writes(text: str, writes: list[IdWrite]) -> str:
    """Insert (or replace) id comments at the end of the given 1-based lines.

    Works on the file's original text: BOM, CRLF/CR line endings and every other character are
    kept exactly; only ` <!-- id: xxxxxxxx -->` is added before each line's ending.
    """
    parts = LINE_SPLIT_RE.split(text)  # [line, sep, line, sep, ..., line]
    for w in writes:
        idx = (w.line - 1) * 2
        if idx >= len(parts):
            continue
        line = parts[idx]
        if w.replace:
            m = find_id_comment(line)
            if m:
                parts[idx] = line[: m.start] + f" <!-- id: {w.new_id} -->" + line[m.end :]
                continue
        parts[idx] = line + f" <!-- id: {w.new_id} -->"
    return "".join(parts)


def strip_id_comments(text: str) -> str:
    """The inverse of inserting: remove ` <!-- id: ... -->` comments (used by tests and tools)."""
    return re.sub(r" <!-- id: [A-Za-z0-9_-]+ -->", "", text)
