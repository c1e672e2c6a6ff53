"""The runner server: imports torch once, then forks one sandboxed child per snippet.

Run as `python -m dlcards.checks.runner.server [--memory-mb N]`. It speaks JSON lines on stdin /
stdout (see `protocol`). The first line it writes is `{"ready": true, "device": ...}` (or
`{"ready": false, "error": ...}` when torch cannot be imported). Each request gets exactly one
response, whatever the snippet does: the server supervises the child with a wall-clock timeout
and kills its whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from dlcards.checks.runner.protocol import MEMORY_LIMIT_MB, OUTPUT_LIMIT, OUTPUT_SHOWN

SIGNAL_NAMES: dict[int, str] = {
    signal.SIGSEGV: "a segmentation fault",
    signal.SIGABRT: "an abort",
    signal.SIGBUS: "a bus error",
    signal.SIGFPE: "a floating-point exception",
    signal.SIGILL: "an illegal instruction",
}


def warm_up(torch: Any) -> None:
    """Run what snippets commonly use once, so lazy imports (the first optimizer step pulls in
    ~800 modules, 3-4 s) happen here once instead of in every forked child."""
    import torch.nn.functional as F
    import torch.utils.data

    layer = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    conv = torch.nn.Conv2d(1, 1, 3)
    x = torch.randn(1, 1, 4, 4)
    loss = F.cross_entropy(layer(torch.randn(3, 2)), torch.tensor([0, 1, 0])) + conv(x).sum()
    loss = loss + F.mse_loss(torch.zeros(2), torch.ones(2))
    loss.backward()
    for opt in (
        torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9),
        torch.optim.Adam(layer.parameters(), lr=0.1),
        torch.optim.AdamW(conv.parameters(), lr=0.1),
    ):
        opt.step()
        opt.zero_grad()
    torch.nn.LSTM(2, 2, batch_first=True)(torch.randn(1, 2, 2))
    torch.nn.MultiheadAttention(4, 2, batch_first=True)(*(torch.randn(1, 2, 4),) * 3)


def detect_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _read_output(path: str) -> str:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            data = fh.read(OUTPUT_SHOWN)
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if size > OUTPUT_SHOWN:
        text += f"\n[output truncated: {size} bytes, showing the first {OUTPUT_SHOWN}]"
    return text


ZOMBIES: list[int] = []
KEEP: list[int] = []  # the waiting spare's pid: never swept


def reap_zombies() -> None:
    for pid in list(ZOMBIES):
        try:
            got, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            got = pid
        if got == pid:
            ZOMBIES.remove(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _children() -> list[tuple[int, str]]:
    """(pid, state) of this process's children (with the server a subreaper, that includes
    every orphaned descendant of a snippet: a double fork after `setsid`)."""
    me = os.getpid()
    out: list[tuple[int, str]] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if len(fields) >= 2 and fields[1] == str(me):
            out.append((int(name), fields[0]))
    return out


def sweep(keep: set[int], wait_s: float = 3.0) -> int:
    """SIGKILL and reap every child of the server but `keep` (the waiting spare), again and
    again as killed processes' own children are handed to the server, until none is left.
    Returns how many processes were killed."""
    if not sys.platform.startswith("linux"):
        return 0
    killed: set[int] = set()
    deadline = time.monotonic() + wait_s
    while True:
        live = [(pid, st) for pid, st in _children() if pid not in keep]
        if not live:
            return len(killed)
        for pid, state in live:
            if state != "Z":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            with contextlib.suppress(ValueError):
                ZOMBIES.remove(pid)
        if time.monotonic() >= deadline:
            return len(killed)
        time.sleep(0.001)


RUN_PREFIX = "dlcards-run-"


def remove_stale_workdirs() -> int:
    """Delete working folders left by runner servers that were killed (their pid is in the
    folder's name and no longer runs)."""
    removed = 0
    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(RUN_PREFIX):
            continue
        owner = name[len(RUN_PREFIX) :].partition("-")[0]
        if not owner.isdigit() or _alive(int(owner)):
            continue
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int, wait_s: float) -> int | None:
    """Wait up to `wait_s` for the child; return its status (None if still running)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0
        if got == pid:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.002)


@dataclass
class Spare:
    """A child forked ahead of time, waiting for its one request (hides the fork's cost)."""

    pid: int
    workdir: str
    request_w: int
    result_r: int

    @property
    def out_path(self) -> str:
        return os.path.join(self.workdir, ".stdout")

    @property
    def err_path(self) -> str:
        return os.path.join(self.workdir, ".stderr")


def spawn_spare(device: str, memory_mb: int) -> Spare:
    from dlcards.checks.runner.sandbox import run_child

    workdir = tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # the child drops to this uid
        from dlcards.checks.runner.sandbox import UNPRIVILEGED_UID

        with contextlib.suppress(OSError):
            os.chown(workdir, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
    req_r, req_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            # keep only its own pipes and stdio: with the server's protocol stream open, a
            # snippet could forge answers, and the client would wait for it to close
            _close_fds_but(0, 1, 2, req_r, res_w)
            run_child(
                req_r,
                res_w,
                workdir,
                os.path.join(workdir, ".stdout"),
                os.path.join(workdir, ".stderr"),
                device,
                memory_mb,
            )
        finally:
            os._exit(71)  # not reached
    os.close(req_r)
    os.close(res_w)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    return Spare(pid, workdir, req_w, res_r)


def _close_fds_but(*keep: int) -> None:
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def discard(spare: Spare) -> None:
    for fd in (spare.request_w, spare.result_r):
        with contextlib.suppress(OSError):
            os.close(fd)
    _kill_group(spare.pid)
    _reap(spare.pid, 2.0)
    shutil.rmtree(spare.workdir, ignore_errors=True)


def run_one(
    req: dict[str, Any],
    device: str,
    memory_mb: int,
    spare: Spare | None = None,
    on_dispatch: Any = None,
) -> dict[str, Any]:
    """Give one request to a spare child and supervise it; always returns a response.

    `on_dispatch` is called once the child has the request (the server forks the next spare
    then, while this one runs)."""
    timeout = float(req.get("timeout") or 10.0)
    run_device = "cpu" if req.get("mode") == "check" else device
    child = spare or spawn_spare(device, memory_mb)
    start = time.monotonic()
    data = json.dumps(req).encode()
    with contextlib.suppress(OSError):
        os.write(child.request_w, data)
    os.close(child.request_w)
    if on_dispatch is not None:
        on_dispatch()
    r, pid = child.result_r, child.pid
    buf = b""
    need: int | None = None
    timed_out = False
    try:
        while True:
            remaining = start + timeout + 0.5 - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(r, 65536)
            if not chunk:
                break
            buf += chunk
            if need is None and len(buf) >= 8:
                need = int.from_bytes(buf[:8], "big")
            if need is not None and len(buf) >= 8 + need:
                break
    finally:
        os.close(r)
    complete = need is not None and len(buf) >= 8 + need
    status: int | None = 0
    if complete:
        # the child is done: kill its group (it and anything it started) and reap it later, so
        # the answer does not wait for the kernel to tear down a large address space
        _kill_group(pid)
        ZOMBIES.append(pid)
    else:
        status = None if timed_out else _reap(pid, 2.0)
        _kill_group(pid)
        if status is None:
            status = _reap(pid, 5.0)

    elapsed = (time.monotonic() - start) * 1000
    resp: dict[str, Any]
    if complete and need is not None:
        try:
            resp = json.loads(buf[8 : 8 + need])
        except ValueError:
            resp = {
                "ok": False,
                "kind": "runner",
                "error": "the snippet's result could not be read",
            }
    elif timed_out:
        resp = {
            "ok": False,
            "kind": "timeout",
            "elapsed_ms": elapsed,
            "error": f"the snippet did not finish within {timeout:g} s and was stopped",
        }
    else:
        resp = {"ok": False, "elapsed_ms": elapsed, **_died(status, timeout, memory_mb)}
    resp.setdefault("device", run_device)
    resp["stdout"] = _read_output(child.out_path)
    resp["stderr"] = _read_output(child.err_path)
    for path in (child.out_path, child.err_path):
        try:
            if os.path.getsize(path) >= OUTPUT_LIMIT and resp.get("ok"):
                resp.update(
                    ok=False,
                    kind="output",
                    error=f"the snippet wrote more than {OUTPUT_LIMIT // 1024} KiB of output",
                )
        except OSError:
            pass
    shutil.rmtree(child.workdir, ignore_errors=True)
    return resp


def _died(status: int | None, timeout: float, memory_mb: int) -> dict[str, Any]:
    if status is None:
        return {"kind": "crash", "error": "the snippet's process could not be stopped"}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return {
                "kind": "timeout",
                "error": f"the snippet used more than {int(timeout) + 1} s of CPU time and was stopped",
            }
        if sig == signal.SIGKILL:
            return {
                "kind": "memory",
                "error": f"the snippet was killed (out of memory? the limit is {memory_mb} MiB)",
            }
        name = SIGNAL_NAMES.get(sig, f"signal {sig}")
        return {"kind": "crash", "error": f"the snippet crashed with {name} (signal {sig})"}
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    return {
        "kind": "exit",
        "error": f"the snippet ended the process (exit status {code}) before finishing",
    }


def serve(stdin: IO[str], stdout: IO[str], memory_mb: int) -> None:
    def send(obj: dict[str, Any]) -> None:
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    os.environ.setdefault(
        "PYTORCH_NVML_BASED_CUDA_CHECK", "1"
    )  # keep CUDA uninitialised before fork
    try:
        import torch  # the one import of torch, shared by every forked child

        torch.set_num_threads(1)
        warm_up(torch)
        device = detect_device()
    except Exception as exc:
        send({"ready": False, "error": f"torch cannot be imported: {type(exc).__name__}: {exc}"})
        return
    from dlcards.checks.runner.sandbox import (
        become_subreaper,
        make_pids_cgroup,
        process_cap_holds,
        remove_cgroup,
    )

    remove_stale_workdirs()
    cgroup = make_pids_cgroup(f"{RUN_PREFIX}{os.getpid()}") if os.geteuid() == 0 else None
    if cgroup:  # cgroups of killed servers (empty once their children died)
        parent = os.path.dirname(cgroup)
        for name in os.listdir(parent):
            owner = name[len(RUN_PREFIX) :] if name.startswith(RUN_PREFIX) else ""
            if owner.isdigit() and not _alive(int(owner)):
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(parent, name))
    subreaper = become_subreaper()
    isolation = probe_isolation()
    send(
        {
            "ready": True,
            "device": device,
            "torch": torch.__version__,
            "pid": os.getpid(),
            "subreaper": subreaper,
            "process_cap": process_cap_holds(),
            **isolation,
        }
    )
    spare: list[Spare] = []

    def refill() -> None:
        reap_zombies()
        if not spare:
            spare.append(spawn_spare(device, memory_mb))
            KEEP[:] = [spare[0].pid]

    refill()
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                req = json.loads(line)
            except ValueError:
                send({"ok": False, "kind": "runner", "error": "bad request"})
                continue
            child = spare.pop() if spare else None
            KEEP.clear()
            try:
                resp = run_one(req, device, memory_mb, child, on_dispatch=refill)
                # a timeout or crash has no word from the child: say what the kernel allows
                resp.setdefault("net_isolated", isolation["net_isolated"])
            except Exception as exc:
                resp = {
                    "ok": False,
                    "kind": "runner",
                    "error": f"runner failed: {type(exc).__name__}: {exc}",
                }
            resp["id"] = req.get("id")
            send(resp)
            # whatever escaped the snippet's process group (setsid, a double fork) died with
            # its PID namespace or is the server's child by now: kill all of it but the next
            # spare. Without a PID namespace, wait for the killed to be torn down (~60 ms for
            # a forked torch process) so that their orphans are handed over and killed too;
            # with one, the kernel kills every process in it and none can reach the server.
            sweep(keep=set(KEEP), wait_s=0 if isolation["pid_namespace"] else 3.0)
            refill()
    finally:
        for child in spare:  # kill first, wait once for everything (not per child)
            for fd in (child.request_w, child.result_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            _kill_group(child.pid)
        KEEP.clear()
        # every earlier snippet was swept after its answer, so the spare is all there is: the
        # client's close() returns at this end of stream; the server then waits for the
        # killed processes to be torn down (~60-100 ms for a forked torch process), kills
        # whatever that hands over to it, removes the folders and exits
        with contextlib.suppress(OSError, ValueError):
            stdout.close()
        sweep(keep=set())
        for child in spare:
            shutil.rmtree(child.workdir, ignore_errors=True)
        remove_cgroup(cgroup)


def probe_isolation() -> dict[str, bool]:
    """Which namespaces the kernel gives a child (asked once, in a throwaway child)."""
    from dlcards.checks.runner.sandbox import isolate

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            got = isolate()
            os.write(w, bytes([got["net_isolated"] | got["pid_namespace"] << 1]))
        finally:
            os._exit(0)
    os.close(w)
    try:
        data = os.read(r, 1)
    finally:
        os.close(r)
        _reap(pid, 5.0)
    bits = data[0] if data else 0
    return {"net_isolated": bool(bits & 1), "pid_namespace": bool(bits & 2)}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    memory_mb = MEMORY_LIMIT_MB
    if "--memory-mb" in args:
        memory_mb = int(args[args.index("--memory-mb") + 1])
    # the protocol owns the real stdout; anything else printed to fd 1 goes to stderr
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the client decides when the server ends
    serve(sys.stdin, proto, memory_mb)
    # every child is gone and every folder removed: skip the interpreter's teardown, which
    # with torch loaded took 2.1 s and made every `close()` wait for it
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
