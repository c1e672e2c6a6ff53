"""One sync run (`run_sync`): the engine's steps in order (content, reviews and schedule,
flags, options) on the open Anki collection, then the dlcards side in ONE store transaction.
The steps live in `content`, `reviews` and `flags`; step 5 (deck options and new-card
positions) is here."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dlcards.anki.sync.content import _Content
from dlcards.anki.sync.desired import desired_notes
from dlcards.anki.sync.flags import _Flags
from dlcards.anki.sync.reviews import _Reviews
from dlcards.anki.sync.values import SyncInput, SyncReport

if TYPE_CHECKING:
    from dlcards.store import Store


def run_sync(col: Any, store: Store, inp: SyncInput) -> SyncReport:
    """One sync between an open Anki collection and the dlcards store (see the module doc)."""
    from dlcards.store.sync import SyncWrite, commit_sync

    started = time.perf_counter()
    report = SyncReport(target=inp.target, dry_run=inp.dry_run)
    write = SyncWrite(target=inp.target, now=inp.now)
    from dlcards.anki.options import curriculum_order

    order = curriculum_order(inp.notes)
    desired = desired_notes(inp.notes, inp.rendered, inp.display, order)
    engine = _Engine(col, store, inp, report, write, desired)
    engine.order = order
    steps = (engine.content, engine.reviews_and_schedule, engine.flags, engine.options)
    if inp.progress is not None:
        inp.progress.start(len(steps) + 1, "Syncing")
    for step in steps:
        step()
        if inp.progress is not None:
            inp.progress.advance()
    engine.flush_anki()
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
        """The dlcards deck-options preset on every deck root, new cards in curriculum order."""
        if self.inp.dry_run:
            return
        from dlcards.anki.options import apply_preset, set_new_positions

        self.flush_anki()  # the options code reads the collection
        roots = sorted({d.note.deck for d in self.desired})
        if roots:
            apply_preset(self.col, roots, self.inp.settings)
        order = [(g, o) for g, o in self.order if g in self.anki]
        self.report.repositioned = set_new_positions(self.col, order)
