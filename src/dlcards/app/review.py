"""What a review run works on: the collection's cards, the store, the scheduler and the
session, wired together. No Textual here: the screens call it, the tests and the benchmark
can too.

Every answer and action is persisted the moment it is made (`apply`), each answer in its own
store transaction (WAL, synchronous=FULL), before the next card is drawn. A failed write is
reported on screen.

Start-up is on the critical path (`dlcards review` to the first card): cards are indexed from
the notes without building a `Card` model per card, the store sync is skipped when no deck
file changed since the last run, and the FSRS scheduler is imported on first use (the app
warms it in a thread once the first card is on screen).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.calendar import day_start
from dlcards.core.state import CardState, Rating, ReviewEntry
from dlcards.review.session import (
    Filters,
    Outcome,
    Policy,
    Session,
    apply_effects,
    note_session_cards,
    parse_study_more,
    study_more_key,
)

if TYPE_CHECKING:
    from dlcards.core.model import Card, Note
    from dlcards.review.scheduling import Scheduler
    from dlcards.store import Store
    from dlcards.system.config import Settings
    from dlcards.system.decks import Collection

NowFn = Callable[[], datetime]
SYNC_KEY = "review.synced_collection"


@dataclass(frozen=True)
class Limits:
    """Today's overrides of the daily limits (`--new-limit`, `--review-limit`)."""

    new: int | None = None
    review: int | None = None


def collection_fingerprint(collection: Collection) -> str:
    """Changes whenever a deck file (or the set of files) changes."""
    from dlcards.core.parse import PARSER_VERSION

    h = hashlib.sha256(f"{PARSER_VERSION}\0{collection.root}\0".encode())
    for f in collection.files:
        h.update(f"{f.rel}\0{f.snapshot.digest}\0".encode())
    return h.hexdigest()


class LazyScheduler:
    """The FSRS scheduler, built (and `fsrs` imported) on first use, thread-safely."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()

    def get(self) -> Scheduler:
        if self._scheduler is None:
            with self._lock:
                if self._scheduler is None:
                    from dlcards.review.scheduling import Scheduler, SchedulerConfig

                    self._scheduler = Scheduler(SchedulerConfig.from_settings(self.settings))
        return self._scheduler

    def review(
        self, state: CardState, rating: Rating, now: datetime, duration_ms: int = 0
    ) -> ReviewEntry:
        return self.get().review(state, rating, now, duration_ms=duration_ms)

    def preview(self, state: CardState, now: datetime) -> dict[Rating, CardState]:
        return self.get().preview(state, now)


class ReviewContext:
    def __init__(
        self,
        root: Path | None,
        settings: Settings | None,
        store: Store,
        now_fn: NowFn,
        filters: Filters | None = None,
        limits: Limits | None = None,
        collection: Collection | None = None,
    ):
        self.store = store
        self.write_errors: list[Exception] = []
        self.on_write_error: Callable[[Exception], None] | None = None
        self.now_fn = now_fn
        self.filters = filters or Filters()
        self.limits = limits or Limits()
        self.collection = collection if collection is not None else self._open(root)
        self.root = self.collection.root
        self.settings = settings if settings is not None else self.collection.settings
        self.scheduler = LazyScheduler(self.settings)
        self.policy = Policy.from_settings(
            self.settings, new_limit=self.limits.new, review_limit=self.limits.review
        )
        now = now_fn()
        scards = self._index_cards()
        self._sync(now)
        today = self.policy.day(now)
        log = store.reviews_on_day(
            day_start(today, self.policy.tz, self.policy.day_starts_at), self.policy.day_end(now)
        )
        more = parse_study_more(store.get_setting(study_more_key(today)))
        self.session = Session(
            scards,
            store.states(),
            store.flags(),
            log,
            self.scheduler,
            self.policy,
            now,
            filters=self.filters,
            study_more=more,
        )

    @staticmethod
    def _open(root: Path | None) -> Collection:
        from dlcards.system.decks import open_collection

        return open_collection(root, lint=False)

    def _index_cards(self) -> list[Any]:
        order = {f.rel: i for i, f in enumerate(self.collection.files)}
        triples = note_session_cards(self.collection.notes, order)
        self._where: dict[str, tuple[Note, int]] = {
            sc.id: (note, ordinal) for sc, note, ordinal in triples
        }
        self._cards: dict[str, Card] = {}
        return [sc for sc, _, _ in triples]

    def _sync(self, now: datetime) -> None:
        fingerprint = collection_fingerprint(self.collection)
        if self.store.get_setting(SYNC_KEY) != fingerprint:
            from dlcards.store import card_infos

            self.store.sync_cards(card_infos(self.collection.notes), now)
            self.store.set_setting(SYNC_KEY, fingerprint)

    def warm_up(self) -> None:
        """Import and build what the first answer needs (run in a thread after the first card)."""
        self.scheduler.get()
        from dlcards.review.scheduling import format_interval  # noqa: F401

    def now(self) -> datetime:
        return self.now_fn()

    def apply(self, outcome: Outcome) -> Outcome:
        """Persist an outcome's effects now, in order: an answer is committed (its own
        transaction) before the next card is drawn. A failed write is kept and reported,
        never dropped silently."""
        if outcome.effects:
            try:
                apply_effects(self.store, outcome.effects)
            except Exception as exc:
                self.write_errors.append(exc)
                if self.on_write_error is not None:
                    self.on_write_error(exc)
        return outcome

    @property
    def card_ids(self) -> list[str]:
        return list(self._where)

    def card(self, card_id: str | None) -> Card | None:
        if not card_id:
            return None
        card = self._cards.get(card_id)
        if card is None:
            where = self._where.get(card_id)
            if where is None:
                return None
            from dlcards.core.model import Card

            note, ordinal = where
            card = Card(id=card_id, note_id=note.id, ordinal=ordinal, note=note)
            self._cards[card_id] = card
        return card

    def file_of(self, card_id: str) -> tuple[Path, int] | None:
        where = self._where.get(card_id)
        if where is None:
            return None
        note = where[0]
        return self.root / note.path, note.line

    def reload(self) -> None:
        """Re-read the collection (after the learner edited a file) and update the session."""
        self.collection = self._open(self.root)
        scards = self._index_cards()
        now = self.now_fn()
        self._sync(now)
        ids = self.card_ids
        self.session.replace_cards(scards, self.store.states(ids), self.store.flags(ids), now)
