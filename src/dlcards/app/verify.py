"""Evaluation of the checked blocks (`check`, `shapes`, `torch`) for `dlcards check`.

The checkers live in `dlcards.checks`; code runs in `dlcards.checks.runner`. This module decides
which blocks need running (a cache keyed by block text, checker version, library versions and
device kind; failures are cached too), runs the misses (in parallel when there are enough),
asks for consent before any code runs, and turns block-relative results into located problems.

Nothing heavy is imported when every block is a cache hit: versions are read from the
installed packages' files, not by importing sympy or torch.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from typing_extensions import TypedDict

from dlcards.core.errors import Problem, ProblemDict, SourceLocation, sort_problems
from dlcards.core.model import Block, Note
from dlcards.system.cache import Cache, Schema, any_speed_dependent
from dlcards.system.decks import Decks
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
    mode: str = ""  # torch: "question" | "answer"; check/shapes: "bind" with the card's formulas
    expect: str | None = None
    result: list[dict[str, Any]] | None = None
    payload: str = ""  # bind: the JSON the worker reads (block text and the card's formulas)


@dataclass
class CardBinding:
    """The formulas a card states and what binding found for each (issue 12; see
    `dlcards.checks.binding`): `outcomes[i]` is None when no block could bind formula i."""

    note: Note
    formulas: list[Any]  # checks.binding.CardFormula
    outcomes: list[Any]  # checks.binding.Outcome | None


@dataclass
class CheckTally:
    """What one `run_checks` call counts and says besides problems (filled in as it runs)."""

    notes: list[str] = field(default_factory=list)
    blocks: int = 0
    cached: int = 0
    ran: int = 0
    snippets: int = 0
    bindings: list[CardBinding] = field(default_factory=list)


class CheckReportDict(TypedDict):
    problems: list[ProblemDict]
    notes: list[str]
    files: int
    cards: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of `dlcards check`: every problem, sorted, and what it says besides them.

    `problem_dicts()` is the `dlcards check --json` output (schemas/check.schema.json);
    `to_dict()` is the whole report, as the run cache keeps it (`from_dict` reads it back).
    """

    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()
    files: int = 0
    cards: int = 0
    blocks: int = 0
    cached: int = 0
    ran: int = 0
    snippets: int = 0

    @classmethod
    def of(
        cls, problems: list[Problem], tally: CheckTally, *, files: int, cards: int
    ) -> CheckReport:
        return cls(
            tuple(problems),
            tuple(tally.notes),
            files,
            cards,
            tally.blocks,
            tally.cached,
            tally.ran,
            tally.snippets,
        )

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    def problem_dicts(self) -> list[ProblemDict]:
        return [p.to_dict() for p in self.problems]

    def to_dict(self) -> CheckReportDict:
        return {
            "problems": self.problem_dicts(),
            "notes": list(self.notes),
            "files": self.files,
            "cards": self.cards,
        }

    @classmethod
    def from_dict(cls, d: CheckReportDict) -> CheckReport:
        problems = tuple(Problem.from_dict(p) for p in d["problems"])
        return cls(problems, tuple(d["notes"]), d["files"], d["cards"])


# one JSON list of block-relative problem dicts per block (failures too); the checker's own
# version is part of the key, dlcards' code fingerprint is part of every key
CHECKS_SCHEMA = Schema("checks", "2")


def _problem_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, dict) and isinstance(d.get("code"), str) for d in value
    )


class ResultCache:
    """Check results on `system.cache`: one entry per block (failures too), keyed by the
    checker's version, the block's text and the libraries' versions (and, as every key,
    dlcards' code fingerprint and the schema).

    A result that depended on the machine's speed (a proof out of its budget, a snippet that
    timed out: `system.cache.speed_dependent`) or that says nothing about the block (an
    internal error, code that could not run) is never stored: it is computed again next run.
    (An index of each collection's last results, read as one file, was measured to save
    nothing over reading one small file per block, and was dropped.)
    """

    def __init__(self, *, read: bool = True, folder: Path | None = None):
        self.read = read  # False (--no-cache): every block runs; results are stored anew
        self.entries: Cache[list[dict[str, Any]]] = Cache(
            CHECKS_SCHEMA, _problem_list, codec="json", folder=folder
        )

    def key(self, *parts: str) -> str:
        return self.entries.key(CHECKER_VERSION, *parts)

    def get(self, key: str) -> list[dict[str, Any]] | None:
        return self.entries.get(key) if self.read else None

    def put(self, key: str, problems: list[dict[str, Any]]) -> None:
        self.entries.put(key, problems, cacheable=cacheable(problems))


def cacheable(result: list[dict[str, Any]]) -> bool:
    """Whether a block's result is a verdict: not a checker bug or code that did not run
    (`checks.common.cacheable`: also a proof out of its CPU budget, a snippet that timed
    out), and nothing else that depended on the machine's speed (`system.cache`)."""
    from dlcards.checks.common import cacheable as checker_says

    if any(d.get("code") in ("internal", "code-not-run") for d in result):
        return False
    return checker_says(result) and not any_speed_dependent(result)


