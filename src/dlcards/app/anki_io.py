"""Anki both ways, wired to a collection: `import-anki` (reviews done in Anki merged into the
store, states recomputed by the collection's scheduler) and `build` (the decks checked, then
written as .apkg packages; a no-change build rewrites the previous one without parsing).
The Anki work itself is `dlcards.anki`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlcards.anki.builder import BuildResult
    from dlcards.anki.reader import ImportPlan, MergeResult
    from dlcards.app.collection import Collection
    from dlcards.app.verify import Progress


def import_anki(
    collection: Collection, path: Path, *, dry_run: bool = False, progress: Progress | None = None
) -> tuple[MergeResult, ImportPlan]:
    """Merge the review history of the Anki collection at `path` into the store. A dry run
    writes nothing (and creates no database)."""
    from dlcards.anki.reader import MergeResult, merge_into_store, plan_import, read_anki_reviews
    from dlcards.anki.sync import drop_own_reviews

    rows = read_anki_reviews(path)
    plan = plan_import(rows, collection.notes)
    scheduler = collection.scheduler
    now = collection.now()
    if dry_run:
        if collection.has_store():
            # the review identity `dlcards sync` shares: answers it wrote to Anki are not new
            plan, own = drop_own_reviews(plan, collection.store)
            result = merge_into_store(collection.store, scheduler, plan, now=now, dry_run=True)
            result.duplicates += own
        else:
            result = MergeResult(imported=plan.matched_rows, cards=sorted(plan.matched))
        return result, plan
    collection.take_lease("import-anki")  # one writer at a time: no review open meanwhile
    collection.daily_backup()
    # the store learns the cards as the review does (so imported ones are not orphans)
    collection.sync_cards(now)
    plan, own = drop_own_reviews(plan, collection.store)
    result = merge_into_store(collection.store, scheduler, plan, now=now, progress=progress)
    result.duplicates += own
    return result, plan


def build(
    collection: Collection,
    out_dir: Path | None = None,
    *,
    when: datetime | None = None,
    single: bool = False,
    skip_invalid: bool = False,
    no_cache: bool = False,
    progress: Callable[[int], None] | None = None,
) -> BuildResult:
    """Check the decks (no code runs) and write the packages to `out_dir` (default build/ in
    the collection). Lint is the caller's choice when opening (a build passes lint=False)."""
    from dlcards.anki.builder import build as write_build
    from dlcards.anki.rendercache import cache_file
    from dlcards.system.paths import state_dir

    problems = collection.verify(no_exec=True, no_cache=no_cache)
    target = out_dir if out_dir is not None else collection.root / "build"
    return write_build(
        collection.decks,
        problems,
        target,
        when=when if when is not None else collection.now(),
        single=single,
        skip_invalid=skip_invalid,
        cache_path=None if no_cache else cache_file(state_dir(), collection.root),
        progress=progress,
        store=collection.store,
    )


def reuse_previous_build(
    root: Path | None,
    paths: list[Path] | None,
    out_dir: Path | None,
    *,
    single: bool,
    when: datetime,
    cwd: Path | None = None,
) -> BuildResult | None:
    """The previous build written again, if no input changed at all; else None (then the
    caller opens the collection and builds). Reads no deck file's Markdown structure."""
    from dlcards.anki.builder import quick_build
    from dlcards.anki.rendercache import cache_file
    from dlcards.app.collection import locate_root
    from dlcards.core.errors import DlcardsError
    from dlcards.system.paths import deck_files, state_dir

    try:
        found = locate_root(root, cwd=cwd)
    except DlcardsError:  # the full path reports it properly
        return None
    if found is None:
        return None
    try:
        files = deck_files(found, paths or None)
    except Exception:  # the full path reports it properly
        return None
    target = out_dir if out_dir is not None else found / "build"
    return quick_build(
        found, files, target, when=when, single=single, cache_path=cache_file(state_dir(), found)
    )
