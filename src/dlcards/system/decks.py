"""The collection façade: find the collection, read and parse its deck files, assign ids.

This is where files are read (through a parse cache keyed by content hash) and where paths
are made presentable; parsing, identity and lint stay pure.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from dlcards.core.errors import CollectionError, Problem, SourceLocation, sort_problems
from dlcards.core.model import Card, DeckMeta, Note
from dlcards.core.parse import ParsedFile
from dlcards.system.config import Settings, load_settings
from dlcards.system.fsutil import FileSnapshot, read_snapshot, write_cache
from dlcards.system.paths import CONFIG_FILE, DECKS_DIR, deck_files, find_root, state_dir


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
class Collection:
    root: Path
    settings: Settings
    files: list[DeckFile]
    notes: list[Note]
    problems: list[Problem]
    writes: list  # identity.IdWrite planned by `fix`

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


def _cache_key(rel: str, deck: str, data: bytes) -> str:
    from dlcards.core import parse

    h = hashlib.sha256()
    h.update(f"{parse.PARSER_VERSION}\0{rel}\0{deck}\0".encode())
    h.update(data)
    return h.hexdigest()


def _parse_cached(
    rel: str, deck: str, snapshot: FileSnapshot, cache_dir: Path | None
) -> ParsedFile:
    key = _cache_key(rel, deck, snapshot.data)
    entry = cache_dir / key[:2] / f"{key}.pickle" if cache_dir else None
    if entry is not None and entry.is_file():
        try:
            with entry.open("rb") as fh:
                return pickle.load(fh)
        except Exception:  # a damaged cache entry is only a miss
            pass
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
    if entry is not None:
        write_cache(entry, pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
    return parsed


def open_collection(
    root: Path | None = None,
    paths: list[Path] | None = None,
    *,
    cwd: Path | None = None,
    use_cache: bool = True,
    lint: bool = True,
) -> Collection:
    """Read a collection (or the given files) into notes with effective ids and problems."""
    from dlcards.core.identity import assign_ids
    from dlcards.core.lint import lint_note

    cwd = (cwd or Path.cwd()).resolve()
    explicit_root = root is not None
    if root is not None:
        root = root.resolve()
        if not root.is_dir():
            raise CollectionError(
                f"{root}: no such folder", hint="pass an existing collection with -C PATH"
            )
    else:
        root = find_root(cwd)
    if root is None:
        if not paths:
            raise CollectionError(
                f"no dlcards collection in {cwd} or its parents (no decks/ folder or dlcards.toml)",
                hint="run `dlcards init` to create one, pass -C PATH, or name deck files",
            )
        root = cwd
    if (
        explicit_root
        and not paths
        and not (root / DECKS_DIR).is_dir()
        and not (root / CONFIG_FILE).is_file()
    ):
        raise CollectionError(
            f"{root} is not a dlcards collection (no decks/ folder)",
            hint="run `dlcards init` there first",
        )
    settings = load_settings(root)
    cache_dir = state_dir() / "cache" / "parse" if use_cache else None
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
            parsed = _parse_cached(rel, settings.deck, snapshot, cache_dir)
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
    return Collection(
        root, settings, files, identity.notes, sort_problems(problems), identity.writes
    )
