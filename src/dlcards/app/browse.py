"""The card browser's service: one row per card that the shared search language
(`dlcards.core.search`) reads, and the actions on a selection (suspend, flag, bury, forget),
each undoable. The TUI's browser screen and `dlcards list QUERY` both use it, so a query means
the same thing in both.

Rows are built once per browser (and rebuilt for the cards an action touched): the notes of
the collection, the states and flags in the store, the review log reduced to (study day,
rating) per answer and the study day each card was first seen. Reading never creates the
database; the first action does (and tells the store which cards the Markdown has first).

`forget` resets a card to new and writes a `manual` entry into the review log (as Anki's
"Forget" does), so the log stays the truth: the entry's `before` is the state it had and
undoing it restores that state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.search import Expr, SearchContext, parse_query
from dlcards.core.state import CardFlags, CardState, Phase, Rating, ReviewEntry

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.model import Card, Note
    from dlcards.insights.cardinfo import CardInfoReport

FLAG_NAMES = {
    0: "none",
    1: "red",
    2: "orange",
    3: "green",
    4: "blue",
    5: "pink",
    6: "turquoise",
    7: "purple",
}


@dataclass(frozen=True, slots=True)
class BrowseRow:
    """One card as the browser and the search language see it (a `core.search.SearchRow`)."""

    id: str
    note_id: str
    kind: str
    ordinal: int
    week: int | None
    topic: str | None
    tags: tuple[str, ...]
    deck: str
    path: str  # as the user would type it
    line: int
    text: str  # question + answer, as written (what free text searches)
    source_question: str  # the first line of the question, as written
    state: Phase
    due: datetime | None
    interval_days: int
    stability: float | None
    difficulty: float | None
    retrievability: float | None
    reps: int
    lapses: int
    suspended: bool
    buried_until: date | None
    leech: bool
    flag: int
    added: date | None  # study day the card was first seen
    log: _Ratings  # the collection's answers, read when a query first asks (`rated:`)

    @property
    def ratings(self) -> Sequence[tuple[date, int]]:
        """(study day, rating) of each of the card's answers, in time order."""
        return self.log.of(self.id)


_UNESCAPE = re.compile(r"\\([\\`*_\[\]<>#|~])")
_MARKUP = re.compile(r"</?kbd>|\*\*|__|`")
_SPACE = re.compile(r"\s+")


def question_line(note: Note, ordinal: int) -> str:
    """The question as the review screen shows it, on one line: math in Unicode
    (`core.render`), cloze deletions as `[...]` (or their hint), code blocks as `[code]`."""
    from dlcards.core.render import HL_CLOSE, HL_OPEN, cloze_text

    raw = note.question
    if note.kind == "cloze":
        dels = [(d.number, d.start, d.end, d.text, d.hint) for d in note.deletions]
        raw = cloze_text(raw, dels, ordinal, revealed=False)
        raw = raw.replace(HL_OPEN, "").replace(HL_CLOSE, "")
    return _one_line(raw)


_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::([^{}]*?))?\}\}", re.S)


def text_line(markdown: str, kind: str, ordinal: int) -> str:
    """`question_line` for question text without its note (`dlcards list`'s cached first
    line): the deletions found by a pattern instead of the parser."""

    def cloze(m: re.Match[str]) -> str:
        if int(m.group(1)) != ordinal:
            return m.group(2)
        return f"[{m.group(3) or '...'}]"

    return _one_line(_CLOZE.sub(cloze, markdown) if kind == "cloze" else markdown)


def _one_line(markdown: str) -> str:
    from dlcards.core.render import fenced_blocks, terminal_markdown

    try:
        lines = terminal_markdown(markdown).split("\n")
    except Exception:  # a formula the renderer cannot read: show it as written
        lines = markdown.split("\n")
    kept: list[str] = []
    pos = 0
    for block in fenced_blocks(lines):
        kept.extend(lines[pos : block.start])
        kept.append("[code]")
        pos = block.end
    kept.extend(lines[pos:])
    text = " ".join(s.strip().lstrip("#>-* ").strip() for s in kept if s.strip())
    text = _MARKUP.sub("", text)
    return _SPACE.sub(" ", _UNESCAPE.sub(r"\1", text)).strip()


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


