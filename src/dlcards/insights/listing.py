"""The rows of `dlcards list`: one `ListRow` per card, with its schedule. Pure and light (this
runs on every `dlcards list`: nothing heavy is imported here).

`list_rows` builds them from notes already filtered by the caller, the states and flags read
from the store, a retrievability function and `now`; `ListRow.to_dict()` is one element of
`dlcards list --json` (`ListRowDict`, written to `schemas/list.schema.json`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from typing_extensions import TypedDict

from dlcards.core.state import CardFlags, CardState, Phase

if TYPE_CHECKING:
    from dlcards.core.model import Note  # typing only: no pydantic on light paths
    from dlcards.insights.retention import Retrievability


class ListRowDict(TypedDict):
    id: str
    note_id: str
    kind: str
    ordinal: int
    path: str
    line: int
    deck: str
    week: int | None
    topic: str | None
    tags: list[str]
    question: str
    blocks: list[str]
    state: Phase
    due: str | None
    stability: float | None
    difficulty: float | None
    retrievability: float | None
    reps: int
    lapses: int
    suspended: bool
    leech: bool
    buried_until: str | None
    flag: int  # 0 none, 1..7 Anki's flag colours


@dataclass(frozen=True, slots=True)
class ListRow:
    """One card of `dlcards list`."""

    id: str
    note_id: str
    kind: str
    ordinal: int
    path: str  # as the user would type it
    line: int
    deck: str
    week: int | None
    topic: str | None
    tags: tuple[str, ...]
    question: str  # the first line of the question
    blocks: tuple[str, ...]  # kinds of the checked blocks
    state: Phase
    due: datetime | None
    stability: float | None
    difficulty: float | None
    retrievability: float | None
    reps: int
    lapses: int
    suspended: bool
    leech: bool
    buried_until: date | None
    flag: int = 0  # 0 none, 1..7 Anki's flag colours

    def is_due(self, now: datetime, end_of_today: datetime) -> bool:
        """Due in this study day: learning cards by now, review cards by the end of today.
        Suspended cards are never due."""
        if self.due is None or self.suspended:
            return False
        if self.state == "review":
            return self.due < end_of_today
        return self.due <= now

    def to_dict(self) -> ListRowDict:
        return {
            "id": self.id,
            "note_id": self.note_id,
            "kind": self.kind,
            "ordinal": self.ordinal,
            "path": self.path,
            "line": self.line,
            "deck": self.deck,
            "week": self.week,
            "topic": self.topic,
            "tags": list(self.tags),
            "question": self.question,
            "blocks": list(self.blocks),
            "state": self.state,
            "due": None if self.due is None else self.due.isoformat(),
            "stability": self.stability,
            "difficulty": self.difficulty,
            "retrievability": self.retrievability,
            "reps": self.reps,
            "lapses": self.lapses,
            "suspended": self.suspended,
            "leech": self.leech,
            "buried_until": None if self.buried_until is None else self.buried_until.isoformat(),
            "flag": self.flag,
        }


def _same(path: str) -> str:
    return path


def list_rows(
    notes: Iterable[Note],
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
    retrievability: Retrievability | None,
    now: datetime,
    *,
    display_path: Callable[[str], str] = _same,
) -> list[ListRow]:
    """One row per card of `notes`, in order. A card with no state is new; `retrievability`
    None (no scheduler needed: nothing was reviewed) leaves every row's retrievability None."""
    rows = []
    for note in notes:
        path = display_path(note.path)
        blocks = tuple(b.kind for b in note.blocks)
        tags = tuple(note.tags)
        for card in note.cards():
            state = states.get(card.id)
            flag = flags.get(card.id)
            rows.append(
                ListRow(
                    id=card.id,
                    note_id=note.id,
                    kind=note.kind,
                    ordinal=card.ordinal,
                    path=path,
                    line=note.line,
                    deck=note.deck,
                    week=note.meta.week,
                    topic=note.meta.topic,
                    tags=tags,
                    question=note.first_question_line,
                    blocks=blocks,
                    state=state.phase if state else "new",
                    due=state.due if state else None,
                    stability=state.stability if state else None,
                    difficulty=state.difficulty if state else None,
                    retrievability=(
                        retrievability(state, now) if retrievability and state else None
                    ),
                    reps=state.reps if state else 0,
                    lapses=state.lapses if state else 0,
                    suspended=bool(flag and flag.suspended),
                    leech=bool(flag and flag.leech),
                    buried_until=flag.buried_until if flag else None,
                    flag=flag.flag if flag else 0,
                )
            )
    return rows
