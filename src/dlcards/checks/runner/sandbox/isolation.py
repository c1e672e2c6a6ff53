"""Isolating a snippet's child: namespaces (no network, own pids), dying with its parent, the
subreaper relay.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
UNPRIVILEGED_UID = 65534  # "nobody": what a snippet runs as when dlcards runs as root
PROCESS_CAP = 64  # processes a snippet may add to its user's count
# set (to anything) to run without namespaces, as on a kernel that refuses them (for tests)
NO_NAMESPACES_ENV = "DLCARDS_RUNNER_NO_NAMESPACES"


class NetworkBlocked(OSError):
    pass


class ProcessBlocked(PermissionError):
    pass


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def isolate() -> dict[str, bool]:
    """Move this (single-threaded) process into new network and PID namespaces if allowed.

    Root may unshare directly; an unprivileged user needs a new user namespace too. The PID
    namespace takes effect for the next child (the snippet's process, its "init"): when that
    init dies, the kernel kills every process left in the namespace, setsid or not."""
    out = {"net_isolated": False, "pid_namespace": False}
    if not sys.platform.startswith("linux") or os.environ.get(NO_NAMESPACES_ENV):
        return out
    try:
        libc = _libc()
    except (OSError, AttributeError):
        return out
    for flags in (
        CLONE_NEWNET | CLONE_NEWPID,
        CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID,
        CLONE_NEWNET,
        CLONE_NEWUSER | CLONE_NEWNET,
    ):
        if libc.unshare(flags) == 0:
            out["net_isolated"] = True
            out["pid_namespace"] = bool(flags & CLONE_NEWPID)
            return out
    return out


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def become_subreaper() -> bool:
    """Make orphaned descendants (a snippet's double fork after `setsid`) this process's
    children, so the runner server can find and kill them (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(_libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def relay(pid: int) -> None:
    """The snippet's parent in the server's PID namespace: wait for the snippet's process
    and end the same way (exit status or signal), so the server can say what happened."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _reachable_by_others() -> bool:
    """Whether a user other than the owner can read the interpreter and the packages a snippet
    may import lazily (the standard library, site-packages, dlcards)."""
    import stat
    import sysconfig

    places = {
        sys.base_prefix,
        sys.prefix,
        os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    }
    for key in ("stdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            places.add(sysconfig.get_paths()[key])
    for place in places:
        path = os.path.realpath(place)
        parts = path.split(os.sep)
        for i in range(1, len(parts) + 1):
            folder = os.sep.join(parts[:i]) or os.sep
            try:
                mode = os.stat(folder).st_mode
            except OSError:
                return False
            if not mode & stat.S_IXOTH:
                return False
        try:
            if not os.stat(path).st_mode & stat.S_IROTH:
                return False
        except OSError:
            return False
    return True
