"""Today's queue of one review session: which cards are waiting where (due reviews, learning
cards, new cards in curriculum order, new cards waiting for a topic), and which comes next.
Pure. `Session` (dlcards.review.session) adds the actions, the limits' counters and undo.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime
from typing import Any, Literal

from dlcards.core.state import CardFlags, CardState
from dlcards.review.cards import SessionCard
from dlcards.review.limits import Policy

QueueName = Literal["review", "learning", "new"]


class DayQueue:
    """The queue state of one study day; `Session` fills the fields and acts on them."""

    policy: Policy
    cards: dict[str, SessionCard]
    all_cards: dict[str, SessionCard]
    states: dict[str, CardState]
    flags: dict[str, CardFlags]
    known_topics: set[str]
    started: set[str]
    today: date
    day_end: datetime
    new_done: set[str]
    reviews_done: set[str]
    extra_new: int
    extra_reviews: int
    _front: list[str]

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
        """New cards still allowed today: under the new-card limit and, as in Anki's v3
        scheduler, under the review limit too (`review_room_for_new`)."""
        own = max(0, self.policy.new_per_day + self.extra_new - len(self.new_done))
        return min(own, self.review_room_for_new)

    @property
    def review_room_for_new(self) -> int:
        """Anki v3: the review limit also caps new cards. Reviews waiting today (up to the
        limit) and the new cards already shown today take their places first; new cards get
        what is left. With 70 due and a review limit of 40: no new card today."""
        cap = self.policy.reviews_per_day + self.extra_reviews
        waiting = min(len(self.review_q), self.review_limit_left)
        return max(0, cap - len(self.reviews_done) - len(self.new_done) - waiting)

    @property
    def review_limit_left(self) -> int:
        return max(0, self.policy.reviews_per_day + self.extra_reviews - len(self.reviews_done))

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
