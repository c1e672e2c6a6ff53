"""File edges: read deck files with their digest, write them atomically and safely."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
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


RENAME_EXCHANGE = 2  # renameat2 flag (Linux 3.15+): swap two paths atomically
AT_FDCWD = -100


def write_atomic(snapshot: FileSnapshot, new_data: bytes) -> None:
    """Replace the file with `new_data` if it still holds `snapshot.data`, atomically.

    - A symlinked deck is written through: the link stays, its target gets the new bytes.
    - dlcards' own writers (fix, prune, undo) take an exclusive lock on the folder, so two of
      them never interleave; the file is compared with the snapshot under that lock.
    - The new bytes go to a temporary file in the same folder (fsynced, same mode), which is
      then *exchanged* with the file (`renameat2(RENAME_EXCHANGE)`): the old file lands at the
      temporary path and is compared once more. If an editor changed the file between the
      check and the exchange, the exchange is undone (the editor's version is back in place)
      and FileChangedError is raised: a change is never overwritten silently (issue 17 item 9).
      Where the kernel or file system cannot exchange, a hard link keeps the replaced file
      and the change is detected and its bytes kept next to the file (`.<name>.changed-*`).
    Raises FileChangedError (and leaves the file as it was) if the file changed on disk.
    """
    link = snapshot.path
    path = Path(os.path.realpath(link))  # write through a symlink: the target gets the bytes
    with _folder_lock(path.parent):
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            raise FileChangedError(
                f"{link} was deleted since it was read; nothing written"
            ) from None
        if current != snapshot.data:
            raise FileChangedError(
                f"{link} changed on disk since it was read; nothing written",
                hint="run the command again",
            )
        mode = path.stat().st_mode & 0o7777
        remove_stale_temps(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(new_data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            if _exchange(tmp, path):
                replaced = Path(tmp).read_bytes()  # what was at `path` at the exchange
                if replaced != snapshot.data:
                    _exchange(tmp, path)  # put the other writer's version back
                    raise FileChangedError(
                        f"{link} changed while dlcards was writing it; your change is kept "
                        "and nothing was written",
                        hint="run the command again",
                    )
            else:
                _replace_detecting(tmp, path, link, snapshot.data)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> None:
    """Remove the temporary files a killed writer of `path` left behind (`.{name}.{pid}.*.tmp`
    whose pid is no longer running): a `kill -9` between writing and renaming cannot clean up,
    so the next write does."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        parts = stale.name[len(path.name) + 2 :].split(".")
        if not parts or not parts[0].isdigit():
            continue
        pid = int(parts[0])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                stale.unlink()
        except OSError:
            continue  # alive (another user's) or unknowable: leave it


def _exchange(a: str | Path, b: str | Path) -> bool:
    """Swap two paths atomically; False where renameat2 / RENAME_EXCHANGE is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _replace_detecting(tmp: str, path: Path, link: Path, expected: bytes) -> None:
    """Fallback without an exchange: keep a hard link to the file being replaced, rename, then
    compare what was replaced; a change is reported and its bytes kept beside the file."""
    aside = path.with_name(f".{path.name}.changed-{os.getpid()}")
    try:
        os.link(path, aside)
    except OSError:
        aside = None  # type: ignore[assignment]
    os.replace(tmp, path)
    if aside is None:
        return
    try:
        same = aside.read_bytes() == expected
    except OSError:
        return
    if same:
        aside.unlink()
        return
    raise FileChangedError(
        f"{link} changed while dlcards was writing it; that version is kept as {aside}",
        hint="compare the two and merge by hand",
    )


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on a folder (between dlcards processes); a no-op where
    folders cannot be locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not Unix
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
