"""The child side of the runner: limits, isolation, running one snippet, comparing its value.

`run_child` runs in a process forked from the runner server, which has imported torch already.
It never returns: it writes one length-prefixed JSON result to `result_fd` and `_exit`s.

This is a guard against accidents, not a hardened sandbox (see docs/checks.md).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import math
import os
import re
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from dlcards.checks.runner.protocol import MEMORY_LIMIT_MB, OUTPUT_LIMIT

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
UNPRIVILEGED_UID = 65534  # "nobody": what a snippet runs as when dlcards runs as root
PROCESS_CAP = 64  # processes a snippet may add to its user's count
# set (to anything) to run without namespaces, as on a kernel that refuses them (for tests)
NO_NAMESPACES_ENV = "DLCARDS_RUNNER_NO_NAMESPACES"
RTOL = 1e-3  # answers are often copied from torch's 4-decimal printout
ATOL = 1e-4


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

    places = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(__file__))}
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


# ---------------------------------------------------------------------------------------------
# Values: normalised for comparison, never compared as reprs


def normalise(v: Any) -> Any:
    """A JSON-able description of a value: shapes, dtypes, bools exact; numbers as floats."""
    import torch

    if isinstance(v, torch.Size):
        return {"t": "seq", "items": [normalise(int(x)) for x in v]}
    if isinstance(v, torch.Tensor):
        t = v.detach().to("cpu")
        if t.is_complex():
            vals: Any = [[float(c.real), float(c.imag)] for c in t.flatten().tolist()]
        else:
            vals = t.flatten().tolist() if t.numel() <= 100_000 else None
        return {"t": "tensor", "dtype": str(t.dtype), "shape": list(t.shape), "values": vals}
    if isinstance(v, torch.dtype):
        return {"t": "dtype", "v": str(v)}
    if isinstance(v, torch.device):
        return {"t": "device", "v": v.type}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int | float):
        return {"t": "num", "v": float(v), "int": isinstance(v, int)}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if v is None:
        return {"t": "none"}
    if isinstance(v, tuple | list):
        return {"t": "seq", "items": [normalise(x) for x in v]}
    if isinstance(v, dict):
        return {"t": "dict", "items": {str(k): normalise(x) for k, x in v.items()}}
    return {"t": "other", "type": type(v).__name__, "repr": repr(v)[:200]}


@dataclass(frozen=True)
class Tolerance:
    """How closely a number must match the answer: `abs` absolute, `rel` relative."""

    abs: float = ATOL
    rel: float = RTOL
    note: str = ""


EXACT = Tolerance(0.0, 1e-6, "exactly")  # integers; 1e-6 absorbs float32 rounding only
APPROX_REL = 0.01  # `≈ 2.30`: 1 % or the written precision, whichever is looser
_DECIMAL_RE = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][-+]?\d+)?(?![\w.])")


def answer_tolerance(expect: str) -> tuple[str, Tolerance]:
    """The answer text without a leading `≈`/`~`, and the precision it is written at.

    A decimal literal is compared to half a unit in its last written digit (`2.3040` ->
    ±5e-5); with several, the finest counts. An answer without decimal literals (integers,
    shapes) is compared exactly. `≈`/`~` first loosens it to 1 % (or the written precision
    if looser)."""
    text = expect.strip()
    approx = text[:1] in ("≈", "~")
    if approx:
        text = text[1:].strip()
    best: float | None = None
    for m in _DECIMAL_RE.finditer(text):
        mantissa, exponent = m.group(1), m.group(2) or ""
        decimals = len(mantissa.partition(".")[2])
        try:
            exp10 = int(exponent[1:]) if exponent else 0
        except ValueError:
            continue
        if abs(exp10) > 300:
            continue
        if decimals == 0 and not exponent:
            continue  # `1.` as torch prints whole floats: exact
        tol = 0.5 * 10.0 ** (exp10 - decimals)
        best = tol if best is None else min(best, tol)
    if approx:
        return text, Tolerance(best or 0.0, APPROX_REL, "approximately (1 %)")
    if best is None:
        return text, EXACT
    return text, Tolerance(best, 1e-6, f"to the written precision ±{best:g}")


def _close(a: float, b: float, tol: Tolerance = EXACT) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol.abs + tol.rel * abs(b)


def same(got: Any, want: Any, tol: Tolerance = EXACT) -> str | None:
    """None if `got` matches the answer `want` (both normalised), else why not."""
    return _same(got, want, tol)


def _same(got: Any, want: Any, tol: Tolerance) -> str | None:
    tg, tw = got["t"], want["t"]
    if tg == "seq" and tw == "seq":
        if len(got["items"]) != len(want["items"]):
            return f"{len(got['items'])} items, the answer has {len(want['items'])}"
        for i, (a, b) in enumerate(zip(got["items"], want["items"], strict=True)):
            why = _same(a, b, tol)
            if why:
                return f"item {i}: {why}"
        return None
    if tg == "tensor" and tw == "tensor":
        if got["shape"] != want["shape"]:
            return f"shape {tuple(got['shape'])} vs {tuple(want['shape'])}"
        if got["dtype"] != want["dtype"]:
            return f"dtype {got['dtype']} vs {want['dtype']}"
        return _values_differ(got["values"], want["values"], tol)
    if tg == "tensor" and tw in ("num", "bool") and got["shape"] == []:
        return _scalar_differ(got["values"][0], want, tol)
    if tg in ("num", "bool") and tw in ("num", "bool"):
        return _scalar_differ(got["v"], want, tol)
    if tg == tw and tg in ("dtype", "device", "str", "none"):
        return None if got.get("v") == want.get("v") else f"{got.get('v')} vs {want.get('v')}"
    if tg == tw == "dict":
        if set(got["items"]) != set(want["items"]):
            return "different keys"
        for k in got["items"]:
            why = _same(got["items"][k], want["items"][k], tol)
            if why:
                return f"key {k!r}: {why}"
        return None
    return f"a {_kind(got)} vs a {_kind(want)}"


def _kind(n: Any) -> str:
    names = {"seq": "shape/sequence", "num": "number", "tensor": "tensor", "bool": "boolean"}
    return str(names.get(n["t"], n["t"]))


def _scalar_differ(g: Any, want: Any, tol: Tolerance) -> str | None:
    if isinstance(g, list):  # complex
        return "a complex number vs a real one"
    if want["t"] == "bool" or isinstance(g, bool):
        if not (isinstance(g, bool) and want["t"] == "bool"):
            return f"{g} vs {want['v']} (a boolean must match exactly)"
        return None if g == want["v"] else f"{g} vs {want['v']}"
    if _close(float(g), float(want["v"]), tol):
        return None
    a, b = _num_pair(g, want["v"])
    return f"{a} vs {b}{_how(g, want['v'], tol)}"


def _how(a: Any, b: Any, tol: Tolerance) -> str:
    whole = float(a).is_integer() and float(b).is_integer()
    return "" if whole and tol is EXACT else f", compared {tol.note}"


def _num(v: Any, digits: int = 6) -> str:
    return str(int(v)) if float(v).is_integer() else f"{float(v):.{digits}g}"


def _num_pair(a: Any, b: Any) -> tuple[str, str]:
    """Both numbers with enough digits that they visibly differ."""
    for digits in (6, 9, 12, 17):
        x, y = _num(a, digits), _num(b, digits)
        if x != y:
            return x, y
    return x, y


def _values_differ(a: list[Any] | None, b: list[Any] | None, tol: Tolerance) -> str | None:
    if a is None or b is None:
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if isinstance(x, bool) or isinstance(y, bool):
            if x != y:
                return f"element {i}: {x} vs {y}"
        elif isinstance(x, list):
            if not (_close(x[0], y[0], tol) and _close(x[1], y[1], tol)):
                return f"element {i} differs"
        elif not _close(float(x), float(y), tol):
            p, q = _num_pair(x, y)
            return f"element {i}: {p} vs {q}{_how(x, y, tol)}"
    return None


def answer_namespace() -> dict[str, Any]:
    import torch

    ns: dict[str, Any] = {
        "torch": torch,
        "tensor": torch.tensor,
        "Size": torch.Size,
        "nan": float("nan"),
        "inf": float("inf"),
        "True": True,
        "False": False,
        "None": None,
        "device": torch.device,
    }
    for name in (
        "float16",
        "float32",
        "float64",
        "bfloat16",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
        "complex64",
        "complex128",
        "float",
        "double",
        "long",
        "half",
        "int",
        "cfloat",
    ):
        if hasattr(torch, name):
            ns.setdefault(name, getattr(torch, name))
    return ns


def display(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 2000 else text[:2000] + " ..."


# ---------------------------------------------------------------------------------------------


def _error_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<card>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.filename == "<card>":
        line = exc.lineno
    return line


def _describe(exc: BaseException, memory_mb: int) -> tuple[str, str]:
    text = str(exc).strip().split("\n")[0]
    if (
        isinstance(exc, MemoryError)
        or "can't allocate memory" in text
        or "not enough memory" in text
    ):
        return "memory", f"the snippet ran out of memory (limit {memory_mb} MiB)"
    if isinstance(exc, NetworkBlocked) or "network access is disabled" in text:
        return "network", "the snippet tried to use the network; code cards run without network"
    if isinstance(exc, ProcessBlocked):
        return "exception", "the snippet tried to start a process; code cards may not"
    if isinstance(exc, OSError) and exc.errno == 27:  # EFBIG
        return "output", f"the snippet wrote more than {OUTPUT_LIMIT // 1024} KiB of output"
    if isinstance(exc, OSError) and exc.errno in (101, 99, -2, -3, 111):
        return (
            "network",
            f"the snippet tried to use the network ({text}); code cards run without network",
        )
    if isinstance(exc, AssertionError):
        return "assert", f"assertion failed{': ' + text if text else ''}"
    return "exception", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def prepare_child(workdir: str, out_path: str, err_path: str) -> dict[str, Any]:
    """Set up a freshly forked spare child before its request arrives (new process group,
    working folder, network namespace, captured output, guards)."""
    info: dict[str, Any] = {}
    os.chdir(workdir)
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.close(out_fd)
    os.close(err_fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    set_static_limits()
    info["dropped_root"] = drop_root(workdir)
    install_guards()
    return info


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_child(
    request_fd: int,
    result_fd: int,
    workdir: str,
    out_path: str,
    err_path: str,
    device: str,
    memory_mb: int = MEMORY_LIMIT_MB,
) -> None:
    """The body of a forked spare child: prepare, wait for one request, run it, report, exit."""
    result: dict[str, Any] = {"ok": False, "device": "cpu"}
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        result.update(isolate())
        if result["pid_namespace"]:
            # the snippet runs in a child: the first process of the new PID namespace
            pid = os.fork()
            if pid != 0:
                os.close(request_fd)
                os.close(result_fd)
                relay(pid)
            die_with_parent()
        result.update(prepare_child(workdir, out_path, err_path))
        data = _read_all(request_fd)
        if not data:  # the server went away without a request
            os._exit(0)
        req = json.loads(data)
        run_device = "cpu" if req.get("mode") == "check" else device
        result["device"] = run_device
        set_limits(float(req.get("timeout", 10)), memory_mb, run_device)
        _execute(req, result, run_device, memory_mb)
    except BaseException as exc:
        result.update(
            ok=False, kind="runner", error=f"runner child failed: {type(exc).__name__}: {exc}"
        )
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        try:
            out = json.dumps(result, default=str).encode()
            os.write(result_fd, len(out).to_bytes(8, "big") + out)
        finally:
            os._exit(0)


def _execute(req: dict[str, Any], result: dict[str, Any], device: str, memory_mb: int) -> None:
    import random

    import torch

    torch.manual_seed(0)
    random.seed(0)
    if device != "cpu":
        torch.set_default_device(device)
    code = str(req["code"])
    ns: dict[str, Any] = {
        "torch": torch,
        "nn": torch.nn,
        "F": torch.nn.functional,
        "__name__": "__main__",
        "__builtins__": builtins,
    }
    start = time.perf_counter()
    value: Any = None
    has_value = False
    try:
        tree = ast.parse(code, "<card>", "exec")
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            body = ast.Module(body=tree.body[:-1], type_ignores=[])
            exec(compile(body, "<card>", "exec"), ns)
            value = eval(compile(ast.Expression(last.value), "<card>", "eval"), ns)
            has_value = True
        else:
            exec(compile(tree, "<card>", "exec"), ns)
        sys.stdout.flush()
    except SystemExit as exc:
        result.update(
            elapsed_ms=(time.perf_counter() - start) * 1000,
            kind="exit",
            error=f"the snippet called sys.exit({exc.code!r}); code cards must run to the end",
        )
        return
    except BaseException as exc:
        kind, message = _describe(exc, memory_mb)
        line = _error_line(exc)
        if isinstance(exc, SyntaxError):
            kind, message = "exception", f"SyntaxError: {exc.msg}"
        result.update(
            elapsed_ms=(time.perf_counter() - start) * 1000, kind=kind, error=message, line=line
        )
        return
    result["elapsed_ms"] = (time.perf_counter() - start) * 1000
    if has_value:
        result["value"] = display(value)
    result["line"] = getattr(last, "lineno", None) if has_value else None
    expect = req.get("expect")
    if expect is None:
        result["ok"] = True
        return
    if not has_value:
        result.update(
            kind="mismatch",
            match=False,
            error="the snippet ends with a statement; its last line must be an expression whose value is the answer",
        )
        return
    expect, tol = answer_tolerance(str(expect))
    try:
        want = eval(
            compile(str(expect).strip(), "<answer>", "eval"),
            {"__builtins__": builtins},
            answer_namespace(),
        )
    except BaseException as exc:
        result.update(
            kind="answer",
            match=False,
            error=f"cannot read the answer `{str(expect).strip()}` as a value ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
        )
        return
    result["expected"] = display(want)
    why = same(normalise(value), normalise(want), tol)
    if why is None:
        result.update(ok=True, match=True)
    else:
        result.update(
            kind="mismatch",
            match=False,
            error=f"the snippet gives {display(value)}, the answer says {str(expect).strip()} ({why})",
        )


def format_traceback(exc: BaseException) -> str:  # pragma: no cover - debugging aid
    return "".join(traceback.format_exception(exc))
