"""The review session: which card comes next, daily limits, siblings, leeches, undo. Pure.

The session never touches files, the database or the clock: it is built from the cards, their
states and flags and today's review log, every call takes `now`, and every change it makes is
returned as a list of `Effect`s for the caller to persist (`apply_effects` does that against a
`dlcards.store.Store`, which is the only I/O on the answer path).

Queue order (like Anki's v3 scheduler, simplified):
1. due reviews (phase `review`, due before the next study day starts), oldest due first,
   up to `reviews_per_day` (counted per study day from the review log);
2. (re)learning cards that are due now;
3. new cards in curriculum order (week, then file, then position in the file), up to
   `new_per_day`; a card whose file `requires` topics that have not been started waits;
4. when nothing else is left, (re)learning cards due within `learn_ahead` (20 min).

A topic is *started* as soon as any of its cards has been reviewed (it is no longer new).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from dlcards.core.calendar import next_day_start, study_day
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc

if TYPE_CHECKING:
    from dlcards.core.model import Card, Note
    from dlcards.system.config import Settings

LEARN_AHEAD = timedelta(minutes=20)
NO_WEEK = 10**6  # files without a week come after every week

QueueName = Literal["review", "learning", "new"]


class SchedulerLike(Protocol):
    def review(
        self, state: CardState, rating: Rating, now: datetime, duration_ms: int = 0
    ) -> ReviewEntry: ...

    def preview(self, state: CardState, now: datetime) -> dict[Rating, CardState]: ...


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCard:
    """What the session needs to know about a card (no text)."""

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


@dataclass(frozen=True)
class Policy:
    """The session's rules, from Settings plus today's command-line overrides."""

    new_per_day: int = 20
    reviews_per_day: int = 200
    learn_ahead: timedelta = LEARN_AHEAD
    leech_threshold: int = 8
    leech_action: Literal["suspend", "tag"] = "suspend"
    bury_siblings: bool = True
    day_starts_at: int = 4
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, new_limit: int | None = None, review_limit: int | None = None
    ) -> Policy:
        from dlcards.core.calendar import zone

        return cls(
            new_per_day=settings.new_per_day if new_limit is None else new_limit,
            reviews_per_day=settings.reviews_per_day if review_limit is None else review_limit,
            leech_threshold=settings.leech_threshold,
            leech_action=settings.leech_action,
            bury_siblings=settings.bury_siblings,
            day_starts_at=settings.day_starts_at,
            tz=zone(settings.timezone),
        )

    def day(self, t: datetime) -> date:
        return study_day(t, self.tz, self.day_starts_at)

    def day_end(self, t: datetime) -> datetime:
        return next_day_start(t, self.tz, self.day_starts_at)


# -- effects (what the caller persists) ------------------------------------------------------


@dataclass
class RecordReview:
    entry: ReviewEntry
    review_id: Any = None  # set by apply_effects; needed to undo


@dataclass(frozen=True)
class UndoReview:
    record: RecordReview


@dataclass(frozen=True)
class SetSuspended:
    card_ids: tuple[str, ...]
    value: bool


@dataclass(frozen=True)
class SetBuried:
    card_ids: tuple[str, ...]
    until: date | None


@dataclass(frozen=True)
class SetLeech:
    card_id: str
    value: bool


@dataclass(frozen=True)
class SetFlag:
    card_id: str
    flag: int


@dataclass(frozen=True)
class SetStudyMore:
    """Today's raised limits ("study more"), kept for the rest of the study day."""

    day: date
    extra_new: int
    extra_reviews: int


Effect = RecordReview | UndoReview | SetSuspended | SetBuried | SetLeech | SetFlag | SetStudyMore


def study_more_key(day: date) -> str:
    """The store setting holding a day's raised limits."""
    return f"study_more:{day.isoformat()}"


def parse_study_more(value: str | None) -> tuple[int, int]:
    """(extra new, extra reviews) from the stored setting; (0, 0) when absent or unreadable."""
    try:
        new, reviews = (int(x) for x in (value or "").split(","))
    except ValueError:
        return 0, 0
    return max(0, new), max(0, reviews)


