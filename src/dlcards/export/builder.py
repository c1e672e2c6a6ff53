"""`dlcards build`: collection -> one `.apkg` per deck root (or one for all).

Steps: decide which notes are valid (problems from `check` inside a note's lines exclude it;
a problem outside every note excludes the whole file), render each valid note (through the
render cache), give new cards the curriculum order (week, file, position), and write the
packages with their media. Nothing here prints; the command reports the `BuildResult`.
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

from dlcards.collection import Collection
from dlcards.errors import Problem, SourceLocation, sort_problems
from dlcards.export.anki import AnkiNote, anki_fields, build_tag, deck_name, note_tags, source_text
from dlcards.export.cache import RenderCache, note_key
from dlcards.export.html import RenderedNote, render_note
from dlcards.export.media import MediaRef
from dlcards.model import Note

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
    stamp: str = ""
    written: bool = False

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


def split_valid(col: Collection, problems: list[Problem]) -> tuple[list[Note], list[Note], list[Problem]]:
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


def render_all(col: Collection, notes: list[Note], cache: RenderCache,
               progress: Callable[[int], None] | None = None) -> tuple[dict[str, RenderedNote], list[Problem]]:
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
            problems.append(Problem(SourceLocation(col.display_path(note.path), line), "error",
                                    "export-media", message, hint))
        if progress is not None:
            progress(1)
    return out, problems


def build(col: Collection, problems: list[Problem], out_dir: Path, *, when: datetime,
          single: bool = False, skip_invalid: bool = False, cache_path: Path | None = None,
          progress: Callable[[int], None] | None = None) -> BuildResult:
    """Build the packages. Writes nothing when a note has errors, unless `skip_invalid`."""
    valid, invalid, errors = split_valid(col, problems)
    cache = RenderCache(cache_path)
    rendered, render_problems = render_all(col, valid, cache, progress)
    cache.save()
    if render_problems:
        bad_ids = {n.id for n in valid if rendered[n.id].problems}
        invalid += [n for n in valid if n.id in bad_ids]
        valid = [n for n in valid if n.id not in bad_ids]
        errors = errors + render_problems
    result = BuildResult(problems=sort_problems(errors), skipped=invalid,
                         rendered=cache.misses, cached=cache.hits, stamp=build_tag(when))
    if errors and not skip_invalid:
        return result

    valid.sort(key=curriculum_key)
    groups: dict[str, list[Note]] = {}
    for note in valid:
        groups.setdefault("" if single else note.deck, []).append(note)
    out_dir.mkdir(parents=True, exist_ok=True)
    position = {n.id: i for i, n in enumerate(valid, start=1)}
    from dlcards.export.anki import write_package

    with tempfile.TemporaryDirectory(prefix="dlcards-media-") as staging:
        for root in sorted(groups):
            notes = groups[root]
            media: dict[str, MediaRef] = {}
            anki_notes = []
            cards = 0
            for note in notes:
                r = rendered[note.id]
                for ref in r.media:
                    media.setdefault(ref.name, ref)
                ords = (0,) if note.kind == "basic" else tuple(n - 1 for n in note.numbers)
                anki_notes.append(AnkiNote(
                    note_id=note.id, kind=note.kind,
                    fields=anki_fields(note, r.fields, source_text(note.path, note.line)),
                    tags=note_tags(note, result.stamp), deck=deck_name(note), due=position[note.id],
                    ords=ords))
                cards += len(ords)
            files = [_stage(ref, Path(staging)) for ref in media.values()]
            path = out_dir / package_filename(root or SINGLE_NAME)
            write_package(anki_notes, files, str(path), when)
            result.packages.append(PackageInfo(path, root, len(notes), cards, len(files)))
    result.written = True
    return result


def _stage(ref: MediaRef, staging: Path) -> str:
    """A path whose basename is the packed name (genanki packs files by basename)."""
    target = staging / ref.name
    if not target.exists():
        try:
            os.link(ref.path, target)
        except OSError:
            shutil.copyfile(ref.path, target)
    return str(target)
