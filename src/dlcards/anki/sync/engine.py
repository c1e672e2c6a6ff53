"""One sync run (`run_sync`): the engine's steps in order (content, reviews and schedule,
flags, options) on the open Anki collection, then the dlcards side in ONE store transaction.
The steps live in `content`, `reviews` and `flags`; step 5 (deck options and new-card
positions) is here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dlcards.anki.sync.content import _Content
from dlcards.anki.sync.desired import desired_notes
from dlcards.anki.sync.flags import _Flags
from dlcards.anki.sync.reviews import _Reviews
from dlcards.anki.sync.values import SyncInput, SyncReport

if TYPE_CHECKING:
    from dlcards.store import Store


def run_sync(col: Any, store: Store, inp: SyncInput) -> SyncReport:
    """One sync between an open Anki collection and the dlcards store (see the module doc):
    incremental when the last sync's cursor holds (`incremental.plan`), else full.

    The cyclic garbage collector is paused meanwhile: a first sync makes millions of small
    objects, none in a cycle (reference counts free them), and with the collector on, every
    part of the reviews step paid for a pass over the million revlog rows kept for Anki."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        return _run_sync(col, store, inp)
    finally:
        if was:
            gc.enable()


def _run_sync(col: Any, store: Store, inp: SyncInput) -> SyncReport:
    from dlcards.anki.sync.collection import _our_notetypes
    from dlcards.anki.sync.incremental import new_cursor, plan
    from dlcards.store.sync import SyncWrite, commit_sync

    started = time.perf_counter()
    report = SyncReport(target=inp.target, dry_run=inp.dry_run)
    write = SyncWrite(target=inp.target, now=inp.now)
    found = plan(col, store, inp, _our_notetypes(col))
    report.timings["plan"] = time.perf_counter() - started
    if isinstance(found, str):
        report.mode, report.why = "full", found
        inp.ensure_loaded()
        from dlcards.anki.options import curriculum_order

        t0 = time.perf_counter()
        order = curriculum_order(inp.notes)
        desired = desired_notes(inp.notes, inp.rendered, inp.display, order)
        report.timings["desired"] = time.perf_counter() - t0
        engine = _Engine(col, store, inp, report, write, desired)
        engine.order = order
        engine.load_notes()
        steps: tuple[Callable[[], None], ...] = (
            engine.content,
            engine.reviews_and_schedule,
            engine.flags,
            engine.options,
        )
        the_plan = None
    else:
        report.mode, report.why = "incremental", "the last sync's cursor holds"
        # the content step is skipped: what it found last time holds (the same Markdown, the
        # same notes in Anki), so its open conflicts and warnings are reported again
        from dlcards.anki.sync.values import Conflict

        report.conflicts = [Conflict(**c) for c in found.conflicts]
        report.warnings = list(found.warnings)
        the_plan = found
        engine = _Engine(col, store, inp, report, write, [])
        engine.plan = found
        engine.card_of, engine.guid_of_card, engine.anki = (
            found.card_of,
            found.guid_of_card,
            found.anki,
        )
        steps = (engine.reviews_and_schedule, engine.flags, engine.options)
    if inp.progress is not None:
        inp.progress.start(len(steps) + 1, "Syncing")
    for step in steps:
        t0 = time.perf_counter()
        step()
        report.timings[step.__name__] = time.perf_counter() - t0
        if inp.progress is not None:
            inp.progress.advance()
    engine.flush_anki()
    if not inp.dry_run:
        write.cursor = new_cursor(col, engine, inp, the_plan)
    if inp.progress is not None:
        inp.progress.advance()
    report.seconds = time.perf_counter() - started
    write.summary = report.to_dict()
    if not inp.dry_run:
        if inp.pause is not None:
            inp.pause("anki-written")
        commit_sync(store, write)
    report.seconds = time.perf_counter() - started
    return report


class _Engine(_Content, _Reviews, _Flags):
    """The steps together, over the shared state of `base._EngineBase`."""

    # -- 5. options and positions --

    def options(self) -> None:
        """The dlcards deck-options preset on every deck root, new cards in curriculum order
        (each note's cards at its curriculum position: answering a card moves no other)."""
        if self.inp.dry_run:
            return
        from dlcards.anki.options import apply_preset
        from dlcards.anki.sync.incremental import new_card_positions

        self.flush_anki()  # the options code reads the collection
        plan = self.plan
        if plan is None:
            roots = sorted({d.note.deck for d in self.desired})
            by_guid = self.by_guid

            def want(guid: str, dlc: str) -> int | None:
                d = by_guid.get(guid)
                return None if d is None else int(d.position)

        else:
            roots = list(plan.cursor.get("roots") or [])
            positions: dict[str, int] = plan.positions

            def want(guid: str, dlc: str) -> int | None:
                return positions.get(dlc)

        if roots:
            apply_preset(self.col, roots, self.inp.settings)
        moves = new_card_positions(self.col, self.mids, want)
        if moves:
            col = self.col
            stamp, usn = int(time.time()), int(col.usn())
            rows = [(pos, stamp, usn, cid) for cid, pos in moves]
            col.db.transact(
                lambda: col.db.executemany(
                    "update cards set due = ?, mod = ?, usn = ? "
                    "where id = ? and type = 0 and odid = 0",
                    rows,
                )
            )
        self.report.repositioned = len(moves)
