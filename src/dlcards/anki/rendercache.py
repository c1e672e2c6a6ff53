"""A cache of rendered note HTML, keyed by the hash of what the HTML depends on.

Rendering (markdown-it + Pygments) is most of a build's own time, and most notes do not
change between builds. One slot of `system.cache` per collection (`cache/anki/<tag>.pickle`:
the code fingerprint and the schema in its header); entries not used by a build are dropped
when it saves, so the file tracks the collection's size. A damaged, unreadable or outdated
slot is only a miss, as is a note whose media changed on disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dlcards.anki.html import RENDER_VERSION, RenderedNote
from dlcards.core.model import Note
from dlcards.system.cache import Cache, Schema, complete

# {"entries": {note_key: RenderedNote}}, pickled
RENDER_SCHEMA = Schema("anki-render", RENDER_VERSION)


def cache_file(state: Path, root: Path) -> Path:
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return state / "cache" / "anki" / f"{tag}.pickle"


def note_key(note: Note, base: str) -> str:
    """What the HTML depends on: the note's text (its parser content hash), kind and folder."""
    return f"{RENDER_VERSION}\0{note.kind}\0{base}\0{note.content_hash}\0{len(note.question)}"


def _valid(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return False
    entries = data["entries"]
    return all(isinstance(v, RenderedNote) for v in entries.values()) and complete(entries, 2)


class RenderCache:
    def __init__(self, path: Path | None):
        self.path = path
        self._old: dict[str, RenderedNote] = {}
        self._new: dict[str, RenderedNote] = {}
        self.hits = 0
        self.misses = 0
        self._cache: Cache[dict[str, Any]] | None = None
        if path is not None:
            self._cache = Cache(RENDER_SCHEMA, _valid, folder=path.parent)
            data = self._cache.get(self._cache.key(), slot=path.stem)
            self._old = data["entries"] if data is not None else {}

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
        if self._cache is None or self.path is None:
            return
        if self._new.keys() == self._old.keys() and self.misses == 0:
            return
        self._cache.put(self._cache.key(), {"entries": self._new}, slot=self.path.stem)
