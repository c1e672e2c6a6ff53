"""Reading a collection's deck files: read and parse them, assign ids, lint.

This is where files are read (through the parse cache, `system.cache`, keyed by content) and
where paths are made presentable; parsing, identity and lint stay pure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dlcards.core.errors import Problem, SourceLocation, sort_problems
from dlcards.core.model import Card, DeckMeta, Note
from dlcards.core.parse import ParsedFile
from dlcards.system.cache import Cache, Schema, instance_of
from dlcards.system.config import Settings, load_settings
from dlcards.system.fsutil import FileSnapshot, read_snapshot
from dlcards.system.paths import deck_files

if TYPE_CHECKING:
    from dlcards.core.identity import IdWrite


@dataclass
class DeckFile:
    rel: str  # relative to the collection root, '/'-separated (how cards remember their file)
    path: Path  # absolute
    display: str  # how messages name it (relative to the working folder when possible)
    snapshot: FileSnapshot
    meta_week: int | None = None
    meta_topic: str | None = None
    requires: list[str] = field(default_factory=list)


@dataclass
class Decks:
    """A collection's deck files as read: the parsed notes (with ids), the problems found, and
    the id writes `fix` would make."""

    root: Path
    settings: Settings
    files: list[DeckFile]
    notes: list[Note]
    problems: list[Problem]
    writes: list[IdWrite]  # planned by `fix`

    @property
    def cards(self) -> list[Card]:
        return [card for note in self.notes for card in note.cards()]

    def file(self, rel: str) -> DeckFile:
        for f in self.files:
            if f.rel == rel:
                return f
        raise KeyError(rel)

    def display_path(self, rel: str) -> str:
        for f in self.files:
            if f.rel == rel:
                return f.display
        return rel

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def display_path(path: Path, cwd: Path) -> str:
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# one pickled ParsedFile per file content (the parser's output, its notes and problems)
PARSE_SCHEMA = Schema("parse", "1")


def _parse_cache(enabled: bool) -> Cache[ParsedFile]:
    return Cache(PARSE_SCHEMA, instance_of(ParsedFile), enabled=enabled)


def _parse_cached(
    rel: str, deck: str, snapshot: FileSnapshot, cache: Cache[ParsedFile]
) -> ParsedFile:
    from dlcards.core import parse

    key = cache.key(parse.PARSER_VERSION, rel, deck, snapshot.data)
    hit = cache.get(key)
    if hit is not None and hit.path == rel:
        return hit
    from dlcards.core.parse import parse_text

    try:
        text = snapshot.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = snapshot.data[: exc.start].count(b"\n") + 1

        return ParsedFile(
            rel,
            DeckMeta(),
            [],
            [
                Problem(
                    SourceLocation(rel, line),
                    "error",
                    "not-utf8",
                    f"file is not valid UTF-8 (byte {exc.start})",
                    "save the file as UTF-8",
                )
            ],
        )
    parsed = parse_text(text, rel, deck)
    cache.put(key, parsed)
    return parsed


def read_decks(
    root: Path,
    paths: list[Path] | None = None,
    *,
    cwd: Path | None = None,
    settings: Settings | None = None,
    use_cache: bool = True,
    lint: bool = True,
) -> Decks:
    """Read the deck files of the collection at `root` (found by the caller:
    `dlcards.app.collection.locate_root`), or the given files, into notes with effective ids
    and problems. `settings` default to the collection's own."""
    from dlcards.core.identity import assign_ids
    from dlcards.core.lint import lint_note

    cwd = (cwd or Path.cwd()).resolve()
    root = root.resolve()
    if settings is None:
        settings = load_settings(root)
    cache = _parse_cache(use_cache)
    files: list[DeckFile] = []
    notes: list[Note] = []
    problems: list[Problem] = []
    for path in deck_files(root, paths):
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = Path(os.path.relpath(path, root)).as_posix()
        try:
            snapshot = read_snapshot(path)
        except OSError as exc:
            problems.append(
                Problem(
                    SourceLocation(display_path(path, cwd), 1),
                    "error",
                    "unreadable",
                    f"cannot read file: {exc.strerror}",
                )
            )
            continue
        display = display_path(path, cwd)
        try:
            parsed = _parse_cached(rel, settings.deck, snapshot, cache)
        except Exception as exc:  # an internal failure still names the file
            problems.append(
                Problem(
                    SourceLocation(display, 1),
                    "error",
                    "internal",
                    f"internal error while reading this file: {type(exc).__name__}: {exc}",
                    "please report this with the file attached",
                )
            )
            continue
        files.append(
            DeckFile(
                rel,
                path,
                display,
                snapshot,
                parsed.meta.week,
                parsed.meta.topic,
                list(parsed.meta.requires),
            )
        )
        notes.extend(parsed.notes)
        problems.extend(parsed.problems)
    identity = assign_ids(notes)
    problems.extend(identity.problems)
    if lint:
        for note in identity.notes:
            problems.extend(lint_note(note, settings.answer_word_limit))
    shown = {f.rel: f.display for f in files}
    problems = [
        p
        if p.location.path not in shown
        else Problem(
            SourceLocation(shown[p.location.path], p.location.line),
            p.severity,
            p.code,
            p.message,
            p.hint,
        )
        for p in problems
    ]
    return Decks(root, settings, files, identity.notes, sort_problems(problems), identity.writes)
