"""Run PyTorch snippets in the sandboxed runner: the API for `dlcards check` and the review TUI.

Usage (the review screen's `r` key)::

    from dlcards.checks.runner.client import Runner

    runner = Runner()
    runner.start()                    # non-blocking: the server imports torch in the background
    ...
    result = runner.run(code, timeout=10.0)   # blocks until the snippet has run
    result.ok, result.value, result.stdout, result.stderr, result.device, result.elapsed_ms
    result.error                      # a one-line message when not ok, else None
    runner.close()                    # or use `with Runner() as runner:`

`Runner.run` never raises for anything the snippet does (timeouts, crashes, memory, sys.exit,
network use, huge output): it returns a `RunResult` with `ok=False` and `error` set. If torch is
not installed, `error` says so and `kind == "no-torch"`. A dead server is restarted on the next
call. `Runner.device` (blocking until ready) is "cuda", "mps" or "cpu". Runs with
`mode="live"` (the default) use that device; `mode="check"` always uses the CPU and may pass
`expect=` (the answer's code span) to compare values.

Thread-safe: one run at a time; calls from several threads queue. Only call it with the user's
consent for the collection (`dlcards.checks.runner.consent.is_trusted`).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

from dlcards.checks.runner.protocol import DEFAULT_TIMEOUT_S, MEMORY_LIMIT_MB, RunResult

__all__ = ["RunResult", "Runner", "torch_available"]


def torch_available() -> bool:
    """Whether torch can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


CLOSE_WAIT_S = 2.0


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    """Kill a server that does not answer, with its process group, and remove the working
    folders it leaves (its spare child ends by itself when the server's pipe closes)."""
    import signal

    from dlcards.checks.runner.server import remove_stale_workdirs

    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the server leads its own session
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
    remove_stale_workdirs()


class Runner:
    """A client of one runner server process (started lazily, restarted if it dies)."""

    def __init__(
        self,
        *,
        memory_mb: int = MEMORY_LIMIT_MB,
        python: str | None = None,
        start_timeout: float = 120.0,
    ):
        self.memory_mb = memory_mb
        self.python = python or sys.executable
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._ready: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._buf = b""

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the server in the background if it is not running; returns at once."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            env = dict(os.environ)
            src = os.path.dirname(
                os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            )
            env["PYTHONPATH"] = src + (
                os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
            )
            env.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
            self._ready = None
            self._buf = b""
            self._proc = subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "dlcards.checks.runner.server",
                    "--memory-mb",
                    str(self.memory_mb),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
                start_new_session=True,
            )

    def _wait_ready(self) -> dict[str, Any]:
        with self._lock:
            if self._ready is not None and self._proc is not None and self._proc.poll() is None:
                return self._ready
            self.start()
            assert self._proc is not None and self._proc.stdout is not None
            line = self._readline(self.start_timeout)
            if line is None:
                self._kill()
                self._ready = {"ready": False, "error": "the code runner did not start in time"}
            else:
                try:
                    self._ready = json.loads(line)
                except ValueError:
                    self._ready = {"ready": False, "error": "the code runner did not start"}
            return self._ready

    def _readline(self, timeout: float) -> str | None:
        """One line from the server, or None on timeout / end of stream (raw fd, no buffering
        surprises with select)."""
        import select

        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    @property
    def ready_info(self) -> dict[str, Any]:
        """The server's hello: {"ready": bool, "device": ..., "torch": version} or an error."""
        return self._wait_ready()

    @property
    def device(self) -> str:
        """Where live runs go: "cuda", "mps" or "cpu" (waits for the server to be ready)."""
        return str(self._wait_ready().get("device", "cpu"))

    def close(self) -> None:
        with self._lock:
            proc = self._proc
            self._proc = None
            self._ready = None
            if proc is None:
                return
            try:
                if proc.stdin:
                    proc.stdin.close()
                # the server kills every child, then closes its end (a few ms); it finishes
                # tearing down and exits on its own, reaped by subprocess later
                if not self._eof(proc, CLOSE_WAIT_S):
                    _kill_tree(proc)
            except OSError:
                _kill_tree(proc)
            finally:
                if proc.stdout:
                    proc.stdout.close()

    @staticmethod
    def _eof(proc: subprocess.Popen[str], timeout: float) -> bool:
        """Wait until the server closes its output (or exits); False on timeout."""
        import select

        if proc.stdout is None:
            return proc.poll() is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready and not os.read(fd, 65536):
                return True

    def _kill(self) -> None:
        if self._proc is not None:
            _kill_tree(self._proc)
            if self._proc.stdout:
                self._proc.stdout.close()
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc = None
            self._ready = None

    def __enter__(self) -> Runner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ---------------------------------------------------------------------------------
    def run(
        self,
        code: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        expect: str | None = None,
        mode: str = "live",
    ) -> RunResult:
        """Run one snippet; never raises for what the snippet does."""
        with self._lock:
            hello = self._wait_ready()
            if not hello.get("ready"):
                error = str(hello.get("error", "the code runner is not available"))
                kind = "no-torch" if "torch" in error else "runner"
                return RunResult(ok=False, error=error, kind=kind)
            assert self._proc is not None and self._proc.stdin is not None
            req = {
                "id": next(self._ids),
                "code": code,
                "timeout": float(timeout),
                "expect": expect,
                "mode": mode,
            }
            try:
                self._proc.stdin.write(json.dumps(req) + "\n")
                self._proc.stdin.flush()
            except OSError:
                self._kill()
                return RunResult(
                    ok=False, kind="runner", error="the code runner stopped; try again"
                )
            line = self._readline(float(timeout) + 15.0)
            if line is None:
                self._kill()
                return RunResult(
                    ok=False, kind="runner", error="the code runner stopped answering; try again"
                )
            try:
                return RunResult.from_dict(json.loads(line))
            except (ValueError, TypeError):
                return RunResult(ok=False, kind="runner", error="the code runner sent a bad answer")
