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
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dlcards.anki.html import RenderedNote, render_note
from dlcards.anki.media import MediaRef
from dlcards.anki.notetypes import (
    DELETED_TAG,
    ORPHAN_DECK,
    AnkiNote,
    anki_fields,
    deck_name,
    note_tags,
    source_text,
)
from dlcards.anki.rendercache import RenderCache, note_key
from dlcards.core.errors import Problem, SourceLocation, sort_problems
from dlcards.core.model import Note
from dlcards.system.cache import Cache, Schema, instance_of
from dlcards.system.decks import Decks

if TYPE_CHECKING:
    from dlcards.store import Store

SINGLE_NAME = "dlcards"
FILENAME_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class PackageInfo:
    path: Path
    root: str  # deck root ("" for a single package)
    notes: int
    cards: int
    media: int


@dataclass
class BuildResult:
    packages: list[PackageInfo] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # errors that exclude notes
    skipped: list[Note] = field(default_factory=list)
    rendered: int = 0
    cached: int = 0
    stamp: str = ""  # (no build tag any more; kept empty for callers that print it)
    written: bool = False
    reused: bool = False  # nothing changed: the previous build's notes were written again
    changed: int = 0  # notes whose content changed since the last build (Anki will update them)
    orphaned: int = 0  # notes exported tagged dlcards::deleted (their cards left the Markdown)

    @property
    def notes(self) -> int:
        return sum(p.notes for p in self.packages)

    @property
    def cards(self) -> int:
        return sum(p.cards for p in self.packages)


def package_filename(root: str) -> str:
    return (FILENAME_UNSAFE_RE.sub("-", root).strip("-.") or SINGLE_NAME) + ".apkg"


def curriculum_key(note: Note) -> tuple[int, int, str, int]:
    week = note.meta.week
    return (week is None, week or 0, note.path, note.index)


def split_valid(
    col: Decks, problems: list[Problem]
) -> tuple[list[Note], list[Note], list[Problem]]:
    """(valid notes, invalid notes, the errors that make them so)."""
    rel_of = {f.display: f.rel for f in col.files}
    rel_of.update({f.rel: f.rel for f in col.files})
    by_file: dict[str, list[Note]] = {}
    for note in col.notes:
        by_file.setdefault(note.path, []).append(note)
    bad: set[tuple[str, int]] = set()
    errors = [p for p in problems if p.severity == "error"]
    for p in errors:
        rel = rel_of.get(p.location.path)
        if rel is None:
            continue
        inside = [n for n in by_file.get(rel, []) if n.line <= p.location.line <= n.end_line]
        for n in inside or by_file.get(rel, []):
            bad.add((n.path, n.line))
    valid = [n for n in col.notes if (n.path, n.line) not in bad]
    invalid = [n for n in col.notes if (n.path, n.line) in bad]
    return valid, invalid, errors


def render_all(
    col: Decks,
    notes: list[Note],
    cache: RenderCache,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, RenderedNote], list[Problem]]:
    """Rendered HTML per note id, and the problems rendering found (missing media)."""
    out: dict[str, RenderedNote] = {}
    problems: list[Problem] = []
    bases: dict[str, tuple[Path, str]] = {}
    for note in notes:
        folder = bases.get(note.path)
        if folder is None:
            base = (col.root / note.path).parent
            folder = bases[note.path] = (base, str(base))
        base = folder[0]
        key = note_key(note, folder[1])
        rendered = cache.get(key)
        if rendered is None:
            rendered = render_note(note, base)
            cache.put(key, rendered)
        out[note.id] = rendered
        for line, message, hint in rendered.problems:
            problems.append(
                Problem(
                    SourceLocation(col.display_path(note.path), line),
                    "error",
                    "export-media",
                    message,
                    hint,
                )
            )
        if progress is not None:
            progress(1)
    return out, problems


