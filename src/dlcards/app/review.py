"""What a review run works on: the collection's cards, the store, the scheduler and the
session, wired together. No Textual here: the screens call it, the tests and the benchmark
can too.

Every answer and action is persisted the moment it is made (`apply`), each answer in its own
store transaction (WAL, synchronous=FULL), before the next card is drawn. A failed write is
reported on screen.

Start-up is on the critical path (`dlcards review` to the first card) and does not grow with
the collection (issue 16, item 2): the cards' Markdown side comes from a cached catalogue
(`dlcards.app.review_catalogue`, keyed by every deck file's stats and the code; a miss reads
the decks as before, makes the catalogue and the store sync's rows of them, and lets their
notes go before the store is written: a cold start's peak memory), the store sync is skipped
when no deck file changed since the last run, today's queue is pulled from the store by
indexed queries only as far as today's limits reach (`dlcards.store.queue_queries`,
`Session.indexed`), a card's note is read from its own file when it is shown, and the FSRS
scheduler is imported on first use (the app warms it in a thread once the first card is on
screen).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.state import CardState, Rating, ReviewEntry
from dlcards.review.session import (
    Filters,
    Outcome,
    Session,
    apply_effects,
    parse_study_more,
    study_more_key,
)
from dlcards.system.cache import Schema, disabled

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.model import Card, Note
    from dlcards.insights.cardinfo import CardInfoReport
    from dlcards.insights.stats import StatsReport
    from dlcards.review.scheduling import Scheduler
    from dlcards.store import Store
    from dlcards.store.card_text import CardText
    from dlcards.store.rows import CardRow
    from dlcards.system.config import Settings
    from dlcards.system.decks import Decks

NowFn = Callable[[], datetime]
SYNC_KEY = "review.synced_collection"
# the store's 'cards synced with these deck files' marker, keyed by the one cache rule
SYNC_SCHEMA = Schema("review-sync", "2")  # 2: the sync also keeps card text (issue 14)


@dataclass(frozen=True)
class PendingAnswer:
    """An answer that could not be saved: it is still on screen, to be given again."""

    card_id: str
    rating: Rating
    time: datetime
    error: Exception

    def describe(self) -> str:
        message = getattr(self.error, "message", None) or str(self.error)
        return f"Your answer was NOT saved: {message}"


@dataclass(frozen=True)
class Limits:
    """Today's overrides of the daily limits (`--new-limit`, `--review-limit`)."""

    new: int | None = None
    review: int | None = None


def collection_fingerprint(collection: Decks) -> str:
    """Changes whenever a deck file (or the set of files) changes, and with dlcards' code
    (`system.cache.key_of`: the one cache rule, for a marker kept in the store)."""
    from dlcards.core.parse import PARSER_VERSION
    from dlcards.system.cache import key_of

    h = hashlib.sha256()
    for f in collection.files:
        h.update(f"{f.rel}\0{f.snapshot.digest}\0".encode())
    return key_of(SYNC_SCHEMA, PARSER_VERSION, str(collection.root), h.hexdigest())


@dataclass
class _Prepared:
    """What the store sync needs of decks read at a cold start (`Collection.sync_card_rows`),
    made before their notes are let go."""

    fingerprint: str
    rows: list[CardRow]
    texts: list[CardText]


def _prepare(fingerprint: str, decks: Decks, own: bool) -> _Prepared:
    """The store sync's rows of the decks' notes. Decks of the caller's own (read for it
    alone: `Collection.take_decks`) are emptied on the way: their files' bytes first, then
    each chunk of notes as soon as its rows are made (the rows take the notes' place in
    memory instead of adding to it: issue 16, a cold start's peak)."""
    from dlcards.store import card_rows
    from dlcards.store.card_text import texts_of

    notes = decks.notes
    if not own:
        return _Prepared(fingerprint, card_rows(notes), texts_of(notes))
    decks.files.clear()
    parts: list[tuple[list[CardRow], list[CardText]]] = []
    while notes:  # from the end: each chunk is cut off the list once its rows are made
        chunk = notes[-_CHUNK:]
        parts.append((card_rows(chunk), texts_of(chunk)))
        del notes[-_CHUNK:], chunk
    parts.reverse()
    rows = [row for part in parts for row in part[0]]
    texts = [text for part in parts for text in part[1]]
    return _Prepared(fingerprint, rows, texts)


