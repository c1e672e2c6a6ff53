"""Running code cards: `_code_gate` (consent and torch), `_run_code` (one thread per runner
server) and the runner counts (`MAX_RUNNERS`, `SNIPPETS_PER_RUNNER`, `_cores`)."""

from __future__ import annotations

import os
import threading
from typing import Any

from dlcards.app.verify_cache import ResultCache
from dlcards.app.verify_values import (
    CheckTally,
    Progress,
    Task,
)
from dlcards.core.errors import Problem, SourceLocation
from dlcards.system.decks import Decks

MAX_RUNNERS = 4  # runner servers for many code misses (each imports torch once)
SNIPPETS_PER_RUNNER = 12  # fewer misses than this per extra server: one server is faster


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _code_gate(col: Decks, misses: list[Task], out: list[Problem]) -> bool:
    """Whether code may and can run; if not, one warning for the collection says why."""
    from dlcards.checks.runner.client import torch_available
    from dlcards.checks.runner.consent import is_trusted

    first = min(misses, key=lambda t: (t.note.path, t.block.line))
    where = SourceLocation(col.display_path(first.note.path), first.block.line)
    n = len(misses)
    cards = f"{n} code card{'s' if n != 1 else ''}"
    if not is_trusted(col.root):
        out.append(
            Problem(
                where,
                "warning",
                "needs-trust",
                f"{cards} not run: this collection has no consent to run code here",
                "run `dlcards trust` to allow it (see docs/checks.md), or pass --no-exec "
                "to skip code cards",
            )
        )
        return False
    if not torch_available():
        out.append(
            Problem(
                where,
                "warning",
                "no-torch",
                f"{cards} not run: PyTorch is not installed",
                "install torch (e.g. `pip install torch`), or pass --no-exec",
            )
        )
        return False
    return True


def _run_code(
    runners: list[Any],
    tasks: list[Task],
    report: CheckTally,
    cache: ResultCache,
    progress: Progress | None = None,
) -> None:
    """Run the snippets, one thread per runner server (each forks its own children)."""
    from concurrent.futures import ThreadPoolExecutor

    from dlcards.app import verify  # CODE_TIMEOUT_S as it is now (tests lower it there)
    from dlcards.checks.code import problems_of

    queue = list(reversed(tasks))
    lock = threading.Lock()
    isolated: list[bool] = []

    def work(runner: Any) -> None:
        while True:
            with lock:
                if not queue:
                    return
                task = queue.pop()
            result = runner.run(
                task.block.text, verify.CODE_TIMEOUT_S, expect=task.expect, mode="check"
            )
            if result.kind in ("no-torch", "runner"):
                task.result = [
                    {
                        "offset": 0,
                        "severity": "warning",
                        "code": "code-not-run",
                        "message": f"code card not run: {result.error}",
                        "hint": None,
                    }
                ]
                if progress is not None:
                    with lock:
                        progress.advance()
                continue  # not cached: it says nothing about the snippet
            task.result = [
                p.to_dict() for p in problems_of(result.to_dict(), task.block.text, task.mode)
            ]
            cache.put(task.key, task.result)
            with lock:
                isolated.append(bool(result.net_isolated))
                report.snippets += 1
                report.ran += 1
                if progress is not None:
                    progress.advance()

    with ThreadPoolExecutor(max_workers=len(runners)) as pool:
        for f in [pool.submit(work, r) for r in runners]:
            f.result()
    if report.snippets:
        info = runners[0].ready_info
        device = info.get("device", "cpu")
        shown = f" ({device} available for review)" if device != "cpu" else ""
        report.notes.append(
            f"ran {report.snippets} code snippet{'s' if report.snippets != 1 else ''} "
            f"on cpu{shown}, torch {info.get('torch', '?')}"
        )
        if not all(isolated):
            report.notes.append(
                "note: this kernel does not allow a private network namespace; code "
                "cards ran with only a Python-level network guard"
            )
