"""A `check` block: its statements (`where`, tolerances, the whitelist) and `check_math`."""

from __future__ import annotations

import ast
import dataclasses

import sympy as sp

from dlcards.checks.common import (
    PROOF_BUDGET,
    BlockProblem,
    CheckError,
    parse_expression,
    split_commas,
    split_definition,
    statements,
)
from dlcards.checks.math.decide import decide
from dlcards.checks.math.evaluator import Evaluator, Scope
from dlcards.checks.math.limits import CHECK_HINT, PROOF_BUDGET_S, _Timeout, time_budget
from dlcards.checks.math.vocabulary import VOCABULARY

# ---------------------------------------------------------------------------------------------
# The block


def _parse_where(text: str, scope: Scope) -> None:
    for part in _split_commas(text):
        node = parse_expression(part)
        if not isinstance(node, ast.Compare):
            raise CheckError(f"`{part.strip()}`: a bound looks like `x > 0` or `0 < p < 1`")
        operands = [node.left, *node.comparators]
        names = [o.id for o in operands if isinstance(o, ast.Name)]
        if len(names) != 1:
            raise CheckError(f"`{part.strip()}`: a bound compares one symbol with numbers")
        name = names[0]
        lo, lo_s, hi, hi_s = scope.bounds.get(name, (None, False, None, False))
        for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
            sym_left = isinstance(left, ast.Name)
            num = _number(right if sym_left else left, part)
            strict = isinstance(op, ast.Lt | ast.Gt)
            if not isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                raise CheckError(f"`{part.strip()}`: use < <= > >=")
            upper = isinstance(op, ast.Lt | ast.LtE) == sym_left
            if upper:
                hi, hi_s = num, strict
            else:
                lo, lo_s = num, strict
        scope.bounds[name] = (lo, lo_s, hi, hi_s)


def _number(node: ast.expr, part: str) -> float:
    try:
        v = Evaluator(Scope()).eval(node)
        return float(sp.sympify(v))
    except (CheckError, TypeError, ValueError):
        raise CheckError(f"`{part.strip()}`: bounds must be numbers") from None


def _split_commas(text: str) -> list[str]:
    """The `where:` parts: `split_commas` without a trailing empty part."""
    parts = split_commas(text)
    return parts[:-1] if not parts[-1].strip() else parts


def check_math(text: str, *, budget: float = PROOF_BUDGET_S) -> list[BlockProblem]:
    """Check every claim of a `check` block; return its problems (offsets within the block)."""
    scope = Scope()
    problems: list[BlockProblem] = []
    stmts = statements(text)
    body = []
    for st in stmts:
        if st.text.startswith("where:"):
            try:
                _parse_where(st.text[len("where:") :], scope)
            except CheckError as exc:
                problems.append(
                    BlockProblem(st.offset, "error", "check-syntax", exc.message, exc.hint)
                )
        else:
            body.append(st)
    ev = Evaluator(scope)
    claims = 0
    for st in body:
        try:
            with time_budget(budget):
                claims += _statement(st.text, scope, ev, problems, st.offset, budget)
        except _Timeout:
            claims += 1
            problems.append(
                BlockProblem(
                    st.offset,
                    "error",
                    PROOF_BUDGET,
                    f"the statement could not be evaluated within {budget:g} s of CPU time",
                    "split it into smaller claims or use smaller vectors and numbers",
                )
            )
        except (ValueError, OverflowError, MemoryError, ZeroDivisionError, TypeError) as exc:
            # e.g. sympy refusing a huge number; never an internal error
            problems.append(
                BlockProblem(
                    st.offset,
                    "error",
                    "check-syntax",
                    f"cannot evaluate this statement: {type(exc).__name__}: {_first_line(exc)}",
                    "use smaller numbers and the vocabulary of docs/checks.md",
                )
            )
        except CheckError as exc:
            problems.append(BlockProblem(st.offset, "error", "check-syntax", exc.message, exc.hint))
        except RecursionError:
            problems.append(
                BlockProblem(st.offset, "error", "check-syntax", "expression too deeply nested")
            )
    problems = [
        p if p.hint or p.code != "check-syntax" else dataclasses.replace(p, hint=CHECK_HINT)
        for p in problems
    ]
    if claims == 0 and not problems:
        problems.append(
            BlockProblem(
                0,
                "warning",
                "check-syntax",
                "check block makes no claim",
                "write a claim as `lhs == rhs`",
            )
        )
    return problems


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text if len(text) <= 100 else text[:97] + "..."


def written_tolerance(text: str, node: ast.expr) -> float | None:
    """Half a unit in the last written digit of the claim's most precise decimal literal
    (`2.3040` -> 5e-05, `6.02e23` -> 5e+20); None when the claim writes no decimal literal
    (integers and exact forms are compared exactly)."""
    best: float | None = None
    source = text.strip()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, float):
            literal = ast.get_source_segment(source, sub) or repr(sub.value)
            tol = decimal_tolerance(literal)
            if tol is not None and (best is None or tol < best):
                best = tol
    return best