@dataclass
class PlannedPackage:
    """One .apkg to write: its deck root, notes and media."""

    root: str
    notes: list[AnkiNote]
    media: list[MediaRef]
    model_mtimes: dict[int, int] = field(default_factory=dict)  # note type id -> mtime

    @property
    def cards(self) -> int:
        return sum(len(n.ords) for n in self.notes)


def plan_packages(
    valid: list[Note], rendered: dict[str, RenderedNote], *, single: bool
) -> list[PlannedPackage]:
    """Group the valid notes into packages, in curriculum order, with their Anki fields."""
    valid = sorted(valid, key=curriculum_key)
    groups: dict[str, list[Note]] = {}
    for note in valid:
        groups.setdefault("" if single else note.deck, []).append(note)
    from dlcards.anki.options import note_positions

    # new cards' positions: the review session's order, `requires` included
    position = note_positions(valid)
    planned = []
    for root in sorted(groups):
        media: dict[str, MediaRef] = {}
        anki_notes = []
        for note in groups[root]:
            r = rendered[note.id]
            for ref in r.media:
                media.setdefault(ref.name, ref)
            ords = (0,) if note.kind == "basic" else tuple(n - 1 for n in note.numbers)
            anki_notes.append(
                AnkiNote(
                    note_id=note.id,
                    kind=note.kind,
                    fields=anki_fields(note, r.fields, source_text(note.path)),
                    tags=note_tags(note),
                    deck=deck_name(note),
                    due=position[note.id],
                    ords=ords,
                )
            )
        planned.append(PlannedPackage(root, anki_notes, list(media.values())))
    return planned


def write_packages(
    planned: list[PlannedPackage], out_dir: Path, when: datetime
) -> list[PackageInfo]:
    from dlcards.anki.notetypes import write_package

    out_dir.mkdir(parents=True, exist_ok=True)
    infos = []
    with tempfile.TemporaryDirectory(prefix="dlcards-media-") as staging:
        for pkg in planned:
            files = [_stage(ref, Path(staging)) for ref in pkg.media]
            path = out_dir / package_filename(pkg.root or SINGLE_NAME)
            write_package(pkg.notes, files, str(path), when, pkg.model_mtimes or None)
            infos.append(PackageInfo(path, pkg.root, len(pkg.notes), pkg.cards, len(files)))
    return infos


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


# -- whole-build reuse ---------------------------------------------------------------------------
# A rebuild with no change at all (same files, settings, options, media, dlcards version) does
# not need to parse, check or render anything: the previous build's Anki notes are written
# again with the new build time and build tag. Any difference, or any doubt, takes the full path.


@dataclass
class Manifest:
    key: str
    stamp: str
    packages: list[PlannedPackage]


def manifest_file(cache_path: Path) -> Path:
    return cache_path.with_suffix(".build.pickle")


def inputs_key(root: Path, files: list[tuple[str, str]], settings_json: str, single: bool) -> str:
    """What a build's output depends on, hashed: versions, settings, options, file contents."""
    import hashlib

    from dlcards import __version__
    from dlcards.anki.html import RENDER_VERSION
    from dlcards.core import parse

    h = hashlib.sha256()
    for part in (
        __version__,
        parse.PARSER_VERSION,
        RENDER_VERSION,
        str(root),
        settings_json,
        str(single),
    ):
        h.update(part.encode("utf-8") + b"\0")
    for rel, digest in sorted(files):
        h.update(f"{rel}\0{digest}\0".encode())
    return h.hexdigest()


# the previous build's Anki notes, one `system.cache` slot per collection beside the render
# cache; the slot's header holds the inputs key, so a build whose inputs changed compares it
# without unpickling every note of the previous build (a few MB for 10k cards)
MANIFEST_SCHEMA = Schema("anki-build", "1")


def _manifest_cache(path: Path) -> Cache[Manifest]:
    return Cache(MANIFEST_SCHEMA, instance_of(Manifest), folder=path.parent)


def _slot(path: Path) -> str:
    return path.name.removesuffix(".pickle")


def _save_manifest(path: Path, manifest: Manifest) -> None:
    _manifest_cache(path).put(manifest.key, manifest, slot=_slot(path))