_CHUNK = 2048  # notes let go at a time by `_prepare`


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC paused while the decks are read into memory (as `dlcards review` does for
    its whole start-up): their objects all live on, so collecting during the read only walks
    them again and again (at 50k cards ~40% of the read's CPU)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class StoreSource:
    """The indexed session's `QueueSource`: the store's states, flags and due queries."""

    def __init__(self, store: Store):
        self.store = store

    def states(self, ids: list[str]) -> dict[str, CardState]:
        return self.store.states(ids)

    def flags(self, ids: list[str]) -> dict[str, Any]:
        return self.store.flags(ids)

    def all_states(self) -> dict[str, CardState]:
        return self.store.states()

    def all_flags(self) -> dict[str, Any]:
        return self.store.flags()

    def due_reviews(
        self, day_end: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[tuple[CardState, Any]]:
        from dlcards.store.queue_queries import due_reviews

        return due_reviews(self.store.conn, day_end, after, limit)

    def due_learning(self, day_end: datetime) -> list[tuple[CardState, Any]]:
        from dlcards.store.queue_queries import due_learning

        return due_learning(self.store.conn, day_end)

    def touched(self) -> tuple[set[str], set[str]]:
        from dlcards.store.queue_queries import touched_cards

        return touched_cards(self.store.conn)


class LazyScheduler:
    """The collection's FSRS scheduler, asked for (and `fsrs` imported) on first use: the
    first card is shown before fsrs is imported; the app warms it in a thread."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def get(self) -> Scheduler:
        return self.collection.scheduler

    def review(
        self, state: CardState, rating: Rating, now: datetime, duration_ms: int = 0
    ) -> ReviewEntry:
        return self.get().review(state, rating, now, duration_ms=duration_ms)

    def preview(self, state: CardState, now: datetime) -> dict[Rating, CardState]:
        return self.get().preview(state, now)


class ReviewService:
    """Today's review of one collection: the session over its cards, persisted in its store.

    Built by `Collection.review(filters, limits)`; the review screens call it (and only it)."""

    def __init__(
        self,
        collection: Collection,
        filters: Filters | None = None,
        limits: Limits | None = None,
    ):
        from dlcards.app.settings import policy_of

        self.collection = collection
        self.store: Store = collection.store
        self.write_errors: list[Exception] = []
        self.on_write_error: Callable[[Exception], None] | None = None
        self.now_fn = collection.now_fn
        self.filters = filters or Filters()
        self.limits = limits or Limits()
        self.root = collection.root
        self.settings: Settings = collection.settings
        self.calendar = collection.calendar
        self.scheduler = LazyScheduler(collection)
        self.policy = policy_of(
            self.settings,
            self.calendar,
            new_limit=self.limits.new,
            review_limit=self.limits.review,
        )
        store = self.store
        now = self.now_fn()
        # One writer at a time (issue 17): the session holds the collection's write lease;
        # when another window holds it, this one opens read-only and says so (`read_only`).
        self.read_only: str | None = None
        self.pending: PendingAnswer | None = None
        self._take_lease()
        self._source = StoreSource(store)
        self._index_cards()
        if self.read_only is None:
            self._sync(now)
        today = self.calendar.study_day(now)
        log = store.reviews_on_day(
            self.calendar.day_start(today), self.calendar.next_day_start(now)
        )
        more = parse_study_more(store.get_setting(study_more_key(today)))
        self.session = Session.indexed(
            self._catalogue.cards,
            self._source,
            log,
            self.scheduler,
            self.policy,
            now,
            filters=self.filters,
            study_more=more,
        )

    def _index_cards(self) -> None:
        """The catalogue: cached when no deck file changed, else from the decks (read now).

        After a miss (a cold start) the decks are read, the catalogue and what the store sync
        needs of them (`_prepared`: its rows, only when this session may write) are made, and
        the notes are let go before the store is written (issue 16: the peak memory of a cold
        start is the notes, not the notes and the sync's rows); a card's note is then read
        from its own file when it is shown, as after a hit."""
        from dlcards.app import review_catalogue

        self._where: dict[str, tuple[Note, int]] = {}
        self._cards: dict[str, Card] = {}
        self._prepared: _Prepared | None = None
        catalogue = review_catalogue.load(self.collection)
        if catalogue is None:
            with _gc_paused():  # ~10^5 long-lived objects: a full collection is wasted work
                decks, own = self.collection.take_decks()
                catalogue = review_catalogue.build(self.collection, decks)
                if self.read_only is None:
                    # the catalogue's fingerprint is `collection_fingerprint(decks)`
                    self._prepared = _prepare(catalogue.fingerprint, decks, own)
                del decks
                self.collection.drop_decks()
        self._catalogue = catalogue

    def _index_notes(self, decks: Decks) -> None:
        """Where each card's note is, from decks read in this process (no file read later)."""
        from dlcards.app.review_catalogue import session_cards_of

        self._where = {sc.id: (note, ordinal) for sc, note, ordinal in session_cards_of(decks)}

    def _sync(self, now: datetime) -> None:
        prepared, self._prepared = self._prepared, None
        fingerprint = self._catalogue.fingerprint
        if disabled(SYNC_SCHEMA.name) or self.store.get_setting(SYNC_KEY) != fingerprint:
            if prepared is not None:  # made from the decks the catalogue was just made of
                texts = prepared.texts
                with _gc_paused():
                    self.collection.sync_card_rows(prepared.rows, lambda: texts, now)
                fingerprint = prepared.fingerprint
            else:
                decks = self.collection.decks  # the notes are needed: read them (a rare miss)
                fingerprint = collection_fingerprint(decks)
                self.collection.sync_cards(now)
            self.store.set_setting(SYNC_KEY, fingerprint)

    @property
    def deck_errors(self) -> int:
        """How many error problems the deck files have (from the catalogue: no deck read)."""
        return self._catalogue.errors

    def has_code_cards(self) -> bool:
        """Whether a card of the collection has a `torch` block (no deck read)."""
        return self._catalogue.code_cards

    def warm_up(self) -> None:
        """Import and build what the first answer needs (run in a thread after the first card)."""
        self.scheduler.get()
        from dlcards.review.scheduling import format_interval  # noqa: F401

    def now(self) -> datetime:
        return self.now_fn()

    def _take_lease(self) -> bool:
        """Hold the collection's write lease (True), or note who does (`read_only`)."""
        from dlcards.store.lease import LeaseBusy

        try:
            self.collection.take_lease("review")
        except LeaseBusy as exc:
            who = exc.holder.describe() if exc.holder else "another dlcards"
            self.read_only = (
                f"Read-only: {who} is reviewing this collection; answers here are not saved. "
                "Quit that one (then answer again here) or quit this one."
            )
            return False
        self.read_only = None
        return True

    def _failed(self, exc: Exception) -> None:
        self.write_errors.append(exc)
        if self.on_write_error is not None:
            self.on_write_error(exc)

    def apply(self, outcome: Outcome) -> Outcome:
        """Persist an outcome's effects now, in order: an answer is committed (its own
        transaction, its state computed there from the stored state) before the next card is
        drawn.

        An answer that cannot be committed is never dropped: the session is put back as it
        was, the card stays current, `pending` says what was not saved (and why), and the
        learner can answer again (retry) or quit knowing it. Other failed writes are kept in
        `write_errors` and reported."""
        from dlcards.review.effects import RecordReview

        effects = list(outcome.effects)
        first = effects[0] if effects else None
        if isinstance(first, RecordReview):
            record = first
            effects = effects[1:]
            if effects and self.read_only is None:
                # the answer and what it implies (siblings buried, a leech) in one commit:
                # one fsync, and a crash cannot leave the answer without its burial
                try:
                    with self.store.batch():
                        self._record(record)
                        apply_effects(self.store, effects)
                    return outcome
                except Exception:
                    pass  # all rolled back: the answer alone below, the rest as before
            try:
                self._record(record)
            except Exception as exc:
                self._not_saved(record, exc)
                return Outcome([], None, record.entry.card_id)
        if effects:
            if self.read_only is not None and not self._take_lease():
                from dlcards.core.errors import StoreError

                self._failed(StoreError(self.read_only))
                return outcome
            try:
                apply_effects(self.store, effects)
            except Exception as exc:
                self._failed(exc)
        return outcome

    def _record(self, record: Any) -> None:
        entry: ReviewEntry = record.entry
        if self.read_only is not None and not self._take_lease():
            from dlcards.core.errors import StoreError

            raise StoreError(self.read_only)
        scheduler = self.scheduler

        def answer(before: CardState) -> ReviewEntry:
            if before == entry.before and (
                before.last_review is None or entry.time >= before.last_review
            ):
                return entry
            # Never logged before the card's previous answer (a clock set back, two windows
            # within a moment): the log's order is the order the states were computed in.
            when = max(entry.time, before.last_review or entry.time)
            return scheduler.review(before, entry.rating, when, entry.duration_ms)

        review_id, written = self.store.record_answer(entry.card_id, answer)
        record.review_id = review_id
        self.pending = None
        if written is not entry:
            # The stored state was newer than this session's (another window, an import):
            # the answer was computed from it; the session follows the database.
            record.entry = written
            session = self.session
            if session.undo_stack and session.undo_stack[-1].record is record:
                session.undo_stack[-1].state = written.before
            session.states[entry.card_id] = written.after
            session.requeue()

    def _not_saved(self, record: Any, exc: Exception) -> None:
        """Put the session back as it was before the answer; the card stays current."""
        entry: ReviewEntry = record.entry
        session = self.session
        if session.undo_stack and session.undo_stack[-1].record is record:
            session.undo()  # in memory only: its effects are not persisted
            with suppress(ValueError):  # undo queued it to be shown next: it is shown now
                session._front.remove(entry.card_id)
            session.current = entry.card_id
        self.pending = PendingAnswer(entry.card_id, entry.rating, entry.time, exc)
        self._failed(exc)

    def undo(self) -> Outcome:
        """Undo the last answer or action. An answer is removed from the store first; when
        the store refuses (the card was answered again since, in another window or with the
        clock set back), nothing changes and the outcome says why."""
        from dlcards.review.effects import Effect, UndoReview

        session = self.session
        if not session.undo_stack:
            return session.undo()
        last = session.undo_stack[-1]
        if last.record is not None and last.record.review_id is not None:
            if self.read_only is not None and not self._take_lease():
                return Outcome([], f"Cannot undo: {self.read_only}", last.card_id)
            try:
                self.store.undo_review(last.record.review_id)
            except Exception as exc:
                session.undo_stack.pop()  # it can never be undone: drop it, change nothing
                message = getattr(exc, "message", None) or str(exc)
                return Outcome([], message[:1].upper() + message[1:], last.card_id)
            outcome = session.undo()
            rest: list[Effect] = [e for e in outcome.effects if not isinstance(e, UndoReview)]
            return self.apply(Outcome(rest, outcome.notice, outcome.card_id))
        return self.apply(session.undo())

    @property
    def card_ids(self) -> list[str]:
        return list(self._catalogue.cards)

    def card(self, card_id: str | None) -> Card | None:
        if not card_id:
            return None
        card = self._cards.get(card_id)
        if card is None:
            where = self._note_of(card_id)
            if where is None:
                return None
            from dlcards.core.model import Card

            note, ordinal = where
            card = Card(id=card_id, note_id=note.id, ordinal=ordinal, note=note)
            self._cards[card_id] = card
        return card

    def _note_of(self, card_id: str) -> tuple[Note, int] | None:
        """The card's note and ordinal: read from its own file when the catalogue came from
        the cache; from all the decks when that file changed since (as before)."""
        where = self._where.get(card_id)
        if where is not None or card_id not in self._catalogue.cards:
            return where
        from dlcards.app.review_catalogue import card_note

        note = card_note(self.collection, self._catalogue, card_id)
        if note is not None:
            return note, self._catalogue.cards[card_id].order[4]
        self._index_notes(self.collection.decks)
        return self._where.get(card_id)

    def file_of(self, card_id: str) -> tuple[Path, int] | None:
        cards = self._catalogue.cards
        if card_id not in cards:
            return None
        return self.root / cards[card_id].path, cards.line(card_id)

    def stats_report(self) -> StatsReport:
        """The stats figures now (the review screen's `S`)."""
        return self.collection.stats_report(self.now())

    def card_info(self, card_id: str) -> CardInfoReport:
        """One card's info now (the review screen's `i`)."""
        return self.collection.card_info(card_id, self.now())

    def reread_store(self) -> None:
        """Re-read every card's state and flags from the store and rebuild today's queue
        (after the browser suspended, flagged, buried or forgot cards), and the decks (it may
        have opened a file in the editor)."""
        self.session.forget_loaded()
        self.reload()

    def reload(self) -> None:
        """Re-read the collection (after the learner edited a file) and update the session:
        the deck files are read again when one changed (the catalogue's key)."""
        self.collection.drop_decks()
        self._index_cards()
        now = self.now_fn()
        if self.read_only is None:
            self._sync(now)
        self.session.replace_catalogue(self._catalogue.cards, self._source, now)
