"""`dlcards list`'s rows: the collection's cards, filtered, with their schedule.

The wiring (which notes, the states and flags read from the store, the scheduler's
retrievability, the end of the study day) is done here; the rows themselves are built by the
pure `dlcards.insights.listing.list_rows`. Reading never creates the database: with none, every
card is new.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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


# -- the table's layout (`dlcards list`; `dlcards.cli.list.format_table` adds the colours) ------
HEADERS = ("id", "wk", "state", "due", "R", "⚑", "topic")
DUE_COLUMN, R_COLUMN = 3, 4  # the only cells that move with the clock (`list_cache` lines)


def clip(text: str, width: int) -> str:
    """`dlcards.app.browse.clip` (without importing the browser)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


@dataclass(frozen=True)
class TableLayout:
    """The table's columns (display cells), their widths and the question's width."""

    headers: list[str]
    columns: list[Sequence[str]]
    widths: list[int]
    qwidth: int

    @property
    def pattern(self) -> str:
        return "  ".join(f"%-{w}s" for w in self.widths)  # "%-Ns" pads as str.ljust(N)

    def offset(self, column: int) -> int:
        """Where `column` starts in a row's line."""
        return sum(self.widths[:column]) + 2 * column

    def header(self, width: int) -> str:
        header = self.pattern % tuple(self.headers)
        return f"{header}  {clip('question', self.qwidth)}" if self.qwidth else header[:width]


def table_layout(cells: Mapping[str, Sequence[Any]], width: int) -> TableLayout:
    """The layout of the table of `cells` (`dlcards.cli.list.table_cells`) in `width` columns:
    the `where` column only when there is room for it."""
    wide = width >= 120
    headers = [*HEADERS, *(["where"] if wide else [])]
    tw = 24 if wide else 14
    columns: list[Sequence[str]] = [
        cells["ids"],
        cells["weeks"],
        cells["states"],
        cells["whens"],
        cells["rs"],
        [str(f) if f else "" for f in cells["flags"]],
        [clip(t, tw) for t in cells["topics"]],
        *([cells["wheres"]] if wide else []),
    ]
    widths = [
        max(len(h), max(map(len, c), default=0)) for h, c in zip(headers, columns, strict=True)
    ]
    qwidth = max(0, width - sum(widths) - 2 * len(widths))
    return TableLayout(headers, columns, widths, qwidth)


def plain_lines(layout: TableLayout, questions: Sequence[str], width: int) -> Iterator[str]:
    """The table's lines without colour (the header first), none wider than `width`."""
    yield layout.header(width)
    pattern = layout.pattern
    qwidth = layout.qwidth
    cut = max(0, qwidth - 1)
    for i, row in enumerate(zip(*layout.columns, strict=True)):
        head = pattern % row
        if not qwidth:
            yield head[:width]
            continue
        q = questions[i]
        yield f"{head}  {q}" if len(q) <= qwidth else f"{head}  {q[:cut]}…"  # clip
