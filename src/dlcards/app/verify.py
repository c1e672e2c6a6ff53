"""Evaluation of the checked blocks (`check`, `shapes`, `torch`) for `dlcards check`.

The checkers live in `dlcards.checks`; code runs in `dlcards.checks.runner`. This module decides
which blocks need running (a cache keyed by block text, checker version, library versions and
device kind; failures are cached too), runs the misses (in parallel when there are enough),
asks for consent before any code runs, and turns block-relative results into located problems.

Nothing heavy is imported when every block is a cache hit: versions are read from the
installed packages' files, not by importing sympy or torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlcards.core.errors import Problem, SourceLocation, sort_problems
from dlcards.core.model import Block, Note
from dlcards.system.decks import Collection
from dlcards.system.fsutil import write_cache
from dlcards.system.versions import mpmath_version, sympy_version, torch_version

CHECKER_VERSION = "1"
PARALLEL_MIN = 24  # misses below this run in this process: starting workers costs more
CODE_TIMEOUT_S = 10.0
MAX_RUNNERS = 4  # runner servers for many code misses (each imports torch once)
SNIPPETS_PER_RUNNER = 12  # fewer misses than this per extra server: one server is faster


@dataclass
class Task:
    note: Note
    block: Block
    key: str
    mode: str = ""  # torch: "question" | "answer"
    expect: str | None = None
    result: list[dict[str, Any]] | None = None


@dataclass
class CheckReport:
    """What `dlcards check` says besides problems (printed to stderr by the command)."""

    notes: list[str] = field(default_factory=list)
    blocks: int = 0
    cached: int = 0
    ran: int = 0
    snippets: int = 0


def cache_dir() -> Path:
    from dlcards.system.config import state_dir

    return state_dir() / "cache" / "checks"


def checker_version() -> str:
    """CHECKER_VERSION plus a fingerprint of the checker and runner code itself."""
    from dlcards.system.versions import code_fingerprint

    return CHECKER_VERSION + "/" + code_fingerprint("checks")


class ResultCache:
    """Check results of one run: one JSON file per block (the source of truth, failures too)
    plus one index file per collection holding its last run's results, so a no-change check
    reads one file instead of one per block. Keys include the checker's own version."""

    def __init__(self, root: Path, base: Path | None = None, checker: str | None = None):
        self.base = base if base is not None else cache_dir()
        self.checker = checker if checker is not None else checker_version()
        name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
        self.index_path = self.base / "index" / f"{name}.json"
        try:
            data = json.loads(self.index_path.read_bytes())
        except (OSError, ValueError):
            data = {}
        self.old: dict[str, Any] = data if isinstance(data, dict) else {}
        self.new: dict[str, Any] = {}

    def key(self, *parts: str) -> str:
        h = hashlib.sha256()
        for p in (self.checker, *parts):
            h.update(p.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.base / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[dict[str, Any]] | None:
        hit = self.old.get(key)
        if isinstance(hit, list):
            return hit
        try:
            data = json.loads(self._path(key).read_bytes())
        except (OSError, ValueError):
            return None
        items = data.get("problems") if isinstance(data, dict) else None
        return items if isinstance(items, list) else None

    def put(self, key: str, problems: list[dict[str, Any]]) -> None:
        write_cache(self._path(key), json.dumps({"problems": problems}).encode("utf-8"))

    def save_index(self) -> None:
        if self.new != self.old:
            write_cache(self.index_path, json.dumps(self.new).encode("utf-8"))


def _cacheable(result: list[dict[str, Any]]) -> bool:
    return not any(d.get("code") in ("internal", "code-not-run") for d in result)


def _check_pure(item: tuple[str, str]) -> list[dict[str, Any]]:
    from dlcards.checks import check_block

    kind, text = item
    return [p.to_dict() for p in check_block(kind, text)]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_pure(
    items: list[tuple[str, str]], *, parallel_min: int = PARALLEL_MIN
) -> list[list[dict[str, Any]]]:
    """Check `check`/`shapes` blocks, in worker processes when there are enough of them."""
    cores = _cores()
    if len(items) < parallel_min or cores < 2:
        import gc

        # sympy's import and first derivatives allocate many objects; pausing the cyclic
        # collector meanwhile saves ~15% of an edited card's re-check (see bench_check.py)
        was = gc.isenabled()
        gc.disable()
        try:
            return [_check_pure(i) for i in items]
        finally:
            if was:
                gc.enable()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from dlcards.checks import preload

    preload()  # sympy imported once here, shared by the forked workers

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    ctx = multiprocessing.get_context(method)
    workers = min(cores, max(1, len(items) // 8))
    chunk = max(1, len(items) // (workers * 4))
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            return list(pool.map(_check_pure, items, chunksize=chunk))
    except (BrokenProcessPool, OSError):  # a worker died (or none could start): do it here
        return [_check_pure(i) for i in items]


def _locate(col: Collection, note: Note, block: Block, d: dict[str, Any], strict: bool) -> Problem:
    severity = d["severity"]
    code = d["code"]
    message = d["message"]
    if strict and code == "claim-unproved":
        severity = "error"
    line = block.first_line + int(d.get("offset", 0))
    return Problem(
        SourceLocation(col.display_path(note.path), line), severity, code, message, d.get("hint")
    )


def run_checks(
    col: Collection,
    problems: list[Problem],
    *,
    strict: bool = False,
    no_exec: bool = False,
    no_cache: bool = False,
    quiet: bool = False,
    report: CheckReport | None = None,
    runner_factory: Callable[[], Any] | None = None,
) -> list[Problem]:
    """Return the structural problems plus those of every checked block, sorted."""
    report = report if report is not None else CheckReport()
    cache = ResultCache(col.root)  # the checker fingerprint is read once per run
    out = list(problems)
    pure: list[Task] = []
    code: list[Task] = []
    sv = tv = None
    for note in col.notes:
        for block in note.blocks:
            report.blocks += 1
            if block.kind in ("check", "shapes"):
                sv = (
                    sv
                    if sv is not None
                    else f"{sympy_version()}/{mpmath_version()}/{sys.version_info[:2]}"
                )
                pure.append(Task(note, block, cache.key(block.kind, block.text, sv)))
            elif block.kind == "torch" and not no_exec:
                # the key holds the whole answer text: finding its first code span needs the
                # Markdown parser, which only a miss pays for
                mode = "question" if block.side == "question" and note.kind == "basic" else "answer"
                answer = note.answer if mode == "question" else ""
                tv = tv if tv is not None else torch_version()
                code.append(
                    Task(note, block, cache.key("torch", block.text, mode, answer, tv, "cpu"), mode)
                )
    for task in pure + code:
        if not no_cache:
            task.result = cache.get(task.key)
            if task.result is not None:
                report.cached += 1
    code_misses = []
    for task in code:
        if task.result is not None:
            continue
        from dlcards.checks.code import plan

        planned = plan(task.note, task.block)
        if isinstance(planned, tuple):
            task.expect = planned[1]
            code_misses.append(task)
        else:
            task.result = [planned.to_dict()]
            cache.put(task.key, task.result)
    runners: list[Any] = []
    if code_misses and _code_gate(col, code_misses, out):
        from dlcards.checks.runner.client import Runner

        make = runner_factory or Runner
        count = max(1, min(_cores(), MAX_RUNNERS, len(code_misses) // SNIPPETS_PER_RUNNER))
        runners = [make() for _ in range(count)]
        for r in runners:
            r.start()  # torch loads in the background while the formulas are checked
    pure_misses = [t for t in pure if t.result is None]
    if pure_misses:
        results = run_pure([(t.block.kind, t.block.text) for t in pure_misses])
        for task, res in zip(pure_misses, results, strict=True):
            task.result = res
            if _cacheable(res):  # a checker bug is not a result
                cache.put(task.key, res)
            report.ran += 1
    if runners:
        try:
            _run_code(runners, code_misses, report, cache)
        finally:
            for r in runners:
                r.close()
    for task in pure + code:
        for d in task.result or []:
            out.append(_locate(col, task.note, task.block, d, strict))
        if task.result is not None and _cacheable(task.result):
            cache.new[task.key] = task.result
    cache.save_index()
    return sort_problems(out)


def _code_gate(col: Collection, misses: list[Task], out: list[Problem]) -> bool:
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
    runners: list[Any], tasks: list[Task], report: CheckReport, cache: ResultCache
) -> None:
    """Run the snippets, one thread per runner server (each forks its own children)."""
    from concurrent.futures import ThreadPoolExecutor

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
            result = runner.run(task.block.text, CODE_TIMEOUT_S, expect=task.expect, mode="check")
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
                continue  # not cached: it says nothing about the snippet
            task.result = [
                p.to_dict() for p in problems_of(result.to_dict(), task.block.text, task.mode)
            ]
            cache.put(task.key, task.result)
            with lock:
                isolated.append(bool(result.net_isolated))
                report.snippets += 1
                report.ran += 1

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
