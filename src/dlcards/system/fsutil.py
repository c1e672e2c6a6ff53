"""File edges: read deck files with their digest, write them atomically and safely."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dlcards.core.errors import FileChangedError


@dataclass(frozen=True)
class FileSnapshot:
    """A file's bytes as read, and their digest (to refuse writing over a later change)."""

    path: Path
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_snapshot(path: Path) -> FileSnapshot:
    return FileSnapshot(path, path.read_bytes())


def write_atomic(snapshot: FileSnapshot, new_data: bytes) -> None:
    """Replace the file with `new_data` if it still holds `snapshot.data`, atomically.

    Writes a temporary file in the same folder, fsyncs it, keeps the file's mode, and renames it
    over the original. Raises FileChangedError (and writes nothing) if the file changed on disk.
    """
    path = snapshot.path
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        raise FileChangedError(f"{path} was deleted since it was read; nothing written") from None
    if current != snapshot.data:
        raise FileChangedError(
            f"{path} changed on disk since it was read; nothing written",
            hint="run the command again",
        )
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(new_data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a temporary file in the same folder, then a rename
    (readers see the old or the new file, never half of one). Creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_cache(path: Path, data: bytes) -> None:
    """`replace_file` for caches: one that cannot be written only costs time, so OSError is
    ignored."""
    with contextlib.suppress(OSError):
        replace_file(path, data)
