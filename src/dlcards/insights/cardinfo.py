"""One card's info: where it lives, its state and retrievability, and every review. Pure.

`card_info_of` builds a `CardInfoReport` from parts already read (the application layer reads
them from the decks and the store); `.to_dict()` is the exact `dlcards info ID --json` shape
(`CardInfoDict`, written to `schemas/card-info.schema.json` by `scripts/write_schema.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from typing_extensions import TypedDict

from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, Phase, Rating, ReviewEntry, ReviewKind
from dlcards.insights.retention import Retrievability

# Anki's seven flag colours (0: no flag)
FLAG_NAMES = ("", "red", "orange", "green", "blue", "pink", "turquoise", "purple")
_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::[^{}]*)?\}\}", re.S)


def flag_name(flag: int) -> str:
    """`red` .. `purple` for flags 1..7, "" for none."""
    return FLAG_NAMES[flag] if 0 <= flag < len(FLAG_NAMES) else str(flag)


def readable(markdown: str) -> str:
    """A card's whole text for a terminal or a report: math as Unicode, cloze markers opened
    (the hidden part shown), check blocks dropped, blank runs squeezed."""
    from dlcards.core.render import terminal_markdown  # deferred: the LaTeX reader is heavy

    text = terminal_markdown(_CLOZE.sub(r"\1", markdown))
    return text.replace("<kbd>", "").replace("</kbd>", "")


def local_time(t: datetime, tz: str | tzinfo | None) -> str:
    """`YYYY-MM-DD HH:MM` in the collection's time zone (`tz`: an IANA name or a tzinfo)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return (t.astimezone(zone) if zone is not None else t).strftime("%Y-%m-%d %H:%M")


class TextSource(Protocol):
    """A card's last known text (`dlcards.store.card_text.CardText`)."""

    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str: ...


