"""The collection's write lease: one writer at a time.

A review session, an Anki import, a sync, a prune or a `doctor --repair/--restore` takes the
lease of the review database before it writes: an exclusive `flock` on a lock file next to the
database (`dlcards.sqlite3.lock`), which names its holder (pid, command, start time, host). A
second one is refused with that name (the review screen then opens read-only, and says so).

The kernel drops the lock when its holder dies (also on `kill -9`), so a lease left by a dead
process is simply taken over; the file's old text only says who held it last. Every answer is
still its own `BEGIN IMMEDIATE` transaction, whose state is computed inside it from the
database as it is then (`ReviewLog.record_answer`): the lease keeps bulk writers (import, sync,
prune) from working on a stale read, the transaction keeps each answer right.

Where `fcntl` is missing (Windows), the lock file is created exclusively and a lock of a pid
that no longer runs is taken over.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from dlcards.core.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lease."""

    pid: int
    command: str
    started: str
    host: str

    def describe(self) -> str:
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"`dlcards {self.command}` (pid {self.pid}{where}, since {self.started[:19]})"


class LeaseBusy(StoreError):
    """Another dlcards holds the collection's write lease."""

    def __init__(self, message: str, holder: Holder | None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.holder = holder


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        if not isinstance(data, dict):
            return None
        return Holder(
            int(data["pid"]), str(data["command"]), str(data["started"]), str(data["host"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class WriteLease:
    """A held write lease; `release()` (or `with`) gives it back."""

    def __init__(self, path: Path, fd: int, holder: Holder, taken_over: Holder | None):
        self.path = path
        self._fd: int | None = fd
        self.holder = holder
        self.taken_over = taken_over  # the dead holder whose lease was taken over, if any

    @classmethod
    def acquire(
        cls, db_path: Path, command: str, now: datetime, *, wait: float = 0.0
    ) -> WriteLease:
        """Take the lease of the database at `db_path`, or raise LeaseBusy naming the holder.
        With `wait` (seconds), keep trying that long first."""
        import time

        path = lock_path(db_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{path.parent}: cannot create the state folder: {exc.strerror or exc}",
                hint="check the folder's permissions, or set DLCARDS_HOME",
            ) from None
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            lease = cls._try(path, command, now)
            if lease is not None:
                return lease
            if time.monotonic() >= deadline:
                holder = _read_holder(path)
                who = holder.describe() if holder else "another dlcards"
                raise LeaseBusy(
                    f"the review database is in use by {who}; nothing was written",
                    holder,
                    hint="finish or quit that one first (a crashed one frees it by itself)",
                )
            time.sleep(0.05)

    @classmethod
    def _try(cls, path: Path, command: str, now: datetime) -> WriteLease | None:
        holder = Holder(os.getpid(), command, now.isoformat(), socket.gethostname())
        try:
            if fcntl is None:  # pragma: no cover - Windows
                return cls._try_exclusive(path, holder)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"{path}: cannot create the lock file: {exc.strerror or exc}",
                hint="check the state folder's permissions, or set DLCARDS_HOME",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:
            os.close(fd)
            raise
        previous = _read_holder(path)
        taken_over = previous if previous is not None and previous.pid != holder.pid else None
        data = json.dumps(asdict(holder)).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        return cls(path, fd, holder, taken_over)

    @classmethod
    def _try_exclusive(cls, path: Path, holder: Holder) -> WriteLease | None:  # pragma: no cover
        for _ in range(2):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                previous = _read_holder(path)
                if previous is not None and _pid_alive(previous.pid):
                    return None
                path.unlink(missing_ok=True)  # a dead holder's lock: take it over
                continue
            os.write(fd, json.dumps(asdict(holder)).encode())
            return cls(path, fd, holder, None)
        return None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if fcntl is None:  # pragma: no cover - Windows
                os.close(fd)
                self.path.unlink(missing_ok=True)
                return
            os.ftruncate(fd, 0)
        except OSError:
            pass
        finally:
            if fcntl is not None:
                os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> WriteLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def current_holder(db_path: Path) -> Holder | None:
    """Who holds the lease now (None when free). Takes and drops the lock to find out."""
    path = lock_path(db_path)
    if not path.exists():
        return None
    if fcntl is None:  # pragma: no cover - Windows
        h = _read_holder(path)
        return h if h is not None and _pid_alive(h.pid) else None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path) or Holder(0, "?", "", "")
    finally:
        os.close(fd)
    return None
