"""Media referenced by cards: unique basenames for Anki's flat media folder.

Anki keeps every media file of a collection in one folder, by basename. Two decks with a
different `diagram.png` would overwrite each other, and an edited image with the same name
would not replace the old one on import. So each file is packed as `<hash>-<basename>`, with
the first 10 hex digits of its SHA-256: the same content always gets the same name, a
changed content a new one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

REMOTE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class MediaRef:
    """A local file packed into the .apkg under `name`."""

    name: str
    path: str  # absolute source path
    size: int
    mtime_ns: int

    def unchanged(self) -> bool:
        """Whether the file on disk still has the size and mtime seen when it was hashed."""
        try:
            st = Path(self.path).stat()
        except OSError:
            return False
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns


def is_remote(src: str) -> bool:
    """URLs (`https:`, `data:`, `//host`) are left alone; everything else is a local file."""
    return bool(REMOTE_RE.match(src)) and not re.match(r"^[A-Za-z]:[\\/]", src)


def packed_name(path: Path, data: bytes) -> str:
    stem = UNSAFE_RE.sub("_", path.name).strip("_") or "media"
    return f"{hashlib.sha256(data).hexdigest()[:10]}-{stem}"


def media_ref(path: Path) -> MediaRef:
    st = path.stat()
    data = path.read_bytes()
    return MediaRef(packed_name(path, data), str(path), st.st_size, st.st_mtime_ns)