def decimal_tolerance(literal: str) -> float | None:
    """Half a unit in the last digit of a decimal literal: '2.3040' -> 5e-05, '1e-3' -> 5e-04."""
    text = literal.strip().lower().replace("_", "")
    mantissa, _, exponent = text.partition("e")
    try:
        exp10 = int(exponent) if exponent else 0
    except ValueError:
        return None
    if abs(exp10) > 400:
        return None
    decimals = len(mantissa.partition(".")[2]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (exp10 - decimals)


def _statement(
    text: str, scope: Scope, ev: Evaluator, problems: list[BlockProblem], offset: int, budget: float
) -> int:
    node = _parse_statement(text)
    if isinstance(node, ast.Assign):
        target = node.targets[0]
        if isinstance(target, ast.Name):
            name = target.id
            _check_new_name(name)
            scope.names[name] = ev.eval(node.value)
            return 0
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Name):
            name = target.func.id
            _check_new_name(name)
            params = []
            for a in target.args:
                if not isinstance(a, ast.Name) or a.id.startswith("_"):
                    raise CheckError(f"`{ast.unparse(target)}`: parameters must be plain names")
                params.append(a.id)
            # validate the body's syntax now (evaluated on each call)
            _whitelist(node.value)
            scope.functions[name] = (params, node.value)
            return 0
        raise CheckError(
            f"`{ast.unparse(target)}`: define a name (`a = ...`) or a function (`f(x) = ...`)"
        )
    assert isinstance(node, ast.Compare)
    lhs, rhs = ev.eval(node.left), ev.eval(node.comparators[0])
    for side in (lhs, rhs):
        if isinstance(side, str | tuple | list):
            raise CheckError("each side of a claim must be an expression")
    verdict = decide(lhs, rhs, scope, budget=budget, tolerance=written_tolerance(text, node))
    if verdict.status == "undefined":
        problems.append(
            BlockProblem(
                offset,
                "error",
                "claim-undefined",
                verdict.message,
                "undefined is false: fix the formula, or give `where:` bounds inside its domain",
            )
        )
    elif verdict.status == "budget":
        problems.append(
            BlockProblem(
                offset,
                "warning",
                PROOF_BUDGET,
                verdict.message,
                "split it into smaller claims or use smaller vectors; --strict makes this an error",
            )
        )
    elif verdict.status == "false":
        problems.append(
            BlockProblem(
                offset,
                "error",
                "claim-false",
                verdict.message,
                "fix the formula on the card and in the check block",
            )
        )
    elif verdict.status == "unproved":
        problems.append(
            BlockProblem(
                offset,
                "warning",
                "claim-unproved",
                verdict.message,
                "add `where:` bounds if it holds only on a domain; --strict makes this an error",
            )
        )
    elif verdict.status == "undecided":
        problems.append(
            BlockProblem(
                offset,
                "warning",
                "claim-undecided",
                verdict.message,
                "check the `where:` bounds and the functions' domains",
            )
        )
    return 1


def _check_new_name(name: str) -> None:
    if name.startswith("_"):
        raise CheckError(f"`{name}`: names starting with `_` are not allowed")
    if name in VOCABULARY:
        raise CheckError(f"`{name}` is a vocabulary name and cannot be redefined")


_ALLOWED = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.MatMult,
    ast.BitXor,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Subscript,
    ast.Attribute,
    ast.Slice,
)


def _whitelist(node: ast.AST) -> None:
    for sub in ast.walk(node):
        if not isinstance(sub, _ALLOWED):
            raise CheckError(
                f"`{ast.unparse(sub) if isinstance(sub, ast.expr) else type(sub).__name__}` "
                "is not allowed in a check block"
            )
        if isinstance(sub, ast.Attribute) and sub.attr != "T":
            raise CheckError(f"`{ast.unparse(sub)}`: only the `.T` attribute is allowed")
        if isinstance(sub, ast.Name) and sub.id.startswith("_"):
            raise CheckError(f"`{sub.id}`: names starting with `_` are not allowed")


def _parse_statement(text: str) -> ast.Assign | ast.Compare:
    stripped = text.strip()
    sides = split_definition(stripped)  # `f(x) = expr` is not Python
    if sides is not None:
        target = parse_expression(sides[0])
        value = parse_expression(sides[1])
        _whitelist(value)
        return ast.Assign(targets=[target], value=value, lineno=1)
    node = parse_expression(stripped)
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
            raise CheckError(
                f"`{stripped}`: a claim is `lhs == rhs` (one `==`)",
                "inequalities are not checked; bounds on symbols go in `where:`",
            )
        _whitelist(node.left)
        _whitelist(node.comparators[0])
        return node
    raise CheckError(
        f"`{stripped}` is neither a claim (`lhs == rhs`) nor a definition (`name = expr`)"
    )