def quick_build(
    root: Path,
    deck_files: list[Path],
    out_dir: Path,
    *,
    when: datetime,
    single: bool,
    cache_path: Path,
) -> BuildResult | None:
    """Rewrite the previous build when nothing changed; None when anything did (or may have)."""
    import hashlib

    from dlcards.system.config import load_settings

    path = manifest_file(cache_path)
    if not path.is_file():
        return None
    try:
        files = [
            (p.relative_to(root).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in deck_files
        ]
        key = inputs_key(root, files, load_settings(root).model_dump_json(), single)
        manifest = _manifest_cache(path).get(key, slot=_slot(path))
        if manifest is None or manifest.key != key:
            return None
        if not all(ref.unchanged() for pkg in manifest.packages for ref in pkg.media):
            return None
    except Exception:  # unreadable file, damaged manifest, path outside root: the full path decides
        return None
    # the notes keep their modification times: nothing changed, Anki updates nothing
    packages = manifest.packages
    result = BuildResult(cached=sum(len(p.notes) for p in packages))
    result.packages = write_packages(packages, out_dir, when)
    result.written = True
    result.reused = True
    return result


# -- modification times and orphans ---------------------------------------------------------------


def stamp_notes(
    store: Store, col: Decks, planned: list[PlannedPackage], when: datetime, single: bool
) -> tuple[int, int]:
    """Give every planned note the time its content last changed, and the note types theirs;
    add the notes whose cards the store knows are gone (tagged, into `<root>::Orphaned`).
    A build of the whole collection first tells the store which cards the Markdown has.
    Returns (notes changed since the last build, notes orphaned)."""
    from dlcards.anki.notetypes import model_digests
    from dlcards.store import card_infos
    from dlcards.store.anki_notes import ExportedNote, note_mtimes, notetype_mtimes, orphaned_notes
    from dlcards.system.paths import deck_files

    now = int(when.timestamp())
    if {f.rel for f in col.files} == {
        p.relative_to(col.root).as_posix() for p in deck_files(col.root, None)
    }:
        store.sync_cards(card_infos(col.notes), when)
    built = {n.note_id for pkg in planned for n in pkg.notes}
    orphans = orphaned_notes(store, exclude=built)
    last_due = max((n.due for pkg in planned for n in pkg.notes), default=0)
    by_root = {pkg.root: pkg for pkg in planned}
    for i, o in enumerate(orphans, start=1):
        root = "" if single else o.root
        pkg = by_root.get(root)
        if pkg is None:
            pkg = by_root[root] = PlannedPackage(root, [], [])
            planned.append(pkg)
        tags = o.tags if DELETED_TAG in o.tags else (*o.tags, DELETED_TAG)
        pkg.notes.append(
            AnkiNote(
                o.note_id, o.kind, o.fields, tags, f"{o.root}::{ORPHAN_DECK}", last_due + i, o.ords
            )
        )
    planned.sort(key=lambda p: p.root)
    roots = {n.id: n.deck for n in col.notes} | {o.note_id: o.root for o in orphans}
    exported = [
        ExportedNote(n.note_id, n.kind, roots[n.note_id], n.digest, n.fields, n.tags, n.ords)
        for pkg in planned
        for n in pkg.notes
    ]
    times = note_mtimes(store, exported, now)
    model_mtimes = notetype_mtimes(store, model_digests(), now)
    mt = times.mtimes
    for pkg in planned:
        pkg.notes = [
            AnkiNote(n.note_id, n.kind, n.fields, n.tags, n.deck, n.due, n.ords, mt[n.note_id])
            for n in pkg.notes
        ]
        pkg.model_mtimes = dict(model_mtimes)
    return len(times.changed), len(orphans)


def _stage(ref: MediaRef, staging: Path) -> str:
    """A path whose basename is the packed name (genanki packs files by basename)."""
    target = staging / ref.name
    if not target.exists():
        try:
            os.link(ref.path, target)
        except OSError:
            shutil.copyfile(ref.path, target)
    return str(target)
