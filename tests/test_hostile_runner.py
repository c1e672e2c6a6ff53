"""Hostile snippets against the real runner (issue 17 items 5 and 14): each one is contained.

A snippet that escapes its process group (`setsid`, double forks through ctypes or
`libc.system`) leaves no process behind once its result is in; a fork bomb is capped, also
as root; working folders are removed, also after the runner is killed; a timeout does not
make `check` claim the kernel has no network namespace. Every case runs twice: with the
namespaces the kernel gives, and without any (`DLCARDS_RUNNER_NO_NAMESPACES`), where the
server's subreaper sweep is what catches escapes.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="torch is not installed")

if not os.path.isdir("/proc"):  # pragma: no cover - the sandbox's kill-tree needs Linux
    pytest.skip("needs Linux /proc", allow_module_level=True)

from dlcards.checks.runner.client import Runner
from dlcards.checks.runner.sandbox import NO_NAMESPACES_ENV


@pytest.fixture(scope="module", params=["namespaces", "no-namespaces"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    mp = pytest.MonkeyPatch()
    if request.param == "no-namespaces":
        mp.setenv(NO_NAMESPACES_ENV, "1")
    else:
        mp.delenv(NO_NAMESPACES_ENV, raising=False)
    r = Runner()
    r.start()
    assert r.ready_info.get("ready"), r.ready_info
    if request.param == "no-namespaces":
        assert r.ready_info["pid_namespace"] is False
    yield r
    r.close()
    mp.undo()


def processes_named(name: str) -> list[int]:
    """Processes whose comm or command line holds `name`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_bytes()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and (name.encode() in comm or name.encode() in cmd):
            found.append(int(pid))
    return found


