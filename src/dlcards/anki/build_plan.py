"""Planning a `dlcards build`: which notes are valid (`split_valid`), their HTML (`render_all`,
through the render cache), the packages to write in curriculum order (`plan_packages`), and
each planned note's modification time plus the orphans exported once more (`stamp_notes`).
Nothing here writes a package."""

from __future__ import annotations

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
from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.model import Note
from dlcards.system.decks import Decks

if TYPE_CHECKING:
    from dlcards.store import Store


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
