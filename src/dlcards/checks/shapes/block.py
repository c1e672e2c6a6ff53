"""A `shapes` block: `where:`, statements and claims; `evaluate_shapes` and `check_shapes`."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlcards.checks.common import (
    PROOF_BUDGET,
    BlockProblem,
    CheckError,
    parse_expression,
    statements,
)
from dlcards.checks.math import _Timeout, time_budget
from dlcards.checks.shapes.evaluator import ShapeEvaluator
from dlcards.checks.shapes.sizes import (
    DECL_RE,
    DEF_RE,
    SHAPES_BUDGET_S,
    SHAPES_HINT,
    Dims,
    ShapeError,
    Tensor,
    _int,
    fmt_shape,
)

# ---------------------------------------------------------------------------------------------
# The block


def _split_arrow(text: str) -> tuple[str, str] | None:
    depth, quote = 0, None
    found = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "-" and depth == 0 and text[i + 1 : i + 2] == ">":
            found = i
    if found is None:
        return None
    return text[:found].strip(), text[found + 2 :].strip()


@dataclass
class ShapeResult:
    """What one claim evaluated to (used by tests to compare with torch)."""

    offset: int
    expr: str
    shape: tuple[Any, ...] | None
    error: str | None


def _parse_where(text: str, dims: Dims, ev: ShapeEvaluator) -> None:
    from dlcards.checks.math import _split_commas

    for part in _split_commas(text):
        node = parse_expression(part)
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            raise CheckError(
                f"`{part.strip()}`: a constraint looks like `D == h * d_k`, `H % 2 == 0` or `k <= H`"
            )
        op = node.ops[0]
        left, right = node.left, node.comparators[0]
        if isinstance(op, ast.Eq) and isinstance(left, ast.BinOp) and isinstance(left.op, ast.Mod):
            a, n = ev.eval(left.left), _int(ev.eval(left.right))
            if not isinstance(a, sp.Symbol) or n is None or n < 1 or _int(ev.eval(right)) != 0:
                raise CheckError(f"`{part.strip()}`: write divisibility as `H % 2 == 0`")
            q = dims.symbol(f"{a.name}_{n}")
            dims.subs[a] = n * q
        elif isinstance(op, ast.Eq):
            a, b = ev.eval(left), ev.eval(right)
            if isinstance(a, sp.Symbol) and a not in dims.subs:
                dims.subs[a] = b
            elif isinstance(b, sp.Symbol) and b not in dims.subs:
                dims.subs[b] = a
            else:
                raise CheckError(f"`{part.strip()}`: one side of `==` must be a single size name")
        elif isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
            sym = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}[type(op)]
            dims.bounds.append((ev.eval(left), sym, ev.eval(right)))
        else:
            raise CheckError(f"`{part.strip()}`: use ==, <, <=, > or >=")


_NUMERIC_FAILURES = (ValueError, OverflowError, ZeroDivisionError, TypeError, MemoryError)


def _out_of_budget(offset: int, budget: float) -> BlockProblem:
    return BlockProblem(
        offset,
        "error",
        PROOF_BUDGET,
        f"the statement could not be checked within {budget:g} s of CPU time",
        "use smaller sizes and simpler constraints (sizes are symbols: write `N`, not 10**9)",
    )


def _unevaluable(offset: int, exc: BaseException) -> BlockProblem:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return BlockProblem(
        offset,
        "error",
        "shape-syntax",
        f"cannot evaluate this statement: {type(exc).__name__}: {text[:100]}",
        "sizes are positive integers or symbols; see docs/checks.md",
    )


def evaluate_shapes(
    text: str, *, budget: float = SHAPES_BUDGET_S
) -> tuple[list[BlockProblem], list[ShapeResult]]:
    """Check a `shapes` block; also return what each claim's expression evaluated to."""
    dims = Dims()
    env: dict[str, Any] = {}
    ev = ShapeEvaluator(dims, env)
    problems: list[BlockProblem] = []
    results: list[ShapeResult] = []
    stmts = statements(text)
    claims = 0
    # constraints apply to the whole block: read them first
    for st in stmts:
        if st.text.startswith("where:"):
            try:
                with time_budget(budget):
                    _parse_where(st.text[len("where:") :], dims, ev)
            except CheckError as exc:
                problems.append(
                    BlockProblem(st.offset, "error", "shape-syntax", exc.message, exc.hint)
                )
            except _Timeout:
                problems.append(_out_of_budget(st.offset, budget))
            except _NUMERIC_FAILURES as exc:
                problems.append(_unevaluable(st.offset, exc))
    for st in stmts:
        if st.text.startswith("where:"):
            continue
        try:
            with time_budget(budget):
                claims += _shape_statement(st.text, st.offset, ev, env, problems, results)
        except _Timeout:
            problems.append(_out_of_budget(st.offset, budget))
        except _NUMERIC_FAILURES as exc:
            problems.append(_unevaluable(st.offset, exc))
        except ShapeError as exc:
            problems.append(BlockProblem(st.offset, "error", "shape-error", exc.message, exc.hint))
        except CheckError as exc:
            problems.append(BlockProblem(st.offset, "error", "shape-syntax", exc.message, exc.hint))
        except RecursionError:
            problems.append(
                BlockProblem(st.offset, "error", "shape-syntax", "expression too deeply nested")
            )
    problems = [
        p if p.hint or p.code != "shape-syntax" else dataclasses.replace(p, hint=SHAPES_HINT)
        for p in problems
    ]
    if claims == 0 and not problems:
        problems.append(
            BlockProblem(
                0,
                "warning",
                "shape-syntax",
                "shapes block makes no claim",
                "write a claim as `expr -> (d1, d2)`",
            )
        )
    return problems, results