class StoreLike(Protocol):
    def record_review(self, entry: ReviewEntry) -> Any: ...
    def undo_review(self, review_id: Any) -> ReviewEntry: ...
    def set_suspended(self, ids: Iterable[str], value: bool) -> None: ...
    def set_buried(self, ids: Iterable[str], until: date | None) -> None: ...
    def set_leech(self, card_id: str, value: bool) -> None: ...
    def set_flag(self, card_id: str, flag: int) -> None: ...
    def set_setting(self, key: str, value: str) -> None: ...


def apply_effects(store: StoreLike, effects: Iterable[Effect]) -> None:
    """Persist a session's effects, in order. The one place the session meets the store."""
    for effect in effects:
        if isinstance(effect, RecordReview):
            effect.review_id = store.record_review(effect.entry)
        elif isinstance(effect, UndoReview):
            if effect.record.review_id is None:
                raise RuntimeError("cannot undo a review that was never recorded")
            store.undo_review(effect.record.review_id)
        elif isinstance(effect, SetSuspended):
            store.set_suspended(list(effect.card_ids), effect.value)
        elif isinstance(effect, SetBuried):
            store.set_buried(list(effect.card_ids), effect.until)
        elif isinstance(effect, SetLeech):
            store.set_leech(effect.card_id, effect.value)
        elif isinstance(effect, SetFlag):
            store.set_flag(effect.card_id, effect.flag)
        elif isinstance(effect, SetStudyMore):
            store.set_setting(
                study_more_key(effect.day), f"{effect.extra_new},{effect.extra_reviews}"
            )


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """The result of one session action: effects to persist and a message for the learner."""

    effects: list[Effect]
    notice: str | None = None
    card_id: str | None = None


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


@dataclass
class SessionStats:
    answered: int = 0
    again: int = 0
    duration_ms: int = 0

    @property
    def again_rate(self) -> float | None:
        return self.again / self.answered if self.answered else None


# -- the session -----------------------------------------------------------------------------


