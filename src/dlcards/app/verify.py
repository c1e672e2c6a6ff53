"""Evaluation of the checked blocks (`check`, `shapes`, `torch`) for `dlcards check`.

The checkers live in `dlcards.checks`; code runs in `dlcards.checks.runner`. This module decides
which blocks need running (a cache keyed by block text, checker version, library versions and
device kind; failures are cached too), runs the misses (in parallel when there are enough),
asks for consent before any code runs, and turns block-relative results into located problems.

Nothing heavy is imported when every block is a cache hit: versions are read from the
installed packages' files, not by importing sympy or torch.

Parts: `verify_values` (Task, CheckTally, CheckReport, Progress), `verify_cache`
(ResultCache, cacheable), `verify_code` (code runners); all re-exported here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from dlcards.app.verify_cache import CHECKS_SCHEMA as CHECKS_SCHEMA
from dlcards.app.verify_cache import ResultCache as ResultCache
from dlcards.app.verify_cache import _problem_list as _problem_list
from dlcards.app.verify_cache import cacheable as cacheable
from dlcards.app.verify_code import MAX_RUNNERS as MAX_RUNNERS
from dlcards.app.verify_code import SNIPPETS_PER_RUNNER as SNIPPETS_PER_RUNNER
from dlcards.app.verify_code import _code_gate as _code_gate
from dlcards.app.verify_code import _cores as _cores
from dlcards.app.verify_code import _run_code as _run_code
from dlcards.app.verify_values import CardBinding as CardBinding
from dlcards.app.verify_values import CheckReport as CheckReport
from dlcards.app.verify_values import CheckReportDict as CheckReportDict
from dlcards.app.verify_values import CheckTally as CheckTally
from dlcards.app.verify_values import Progress as Progress
from dlcards.app.verify_values import Task as Task
from dlcards.core.errors import Problem, SourceLocation, sort_problems
from dlcards.core.model import Block, Note
from dlcards.system.decks import Decks
from dlcards.system.versions import mpmath_version, sympy_version, torch_version

CHECKER_VERSION = "1"
PARALLEL_MIN = 24  # misses below this run in this process: starting workers costs more
CODE_TIMEOUT_S = 10.0


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
    # `len(col.cards)` without building every `Card`: one per basic note, one per cloze number
    cards = sum(1 if n.kind == "basic" else len(n.numbers) for n in col.notes)
    return CheckReport.of(problems, tally, files=len(col.files), cards=cards)


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
    # blocks with the same key (the same text and formulas: a formula repeated on many cards)
    # read their cached result once
    seen: dict[str, list[dict[str, Any]] | None] = {}
    for task in pure + code:
        if task.key not in seen:
            seen[task.key] = cache.get(task.key)
        task.result = seen[task.key]
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
        to_run = len({t.key for t in pure_misses}) + (len(code_misses) if runners else 0)
        progress.start(to_run, "Checking")
    if pure_misses:
        # one run per distinct key: blocks with the same key are the same check of the same
        # text and formulas (what the cache would have served the second one)
        distinct: dict[str, Task] = {}
        for t in pure_misses:
            distinct.setdefault(t.key, t)
        results = run_pure(
            [
                ("bind", t.payload) if t.mode.startswith("bind") else (t.block.kind, t.block.text)
                for t in distinct.values()
            ],
            progress=progress,
        )
        result_of = dict(zip(distinct, results, strict=True))
        for key, res in result_of.items():
            cache.put(key, res)  # unless a checker bug or a time-out (see cacheable)
        for task in pure_misses:
            task.result = result_of[task.key]
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
    _bind_torch_values(report.bindings, code)
    out += _binding_problems(col, report.bindings, strict)
    return sort_problems(out)


def _bind_torch_values(bindings: list[CardBinding], code: list[Task]) -> None:
    """A card's setting (`$T = 1000$`) that no check block proves, bound to a torch block's
    tagged assert (`assert … == 1000  # card: T`; `checks.binding.torch_values`)."""
    from dlcards.checks.binding import bind_torch_value

    ran = {(id(t.note), id(t.block)): t.result for t in code}
    for b in bindings:
        torch = [bl for bl in b.note.blocks if bl.kind == "torch"]
        if not torch or not any("# card:" in bl.text for bl in torch):
            continue
        blocks: list[tuple[str, bool | None]] = []
        for bl in torch:
            result = ran.get((id(b.note), id(bl)))
            not_run = result is None or any(d.get("code") == "code-not-run" for d in result)
            passed = (
                None if not_run else not any(d.get("severity") == "error" for d in result or [])
            )
            blocks.append((bl.text, passed))
        for i, (formula, outcome) in enumerate(zip(b.formulas, b.outcomes, strict=True)):
            if outcome is not None and outcome.status != "unbound":
                continue
            found = bind_torch_value(i, formula, blocks)
            if found is not None:
                b.outcomes[i] = found


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
    false, or a block fails), `code` (no formula on the card, only answer-side torch blocks, and
    they passed: "code block passed", never "formula proved"), `unchecked` (no cached result:
    run `dlcards check`), or `none` (no check/shapes block)."""
    from dlcards.checks.binding import Outcome, best, card_formulas, formula_payload

    blocks = [b for b in note.blocks if b.kind in ("check", "shapes")]
    if not blocks:
        return _code_status(note, cache)
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


def _code_status(note: Note, cache: ResultCache | None) -> str:
    """`code` or `false` for a card checked by code (coverage's `code-checked`: only
    answer-side torch blocks and no formula on the card) once `dlcards check` ran it; `none`
    for any other card, or before the check."""
    from dlcards.checks.binding import bind_torch_value, card_formulas

    torch = [b for b in note.blocks if b.kind == "torch"]
    question = any(b.side == "question" for b in torch) and note.kind == "basic"
    if not torch or question:
        return "none"
    cache = cache or ResultCache()
    tv = torch_version()
    blocks: list[tuple[str, bool | None]] = []
    for block in torch:
        result = cache.get(cache.key("torch", block.text, "answer", "", tv, "cpu"))
        if result is None:
            return "none"  # as before code cards had a status: says nothing until checked
        if any(d.get("severity") == "error" for d in result):
            return "false"
        blocks.append((block.text, True))
    formulas = card_formulas(note)
    if not formulas:
        return "code"
    # settings the torch block asserts (`# card: T`): proved only when every formula is
    found = [bind_torch_value(i, f, blocks) for i, f in enumerate(formulas)]
    if any(o is not None and o.status == "false" for o in found):
        return "false"
    return "proved" if all(o is not None and o.status == "proved" for o in found) else "none"


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
