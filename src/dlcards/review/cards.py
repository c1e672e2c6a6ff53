"""What a review session knows about each card (no text), the filters that pick a session's
cards, and the curriculum order new cards come in. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlcards.core.model import Card, Note

NO_WEEK = 10**6  # files without a week come after every week


@dataclass(frozen=True, slots=True)
class SessionCard:
    """What the session needs to know about a card (no text). Slots: a cold start makes one
    per card of the collection (issue 16: ~250 bytes less each)."""

    id: str
    note_id: str
    order: tuple[Any, ...]  # curriculum position: (week, file, index in file, ordinal)
    topic: str | None = None
    requires: tuple[str, ...] = ()
    week: int | None = None
    deck: str = "dlcards"
    tags: tuple[str, ...] = ()
    path: str = ""

    @classmethod
    def from_card(cls, card: Card, file_order: int = 0) -> SessionCard:
        note = card.note
        week = note.meta.week
        return cls(
            id=card.id,
            note_id=note.id,
            order=(
                NO_WEEK if week is None else week,
                file_order,
                note.path,
                note.index,
                card.ordinal,
            ),
            topic=note.meta.topic,
            requires=tuple(note.meta.requires),
            week=week,
            deck=note.deck,
            tags=tuple(note.tags),
            path=note.path,
        )


@dataclass(frozen=True)
class Filters:
    """Which cards a session reviews (all when every field is None)."""

    week: int | None = None
    topic: str | None = None
    tag: str | None = None
    deck: str | None = None

    def matches(self, card: SessionCard) -> bool:
        if self.week is not None and card.week != self.week:
            return False
        if self.topic is not None and card.topic != self.topic:
            return False
        if self.tag is not None and self.tag not in card.tags:
            return False
        return self.deck is None or card.deck == self.deck or card.deck.startswith(self.deck + "::")

    def describe(self) -> str:
        parts = []
        if self.deck is not None:
            parts.append(f"deck {self.deck}")
        if self.week is not None:
            parts.append(f"week {self.week}")
        if self.topic is not None:
            parts.append(f"topic {self.topic}")
        if self.tag is not None:
            parts.append(f"tag {self.tag}")
        return ", ".join(parts)


def session_cards(
    cards: Iterable[Card], file_order: Mapping[str, int] | None = None
) -> list[SessionCard]:
    order = file_order or {}
    return [SessionCard.from_card(c, order.get(c.note.path, 0)) for c in cards]


def note_session_cards(
    notes: Iterable[Note], file_order: Mapping[str, int] | None = None
) -> list[tuple[SessionCard, Note, int]]:
    """(session card, note, ordinal) for every card of `notes`, without building `Card`
    models (10,000 cards: a few milliseconds)."""
    from dlcards.core.model import cloze_card_id

    order = file_order or {}
    out: list[tuple[SessionCard, Note, int]] = []
    for note in notes:
        meta = note.meta
        week = meta.week
        tags = tuple(note.tags)
        requires = tuple(meta.requires)
        fo = order.get(note.path, 0)
        wk = NO_WEEK if week is None else week
        if note.kind == "basic":
            pairs = [(note.id, 1)]
        else:
            pairs = [(cloze_card_id(note.id, n), n) for n in note.numbers]
        for cid, ordinal in pairs:
            out.append(
                (
                    SessionCard(
                        cid,
                        note.id,
                        (wk, fo, note.path, note.index, ordinal),
                        meta.topic,
                        requires,
                        week,
                        note.deck,
                        tags,
                        note.path,
                    ),
                    note,
                    ordinal,
                )
            )
    return out
