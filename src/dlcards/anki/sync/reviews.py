"""Steps 2 and 3 of a sync: every review exactly once in each direction (Anki revlog rows in,
dlcards answers out with recorded revlog ids, an interrupted sync's rows relinked) and one
schedule per card (Anki's, dlcards', or the merged history replayed). Also
`drop_own_reviews`, the same review identity for `dlcards import-anki`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dlcards.anki.sync.base import _EngineBase
from dlcards.anki.sync.collection import REVLOG_TYPE, AnkiCardRow
from dlcards.anki.sync.schedule import _revlog_ivl, state_from_anki, write_state_to_card
from dlcards.core.state import CardState, Rating, ReviewEntry

if TYPE_CHECKING:
    from dlcards.anki.reader import AnkiReview, ImportPlan
    from dlcards.store import Store


class _Reviews(_EngineBase):
    # -- 2 + 3. reviews and one schedule --

    def reviews_and_schedule(self) -> None:
        """Incoming Anki rows and outgoing dlcards answers, card by card in id order, a few
        thousand cards at a time (a first sync of a million reviews holds one part of them)."""
        from dlcards.anki.reader import REVLOG_MANUAL, REVLOG_RESCHEDULED
        from dlcards.store.sync import (
            PendingReviews,
            known_among,
            known_revlog_ids,
            pending_reviews_since,
        )

        cid_to_card = {c.cid: cid for cid, c in self.card_of.items()}
        plan = self.plan
        pending_of: Callable[[list[str]], list[tuple[int, ReviewEntry]]]
        if plan is None:  # full: the whole review log of both sides
            all_ids = {int(r) for r in self.col.db.list("select id from revlog")}
            known = known_revlog_ids(self.store)
            pending = PendingReviews(self.store, all_ids)
            links = pending.links
            pending_cards, pending_of = pending.cards, pending.of
            rows = _revlog_after(self.col, None)
            taken: _Taken = _AllTaken(all_ids, known)
        else:  # incremental: Anki's rows after the cursor, dlcards' reviews after it
            new_rows = list(_revlog_after(self.col, plan.revlog_max))
            known = known_among(self.store, [r[0] for r in new_rows])
            links = {}  # every older link is in this collection (the cursor says so)
            since = pending_reviews_since(self.store, plan.review_max)
            pending_cards = {e.card_id for _, e in since}

            def pending_of(cards: list[str]) -> list[tuple[int, ReviewEntry]]:
                wanted = set(cards)
                return [(rid, e) for rid, e in since if e.card_id in wanted]

            rows = iter(new_rows)
            taken = _RangeTaken(self.col, self.store)
        incoming: dict[str, list[tuple[int, int, int, int]]] = {}
        for rid, acid, ease, taken_ms, rtype in rows:
            card_id = cid_to_card.get(acid)
            if card_id is None or rid in known:
                continue
            if rtype in (REVLOG_MANUAL, REVLOG_RESCHEDULED) or not 1 <= ease <= 4:
                continue
            incoming.setdefault(card_id, []).append((rid, ease, taken_ms, rtype))
        todo = sorted(set(incoming) | {c for c in pending_cards if c in self.card_of})
        for i in range(0, len(todo), _PART):
            part = todo[i : i + _PART]
            self._reviews_of(part, incoming, pending_of(part), links, taken)

    def _reviews_of(
        self,
        part: list[str],
        all_incoming: dict[str, list[tuple[int, int, int, int]]],
        pending: list[tuple[int, ReviewEntry]],
        links: dict[int, int],
        taken: _Taken,
    ) -> None:
        """Steps 2 and 3 for these cards (in id order)."""
        report = self.report
        incoming = {c: all_incoming[c] for c in part if c in all_incoming}
        outgoing: dict[str, list[tuple[int, ReviewEntry]]] = {}
        for review_id, entry in pending:
            if entry.card_id in self.card_of:
                outgoing.setdefault(entry.card_id, []).append((review_id, entry))
        # an interrupted sync wrote these answers to Anki but did not record it: link them
        for card_id in list(incoming):
            mine = outgoing.get(card_id, [])
            keep = []
            for row in incoming[card_id]:
                match = next(
                    (
                        (rid, e)
                        for rid, e in mine
                        if int(e.rating) == row[1]
                        and 0 <= row[0] - int(e.time.timestamp() * 1000) < 1000
                    ),
                    None,
                )
                if match is None:
                    keep.append(row)
                    continue
                mine.remove(match)
                self.write.links[match[0]] = row[0]
                report.relinked += 1
            incoming[card_id] = keep
            if not keep:
                del incoming[card_id]
        if self.plan is not None:  # the scan has no memory state (`data`): read these whole
            from dlcards.anki.sync.collection import read_cards_by_id

            ids = {self.card_of[c].cid: c for c in set(incoming) | set(outgoing)}
            for card in read_cards_by_id(self.col, ids):
                self.card_of[ids[card.cid]] = card
        states = self.store.states(set(incoming) | set(outgoing))
        self._replayed = self._replay_merged(incoming)
        for card_id in sorted(set(incoming) | set(outgoing)):
            ins, outs = incoming.get(card_id, []), outgoing.get(card_id, [])
            card = self.card_of[card_id]
            for review_id, entry in outs:
                if review_id in links and not taken.has(links[review_id], anki_only=True):
                    rid = links[review_id]  # the id it has in the other Anki collections
                else:
                    rid = int(entry.time.timestamp() * 1000)
                    while taken.has(rid):
                        rid += 1
                    self.write.links[review_id] = rid
                taken.add(rid)
                self.revlog_rows.append(
                    (
                        rid,
                        card.cid,
                        -1,
                        int(entry.rating),
                        _revlog_ivl(entry.after, entry.time),
                        _revlog_ivl(entry.before, entry.time) if entry.before.phase != "new" else 0,
                        round((entry.after.difficulty or 0) * 100),
                        min(int(entry.duration_ms), 60_000),
                        REVLOG_TYPE.get(entry.kind, 1),
                    )
                )
            report.reviews_out += len(outs)
            report.reviews_in += len(ins)
            if ins:
                state = self._merge_in(card_id, ins, card, both=bool(outs))
                if outs:
                    report.merged += 1
                    self._to_anki(card, state)
            else:
                state = states.get(card_id) or CardState(card_id=card_id)
                self._to_anki(card, state)

    def _replay_merged(
        self, incoming: dict[str, list[tuple[int, int, int, int]]]
    ) -> dict[str, tuple[CardState, list[ReviewEntry | None], dict[int, int]]]:
        """Every card with new Anki rows: its dlcards history (one read) merged with them, all
        replayed at once (`dlcards.review.batch.replay_batch`: the same states as
        `Scheduler.replay` card by card), memory states as Anki's `compute_memory_state` gives
        them now (`anki_days`). Card id -> (state, entries, {index of an Anki row: revlog id})."""
        from dlcards.review.anki_days import next_day_at
        from dlcards.review.batch import replay_batch

        if not incoming:
            return {}
        existing: dict[str, list[ReviewEntry]] = {}
        for entry in self.store.reviews(sorted(incoming)):
            existing.setdefault(entry.card_id, []).append(entry)
        histories: dict[str, list[tuple[datetime, Rating, int]]] = {}
        anki_rows: dict[str, dict[int, int]] = {}
        for card_id, rows in incoming.items():
            merged: list[tuple[datetime, Rating, int, int | None]] = [
                (e.time, e.rating, e.duration_ms, None) for e in existing.get(card_id, [])
            ]
            merged += [
                (datetime.fromtimestamp(rid / 1000, UTC), Rating(ease), max(taken, 0), rid)
                for rid, ease, taken, _ in rows
            ]
            merged.sort(key=lambda m: m[0])
            histories[card_id] = [(t, rating, ms) for t, rating, ms, _ in merged]
            anki_rows[card_id] = {i: m[3] for i, m in enumerate(merged) if m[3] is not None}
        replayed = replay_batch(
            self.inp.scheduler,
            histories,
            cutoff=next_day_at(self.inp.now, self.inp.calendar),
            wanted=anki_rows,
        )
        return {cid: (*replayed[cid], anki_rows[cid]) for cid in replayed}

    def _merge_in(
        self, card_id: str, rows: list[tuple[int, int, int, int]], card: AnkiCardRow, *, both: bool
    ) -> CardState:
        """Append Anki's new rows to the card's history; its state from the merged replay (or
        Anki's own schedule when dlcards has no new answer of its own)."""
        from dlcards.anki.reader import as_imported

        state, entries, anki_rows = self._replayed[card_id]
        for i, rid in anki_rows.items():
            entry = entries[i]
            assert entry is not None
            self.write.reviews.append(as_imported(entry, rid))
        if not both:  # answered only in Anki: Anki's schedule is the one
            state = state_from_anki(card, state, self.days, self.inp.settings)
        self.write.states.append(state)
        return state

    def _to_anki(self, card: AnkiCardRow, state: CardState) -> None:
        if self.inp.dry_run:
            return
        write_state_to_card(self._card(card.cid), state, self.days, self.inp.settings)


_PART = 2_000  # cards per part of the reviews step
_PAGE = 50_000  # revlog rows per read


def _revlog_after(col: Any, after: int | None) -> Iterator[tuple[int, int, int, int, int]]:
    """Anki's review rows (id, cid, ease, time, type) with id above `after` (None: all), in id
    order, read a page at a time."""
    last = -(2**63) if after is None else after
    while True:
        page = col.db.all(
            "select id, cid, ease, time, type from revlog where id > ? order by id limit ?",
            last,
            _PAGE,
        )
        for rid, cid, ease, taken, rtype in page:
            yield int(rid), int(cid), int(ease), int(taken), int(rtype)
        if len(page) < _PAGE:
            return
        last = int(page[-1][0])


class _Taken:
    """Revlog ids a new row may not take: Anki's and the ones dlcards knows."""

    def has(self, rid: int, *, anki_only: bool = False) -> bool:
        raise NotImplementedError

    def add(self, rid: int) -> None:
        raise NotImplementedError


class _AllTaken(_Taken):
    """A full run: every id read (`anki_only`: only Anki's)."""

    def __init__(self, anki: set[int], known: set[int]):
        self.anki = anki
        self.ids = anki | known

    def has(self, rid: int, *, anki_only: bool = False) -> bool:
        return rid in (self.anki if anki_only else self.ids)

    def add(self, rid: int) -> None:
        self.ids.add(rid)


class _RangeTaken(_Taken):
    """An incremental run: the ids near the ones asked about, read a window at a time from
    Anki's revlog and the store (a day's answers need one or two small reads)."""

    WINDOW = 600_000  # ms: ten minutes of revlog ids per read

    def __init__(self, col: Any, store: Store):
        self.col, self.store = col, store
        self.ids: set[int] = set()
        self.windows: set[int] = set()

    def has(self, rid: int, *, anki_only: bool = False) -> bool:
        window = rid // self.WINDOW
        if window not in self.windows:
            self.windows.add(window)
            lo, hi = window * self.WINDOW, (window + 1) * self.WINDOW - 1
            self.ids.update(
                int(r)
                for r in self.col.db.list("select id from revlog where id between ? and ?", lo, hi)
            )
            conn = self.store.conn
            self.ids.update(
                int(r[0])
                for r in conn.execute(
                    "SELECT anki_revlog_id FROM review_log WHERE anki_revlog_id BETWEEN ?1 AND ?2 "
                    "UNION ALL SELECT revlog_id FROM sync_review_ids WHERE revlog_id BETWEEN ?1 AND ?2",
                    (lo, hi),
                )
            )
        return rid in self.ids

    def add(self, rid: int) -> None:
        self.has(rid)
        self.ids.add(rid)


# ---- shared with `dlcards import-anki` -----------------------------------------------------


def drop_own_reviews(plan: ImportPlan, store: Store) -> tuple[ImportPlan, int]:
    """`import-anki` and `sync` share one review identity: a revlog row whose id dlcards
    already knows (imported before, or a dlcards answer that `sync` wrote to Anki) is not a new
    review. Returns the plan without those rows and how many were dropped."""
    from dlcards.store.sync import known_revlog_ids

    known = known_revlog_ids(store)
    dropped = 0
    matched: dict[str, list[AnkiReview]] = {}
    for card_id, rows in plan.matched.items():
        keep = [r for r in rows if r.revlog_id not in known]
        dropped += len(rows) - len(keep)
        if keep:
            matched[card_id] = keep
    return replace(plan, matched=matched), dropped