@dataclass
class _Undo:
    says: str  # "Suspended 3 cards."
    run: Callable[[], None]
    ids: list[str]


class Browser:
    """Every card of a collection as `BrowseRow`s; search, and actions on a selection."""

    def __init__(self, collection: Collection, now: datetime | None = None):
        self.col = collection
        self._now = now
        self._notes: dict[str, tuple[Note, int]] = {}
        self._questions: dict[str, str] = {}
        self._undo: list[_Undo] = []
        self._synced = False
        self._log = _Ratings(collection)
        self.rows: list[BrowseRow] = []
        self._by_id: dict[str, int] = {}
        self.refresh()

    # -- time ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now if self._now is not None else self.col.now()

    def context(self, now: datetime | None = None) -> SearchContext:
        now = now if now is not None else self.now()
        cal = self.col.calendar
        return SearchContext(
            now=now, today=cal.study_day(now), end_of_today=cal.next_day_start(now)
        )

    # -- rows ------------------------------------------------------------------------------------
    def refresh(self, ids: Iterable[str] | None = None) -> None:
        """(Re)build the rows: all of them, or only those of `ids` (after an action)."""
        from dlcards.core.model import cloze_card_id

        decks = self.col.decks
        if ids is None:
            self._log = _Ratings(self.col)
            self._notes = {}
            for note in decks.notes:
                if note.kind == "basic":
                    self._notes[note.id] = (note, 1)
                    continue
                for n in note.numbers:
                    self._notes[cloze_card_id(note.id, n)] = (note, n)
            wanted: list[str] = list(self._notes)
        else:
            wanted = [i for i in dict.fromkeys(ids) if i in self._notes]
        states: dict[str, CardState] = {}
        flags: dict[str, CardFlags] = {}
        added: dict[str, date] = {}
        now = self.now()
        if self.col.has_store():
            store = self.col.store
            ask = None if ids is None else wanted
            states = store.states(ask)
            flags = store.flags(ask)
            added = _added(self.col, ask)
        retr: Callable[[CardState, datetime], float | None] | None = (
            self.col.scheduler.retrievability if states else None
        )
        display = decks.display_path
        paths: dict[str, str] = {}
        built = []
        for cid in wanted:
            note, ordinal = self._notes[cid]
            path = paths.get(note.path)
            if path is None:
                path = paths[note.path] = display(note.path)
            st = states.get(cid)
            fl = flags.get(cid)
            built.append(
                BrowseRow(
                    id=cid,
                    note_id=note.id,
                    kind=note.kind,
                    ordinal=ordinal,
                    week=note.meta.week,
                    topic=note.meta.topic,
                    tags=tuple(note.tags),
                    deck=note.deck,
                    path=path,
                    line=note.line,
                    text=note.question + "\n" + note.answer,
                    source_question=note.first_question_line,
                    state=st.phase if st else "new",
                    due=st.due if st else None,
                    interval_days=st.interval_days if st else 0,
                    stability=st.stability if st else None,
                    difficulty=st.difficulty if st else None,
                    retrievability=retr(st, now) if retr and st and st.stability else None,
                    reps=st.reps if st else 0,
                    lapses=st.lapses if st else 0,
                    suspended=bool(fl and fl.suspended),
                    buried_until=fl.buried_until if fl else None,
                    leech=bool(fl and fl.leech),
                    flag=fl.flag if fl else 0,
                    added=added.get(cid),
                    log=self._log,
                )
            )
        if ids is None:
            self.rows = built
            self._by_id = {r.id: i for i, r in enumerate(built)}
        else:
            for row in built:
                self.rows[self._by_id[row.id]] = row

    def row(self, card_id: str) -> BrowseRow | None:
        i = self._by_id.get(card_id)
        return None if i is None else self.rows[i]

    def search(self, query: str | Expr, now: datetime | None = None) -> list[BrowseRow]:
        """The rows matching `query` (SearchError when it cannot be read), in deck order."""
        expr = parse_query(query) if isinstance(query, str) else query
        ctx = self.context(now)
        return [r for r in self.rows if expr.matches(r, ctx)]

    def question(self, row: BrowseRow) -> str:
        """The rendered one-line question of a row (computed once per card)."""
        q = self._questions.get(row.id)
        if q is None:
            note, ordinal = self._notes[row.id]
            try:
                q = question_line(note, ordinal)
            except Exception:  # a formula the renderer cannot read: show it as written
                q = row.source_question
            self._questions[row.id] = q
        return q

    def card(self, card_id: str) -> Card | None:
        where = self._notes.get(card_id)
        if where is None:
            return None
        from dlcards.core.model import Card

        note, ordinal = where
        return Card(id=card_id, note_id=note.id, ordinal=ordinal, note=note)

    def file_of(self, card_id: str) -> tuple[Path, int] | None:
        where = self._notes.get(card_id)
        if where is None:
            return None
        return self.col.root / where[0].path, where[0].line

    def card_info(self, card_id: str) -> CardInfoReport:
        return self.col.card_info(card_id, self.now())

    def write_page(self, ids: Sequence[str]) -> Path:
        """The cards as a web page with real math, under the state folder; returns the file."""
        cards = [c for c in (self.card(i) for i in ids) if c is not None]
        return write_card_page(self.col, cards)

    # -- actions ---------------------------------------------------------------------------------
    def _store(self) -> Any:
        if not self._synced:
            self.col.sync_cards(self.now())
            self._synced = True
        return self.col.store

    def _done(self, says: str, ids: list[str], undo: Callable[[], None]) -> str:
        self._undo.append(_Undo(says, undo, ids))
        self.refresh(ids)
        return says

    def set_suspended(self, ids: Sequence[str], suspended: bool) -> str:
        ids = self._known(ids)
        store = self._store()
        before = store.flags(ids)
        store.set_suspended(ids, suspended)
        was_on = [i for i in ids if before.get(i) and before[i].suspended]
        was_off = [i for i in ids if i not in was_on]

        def undo() -> None:
            store.set_suspended(was_on, True)
            store.set_suspended(was_off, False)

        verb = "Suspended" if suspended else "Unsuspended"
        return self._done(f"{verb} {_cards(len(ids))}.", ids, undo)

    def set_flag(self, ids: Sequence[str], flag: int) -> str:
        ids = self._known(ids)
        store = self._store()
        before = store.flags(ids)
        for cid in ids:
            store.set_flag(cid, flag)

        def undo() -> None:
            for cid in ids:
                store.set_flag(cid, before[cid].flag if cid in before else 0)

        says = (
            f"Flag removed from {_cards(len(ids))}."
            if flag == 0
            else f"Flagged {_cards(len(ids))} {FLAG_NAMES[flag]}."
        )
        return self._done(says, ids, undo)

    def bury(self, ids: Sequence[str]) -> str:
        """Bury until tomorrow's study day."""
        ids = self._known(ids)
        store = self._store()
        before = store.flags(ids)
        back = self.col.today(self.now()) + timedelta(days=1)
        store.set_buried(ids, back)

        def undo() -> None:
            for cid in ids:
                store.set_buried([cid], before[cid].buried_until if cid in before else None)

        return self._done(f"Buried {_cards(len(ids))} until tomorrow.", ids, undo)

    def forget(self, ids: Sequence[str]) -> str:
        """Reset cards to new; each reset is a `manual` entry in the review log (rating 1, no
        time spent: the log's rating column takes 1..4), so `undo` restores the old state."""
        ids = self._known(ids)
        store = self._store()
        states = store.states(ids)
        now = self.now()
        logged: list[int] = []
        for cid in ids:
            before = states.get(cid)
            if before is None or (before.phase == "new" and before.reps == 0):
                continue  # already new: nothing to reset, nothing to log
            entry = ReviewEntry(
                card_id=cid,
                time=now,
                rating=Rating.AGAIN,
                duration_ms=0,
                before=before,
                after=CardState(card_id=cid),
                kind="manual",
            )
            logged.append(store.record_review(entry))

        def undo() -> None:
            for review_id in reversed(logged):
                store.undo_review(review_id)

        return self._done(f"Reset {_cards(len(logged))} to new.", ids, undo)

    def undo(self) -> str | None:
        """Undo the last action; what was undone, or None when there is nothing to undo."""
        if not self._undo:
            return None
        last = self._undo.pop()
        last.run()
        self.refresh(last.ids)
        return f"Undone: {last.says[0].lower()}{last.says[1:]}"

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def _known(self, ids: Sequence[str]) -> list[str]:
        return [i for i in dict.fromkeys(ids) if i in self._notes]


