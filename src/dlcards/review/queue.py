"""Today's queue of one review session: which cards are waiting where (due reviews, learning
cards, new cards in curriculum order, new cards waiting for a topic), and which comes next.
Pure. `Session` (dlcards.review.session) adds the actions, the limits' counters and undo.

Two ways to fill it (issue 16, item 2):
- from every card in memory (`Session(cards, states, flags, ...)`): `_build` looks at each;
- from a `QueueSource` (`Session.indexed(...)`): the cards' Markdown side is a `CardCatalogue`
  (compact rows in curriculum order, a `SessionCard` made only for the cards looked at), states
  and flags are `LazyMap`s that ask the source for the cards they are asked about, and the
  queue pulls only what today's limits can show: due reviews page by page in (due, id) order,
  new cards walking the catalogue in curriculum order, learning cards all at once. Each fill
  keeps at least `limit left` cards *below its frontier* (the last card pulled), so the first
  cards, the counts and the limits are exactly those of the all-cards queue
  (tests/test_startup_queue.py compares both on random collections).
The source does I/O (the app layer's store-backed one); this module only calls it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, Literal, Protocol

from dlcards.core.state import CardFlags, CardState
from dlcards.review.cards import Filters, SessionCard
from dlcards.review.limits import Policy

QueueName = Literal["review", "learning", "new"]
PAGE = 256  # cards per pull from a source
BULK_AFTER = 256  # a LazyMap that missed this often loads everything at once


class QueueSource(Protocol):
    """Where an indexed session reads states and flags (the store, in the app layer)."""

    def states(self, ids: list[str]) -> dict[str, CardState]: ...  # absent: new

    def flags(self, ids: list[str]) -> dict[str, CardFlags]: ...  # absent: none

    def all_states(self) -> dict[str, CardState]: ...

    def all_flags(self) -> dict[str, CardFlags]: ...

    def due_reviews(
        self, day_end: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[tuple[CardState, CardFlags | None]]:
        """Review-phase cards due before `day_end`, in (due, id) order, after `after`."""
        ...

    def due_learning(self, day_end: datetime) -> list[tuple[CardState, CardFlags | None]]:
        """(Re)learning cards due before `day_end`."""
        ...

    def touched(self) -> tuple[set[str], set[str]]:
        """(ids whose stored phase is not new, ids started: not new or reviewed before)."""
        ...


class CardCatalogue(Mapping[str, SessionCard]):
    """Every card's Markdown side in columns, sorted in curriculum order (`order`, then id);
    a `SessionCard` is made when a card is asked for. `filtered(filters)` is the view of the
    cards a session reviews.

    Columns (one entry per card): `ids`, `notes` (the note id, None when it is the card id),
    `groups` (index into `group_values`: (week, file order, path, topic, requires, deck),
    shared by a file's notes), `index` (the note's place in its file), `ordinals`, `lines`,
    `tags` (index into `tag_values`). Plain lists: `payload()` pickles small and loads fast."""

    def __init__(self, payload: Mapping[str, Any]):
        self.ids: list[str] = payload["ids"]
        self.notes: list[str | None] = payload["notes"]
        self.groups: list[int] = payload["groups"]
        self.index: list[int] = payload["index"]
        self.ordinals: list[int] = payload["ordinals"]
        self.lines: list[int] = payload["lines"]
        self.tags: list[int] = payload["tags"]
        self.group_values: list[tuple[Any, ...]] = payload["group_values"]
        self.tag_values: list[tuple[str, ...]] = payload["tag_values"]
        self.pos: dict[str, int] = {cid: i for i, cid in enumerate(self.ids)}
        self._made: dict[str, SessionCard] = {}
        self._topics: set[str] | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "ids": self.ids,
            "notes": self.notes,
            "groups": self.groups,
            "index": self.index,
            "ordinals": self.ordinals,
            "lines": self.lines,
            "tags": self.tags,
            "group_values": self.group_values,
            "tag_values": self.tag_values,
        }

    @classmethod
    def of(
        cls, cards: Iterable[SessionCard], lines: Mapping[str, int] | None = None
    ) -> CardCatalogue:
        """The catalogue of these cards (in any order; sorted here)."""
        from operator import attrgetter

        lines = lines or {}
        ordered = sorted(cards, key=attrgetter("order", "id"))
        group_of: dict[tuple[Any, ...], int] = {}
        tags_of: dict[tuple[str, ...], int] = {}
        ids: list[str] = []
        notes: list[str | None] = []
        groups: list[int] = []
        index_col: list[int] = []
        ordinals: list[int] = []
        line_col: list[int] = []
        tag_col: list[int] = []
        # a group is shared by a file's cards: the last one's is looked up again first
        last_key: tuple[Any, ...] | None = None
        last_group = -1
        for c in ordered:
            wk, fo, path, index, ordinal = c.order
            cid = c.id
            key = (wk, fo, path, c.week, c.topic, c.requires, c.deck, c.path)
            if key != last_key:
                group = (wk, fo, path, c.week, c.topic, tuple(c.requires), c.deck, c.path)
                last_group = group_of.setdefault(group, len(group_of))
                last_key = key
            ids.append(cid)
            notes.append(None if c.note_id == cid else c.note_id)
            groups.append(last_group)
            index_col.append(index)
            ordinals.append(ordinal)
            line_col.append(lines.get(cid, 0))
            tags = c.tags
            tag = tags_of.get(tags) if type(tags) is tuple else None
            if tag is None:
                tag = tags_of.setdefault(tuple(tags), len(tags_of))
            tag_col.append(tag)
        return cls(
            {
                "ids": ids,
                "notes": notes,
                "groups": groups,
                "index": index_col,
                "ordinals": ordinals,
                "lines": line_col,
                "tags": tag_col,
                "group_values": list(group_of),
                "tag_values": list(tags_of),
            }
        )

    def __getitem__(self, cid: str) -> SessionCard:
        card = self._made.get(cid)
        if card is None:
            i = self.pos[cid]
            wk, fo, path, week, topic, requires, deck, card_path = self.group_values[self.groups[i]]
            card = SessionCard(
                cid,
                self.note_at(i),
                (wk, fo, path, self.index[i], self.ordinals[i]),
                topic,
                requires,
                week,
                deck,
                self.tag_values[self.tags[i]],
                card_path,
            )
            self._made[cid] = card
        return card

    def __contains__(self, cid: object) -> bool:
        return cid in self.pos

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def note_at(self, i: int) -> str:
        note = self.notes[i]
        return self.ids[i] if note is None else note

    def topic_at(self, i: int) -> str | None:
        topic: str | None = self.group_values[self.groups[i]][4]
        return topic

    def line(self, cid: str) -> int:
        return self.lines[self.pos[cid]]

    def topics(self) -> set[str]:
        if self._topics is None:
            self._topics = {g[4] for g in self.group_values if g[4]}
        return self._topics

    def started_topics(self, started: set[str]) -> set[str]:
        """The topics with a card in `started` (a walk that skips the topics already found)."""
        topic_of = [g[4] for g in self.group_values]
        todo = {i for i, t in enumerate(topic_of) if t}
        found: set[str] = set()
        ids = self.ids
        for i, g in enumerate(self.groups):
            if g in todo and ids[i] in started:
                found.add(topic_of[g])
                todo = {h for h in todo if topic_of[h] not in found}
                if not todo:
                    break
        return found

    def siblings(self, cid: str) -> list[str]:
        """The cards of `cid`'s note (neighbours in curriculum order), `cid` included."""
        i = self.pos[cid]
        note = self.note_at(i)
        lo = i
        while lo > 0 and self.note_at(lo - 1) == note:
            lo -= 1
        hi = i + 1
        while hi < len(self.ids) and self.note_at(hi) == note:
            hi += 1
        return self.ids[lo:hi]

    def filtered(self, filters: Filters) -> Mapping[str, SessionCard]:
        if not filters.describe() and type(filters) is Filters:
            return self
        return FilteredCards(self, filters)


