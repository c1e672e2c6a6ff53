"""Frozen value types of the card format: front matter, notes, cards and their checked blocks.

A *note* is what the author writes (one `Q:`/`A:` or one `C:` paragraph group); a *card* is
what gets reviewed: a basic note has one card, a cloze note one card per deletion number.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

BLOCK_KINDS = ("check", "shapes", "torch")
BlockKind = Literal["check", "shapes", "torch"]
NoteKind = Literal["basic", "cloze"]
Side = Literal["question", "answer"]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[^\s]+$")]
ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
ID_RE = re.compile(rf"^{ID_PATTERN}$")


class DeckMeta(BaseModel):
    """Front matter of a deck file: the YAML block between `---` lines at the top."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, title="dlcards deck front matter"
    )

    deck: str | None = Field(
        default=None,
        min_length=1,
        description="Anki deck root for the cards of this file (default: the collection's "
        "`deck` setting, else 'dlcards').",
    )
    week: int | None = Field(
        default=None, ge=1, le=999, description="Study week, an integer from 1 to 999."
    )
    topic: Slug | None = Field(
        default=None, description="One topic slug per file (lowercase, digits, '-' and '_')."
    )
    tags: list[Tag] = Field(
        default_factory=list, description="Extra tags for every card in the file (no spaces)."
    )
    requires: list[Slug] = Field(
        default_factory=list,
        description="Topics to learn first: new cards of this file wait until these have been started.",
    )


class Block(BaseModel):
    """A machine-checked fenced block (`check`, `shapes`, `torch`) attached to a card."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: BlockKind
    side: Side
    line: int = Field(description="1-based line of the opening fence")
    text: str = Field(description="the block's content, without the fences")

    @property
    def first_line(self) -> int:
        """1-based line of the block's first content line."""
        return self.line + 1


class Deletion(BaseModel):
    """One `{{cN::text::hint}}` deletion of a cloze note."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    number: int
    text: str
    hint: str | None = None
    line: int
    start: int = Field(description="offset of '{{' in the note's text")
    end: int = Field(description="offset just past the closing '}}'")


class Note(BaseModel):
    """What the author wrote: one basic or cloze note with its source location."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    id_explicit: bool
    kind: NoteKind
    path: str = Field(description="path relative to the collection root, '/'-separated")
    line: int = Field(description="1-based line of the `Q:`/`C:` line (where the id lives)")
    end_line: int = Field(description="1-based last line of the note")
    answer_line: int | None = None
    question: str
    answer: str = ""
    deletions: tuple[Deletion, ...] = ()
    blocks: tuple[Block, ...] = ()
    context: tuple[str, ...] = ()
    meta: DeckMeta = DeckMeta()
    deck: str = "dlcards"
    index: int = Field(description="position of the note within its file, from 0")
    content_hash: str

    @property
    def numbers(self) -> list[int]:
        return sorted({d.number for d in self.deletions})

    def card_ids(self) -> list[str]:
        if self.kind == "basic":
            return [self.id]
        return [cloze_card_id(self.id, n) for n in self.numbers]

    def cards(self) -> list[Card]:
        if self.kind == "basic":
            return [Card(id=self.id, note_id=self.id, ordinal=1, note=self)]
        return [
            Card(id=cloze_card_id(self.id, n), note_id=self.id, ordinal=n, note=self)
            for n in self.numbers
        ]

    @property
    def tags(self) -> list[str]:
        tags = list(self.meta.tags)
        if self.meta.week is not None:
            tags.append(f"week{self.meta.week:02d}")
        if self.meta.topic:
            tags.append(self.meta.topic)
        return list(dict.fromkeys(tags))

    @property
    def first_question_line(self) -> str:
        for raw in self.question.splitlines():
            stripped = raw.strip()
            if stripped:
                return stripped
        return ""


class Card(BaseModel):
    """One reviewable card: a basic note, or one deletion number of a cloze note."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    note_id: str
    ordinal: int
    note: Note

    @property
    def kind(self) -> NoteKind:
        return self.note.kind


def cloze_card_id(note_id: str, number: int) -> str:
    """The card id of deletion `number` of a cloze note: `<note id>/c<number>`."""
    return f"{note_id}/c{number}"
