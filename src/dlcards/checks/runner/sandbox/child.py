"""Running one snippet in the forked child (`prepare_child`, `run_child`) and describing its errors."""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

from dlcards.checks.runner.protocol import MEMORY_LIMIT_MB, OUTPUT_LIMIT
from dlcards.checks.runner.sandbox.isolation import (
    NetworkBlocked,
    ProcessBlocked,
    die_with_parent,
    isolate,
    relay,
)
from dlcards.checks.runner.sandbox.limits import (
    drop_root,
    install_guards,
    set_limits,
    set_static_limits,
)
from dlcards.checks.runner.sandbox.values import (
    answer_namespace,
    answer_tolerance,
    display,
    normalise,
    same,
)

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