def _check_pure(item: tuple[str, str]) -> list[dict[str, Any]]:
    from dlcards.checks import check_block

    kind, text = item
    if kind == "bind":
        return _bind_pure(text)
    return [p.to_dict() for p in check_block(kind, text)]


def _bind_pure(payload: str) -> list[dict[str, Any]]:
    """A `check`/`shapes` block checked with the card's formulas bound to it: the block's own
    problems, then one outcome record (with a `formula` key) per formula."""
    import json

    from dlcards.checks.binding import bind_block
    from dlcards.checks.common import BlockProblem

    data = json.loads(payload)
    try:
        problems, outcomes = bind_block(data["kind"], data["text"], data["formulas"])
    except Exception as exc:  # a checker bug must not hide the other problems
        problems = [
            BlockProblem(
                0,
                "error",
                "internal",
                f"internal error while binding this card: {type(exc).__name__}: {exc}",
                "please report this with the card attached",
            )
        ]
        outcomes = []
    return [p.to_dict() for p in problems] + [o.to_dict() for o in outcomes]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_pure(
    items: list[tuple[str, str]],
    *,
    parallel_min: int = PARALLEL_MIN,
    progress: Progress | None = None,
) -> list[list[dict[str, Any]]]:
    """Check `check`/`shapes` blocks, in worker processes when there are enough of them."""

    def counted(results: Iterable[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        out = []
        for r in results:
            out.append(r)
            if progress is not None:
                progress.advance()
        return out

    cores = _cores()
    if len(items) < parallel_min or cores < 2:
        import gc

        # sympy's import and first derivatives allocate many objects; pausing the cyclic
        # collector meanwhile saves ~15% of an edited card's re-check (see bench_check.py)
        was = gc.isenabled()
        gc.disable()
        try:
            return counted(_check_pure(i) for i in items)
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
            return counted(pool.map(_check_pure, items, chunksize=chunk))
    except (BrokenProcessPool, OSError):  # a worker died (or none could start): do it here
        return [_check_pure(i) for i in items]


def _locate(col: Decks, note: Note, block: Block, d: dict[str, Any], strict: bool) -> Problem:
    severity = d["severity"]
    code = d["code"]
    message = d["message"]
    if strict and code in ("claim-unproved", "proof-budget"):
        severity = "error"  # --strict: what was not proved (in time) is not passed
    if strict and code == "card-formula-unproved":
        severity = "error"
    line = block.first_line + int(d.get("offset", 0))
    return Problem(
        SourceLocation(col.display_path(note.path), line), severity, code, message, d.get("hint")
    )


class Progress(Protocol):
    """Where long work reports how far it is (the CLI draws a bar on a terminal)."""

    def start(self, total: int, label: str) -> None: ...

    def advance(self, n: int = 1) -> None: ...


def check_report(
    col: Decks,
    *,
    strict: bool = False,
    no_exec: bool = False,
    no_cache: bool = False,
    quiet: bool = False,
    runner_factory: Callable[[], Any] | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """`dlcards check` of a collection: its structural problems plus those of every checked
    block, as one `CheckReport`."""
    tally = CheckTally()
    problems = run_checks(
        col,
        list(col.problems),
        strict=strict,
        no_exec=no_exec,
        no_cache=no_cache,
        quiet=quiet,
        report=tally,
        runner_factory=runner_factory,
        progress=progress,
    )
    return CheckReport.of(problems, tally, files=len(col.files), cards=len(col.cards))


def run_checks(
    col: Decks,
    problems: list[Problem],
    *,
    strict: bool = False,
    no_exec: bool = False,
    no_cache: bool = False,
    quiet: bool = False,
    report: CheckTally | None = None,
    runner_factory: Callable[[], Any] | None = None,
    progress: Progress | None = None,
) -> list[Problem]:
    """Return the structural problems plus those of every checked block, sorted. `progress`
    hears of every block that has to run (cache misses), as it finishes."""
    report = report if report is not None else CheckTally()
    cache = ResultCache(read=not no_cache)
    out = list(problems)
    pure: list[Task] = []
    code: list[Task] = []
    sv = tv = None
    from dlcards.checks.binding import card_formulas, formula_payload, free_payload

    formulas_of: dict[int, list[Any]] = {}
    for note in col.notes:
        formulas = card_formulas(note)
        formulas_of[id(note)] = formulas
        report.bindings.append(CardBinding(note, formulas, [None] * len(formulas)))
        free = free_payload(formulas) if not any(b.kind == "check" for b in note.blocks) else []
        if free:  # formulas that name nothing are proved without a block (`784 \cdot 128 = ...`)
            sv = sv or f"{sympy_version()}/{mpmath_version()}/{sys.version_info[:2]}"
            empty = Block(kind="check", side="answer", line=note.line, text="")
            key, payload = _pure_key(cache, empty, free, sv)
            pure.append(Task(note, empty, key, "bind-free", payload=payload))
        for block in note.blocks:
            report.blocks += 1
            if block.kind in ("check", "shapes"):
                sv = (
                    sv
                    if sv is not None
                    else f"{sympy_version()}/{mpmath_version()}/{sys.version_info[:2]}"
                )
                key, payload = _pure_key(cache, block, formula_payload(formulas), sv)
                pure.append(Task(note, block, key, "bind" if payload else "", payload=payload))
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
    if progress is not None and (pure_misses or runners):
        progress.start(len(pure_misses) + (len(code_misses) if runners else 0), "Checking")
    if pure_misses:
        results = run_pure(
            [
                ("bind", t.payload) if t.mode.startswith("bind") else (t.block.kind, t.block.text)
                for t in pure_misses
            ],
            progress=progress,
        )
        for task, res in zip(pure_misses, results, strict=True):
            task.result = res
            cache.put(task.key, res)  # unless a checker bug or a time-out (see cacheable)
            report.ran += 1
    if runners:
        try:
            _run_code(runners, code_misses, report, cache, progress)
        finally:
            for r in runners:
                r.close()
    bound: dict[int, CardBinding] = {id(b.note): b for b in report.bindings}
    for task in pure + code:
        for d in task.result or []:
            if "formula" in d:
                if task.mode == "bind-free" and d.get("status") == "unbound":
                    continue  # it needs a block: coverage says it has none
                _merge_outcome(bound[id(task.note)], d)
            elif task.mode == "bind-free":
                continue  # the empty block itself says nothing
            else:
                out.append(_locate(col, task.note, task.block, d, strict))
    out += _binding_problems(col, report.bindings, strict)
    return sort_problems(out)


def _pure_key(
    cache: ResultCache, block: Block, formulas: list[list[str]], sv: str
) -> tuple[str, str]:
    """The cache key of a `check`/`shapes` block, and its bind payload ("" without formulas)."""
    if not formulas:
        return cache.key(block.kind, block.text, sv), ""
    import json

    payload = json.dumps({"kind": block.kind, "text": block.text, "formulas": formulas})
    return cache.key("bind", block.kind, block.text, payload, sv), payload


def binding_status(note: Note, *, cache: ResultCache | None = None) -> str:
    """What a card's checks proved, from the result cache alone (nothing runs; for the review
    screen): `proved` (every formula on the card bound and proved), `numeric`, `unbound` (the
    blocks pass but the card's text is not what they prove), `false` (a formula on the card is
    false, or a block fails), `unchecked` (no cached result: run `dlcards check`), or `none`
    (no check/shapes block)."""
    from dlcards.checks.binding import Outcome, best, card_formulas, formula_payload

    blocks = [b for b in note.blocks if b.kind in ("check", "shapes")]
    if not blocks:
        return "none"
    cache = cache or ResultCache()
    formulas = card_formulas(note)
    payload = formula_payload(formulas)
    sv = f"{sympy_version()}/{mpmath_version()}/{sys.version_info[:2]}"
    found: dict[int, list[Outcome]] = {}
    for block in blocks:
        result = cache.get(_pure_key(cache, block, payload, sv)[0])
        if result is None:
            return "unchecked"
        if any(d.get("severity") == "error" and "formula" not in d for d in result):
            return "false"
        for d in result:
            if "formula" in d:
                o = Outcome.from_dict(d)
                found.setdefault(o.index, []).append(o)
    outcomes = [best(found.get(i, [])) for i in range(len(formulas))]
    statuses = {o.status if o is not None else "unbound" for o in outcomes}
    for status in ("false", "failed", "unbound", "numeric", "budget"):
        if status in statuses:
            return {"failed": "false", "budget": "numeric"}.get(status, status)
    return "proved" if formulas else "unbound"


def _merge_outcome(binding: CardBinding, d: dict[str, Any]) -> None:
    from dlcards.checks.binding import Outcome, best

    o = Outcome.from_dict(d)
    if 0 <= o.index < len(binding.outcomes):
        old = binding.outcomes[o.index]
        binding.outcomes[o.index] = best([o] if old is None else [old, o])


def _binding_problems(col: Decks, bindings: list[CardBinding], strict: bool) -> list[Problem]:
    """A card formula that is false is an error at its line (`card-formula-false`)."""
    from dlcards.checks.binding import outcome_problem

    out = []
    for b in bindings:
        for formula, outcome in zip(b.formulas, b.outcomes, strict=True):
            said = outcome_problem(formula, outcome) if outcome is not None else None
            if said is None:
                continue
            severity, code, message, hint = said
            if strict and code == "card-formula-unproved":
                severity = "error"
            where = SourceLocation(col.display_path(b.note.path), formula.line)
            out.append(Problem(where, severity, code, message, hint))  # type: ignore[arg-type]
    return out


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
