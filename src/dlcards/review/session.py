"""The review session: which card comes next, daily limits, siblings, leeches, undo. Pure.

The session never touches files, the database or the clock: it is built from the cards, their
states and flags and today's review log, every call takes `now`, and every change it makes is
returned as a list of `Effect`s for the caller to persist (`apply_effects` does that against a
`dlcards.store.Store`, which is the only I/O on the answer path).

Queue order (like Anki's v3 scheduler, simplified; the queue itself is `dlcards.review.queue`):
1. due reviews (phase `review`, due before the next study day starts), oldest due first,
   up to `reviews_per_day` (counted per study day from the review log);
2. (re)learning cards that are due now;
3. new cards in curriculum order (week, then file, then position in the file), up to
   `new_per_day`; a card whose file `requires` topics that have not been started waits;
4. when nothing else is left, (re)learning cards due within `learn_ahead` (20 min).

A topic is *started* as soon as any of its cards has been reviewed (it is no longer new).

The parts live in their own modules and are re-exported here: `dlcards.review.cards`
(SessionCard, Filters, note_session_cards), `dlcards.review.limits` (Policy),
`dlcards.review.effects` (the effects, apply_effects, Outcome), `dlcards.review.queue`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc
from dlcards.review.cards import NO_WEEK, Filters, SessionCard, note_session_cards, session_cards
from dlcards.review.effects import (
    Effect,
    Outcome,
    RecordReview,
    SetBuried,
    SetFlag,
    SetLeech,
    SetStudyMore,
    SetSuspended,
    StoreLike,
    UndoReview,
    apply_effects,
    parse_study_more,
    study_more_key,
)
from dlcards.review.limits import LEARN_AHEAD, Policy
from dlcards.review.queue import CardCatalogue, DayQueue, LazyMap, QueueName, QueueSource

__all__ = [
    "LEARN_AHEAD",
    "NO_WEEK",
    "CardCatalogue",
    "Counts",
    "Effect",
    "Filters",
    "Outcome",
    "Policy",
    "QueueName",
    "QueueSource",
    "RecordReview",
    "SchedulerLike",
    "Session",
    "SessionCard",
    "SessionStats",
    "SetBuried",
    "SetFlag",
    "SetLeech",
    "SetStudyMore",
    "SetSuspended",
    "StoreLike",
    "UndoReview",
    "apply_effects",
    "note_session_cards",
    "parse_study_more",
    "session_cards",
    "study_more_key",
]


class SchedulerLike(Protocol):
    def review(
        self, state: CardState, rating: Rating, now: datetime, duration_ms: int = 0
    ) -> ReviewEntry: ...

    def preview(self, state: CardState, now: datetime) -> dict[Rating, CardState]: ...


@dataclass(frozen=True)
class Counts:
    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass
class _Undo:
    label: str
    card_id: str
    state: CardState | None  # the card's state before (answers only)
    flags: dict[str, CardFlags]  # flags before, of every card the action touched
    record: RecordReview | None = None
    new_counted: bool = False
    review_counted: bool = False
    stats: tuple[int, int, int] = (0, 0, 0)
    started_topic: str | None = None  # the topic this answer started (undo un-starts it)


@dataclass
class SessionStats:
    answered: int = 0
    again: int = 0
    duration_ms: int = 0

    @property
    def again_rate(self) -> float | None:
        return self.again / self.answered if self.answered else None


# -- the session -----------------------------------------------------------------------------


class Session(DayQueue):
    """Today's queue and the actions on it. Build it once per `dlcards review`."""

    def __init__(
        self,
        cards: Sequence[SessionCard],
        states: Mapping[str, CardState],
        flags: Mapping[str, CardFlags],
        today_log: Iterable[ReviewEntry],
        scheduler: SchedulerLike,
        policy: Policy,
        now: datetime,
        *,
        filters: Filters | None = None,
        started_topics: Iterable[str] = (),
        study_more: tuple[int, int] = (0, 0),
    ):
        now = require_utc(now)
        self.scheduler = scheduler
        self.policy = policy
        self.filters = filters or Filters()
        self.all_cards = {c.id: c for c in cards}
        self.cards = {c.id: c for c in cards if self.filters.matches(c)}
        self.states: dict[str, CardState] = {
            cid: states.get(cid) or CardState(cid) for cid in self.all_cards
        }
        self.flags: dict[str, CardFlags] = {
            cid: flags.get(cid) or CardFlags(cid) for cid in self.all_cards
        }
        self.siblings: dict[str, list[str]] = {}
        for c in cards:
            self.siblings.setdefault(c.note_id, []).append(c.id)
        topics = {c.topic for c in cards if c.topic}
        self.started: set[str] = set(started_topics)
        for cid, st in self.states.items():
            topic = self.all_cards[cid].topic
            if topic and (st.phase != "new" or st.reps > 0):
                self.started.add(topic)
        self.known_topics = topics
        self.undo_stack: list[_Undo] = []
        self.stats = SessionStats()
        self.current: str | None = None
        self._front: list[str] = []  # cards put back by undo, shown next
        self._start_day(now, list(today_log))
        # limits raised earlier today ("study more") still hold when review is reopened
        self.extra_new, self.extra_reviews = study_more

    @classmethod
    def indexed(
        cls,
        catalogue: CardCatalogue,
        source: QueueSource,
        today_log: Iterable[ReviewEntry],
        scheduler: SchedulerLike,
        policy: Policy,
        now: datetime,
        *,
        filters: Filters | None = None,
        started_topics: Iterable[str] = (),
        study_more: tuple[int, int] = (0, 0),
    ) -> Session:
        """The same session over a catalogue and a source (issue 16, item 2): only the cards
        today's queue can show are read (see `dlcards.review.queue`); the rest on demand."""
        now = require_utc(now)
        self = cls.__new__(cls)
        self.scheduler = scheduler
        self.policy = policy
        self.filters = filters or Filters()
        self._attach(catalogue, source)
        self.started = set(started_topics)
        self._touched = source.touched()
        self.started.update(catalogue.started_topics(self._touched[1]))
        self.undo_stack = []
        self.stats = SessionStats()
        self.current = None
        self._front = []
        self._start_day(now, list(today_log))
        self.extra_new, self.extra_reviews = study_more
        return self

    def _attach(self, catalogue: CardCatalogue, source: QueueSource) -> None:
        known = catalogue.pos.__contains__
        self._catalogue = catalogue
        self._source = source
        self.all_cards = catalogue
        self.cards = catalogue.filtered(self.filters)
        self.siblings = {}
        self.known_topics = catalogue.topics()
        old_states = getattr(self, "states", None)
        old_flags = getattr(self, "flags", None)
        self.states = LazyMap(known, source.states, source.all_states, CardState)
        self.flags = LazyMap(known, source.flags, source.all_flags, CardFlags)
        if isinstance(old_states, LazyMap):  # what the session set stays (a preview's answers)
            for cid in old_states.dirty:
                if known(cid):
                    self.states[cid] = dict.__getitem__(old_states, cid)
        if isinstance(old_flags, LazyMap):
            for cid in old_flags.dirty:
                if known(cid):
                    self.flags[cid] = dict.__getitem__(old_flags, cid)

    def replace_catalogue(
        self, catalogue: CardCatalogue, source: QueueSource, now: datetime
    ) -> None:
        """After the collection was edited (indexed sessions): the new catalogue, same day
        counters and undo stack; states and flags are read again from the source."""
        self._attach(catalogue, source)
        self.undo_stack = [u for u in self.undo_stack if u.card_id in catalogue]
        self._front = [c for c in self._front if c in self.cards]
        self._build()

    def forget_loaded(self) -> None:
        """Read every state and flag again from the source (the store changed under us)."""
        if isinstance(self.states, LazyMap):
            self.states.forget()
        if isinstance(self.flags, LazyMap):
            self.flags.forget()

    def requeue(self) -> None:
        """Build today's queue again from the current states and flags."""
        self._front = [c for c in self._front if c in self.cards]
        self._build()

    def _siblings_of(self, cid: str) -> list[str]:
        if self._catalogue is not None:
            return self._catalogue.siblings(cid)
        return self.siblings.get(self.all_cards[cid].note_id, [])

    # -- building ----------------------------------------------------------------------------
    def _start_day(self, now: datetime, today_log: list[ReviewEntry]) -> None:
        self.today = self.policy.day(now)
        self.day_end = self.policy.day_end(now)
        self.new_done: set[str] = set()
        self.reviews_done: set[str] = set()
        for entry in today_log:
            if entry.kind == "manual":  # a reset (the browser's forget) is no answer
                continue
            if self.policy.day(entry.time) != self.today:
                continue
            if entry.before.phase == "new":
                self.new_done.add(entry.card_id)
            elif entry.before.phase == "review":
                self.reviews_done.add(entry.card_id)
        self.extra_new = 0
        self.extra_reviews = 0
        self._build()

    def counts(self, now: datetime) -> Counts:
        self._maybe_roll(now)
        self._fill()
        return Counts(
            new=min(len(self.new_ready), self.new_limit_left),
            learning=len(self.learning),
            review=min(len(self.review_q), self.review_limit_left),
        )

    def _maybe_roll(self, now: datetime) -> None:
        if self.policy.day(now) != self.today:
            self.undo_stack.clear()
            self._front.clear()
            self._start_day(now, [])

    # -- picking -----------------------------------------------------------------------------
    def next_card(self, now: datetime) -> str | None:
        """The card to show now (also kept as `current`), or None when nothing is left."""
        now = require_utc(now)
        self._maybe_roll(now)
        self.current = self._pick(now)
        return self.current

    # -- actions -----------------------------------------------------------------------------
    def preview(self, now: datetime) -> dict[Rating, CardState]:
        if self.current is None:
            return {}
        return self.scheduler.preview(self.states[self.current], now)

    def answer(self, rating: Rating, now: datetime, duration_ms: int = 0) -> Outcome:
        """Grade the current card. The answer's ReviewEntry is the first effect."""
        cid = self._require_current()
        now = require_utc(now)
        if self.policy.day(now) != self.today:  # shown yesterday, answered after the rollover
            self._maybe_roll(now)
            self.current = cid
        before = self.states[cid]
        entry = self.scheduler.review(
            before, Rating(rating), now, duration_ms=max(0, int(duration_ms))
        )
        record = RecordReview(entry)
        undo = _Undo(
            "answer",
            cid,
            before,
            {},
            record,
            stats=(self.stats.answered, self.stats.again, self.stats.duration_ms),
        )
        effects: list[Effect] = [record]
        notice = None
        self._dequeue(cid)
        self.states[cid] = entry.after
        if before.phase == "new" and cid not in self.new_done:
            self.new_done.add(cid)
            undo.new_counted = True
        if before.phase == "review" and cid not in self.reviews_done:
            self.reviews_done.add(cid)
            undo.review_counted = True
        self.stats.answered += 1
        self.stats.again += rating == Rating.AGAIN
        self.stats.duration_ms += entry.duration_ms
        # siblings: other cards of the note wait until the next study day
        if self.policy.bury_siblings:
            sibs = [
                s
                for s in self._siblings_of(cid)
                if s != cid and self.states[s].phase in ("new", "review") and self._available(s)
            ]
            if sibs:
                until = self.today + timedelta(days=1)
                for s in sibs:
                    undo.flags[s] = self.flags[s]
                    self._dequeue(s)
                    self.flags[s] = replace(self.flags[s], buried_until=until)
                effects.append(SetBuried(tuple(sibs), until))
        # leeches
        lapsed = entry.after.lapses > before.lapses
        threshold = self.policy.leech_threshold
        if (
            lapsed
            and entry.after.lapses >= threshold
            and (entry.after.lapses - threshold) % max(1, threshold // 2) == 0
        ):
            undo.flags[cid] = self.flags[cid]
            self.flags[cid] = replace(self.flags[cid], leech=True)
            effects.append(SetLeech(cid, True))
            if self.policy.leech_action == "suspend":
                self.flags[cid] = replace(self.flags[cid], suspended=True)
                effects.append(SetSuspended((cid,), True))
                notice = f"Leech: this card has lapsed {entry.after.lapses} times; it is tagged leech and suspended. Rewrite it, then unsuspend it."
            else:
                notice = f"Leech: this card has lapsed {entry.after.lapses} times; it is tagged leech. Consider rewriting it."
        undo.started_topic = self._start_topic(cid)
        self._enqueue(cid, sort=True)
        self.undo_stack.append(undo)
        self.current = None
        return Outcome(effects, notice, cid)

    def suspend(self, now: datetime, card_id: str | None = None, value: bool = True) -> Outcome:
        cid = card_id or self._require_current()
        return self._flag_action(
            "suspend" if value else "unsuspend",
            cid,
            replace(self.flags[cid], suspended=value),
            [SetSuspended((cid,), value)],
        )

    def bury(self, now: datetime, card_id: str | None = None) -> Outcome:
        cid = card_id or self._require_current()
        until = self.policy.day(require_utc(now)) + timedelta(days=1)
        return self._flag_action(
            "bury", cid, replace(self.flags[cid], buried_until=until), [SetBuried((cid,), until)]
        )

    def set_flag(self, flag: int, card_id: str | None = None) -> Outcome:
        if not 0 <= flag <= 7:
            raise ValueError("flags are 0 (none) to 7")
        cid = card_id or self._require_current()
        return self._flag_action(
            "flag", cid, replace(self.flags[cid], flag=flag), [SetFlag(cid, flag)]
        )

    def _flag_action(self, label: str, cid: str, new: CardFlags, effects: list[Effect]) -> Outcome:
        undo = _Undo(label, cid, None, {cid: self.flags[cid]})
        self._dequeue(cid)
        self.flags[cid] = new
        self._enqueue(cid, sort=True)
        self.undo_stack.append(undo)
        if label in ("suspend", "bury") and self.current == cid:
            self.current = None
        return Outcome(effects, None, cid)

    def study_more(self) -> Outcome:
        """Raise today's limits, like Anki's custom study: new by new_per_day, and reviews by
        reviews_per_day when the review limit is what stopped the session."""
        self._fill()
        self.extra_new += max(1, self.policy.new_per_day)
        capped = self.new_ready and self.review_room_for_new == 0  # Anki v3: see queue.py
        if (self.review_q and self.review_limit_left == 0) or capped:
            self.extra_reviews += max(1, self.policy.reviews_per_day)
        return Outcome(
            [SetStudyMore(self.today, self.extra_new, self.extra_reviews)],
            f"Today's new-card limit raised by {max(1, self.policy.new_per_day)}.",
        )

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    def undo(self) -> Outcome:
        """Undo the last answer or action, restoring the exact previous state and flags; the
        card becomes current again."""
        if not self.undo_stack:
            return Outcome([], "Nothing to undo.")
        u = self.undo_stack.pop()
        effects: list[Effect] = []
        cid = u.card_id
        touched = {cid, *u.flags}
        for t in touched:
            self._dequeue(t)
        if u.record is not None:
            assert u.state is not None
            effects.append(UndoReview(u.record))
            self.states[cid] = u.state
            if u.new_counted:
                self.new_done.discard(cid)
            if u.review_counted:
                self.reviews_done.discard(cid)
            self.stats.answered, self.stats.again, self.stats.duration_ms = u.stats
            if u.started_topic is not None:
                self._unstart_topic(u.started_topic)
        for t, before in u.flags.items():
            now_flags = self.flags[t]
            if now_flags.suspended != before.suspended:
                effects.append(SetSuspended((t,), before.suspended))
            if now_flags.buried_until != before.buried_until:
                effects.append(SetBuried((t,), before.buried_until))
            if now_flags.leech != before.leech:
                effects.append(SetLeech(t, before.leech))
            if now_flags.flag != before.flag:
                effects.append(SetFlag(t, before.flag))
            self.flags[t] = before
        for t in touched:
            self._enqueue(t, sort=True)
        if self._queued(cid):
            self._front.append(cid)
        self.current = None
        return Outcome(effects, f"Undid {u.label}.", cid)

    def _require_current(self) -> str:
        if self.current is None:
            raise RuntimeError("no current card")
        return self.current

    def replace_cards(
        self,
        cards: Sequence[SessionCard],
        states: Mapping[str, CardState],
        flags: Mapping[str, CardFlags],
        now: datetime,
    ) -> None:
        """After the collection was edited: new card set, same day counters and undo stack."""
        if self._source is not None:  # indexed: the states and flags come from the source
            self.replace_catalogue(CardCatalogue.of(cards), self._source, now)
            return
        for c in cards:
            if c.id not in self.states:
                self.states[c.id] = states.get(c.id) or CardState(c.id)
                self.flags[c.id] = flags.get(c.id) or CardFlags(c.id)
        self.all_cards = {c.id: c for c in cards}
        self.cards = {c.id: c for c in cards if self.filters.matches(c)}
        self.siblings = {}
        for c in cards:
            self.siblings.setdefault(c.note_id, []).append(c.id)
        self.known_topics = {c.topic for c in cards if c.topic}
        self.undo_stack = [u for u in self.undo_stack if u.card_id in self.all_cards]
        self._front = [c for c in self._front if c in self.cards]
        self._build()
