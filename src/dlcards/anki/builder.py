"""`dlcards build`: collection -> one `.apkg` per deck root (or one for all).

Steps: decide which notes are valid (problems from `check` inside a note's lines exclude it;
a problem outside every note excludes the whole file), render each valid note (through the
render cache), give new cards the curriculum order (week, file, position), and write the
packages with their media. Nothing here prints; the command reports the `BuildResult`.

No churn: each note carries the time its content last changed (`dlcards.store.anki_notes`),
not the build time, and no per-build tag, so re-importing an unchanged note is a no-op in Anki
("unchanged"), and the learner's tags, `marked`/`leech` and Anki-side edits stay. Notes the
store knows are gone from the Markdown (all their cards orphans) are exported once more,
tagged `dlcards::deleted`, into `<root>::Orphaned`: the one search that finds deleted cards.

The parts: `build_plan` (valid notes, rendering, packages planned, modification times and
orphans), `build_write` (the `.apkg` files and the `BuildResult`), `build_reuse` (the manifest
and `quick_build`). This module runs them in order (`build`) and re-exports their public names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dlcards.anki.build_plan import (
    PlannedPackage,
    curriculum_key,
    plan_packages,
    render_all,
    split_valid,
    stamp_notes,
)
from dlcards.anki.build_reuse import (
    MANIFEST_SCHEMA,
    Manifest,
    _save_manifest,
    inputs_key,
    manifest_file,
    quick_build,
)
from dlcards.anki.build_write import (
    FILENAME_UNSAFE_RE,
    SINGLE_NAME,
    BuildResult,
    PackageInfo,
    package_filename,
    write_packages,
)
from dlcards.anki.rendercache import RenderCache
from dlcards.core.errors import Problem, sort_problems
from dlcards.system.decks import Decks

if TYPE_CHECKING:
    from dlcards.store import Store

# (`Manifest` and `PlannedPackage` stay importable here: manifests pickled before the split
# name them `dlcards.anki.builder.*`)
__all__ = [
    "FILENAME_UNSAFE_RE",
    "MANIFEST_SCHEMA",
    "SINGLE_NAME",
    "BuildResult",
    "Manifest",
    "PackageInfo",
    "PlannedPackage",
    "build",
    "curriculum_key",
    "inputs_key",
    "manifest_file",
    "package_filename",
    "plan_packages",
    "quick_build",
    "render_all",
    "split_valid",
    "stamp_notes",
    "write_packages",
]


def build(
    col: Decks,
    problems: list[Problem],
    out_dir: Path,
    *,
    when: datetime,
    single: bool = False,
    skip_invalid: bool = False,
    cache_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    store: Store | None = None,
) -> BuildResult:
    """Build the packages. Writes nothing when a note has errors, unless `skip_invalid`.

    With a `cache_path`, rendered HTML is reused per note, and a clean build (no errors)
    leaves a manifest that `quick_build` reuses while no input changes. `store` keeps the
    notes' modification times (default: the review database in the state folder).
    """
    valid, invalid, errors = split_valid(col, problems)
    if progress is not None and invalid:
        progress(len(invalid))  # not rendered, but counted in the progress bar's total
    cache = RenderCache(cache_path)
    rendered, render_problems = render_all(col, valid, cache, progress)
    cache.save()
    if render_problems:
        bad_ids = {n.id for n in valid if rendered[n.id].problems}
        invalid += [n for n in valid if n.id in bad_ids]
        valid = [n for n in valid if n.id not in bad_ids]
        errors = errors + render_problems
    result = BuildResult(
        problems=sort_problems(errors),
        skipped=invalid,
        rendered=cache.misses,
        cached=cache.hits,
    )
    if errors and not skip_invalid:
        return result
    planned = plan_packages(valid, rendered, single=single)
    if store is None:
        from dlcards.store import Store

        with Store.open() as own:
            result.changed, result.orphaned = stamp_notes(own, col, planned, when, single)
    else:
        result.changed, result.orphaned = stamp_notes(store, col, planned, when, single)
    result.packages = write_packages(planned, out_dir, when)
    result.written = True
    if cache_path is not None and not errors:
        key = inputs_key(
            col.root,
            [(f.rel, f.snapshot.digest) for f in col.files],
            col.settings.model_dump_json(),
            single,
        )
        _save_manifest(manifest_file(cache_path), Manifest(key, result.stamp, planned))
    return result