class OrphanPlace(Protocol):
    """Where the store last saw a card no deck file has any more (`dlcards.store.CardInfo`)."""

    @property
    def kind(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...


class CardStateDict(TypedDict):
    """`CardState.to_dict()`: times as ISO 8601 UTC."""

    card_id: str
    phase: Phase
    step: int | None
    stability: float | None
    difficulty: float | None
    due: str | None
    last_review: str | None
    reps: int
    lapses: int
    interval_days: int


def state_dict(state: CardState) -> CardStateDict:
    return {
        "card_id": state.card_id,
        "phase": state.phase,
        "step": state.step,
        "stability": state.stability,
        "difficulty": state.difficulty,
        "due": None if state.due is None else state.due.isoformat(),
        "last_review": None if state.last_review is None else state.last_review.isoformat(),
        "reps": state.reps,
        "lapses": state.lapses,
        "interval_days": state.interval_days,
    }


class HistoryRowDict(TypedDict):
    time: str
    rating: int
    rating_name: str
    kind: ReviewKind
    source: str
    duration_s: float
    elapsed_days: float | None
    interval_days: int
    due: str | None
    stability: float | None
    difficulty: float | None
    phase: Phase


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One review and the state it left."""

    time: datetime
    rating: Rating
    kind: ReviewKind
    source: str
    duration_s: float
    elapsed_days: float | None  # since the previous review of the card
    interval_days: int
    due: datetime | None
    stability: float | None
    difficulty: float | None
    phase: Phase

    @property
    def rating_name(self) -> str:
        return self.rating.name.title()

    def to_dict(self) -> HistoryRowDict:
        return {
            "time": self.time.isoformat(),
            "rating": int(self.rating),
            "rating_name": self.rating_name,
            "kind": self.kind,
            "source": self.source,
            "duration_s": self.duration_s,
            "elapsed_days": self.elapsed_days,
            "interval_days": self.interval_days,
            "due": None if self.due is None else self.due.isoformat(),
            "stability": self.stability,
            "difficulty": self.difficulty,
            "phase": self.phase,
        }


def history_rows(reviews: Iterable[ReviewEntry]) -> tuple[HistoryRow, ...]:
    """One row per review: time, rating, kind, duration and the state it left (interval,
    stability, difficulty), plus the days elapsed since the previous review."""
    rows = []
    prev: datetime | None = None
    for e in reviews:
        elapsed = None if prev is None else round((e.time - prev).total_seconds() / 86400, 2)
        prev = e.time
        a = e.after
        rows.append(
            HistoryRow(
                time=e.time,
                rating=Rating(e.rating),
                kind=e.kind,
                source=e.source,
                duration_s=round(e.duration_ms / 1000, 1),
                elapsed_days=elapsed,
                interval_days=a.interval_days,
                due=a.due,
                stability=None if a.stability is None else round(a.stability, 3),
                difficulty=None if a.difficulty is None else round(a.difficulty, 3),
                phase=a.phase,
            )
        )
    return tuple(rows)


class WhereDict(TypedDict):
    path: str
    line: int
    end_line: int | None


@dataclass(frozen=True, slots=True)
class Where:
    path: str
    line: int
    end_line: int | None

    def to_dict(self) -> WhereDict:
        return {"path": self.path, "line": self.line, "end_line": self.end_line}


class CardInfoDict(TypedDict):
    card_id: str
    in_decks: bool
    where: WhereDict | None
    kind: str | None
    topic: str | None
    week: int | None
    question: str | None
    answer: str | None
    state: CardStateDict | None
    suspended: bool
    leech: bool
    flag: int
    retrievability: float | None
    reviews: int
    again: int
    total_minutes: float
    timezone: str
    history: list[HistoryRowDict]


@dataclass(frozen=True, slots=True)
class CardInfoReport:
    """A card's place, state and history (`.to_dict()` is `dlcards info ID --json`)."""

    card_id: str
    in_decks: bool
    where: Where | None
    kind: str | None
    topic: str | None
    week: int | None
    question: str | None
    answer: str | None
    state: CardState | None
    suspended: bool
    leech: bool
    retrievability: float | None
    reviews: int
    again: int
    total_minutes: float
    history: tuple[HistoryRow, ...]
    flag: int = 0  # 0 none, 1..7 Anki's colours (FLAG_NAMES)
    timezone: str = "UTC"  # the collection's zone: how front ends show the times

    def to_dict(self) -> CardInfoDict:
        return {
            "card_id": self.card_id,
            "in_decks": self.in_decks,
            "where": None if self.where is None else self.where.to_dict(),
            "kind": self.kind,
            "topic": self.topic,
            "week": self.week,
            "question": self.question,
            "answer": self.answer,
            "state": None if self.state is None else state_dict(self.state),
            "suspended": self.suspended,
            "leech": self.leech,
            "flag": self.flag,
            "retrievability": self.retrievability,
            "reviews": self.reviews,
            "again": self.again,
            "total_minutes": self.total_minutes,
            "timezone": self.timezone,
            "history": [h.to_dict() for h in self.history],
        }


def card_info_of(
    card_id: str,
    note: Note | None,
    state: CardState | None,
    flags: CardFlags | None,
    reviews: list[ReviewEntry],
    now: datetime,
    retrievability: Retrievability,
    orphan: OrphanPlace | None = None,
    last_text: TextSource | None = None,
    timezone: str = "UTC",
) -> CardInfoReport:
    """The card's info from already-read parts: its note (None when no deck file has it; then
    `orphan` says where the store last saw it and `last_text` what it last said), state,
    flags and reviews in time order."""
    r = retrievability(state, now) if state is not None else None
    where = None
    kind: str | None = None
    if note is not None:
        where = Where(note.path, note.line, note.end_line)
        kind = note.kind
    elif orphan is not None:
        where = Where(orphan.path, orphan.line, None)
        kind = orphan.kind
    passed = sum(1 for e in reviews if int(e.rating) > 1)
    text_q = None if last_text is None else last_text.question
    text_a = None if last_text is None else last_text.answer
    return CardInfoReport(
        card_id=card_id,
        in_decks=note is not None,
        where=where,
        kind=kind,
        topic=note.meta.topic if note is not None else None,
        week=note.meta.week if note is not None else None,
        question=note.question if note is not None else text_q,
        answer=note.answer if note is not None else text_a,
        state=state,
        suspended=bool(flags and flags.suspended),
        leech=bool(flags and flags.leech),
        retrievability=None if r is None else round(r, 4),
        reviews=len(reviews),
        again=len(reviews) - passed,
        total_minutes=round(sum(e.duration_ms for e in reviews) / 60000, 2),
        history=history_rows(reviews),
        flag=flags.flag if flags else 0,
        timezone=timezone,
    )
