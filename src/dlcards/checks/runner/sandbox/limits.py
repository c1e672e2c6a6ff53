"""Limits on a snippet's child: the pids cgroup, dropping root, resource limits, guards on sockets
and processes.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time
from typing import Any

from dlcards.checks.runner.protocol import OUTPUT_LIMIT
from dlcards.checks.runner.sandbox.isolation import (
    PROCESS_CAP,
    UNPRIVILEGED_UID,
    NetworkBlocked,
    ProcessBlocked,
    _reachable_by_others,
)

CGROUP_PIDS_MAX = 256  # tasks (threads count) of all of one server's snippets together
_cgroup: list[str] = []  # the server's pids cgroup, inherited by its forked children


def make_pids_cgroup(name: str) -> str | None:
    """As root where no `nobody` can be used: a cgroup with `pids.max` for the server's
    children (cgroup v1 `pids` hierarchy, or v2 with the pids controller), or None."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return None
    for base in _pids_cgroup_bases():
        path = os.path.join(base, name)
        try:
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, "pids.max"), "w") as fh:
                fh.write(str(CGROUP_PIDS_MAX))
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(path)
            continue
        _cgroup[:] = [path]
        return path
    return None


def _pids_cgroup_bases() -> list[str]:
    """Folders where this process's pids cgroup children can be made (v1 first)."""
    mounts: list[tuple[str, str, str]] = []  # (fstype, mount point, super options)
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                fields, rfields = left.split(), right.split()
                if len(fields) >= 5 and len(rfields) >= 3:
                    mounts.append((rfields[0], fields[4], rfields[2]))
        with open("/proc/self/cgroup") as fh:
            own = [line.rstrip("\n").split(":", 2) for line in fh]
    except OSError:
        return []
    out: list[str] = []
    for fstype, point, opts in mounts:
        if fstype == "cgroup" and "pids" in opts.split(","):
            rel = next((c[2] for c in own if len(c) == 3 and "pids" in c[1].split(",")), "/")
            out.append(os.path.join(point, rel.lstrip("/")))
    for fstype, point, _opts in mounts:
        if fstype == "cgroup2":
            rel = next((c[2] for c in own if len(c) == 3 and c[0] == "0"), "/")
            base = os.path.join(point, rel.lstrip("/"))
            try:
                with open(os.path.join(base, "cgroup.controllers")) as fh:
                    if "pids" not in fh.read().split():
                        continue
                with open(os.path.join(base, "cgroup.subtree_control"), "w") as fh:
                    fh.write("+pids")
            except OSError:
                continue
            out.append(base)
    return out


def remove_cgroup(path: str | None) -> None:
    """Remove an (emptied) cgroup folder, retrying while its last tasks exit."""
    if not path:
        return
    for _ in range(200):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.005)


def join_cgroup() -> bool:
    """Move this process into the server's pids cgroup, if there is one."""
    if not _cgroup:
        return False
    try:
        with open(os.path.join(_cgroup[0], "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
    except OSError:
        return False
    return True


def process_cap_holds() -> bool:
    """Whether a snippet's processes are capped: RLIMIT_NPROC holds for every user but root;
    as root when the child can become `nobody` (see drop_root) or the server has a pids
    cgroup."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return not root or _reachable_by_others() or bool(_cgroup)


def drop_root(workdir: str) -> bool:
    """As root, become an unprivileged user (uid/gid 65534) with a process cap: root is exempt
    from RLIMIT_NPROC, so without this a fork bomb is bounded only by the machine."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    import resource

    if not _reachable_by_others():
        # Python lives where `nobody` cannot read it (e.g. under a 0700 /root): a snippet's
        # lazy `import` would fail. Stay root, capped by the server's pids cgroup where there
        # is one (the server's hello says whether a cap holds)
        join_cgroup()
        return False

    try:
        _apply([(resource.RLIMIT_NPROC, _user_processes(UNPRIVILEGED_UID) + PROCESS_CAP)])
        os.setgroups([])
        os.setgid(UNPRIVILEGED_UID)
        os.setuid(UNPRIVILEGED_UID)
    except OSError:
        # "root" of a rootless container, where uid 65534 is not mapped: such a root is not
        # root of the machine, so RLIMIT_NPROC (for its own uid) holds
        _apply([(resource.RLIMIT_NPROC, _user_processes() + PROCESS_CAP)])
        return False
    os.environ["HOME"] = workdir
    return True


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _user_processes(uid: int | None = None) -> int:
    """How many processes (and threads' leaders) a user runs now, for RLIMIT_NPROC."""
    uid = os.getuid() if uid is None else uid
    count = 0
    try:
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    if os.stat(f"/proc/{name}").st_uid == uid:
                        count += 1
                except OSError:
                    pass
    except OSError:
        return 1024
    return count


def _apply(limits: list[tuple[int, int]]) -> None:
    import resource

    for which, value in limits:
        try:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def set_static_limits() -> None:
    """Limits that do not depend on the request (set while the spare child waits)."""
    import resource

    limits = [(resource.RLIMIT_FSIZE, OUTPUT_LIMIT)]
    if hasattr(resource, "RLIMIT_NPROC") and os.geteuid() != 0:  # root: see drop_root
        limits.append((resource.RLIMIT_NPROC, _user_processes() + PROCESS_CAP))
    if hasattr(resource, "RLIMIT_CORE"):
        limits.append((resource.RLIMIT_CORE, 0))
    _apply(limits)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG


def set_limits(timeout: float, memory_mb: int, device: str = "cpu") -> None:
    """CPU time for this request; address space on the CPU (GPU drivers reserve huge virtual
    ranges, so a live run on CUDA / MPS gets no address-space limit)."""
    import resource

    limits = [(resource.RLIMIT_CPU, math.ceil(timeout) + 1)]
    vm = _vm_bytes()
    if vm and device == "cpu":
        limits.append((resource.RLIMIT_AS, vm + memory_mb * 1024 * 1024))
    _apply(limits)


def _blocked_process(*args: Any, **kwargs: Any) -> Any:
    raise ProcessBlocked("starting processes is disabled in code cards")


def install_guards() -> None:
    """Python-level guards: no new processes, no network (a convenience, not a boundary)."""
    import socket
    import subprocess

    for name in (
        "fork",
        "forkpty",
        "system",
        "popen",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "spawnv",
        "spawnve",
        "spawnl",
        "spawnle",
        "posix_spawn",
        "posix_spawnp",
    ):
        if hasattr(os, name):
            setattr(os, name, _blocked_process)
    subprocess.Popen = _blocked_process  # type: ignore[misc,assignment]

    def _no_net(*args: Any, **kwargs: Any) -> Any:
        raise NetworkBlocked("network access is disabled in code cards")

    class _Socket(socket.socket):
        def connect(self, *args: Any, **kwargs: Any) -> Any:
            _no_net()

        def connect_ex(self, *args: Any, **kwargs: Any) -> Any:
            _no_net()

        def sendto(self, *args: Any, **kwargs: Any) -> Any:
            _no_net()

    socket.socket = _Socket  # type: ignore[misc]
    socket.create_connection = _no_net
    socket.getaddrinfo = _no_net
