"""`dlcards list`'s rows: the collection's cards, filtered, with their schedule.

The wiring (which notes, the states and flags read from the store, the scheduler's
retrievability, the end of the study day) is done here; the rows themselves are built by the
pure `dlcards.insights.listing.list_rows`. Reading never creates the database: with none, every
card is new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.model import Note
    from dlcards.insights.listing import ListRow


@dataclass(frozen=True)
class ListQuery:
    """Which cards `dlcards list` shows (every field None / False: all)."""

    week: int | None = None
    topic: str | None = None
    tag: str | None = None
    kind: str | None = None
    file: str | None = None
    text: str | None = None
    due: bool = False
    leech: bool = False
    suspended: bool = False


def matching_notes(collection: Collection, q: ListQuery) -> list[Note]:
    """The notes that pass the query's note filters (week, topic, tag, kind, file, text)."""
    decks = collection.decks
    out = []
    for note in decks.notes:
        if q.week is not None and note.meta.week != q.week:
            continue
        if q.topic and note.meta.topic != q.topic:
            continue
        if q.tag and q.tag not in note.tags:
            continue
        if q.kind and note.kind != q.kind:
            continue
        if q.file and q.file not in note.path and q.file not in decks.display_path(note.path):
            continue
        if q.text and q.text.lower() not in (note.question + "\n" + note.answer).lower():
            continue
        out.append(note)
    return out


def list_rows(collection: Collection, q: ListQuery, now: datetime | None = None) -> list[ListRow]:
    """The rows of `dlcards list` at `now` (default: the collection's now)."""
    from dlcards.insights.listing import list_rows as build_rows

    now = now if now is not None else collection.now()
    notes = matching_notes(collection, q)
    states: dict[str, Any] = {}
    flags: dict[str, Any] = {}
    if collection.has_store():
        ids = [cid for note in notes for cid in note.card_ids()]
        store = collection.store
        states = store.states(ids)
        flags = store.flags(ids)
    retrievability = collection.scheduler.retrievability if states else None
    rows = build_rows(
        notes,
        states,
        flags,
        retrievability,
        now,
        display_path=collection.decks.display_path,
    )
    if q.due:
        end = collection.calendar.next_day_start(now)
        rows = [r for r in rows if r.is_due(now, end)]
    if q.leech:
        rows = [r for r in rows if r.leech]
    if q.suspended:
        rows = [r for r in rows if r.suspended]
    return rows