def write_card_page(col: Collection, cards: Sequence[Card]) -> Path:
    """Cards as a web page with real math (`app.page`), written under the state folder
    (`pages/`); returns the file to open. The page shows the answers."""
    from dlcards.app.page import PageCard, write_page
    from dlcards.core.render import context_line
    from dlcards.system.paths import state_dir

    pages = [
        PageCard(
            c.note,
            c.ordinal if c.kind == "cloze" else 0,
            f"{c.note.path}:{c.note.line}",
            context_line(c),
        )
        for c in cards
    ]
    title = "dlcards: " + (pages[0].context if len(pages) == 1 else f"{len(pages)} cards")
    return write_page(pages, col.root, state_dir() / "pages", title)


def _cards(n: int) -> str:
    return f"{n} card" if n == 1 else f"{n} cards"


class _Ratings:
    """Every card's (study day, rating) answers (manual entries left out), read from the log
    on first use: only `rated:` needs them, and on 100k reviews reading them costs more than
    building every row."""

    def __init__(self, col: Collection):
        self.col = col
        self._by_card: dict[str, list[tuple[date, int]]] | None = None

    def of(self, card_id: str) -> Sequence[tuple[date, int]]:
        if self._by_card is None:
            self._by_card = self._read()
        return self._by_card.get(card_id, ())

    def _read(self) -> dict[str, list[tuple[date, int]]]:
        out: dict[str, list[tuple[date, int]]] = {}
        if not self.col.has_store():
            return out
        day_of = _DayOf(self.col)
        # a narrow read, not `Store.reviews` (which builds two full states per entry)
        for cid, when, rating in self.col.store.rated_answers():
            out.setdefault(cid, []).append((day_of(when), rating))
        return out


def _added(col: Collection, ids: list[str] | None) -> dict[str, date]:
    """The study day each card was first seen (the store's `cards.first_seen`)."""
    day_of = _DayOf(col)
    wanted = None if ids is None else set(ids)
    out: dict[str, date] = {}
    for cid, first in col.store.conn.execute("SELECT card_id, first_seen FROM cards"):
        if first and (wanted is None or cid in wanted):
            out[cid] = day_of(first)
    return out


class _DayOf:
    """Study day of a stored time (ISO 8601 UTC with microseconds, sortable as text). The last
    day's bounds are kept as text: reviews read in time order fall in a few hundred days, so
    the calendar is asked once per day, not once per review."""

    def __init__(self, col: Collection):
        self.cal = col.calendar
        self.start = self.end = ""
        self.day = date.min

    def __call__(self, text: str) -> date:
        if self.start <= text < self.end:
            return self.day
        from dlcards.core.state import parse_utc

        d = self.cal.study_day(parse_utc(text))
        self.start = _stored(self.cal.day_start(d))
        self.end = _stored(self.cal.day_start(d + timedelta(days=1)))
        self.day = d
        return d


def _stored(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")
