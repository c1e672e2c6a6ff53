"""The sync engine's state, shared by its steps (`content`, `reviews`, `flags`): what the
Markdown wants, what Anki and the last sync had, and the pending writes on both sides, with
`flush_anki`, the one place Anki's notes, cards and revlog are written."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dlcards.anki.sync.collection import (
    LAST_SYNC_KEY,
    AnkiCardRow,
    AnkiNoteRow,
    _our_notetypes,
    read_notes,
)
from dlcards.anki.sync.desired import Desired
from dlcards.anki.sync.schedule import DayMap

if TYPE_CHECKING:
    from dlcards.anki.sync.values import SyncInput, SyncReport
    from dlcards.store import Store

_REVLOG_PART = 20_000  # review log rows per call into Anki's backend


class _EngineBase:
    def __init__(
        self,
        col: Any,
        store: Store,
        inp: SyncInput,
        report: SyncReport,
        write: Any,
        desired: list[Desired],
    ):
        from dlcards.store.sync import synced_cards

        self.col = col
        self.store = store
        self.inp = inp
        self.report = report
        self.write = write
        self.desired = desired
        self.by_guid = {d.guid: d for d in desired}
        self.base_notes: dict[str, Any] = {}  # note id -> SyncedNote (full runs: `load_notes`)
        self.base_cards = synced_cards(store, inp.target)
        self.mids = _our_notetypes(col)
        self.anki: dict[str, AnkiNoteRow] = {}  # GUID -> note (incremental runs: tags = leech)
        self.note_updates: dict[int, Any] = {}  # nid -> anki Note (to flush)
        self.card_updates: dict[int, Any] = {}  # cid -> anki Card (to flush)
        self.revlog_rows: list[tuple[Any, ...]] = []
        # incremental runs: (id, cid, ease, type) of every revlog row written (the new cursor's
        # revlog checksums are the old ones plus these plus the rows after the old cursor)
        self.written_revlog: list[tuple[int, int, int, int]] = []
        self.deck_moves: dict[str, list[int]] = {}
        self.delete_nids: list[int] = []
        self.order: list[tuple[str, int]] = []  # (GUID, ordinal) in curriculum order
        self.cards: dict[int, list[AnkiCardRow]] = {}
        self.card_of: dict[str, AnkiCardRow] = {}  # dlcards card id -> Anki card
        self.guid_of_card: dict[str, str] = {}  # dlcards card id -> its note's GUID (not orphans)
        self.today = inp.calendar.study_day(inp.now)
        sched = col.sched
        self.days = DayMap(int(sched.today), self.today, int(sched.day_cutoff), inp.calendar)
        # incremental runs (`incremental.Plan`): what changed since the last sync's cursor
        self.plan: Any = None
        self.skip_cids: list[int] = []  # Anki cards of dlcards notes that are no dlcards card

    def load_notes(self) -> None:
        """What a full run compares: the last sync's notes and every dlcards note in Anki."""
        from dlcards.store.sync import synced_notes

        self.base_notes = synced_notes(self.store, self.inp.target)
        self.anki = read_notes(self.col, self.mids)

    # -- helpers --

    def _note(self, nid: int) -> Any:
        note = self.note_updates.get(nid)
        if note is None:
            note = self.note_updates[nid] = self.col.get_note(nid)
        return note

    def _card(self, cid: int) -> Any:
        card = self.card_updates.get(cid)
        if card is None:
            card = self.card_updates[cid] = self.col.get_card(cid)
        return card

    # -- writing Anki --

    def flush_anki(self) -> None:
        if self.inp.dry_run:
            return
        col = self.col
        if self.note_updates:
            col.update_notes(list(self.note_updates.values()))
            self.note_updates.clear()
        if self.card_updates:
            col.update_cards(list(self.card_updates.values()))
            self.card_updates.clear()
        if self.revlog_rows:
            rows = self.revlog_rows
            # one transaction for all of them: outside one, Anki's backend commits (and, at
            # synchronous=FULL, fsyncs) every row (1M reviews: minutes instead of seconds);
            # and the review log goes in whole or not at all
            # (sent in parts: the backend takes each call's rows as one JSON document)

            def insert() -> None:
                for i in range(0, len(rows), _REVLOG_PART):
                    col.db.executemany(
                        "insert or ignore into revlog (id, cid, usn, ease, ivl, lastIvl, "
                        "factor, time, type) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows[i : i + _REVLOG_PART],
                    )

            col.db.transact(insert)
            if self.plan is not None:
                self.written_revlog += [(r[0], r[1], r[3], r[8]) for r in rows]
            self.revlog_rows = []
        if self.delete_nids:
            col.remove_notes(self.delete_nids)
            self.delete_nids = []
        if self.report.changed:
            # raw revlog inserts do not mark the collection modified; this does (so it syncs)
            # (a value never written before: an unchanged value would not count)
            col.set_config(LAST_SYNC_KEY, time.time_ns())
