"""Steps 2 and 3 of a sync: every review exactly once in each direction (Anki revlog rows in,
dlcards answers out with recorded revlog ids, an interrupted sync's rows relinked) and one
schedule per card (Anki's, dlcards', or the merged history replayed). Also
`drop_own_reviews`, the same review identity for `dlcards import-anki`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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
        from dlcards.anki.reader import REVLOG_MANUAL, REVLOG_RESCHEDULED
        from dlcards.store.sync import known_revlog_ids, pending_reviews, review_links

        report = self.report
        cid_to_card = {c.cid: cid for cid, c in self.card_of.items()}
        all_ids = {int(r) for r in self.col.db.list("select id from revlog")}
        known = known_revlog_ids(self.store)
        links = review_links(self.store)
        rows = self.col.db.all("select id, cid, ease, time, type from revlog order by id")
        incoming: dict[str, list[tuple[int, int, int, int]]] = {}
        for rid, acid, ease, taken, rtype in rows:
            card_id = cid_to_card.get(int(acid))
            if card_id is None or int(rid) in known:
                continue
            if int(rtype) in (REVLOG_MANUAL, REVLOG_RESCHEDULED) or not 1 <= int(ease) <= 4:
                continue
            incoming.setdefault(card_id, []).append((int(rid), int(ease), int(taken), int(rtype)))
        outgoing: dict[str, list[tuple[int, ReviewEntry]]] = {}
        for review_id, entry in pending_reviews(self.store, all_ids):
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
        taken_ids = all_ids | known
        states = self.store.states(set(incoming) | set(outgoing))
        self._replayed = self._replay_merged(incoming)
        for card_id in sorted(set(incoming) | set(outgoing)):
            ins, outs = incoming.get(card_id, []), outgoing.get(card_id, [])
            card = self.card_of[card_id]
            for review_id, entry in outs:
                if review_id in links and links[review_id] not in all_ids:
                    rid = links[review_id]  # the id it has in the other Anki collections
                else:
                    rid = int(entry.time.timestamp() * 1000)
                    while rid in taken_ids:
                        rid += 1
                    self.write.links[review_id] = rid
                taken_ids.add(rid)
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
