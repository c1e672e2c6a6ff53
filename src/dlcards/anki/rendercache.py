"""A cache of rendered note HTML, keyed by the hash of what the HTML depends on.

Rendering (markdown-it + Pygments) is most of a build's own time, and most notes do not
change between builds. One pickle per collection under `state_dir()/cache/anki/`; entries
not used by a build are dropped when it saves, so the file tracks the collection's size.
A damaged or unreadable cache is only a miss.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from dlcards.anki.html import RENDER_VERSION, RenderedNote
from dlcards.core.model import Note
from dlcards.system.fsutil import write_cache


def cache_file(state: Path, root: Path) -> Path:
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return state / "cache" / "anki" / f"{tag}.pickle"


def note_key(note: Note, base: str) -> str:
    """What the HTML depends on: the note's text (its parser content hash), kind and folder."""
    return f"{RENDER_VERSION}\0{note.kind}\0{base}\0{note.content_hash}\0{len(note.question)}"


class RenderCache:
    def __init__(self, path: Path | None):
        self.path = path
        self._old: dict[str, Any] = {}
        self._new: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0
        if path is not None and path.is_file():
            try:
                with path.open("rb") as fh:
                    data = pickle.load(fh)
                if isinstance(data, dict) and data.get("version") == RENDER_VERSION:
                    self._old = data["entries"]
            except Exception:  # a damaged cache entry is only a miss
                self._old = {}

    def get(self, key: str) -> RenderedNote | None:
        entry = self._old.get(key) or self._new.get(key)
        if entry is None or not all(ref.unchanged() for ref in entry.media):
            self.misses += 1
            return None
        self.hits += 1
        self._new[key] = entry
        return entry

    def put(self, key: str, rendered: RenderedNote) -> None:
        if not rendered.problems:  # notes with problems are rendered again next time
            self._new[key] = rendered

    def save(self) -> None:
        if self.path is None or (self._new.keys() == self._old.keys() and self.misses == 0):
            return
        write_cache(
            self.path,
            pickle.dumps(
                {"version": RENDER_VERSION, "entries": self._new}, protocol=pickle.HIGHEST_PROTOCOL
            ),
        )