def check_shapes(text: str, *, budget: float = SHAPES_BUDGET_S) -> list[BlockProblem]:
    return evaluate_shapes(text, budget=budget)[0]


def _shape_statement(
    text: str,
    offset: int,
    ev: ShapeEvaluator,
    env: dict[str, Any],
    problems: list[BlockProblem],
    results: list[ShapeResult],
) -> int:
    arrow = _split_arrow(text)
    if arrow is not None:
        expr_text, claim_text = arrow
        node = parse_expression(expr_text)
        if claim_text == "error":
            try:
                value = ev.eval(node)
            except ShapeError as exc:
                results.append(ShapeResult(offset, expr_text, None, exc.message))
                return 1
            shape = value.shape if isinstance(value, Tensor) else ()
            results.append(ShapeResult(offset, expr_text, shape, None))
            problems.append(
                BlockProblem(
                    offset,
                    "error",
                    "shape-mismatch",
                    f"expected an error, but {expr_text} is valid with shape {fmt_shape(shape)}",
                )
            )
            return 1
        claim_node = parse_expression(claim_text)
        if not isinstance(claim_node, ast.Tuple | ast.List):
            raise CheckError(
                f"`{claim_text}`: a claimed shape is a tuple like (N, C) or (N,), or `error`"
            )
        claimed = tuple(ev.eval(e) for e in claim_node.elts)
        for d in claimed:
            if not isinstance(d, sp.Basic):
                raise CheckError(f"`{claim_text}`: sizes must be integers or size names")
        try:
            value = ev.eval(node)
        except ShapeError as exc:
            results.append(ShapeResult(offset, expr_text, None, exc.message))
            raise
        if not isinstance(value, Tensor):
            raise CheckError(f"`{expr_text}` is not a tensor")
        results.append(ShapeResult(offset, expr_text, value.shape, None))
        _compare(expr_text, value.shape, claimed, ev.dims, offset, problems)
        return 1
    m = DECL_RE.match(text)
    if m:
        name, rest = m.group(1), m.group(2)
        if name.startswith("_"):
            raise CheckError(f"`{name}`: names starting with `_` are not allowed")
        node = parse_expression(rest)
        if not isinstance(node, ast.Tuple | ast.List):
            raise CheckError(
                f"`{text}`: declare a tensor as `{name}: (d1, d2)`; a 1-D tensor is `{name}: (n,)`"
            )
        shape = tuple(ev.eval(e) for e in node.elts)
        for d in shape:
            if not isinstance(d, sp.Basic) or isinstance(d, sp.Float):
                raise CheckError(f"`{text}`: sizes must be integers or size names")
            iv = _int(d)
            if iv is not None and iv < 1:
                raise CheckError(f"`{text}`: sizes must be positive")
        env[name] = Tensor(shape)
        return 0
    m = DEF_RE.match(text)
    if m:
        env[m.group(1)] = ev.eval(parse_expression(m.group(2)))
        return 0
    raise CheckError(
        f"`{text}` is not a declaration (`X: (N, D)`), a claim (`expr -> (N, D)`) "
        "or a definition (`Y = expr`)"
    )


def _compare(
    expr: str,
    actual: tuple[Any, ...],
    claimed: tuple[Any, ...],
    dims: Dims,
    offset: int,
    problems: list[BlockProblem],
) -> None:
    if len(actual) != len(claimed):
        problems.append(
            BlockProblem(
                offset,
                "error",
                "shape-mismatch",
                f"shape mismatch: {expr} is {fmt_shape(actual)}, claimed {fmt_shape(claimed)}",
            )
        )
        return
    for i, (a, c) in enumerate(zip(actual, claimed, strict=True)):
        same, example = dims.equal(a, c)
        if not same:
            where = f"; dim {i} differs at {example}" if example else ""
            problems.append(
                BlockProblem(
                    offset,
                    "error",
                    "shape-mismatch",
                    f"shape mismatch: {expr} is {fmt_shape(actual)}, "
                    f"claimed {fmt_shape(claimed)}{where}",
                )
            )
            return