class FilteredCards(Mapping[str, SessionCard]):
    """The catalogue's cards that `filters` match (a card is tested when first asked about)."""

    def __init__(self, catalogue: CardCatalogue, filters: Filters):
        self.catalogue = catalogue
        self.filters = filters
        self._verdict: dict[str, bool] = {}
        self._len: int | None = None

    def __contains__(self, cid: object) -> bool:
        if not isinstance(cid, str) or cid not in self.catalogue.pos:
            return False
        v = self._verdict.get(cid)
        if v is None:
            v = self._verdict[cid] = self.filters.matches(self.catalogue[cid])
        return v

    def __getitem__(self, cid: str) -> SessionCard:
        if cid not in self:
            raise KeyError(cid)
        return self.catalogue[cid]

    def __iter__(self) -> Iterator[str]:
        return (cid for cid in self.catalogue if cid in self)

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self)
        return self._len


class LazyMap(dict[str, Any]):
    """A dict of per-card values (states or flags) filled on demand: a card asked about is
    loaded (`load([id])`, a default when absent); after `BULK_AFTER` single misses everything
    is loaded at once (`load_all`). Values the session sets are remembered as `dirty` (they may
    not be in the store: a preview's answers), and are never replaced by loaded ones."""

    def __init__(
        self,
        known: Callable[[str], bool],
        load: Callable[[list[str]], Mapping[str, Any]],
        load_all: Callable[[], Mapping[str, Any]],
        default: Callable[[str], Any],
    ):
        super().__init__()
        self.known = known
        self.load = load
        self.load_all = load_all
        self.default = default
        self.dirty: set[str] = set()
        self.misses = 0
        self.complete = False

    def __missing__(self, cid: str) -> Any:
        if not self.known(cid):
            raise KeyError(cid)
        if self.complete:  # everything stored was loaded: absent means the default
            value = self.default(cid)
            dict.__setitem__(self, cid, value)
            return value
        self.misses += 1
        if self.misses > BULK_AFTER:
            self.fill_all()
            if dict.__contains__(self, cid):
                return dict.__getitem__(self, cid)
        value = self.load([cid]).get(cid) or self.default(cid)
        dict.__setitem__(self, cid, value)
        return value

    def __setitem__(self, cid: str, value: Any) -> None:
        self.dirty.add(cid)
        dict.__setitem__(self, cid, value)

    def __contains__(self, cid: object) -> bool:
        return dict.__contains__(self, cid) or (isinstance(cid, str) and self.known(cid))

    def get(self, cid: str, default: Any = None) -> Any:
        if cid in self:  # (dict.get would not load it)
            return self[cid]
        return default

    def prime(self, values: Mapping[str, Any], ids: Iterable[str] = ()) -> None:
        """Remember loaded values (and defaults for `ids` not among them); set ones stay."""
        for cid, value in values.items():
            if not dict.__contains__(self, cid):
                dict.__setitem__(self, cid, value)
        for cid in ids:
            if not dict.__contains__(self, cid):
                dict.__setitem__(self, cid, self.default(cid))

    def missing(self, ids: Iterable[str]) -> list[str]:
        return [c for c in ids if not dict.__contains__(self, c)]

    def fill_all(self) -> None:
        if not self.complete:
            self.complete = True
            self.prime(self.load_all())

    def forget(self) -> None:
        """Drop every loaded and set value (the store changed under the session)."""
        dict.clear(self)
        self.dirty.clear()
        self.misses = 0
        self.complete = False