class Session:
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

    # -- building ----------------------------------------------------------------------------
    def _start_day(self, now: datetime, today_log: list[ReviewEntry]) -> None:
        self.today = self.policy.day(now)
        self.day_end = self.policy.day_end(now)
        self.new_done: set[str] = set()
        self.reviews_done: set[str] = set()
        for entry in today_log:
            if self.policy.day(entry.time) != self.today:
                continue
            if entry.before.phase == "new":
                self.new_done.add(entry.card_id)
            elif entry.before.phase == "review":
                self.reviews_done.add(entry.card_id)
        self.extra_new = 0
        self.extra_reviews = 0
        self._build()

    def _build(self) -> None:
        self.review_q: list[tuple[datetime, str]] = []
        self.learning: dict[str, datetime] = {}
        self.new_ready: list[tuple[tuple[Any, ...], str]] = []
        self.new_waiting: dict[str, tuple[tuple[Any, ...], str]] = {}
        for cid in self.cards:
            self._enqueue(cid)
        self.review_q.sort()
        self.new_ready.sort()

    def _available(self, cid: str) -> bool:
        f = self.flags[cid]
        return not f.suspended and not (f.buried_until is not None and self.today < f.buried_until)

    def _waits(self, cid: str) -> bool:
        card = self.cards[cid]
        return any(t in self.known_topics and t not in self.started for t in card.requires)

    def _enqueue(self, cid: str, *, sort: bool = False) -> None:
        if cid not in self.cards or not self._available(cid):
            return
        st = self.states[cid]
        if st.phase == "new":
            item = (self.cards[cid].order, cid)
            if self._waits(cid):
                self.new_waiting[cid] = item
            elif sort:
                bisect.insort(self.new_ready, item)
            else:
                self.new_ready.append(item)
        elif st.due is None:
            return
        elif st.phase == "review":
            if st.due < self.day_end:
                if sort:
                    bisect.insort(self.review_q, (st.due, cid))
                else:
                    self.review_q.append((st.due, cid))
        elif st.due < self.day_end:  # learning / relearning
            self.learning[cid] = st.due

    def _dequeue(self, cid: str) -> None:
        self.learning.pop(cid, None)
        self.new_waiting.pop(cid, None)
        st = self.states[cid]
        if st.phase == "review" and st.due is not None:
            item = (st.due, cid)
            i = bisect.bisect_left(self.review_q, item)
            if i < len(self.review_q) and self.review_q[i] == item:
                del self.review_q[i]
                return
        if st.phase == "new":
            item2 = (self.cards[cid].order, cid) if cid in self.cards else None
            if item2 is not None:
                i = bisect.bisect_left(self.new_ready, item2)
                if i < len(self.new_ready) and self.new_ready[i] == item2:
                    del self.new_ready[i]
                    return
        # not where expected (e.g. a changed state): a linear sweep keeps things consistent
        self.review_q = [x for x in self.review_q if x[1] != cid]
        self.new_ready = [x for x in self.new_ready if x[1] != cid]

    def _start_topic(self, cid: str) -> None:
        topic = self.all_cards[cid].topic
        if not topic or topic in self.started:
            return
        self.started.add(topic)
        freed = [cid2 for cid2 in self.new_waiting if not self._waits(cid2)]
        for cid2 in freed:
            bisect.insort(self.new_ready, self.new_waiting.pop(cid2))

    # -- limits ------------------------------------------------------------------------------
    @property
    def new_limit_left(self) -> int:
        return max(0, self.policy.new_per_day + self.extra_new - len(self.new_done))

    @property
    def review_limit_left(self) -> int:
        return max(0, self.policy.reviews_per_day + self.extra_reviews - len(self.reviews_done))

    def counts(self, now: datetime) -> Counts:
        self._maybe_roll(now)
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

    def _pick(self, now: datetime) -> str | None:
        while self._front:
            cid = self._front.pop()
            if self._queued(cid):
                return cid
        if self.review_q and self.review_limit_left > 0:
            return self.review_q[0][1]
        due_learning = self._first_learning()
        if due_learning is not None and self.learning[due_learning] <= now:
            return due_learning
        if self.new_ready and self.new_limit_left > 0:
            return self.new_ready[0][1]
        if (
            due_learning is not None
            and self.learning[due_learning] <= now + self.policy.learn_ahead
        ):
            return due_learning
        return None

    def _first_learning(self) -> str | None:
        if not self.learning:
            return None
        return min(self.learning, key=lambda c: (self.learning[c], c))

    def _queued(self, cid: str) -> bool:
        if cid not in self.cards or not self._available(cid):
            return False
        st = self.states[cid]
        if st.phase == "new":
            return not self._waits(cid)
        return st.due is not None and st.due < self.day_end

    def queue_of(self, cid: str) -> QueueName:
        phase = self.states[cid].phase
        return "new" if phase == "new" else "review" if phase == "review" else "learning"

    def next_due(self, now: datetime) -> datetime | None:
        """When the next card that cannot be shown now becomes due (for the nothing-due
        screen): the earliest due learning or review card, buried ones counting from the next
        study day; new cards held back by the daily limit count from the next study day."""
        best: datetime | None = None
        for cid in self.cards:
            st = self.states[cid]
            if self.flags[cid].suspended or st.phase == "new" or st.due is None:
                continue
            due = max(st.due, self.day_end) if self._buried(cid) else st.due
            if due > now and (best is None or due < best):
                best = due
        new_left = self.new_ready or any(
            self.states[c].phase == "new" and not self.flags[c].suspended and self._buried(c)
            for c in self.cards
        )
        if new_left and (best is None or self.day_end < best):
            best = self.day_end
        return best

    def _buried(self, cid: str) -> bool:
        f = self.flags[cid]
        return not f.suspended and f.buried_until is not None and self.today < f.buried_until

    def waiting_for(self) -> list[str]:
        """Topics not yet started that new cards of this session wait for (`requires`)."""
        missing: set[str] = set()
        for cid in self.new_waiting:
            missing.update(
                t
                for t in self.cards[cid].requires
                if t in self.known_topics and t not in self.started
            )
        return sorted(missing)

    def limits_reached(self) -> bool:
        """True when cards are held back only by today's limits (study more would help)."""
        return bool(
            (self.new_ready and self.new_limit_left == 0)
            or (self.review_q and self.review_limit_left == 0)
        )

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
                for s in self.siblings.get(self.all_cards[cid].note_id, [])
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
        self._start_topic(cid)
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
        self.extra_new += max(1, self.policy.new_per_day)
        if self.review_q and self.review_limit_left == 0:
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