@pytest.fixture
def drop() -> Iterator[Path]:
    """A folder any user can reach and write to (the child may run as `nobody`)."""
    import shutil

    d = Path(tempfile.mkdtemp(prefix="dlcards-test-drop-"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def double_fork(marker: str, drop: Path, how: str, delay: float = 1.0) -> str:
    """A snippet whose grandchild leaves the group with setsid, renames itself and writes a
    file `delay` seconds later (after the snippet has ended)."""
    return f"""
import ctypes, time
libc = ctypes.CDLL(None)
if libc.fork() == 0:
    libc.setsid()
    if libc.fork() == 0:
        libc.prctl(15, b"{marker}", 0, 0, 0)
        time.sleep({delay})
        open("{drop}/{how}", "w").write("escaped")
        libc._exit(0)
    libc._exit(0)
time.sleep(0.2)
1
"""


@pytest.mark.parametrize("end", ["returns", "times out"])
def test_a_setsid_double_fork_through_ctypes_leaves_no_process(
    runner: Runner, drop: Path, end: str
) -> None:
    marker = "dlh" + uuid.uuid4().hex[:10]
    delay = 1.0 if end == "returns" else 3.0  # the time-out comes at 2 s
    code = double_fork(marker, drop, "ctypes", delay)
    if end == "times out":
        code = code.replace("time.sleep(0.2)\n1", "time.sleep(60)")
    res = runner.run(code, 2.0, mode="check")
    assert res.ok if end == "returns" else res.kind == "timeout", res
    time.sleep(delay + 1.0)
    assert processes_named(marker) == []
    assert list(drop.iterdir()) == []


def test_libc_system_setsid_in_the_background_leaves_no_process(runner: Runner, drop: Path) -> None:
    seconds = f"3{uuid.uuid4().int % 10**6}.5"  # a unique argument to find the process by
    code = f"""
import ctypes, time
libc = ctypes.CDLL(None)
libc.system(b"setsid sh -c 'sleep {seconds}; touch {drop}/system' >/dev/null 2>&1 &")
time.sleep(0.3)
2
"""
    res = runner.run(code, 5.0, mode="check")
    assert res.ok and res.value == "2", res
    time.sleep(0.5)
    assert processes_named(seconds) == []


def test_a_ctypes_fork_bomb_is_capped_also_as_root(runner: Runner) -> None:
    marker = "dlb" + uuid.uuid4().hex[:10]
    code = f"""
import ctypes
libc = ctypes.CDLL(None)
libc.prctl(15, b"{marker}", 0, 0, 0)
n = 0
for _ in range(100000):
    if libc.fork() == 0:
        while True:
            pass
    n += 1
n
"""
    res = runner.run(code, 5.0, mode="check")
    # a cap (RLIMIT_NPROC, as `nobody` when dlcards runs as root) makes fork fail, or the
    # CPU/time limit stops it: either way it ends, and ends with a message
    assert res.kind in ("", "timeout", "exception", "memory", "crash") and res.error != "", res
    if res.ok:
        assert int(str(res.value)) < 1000  # fork failed (-1 is not counted) long before
    time.sleep(0.5)
    assert processes_named(marker) == []
    assert runner.run("3", 5.0, mode="check").value == "3"


CAP_PROBE = """
import os, resource
pids_max = None
for line in open("/proc/self/cgroup"):
    _, controllers, path = line.rstrip().split(":", 2)
    if "pids" in controllers.split(",") or controllers == "":
        for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            try:
                pids_max = open(base + path + "/pids.max").read().strip()
                break
            except OSError:
                pass
(os.geteuid(), resource.getrlimit(resource.RLIMIT_NPROC)[0], pids_max)
"""


def test_the_process_cap_holds_for_root(runner: Runner) -> None:
    assert runner.ready_info["process_cap"] is True
    res = runner.run(CAP_PROBE, 5.0, mode="check")
    assert res.ok, res
    euid, nproc, pids_max = eval(str(res.value))
    if euid != 0:  # not root (or root dropped to `nobody`): RLIMIT_NPROC holds
        assert nproc != -1  # not RLIM_INFINITY
    else:  # root is exempt from RLIMIT_NPROC: a pids cgroup caps it
        assert pids_max is not None and pids_max != "max", pids_max


def test_a_timeout_does_not_claim_there_is_no_network_namespace(runner: Runner) -> None:
    res = runner.run("while True:\n    pass", 1.0, mode="check")
    assert res.kind == "timeout"
    assert res.net_isolated == runner.ready_info["net_isolated"]


def _workdirs(server_pid: int) -> list[str]:
    prefix = f"dlcards-run-{server_pid}-"
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(prefix)]


def test_working_folders_are_removed_when_the_runner_closes() -> None:
    r = Runner()
    r.start()
    assert r.run("open('x.txt', 'w').write('x')", 5.0, mode="check").ok
    pid = r.ready_info["pid"]
    proc = r._proc
    assert _workdirs(pid)  # the next snippet's spare folder
    r.close()
    assert proc is not None
    proc.wait(10)
    assert _workdirs(pid) == []


def test_working_folders_of_a_killed_runner_are_removed_by_the_next_one() -> None:
    r = Runner()
    r.start()
    pid = r.ready_info["pid"]
    # the spare folder for the next snippet is made just after "ready": wait for it (a loaded
    # machine can take a while), then kill the server before it can clean up
    deadline = time.monotonic() + 30
    while not _workdirs(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workdirs(pid)
    os.kill(pid, signal.SIGKILL)
    assert r._proc is not None
    r._proc.wait(10)
    r.close()
    r2 = Runner()
    try:
        assert r2.ready_info.get("ready")  # a new server cleans up after dead ones at start
        assert _workdirs(pid) == []
    finally:
        r2.close()


def test_the_snippet_cannot_write_to_the_protocol_stream(runner: Runner) -> None:
    # a forged answer on the server's output would be believed: the child keeps no such fd
    res = runner.run(
        "import os\nsorted(int(n) for n in os.listdir('/proc/self/fd'))", 5.0, mode="check"
    )
    assert res.ok, res
    fds = eval(str(res.value))
    assert all(fd <= 2 or fd > 2 for fd in fds) and len(fds) <= 6, fds