class DayQueue:
    """The queue state of one study day; `Session` fills the fields and acts on them."""

    policy: Policy
    cards: Mapping[str, SessionCard]
    all_cards: Mapping[str, SessionCard]
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
    _source: QueueSource | None = None  # indexed: pulled from the source as needed
    _catalogue: CardCatalogue | None = None
    _touched: tuple[set[str], set[str]] | None = None  # the source's, read once at the start

    def _build(self) -> None:
        self.review_q: list[tuple[datetime, str]] = []
        self.learning: dict[str, datetime] = {}
        self.new_ready: list[tuple[Any, str]] = []
        self.new_waiting: dict[str, tuple[Any, str]] = {}
        if self._source is not None:
            self._build_indexed()
            return
        for cid in self.cards:
            self._enqueue(cid)
        self.review_q.sort()
        self.new_ready.sort()

    # -- the indexed queue -------------------------------------------------------------------
    def _build_indexed(self) -> None:
        src = self._source
        assert src is not None
        states: Any = self.states
        flags: Any = self.flags
        dirty: set[str] = states.dirty
        self._rev_after: tuple[datetime, str] | None = None
        self._rev_done = False
        self._new_at = 0  # next catalogue position the new-card walk looks at
        self._new_done_walk = False
        touched = self._touched or src.touched()
        self._touched = None
        self._not_new = touched[0]
        for st, fl in src.due_learning(self.day_end):
            cid = st.card_id
            if cid in dirty or cid not in self.cards:
                continue
            states.prime({cid: st})
            flags.prime({cid: fl} if fl else {}, (cid,))
            self._enqueue(cid)
        # cards whose state this session set (perhaps not stored: a preview) go in from memory
        for cid in sorted(dirty):
            if cid in self.cards and self.states[cid].phase != "new":
                self._enqueue(cid, sort=True)

    def _order(self, cid: str) -> Any:
        """A new card's place in the queue (indexed: its catalogue position)."""
        if self._catalogue is not None:
            return self._catalogue.pos[cid]
        return self.cards[cid].order

    def _fill(self) -> None:
        """Pull what today's limits can show (indexed sessions; nothing to do otherwise)."""
        if self._source is None:
            return
        self._fill_reviews(max(1, self.review_limit_left))
        self._fill_new(max(1, self.new_limit_left))

    def _fill_all(self) -> None:
        """Pull everything (the done screen's figures need every card)."""
        if self._source is None:
            return
        self._fill_reviews(None)
        self._fill_new(None)
        self.states.fill_all()  # type: ignore[attr-defined]
        self.flags.fill_all()  # type: ignore[attr-defined]

    def _fill_reviews(self, want: int | None) -> None:
        src = self._source
        assert src is not None
        states: Any = self.states
        flags: Any = self.flags
        while not self._rev_done:
            after = self._rev_after
            below = 0 if after is None else bisect.bisect_right(self.review_q, after)
            if want is not None and below >= want:
                return
            page = src.due_reviews(self.day_end, after, PAGE)
            if len(page) < PAGE:
                self._rev_done = True
            for st, fl in page:
                cid = st.card_id
                assert st.due is not None
                self._rev_after = (st.due, cid)
                if cid in states.dirty or cid not in self.cards:
                    continue
                states.prime({cid: st})
                flags.prime({cid: fl} if fl else {}, (cid,))
                st = self.states[cid]
                if st.phase == "review" and st.due is not None:
                    item = (st.due, cid)
                    i = bisect.bisect_left(self.review_q, item)
                    if i < len(self.review_q) and self.review_q[i] == item:
                        continue  # already queued (put back by an undo, an unsuspend)
                self._enqueue(cid, sort=True)

    def _fill_new(self, want: int | None) -> None:
        cat = self._catalogue
        src = self._source
        assert cat is not None and src is not None
        states: Any = self.states
        flags: Any = self.flags
        ids = cat.ids
        while not self._new_done_walk:
            below = bisect.bisect_left(self.new_ready, (self._new_at, ""))
            if want is not None and below >= want:
                return
            start = self._new_at
            end = min(len(ids), start + PAGE)
            self._new_at = end
            if end >= len(ids):
                self._new_done_walk = True
            batch = []
            for i in range(start, end):
                cid = ids[i]
                if cid in states.dirty:
                    if self.states[cid].phase != "new":
                        continue
                elif cid in self._not_new:
                    continue
                if cid in self.cards:
                    batch.append(cid)
            if not batch:
                continue
            need = states.missing(batch)
            if need:
                states.prime(src.states(need), need)
            need = flags.missing(batch)
            if need:
                flags.prime(src.flags(need), need)
            for cid in batch:
                item = (cat.pos[cid], cid)
                if cid in self.new_waiting:
                    continue
                j = bisect.bisect_left(self.new_ready, item)
                if j < len(self.new_ready) and self.new_ready[j] == item:
                    continue
                self._enqueue(cid, sort=True)

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
            item = (self._order(cid), cid)
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
            item2 = (self._order(cid), cid) if cid in self.cards else None
            if item2 is not None:
                i = bisect.bisect_left(self.new_ready, item2)
                if i < len(self.new_ready) and self.new_ready[i] == item2:
                    del self.new_ready[i]
                    return
        # not where expected (e.g. a changed state): a linear sweep keeps things consistent
        self.review_q = [x for x in self.review_q if x[1] != cid]
        self.new_ready = [x for x in self.new_ready if x[1] != cid]

    def _start_topic(self, cid: str) -> str | None:
        """Mark the card's topic started (its waiting cards become ready); the topic when
        this started it, for undo."""
        topic = self.all_cards[cid].topic
        if not topic or topic in self.started:
            return None
        self.started.add(topic)
        freed = [cid2 for cid2 in self.new_waiting if not self._waits(cid2)]
        for cid2 in freed:
            bisect.insort(self.new_ready, self.new_waiting.pop(cid2))
        return topic

    def _unstart_topic(self, topic: str) -> None:
        """Undo `_start_topic`: the cards that require the topic wait again."""
        self.started.discard(topic)
        waiting = [item for item in self.new_ready if self._waits(item[1])]
        if waiting:
            gone = set(waiting)
            self.new_ready = [item for item in self.new_ready if item not in gone]
            for item in waiting:
                self.new_waiting[item[1]] = item

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
        self._fill()
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
        self._fill_all()
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
        if self._source is not None:
            self._fill_new(None)
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
        self._fill()
        return bool(
            (self.new_ready and self.new_limit_left == 0)
            or (self.review_q and self.review_limit_left == 0)
        )
