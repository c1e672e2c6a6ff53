"""Deciding one claim: falsified at random and extreme points, then proved within a budget."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlcards.checks.math.evaluator import Scope
from dlcards.checks.math.limits import (
    DIGITS,
    EXTREME_SHARE,
    EXTREMES,
    MAX_TRIES,
    POINTS,
    PROOF_BUDGET_S,
    _SubTimeout,
    _Timeout,
    sub_budget,
)
from dlcards.checks.math.values import Arr, _items

# ---------------------------------------------------------------------------------------------
# Deciding claims


def _fmt_point(v: float) -> str:
    return f"{v:g}"


def _fmt_value(v: Any, digits: int = 4) -> str:
    import mpmath

    if isinstance(v, mpmath.mpc):
        return f"({mpmath.nstr(v.real, digits)} + {mpmath.nstr(v.imag, digits)}j)"
    text = str(mpmath.nstr(v, digits, min_fixed=-4, max_fixed=9))
    return text[:-2] if text.endswith(".0") else text


def _fmt_pair(a: Any, b: Any) -> tuple[str, str]:
    """lhs and rhs with enough significant digits (4 at least) that they visibly differ."""
    for digits in (4, 6, 8, 10, 12, 15, 20, 30, 40):
        sa, sb = _fmt_value(a, digits), _fmt_value(b, digits)
        if sa != sb:
            return sa, sb
    return sa, sb


def _sample(
    rng: random.Random, bounds: tuple[float | None, bool, float | None, bool] | None
) -> float:
    lo, lo_strict, hi, hi_strict = bounds or (None, False, None, False)
    for _ in range(100):
        if lo is None and hi is None:
            v = rng.uniform(-3, 3)
        elif hi is None:
            assert lo is not None
            v = rng.uniform(lo, lo + 4)
        elif lo is None:
            v = rng.uniform(hi - 4, hi)
        else:
            v = rng.uniform(lo, hi)
        v = round(v, 2)
        if abs(v) < 0.01 and not (lo is not None and lo == 0 and not lo_strict):
            continue
        if lo is not None and (v < lo or (lo_strict and v == lo)):
            continue
        if hi is not None and (v > hi or (hi_strict and v == hi)):
            continue
        return v
    return lo if lo is not None else (hi if hi is not None else 1.0)


@dataclass
class Verdict:
    status: str  # "proved" | "false" | "unproved" | "undecided"
    message: str = ""


def _size_note(scope: Scope, syms: set[sp.Symbol]) -> str:
    used = [(n, a) for n, a in scope.groups.items() if any(s in syms for s in a.items)]
    if not used:
        return ""
    if all(a.ndim == 1 for _, a in used) and len({a.shape for _, a in used}) == 1:
        return f" (checked with vectors of size {used[0][1].shape[0]})"
    parts = [
        f"{n}: {a.shape[0]}" if a.ndim == 1 else f"{n}: {a.shape[0]}×{a.shape[1]}" for n, a in used
    ]
    return f" (checked with sizes {', '.join(parts)})"


def _point_text(scope: Scope, syms: list[sp.Symbol], point: dict[sp.Symbol, float]) -> str:
    parts: list[str] = []
    grouped: set[sp.Symbol] = set()
    for name, arr in sorted(scope.groups.items()):
        if not any(s in point for s in arr.items):
            continue
        grouped.update(arr.items)
        if arr.ndim == 1:
            parts.append(f"{name}=[{', '.join(_fmt_point(point.get(s, 0.0)) for s in arr.items)}]")
        else:
            rows = arr.rows()
            parts.append(
                f"{name}=["
                + ", ".join(
                    "[" + ", ".join(_fmt_point(point.get(s, 0.0)) for s in r) + "]" for r in rows
                )
                + "]"
            )
    for s in sorted(syms, key=lambda s: s.name):
        if s not in grouped:
            parts.append(f"{s.name}={_fmt_point(point[s])}")
    return ", ".join(parts)


def decide(
    lhs: Any,
    rhs: Any,
    scope: Scope,
    *,
    budget: float = PROOF_BUDGET_S,
    tolerance: float | None = None,
) -> Verdict:
    """Numeric falsification (50 digits) first, then a symbolic proof within `budget` seconds.

    `tolerance`: the absolute tolerance of a claim that writes decimal literals (half a unit in
    the last written digit of its most precise literal); None compares exactly (to 25 digits).
    """
    import mpmath

    if isinstance(lhs, Arr) and isinstance(rhs, Arr) and lhs.shape != rhs.shape:
        return Verdict(
            "false",
            f"the sides have different sizes: lhs is a {lhs.describe()}, rhs is a {rhs.describe()}",
        )
    shape = lhs.shape if isinstance(lhs, Arr) else rhs.shape if isinstance(rhs, Arr) else None
    n = len(lhs.items) if isinstance(lhs, Arr) else len(rhs.items) if isinstance(rhs, Arr) else 1
    left = [sp.sympify(v) for v in (_items(lhs) if isinstance(lhs, Arr) else [lhs] * n)]
    right = [sp.sympify(v) for v in (_items(rhs) if isinstance(rhs, Arr) else [rhs] * n)]
    for side, exprs in (("lhs", left), ("rhs", right)):
        if any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in exprs):
            return Verdict(
                "undefined",
                f"the {side} is undefined (a division by zero, 0**-1, or an infinity)",
            )
    free: set[sp.Symbol] = set()
    for e in left + right:
        free |= e.free_symbols
    syms = sorted(free, key=lambda s: s.name)
    size_note = _size_note(scope, free)
    rng = random.Random(0)
    try:
        fn = sp.lambdify(syms, left + right, modules="mpmath")
    except (KeyError, TypeError, ValueError, NameError, SyntaxError) as exc:
        return Verdict("undecided", f"the claim cannot be evaluated numerically ({exc}){size_note}")

    def evaluate(point: dict[sp.Symbol, float], digits: int) -> list[Any] | None:
        with mpmath.workdps(digits):
            tiny = mpmath.mpf(10) ** (-(digits // 2))
            try:
                vals = fn(*[mpmath.mpf(repr(point[s])) for s in syms])
            except (ZeroDivisionError, ValueError, OverflowError, TypeError, ArithmeticError):
                return None
            vals = [mpmath.mpmathify(v) for v in vals]
            if any(not mpmath.isfinite(v) for v in vals):
                return None
            if any(isinstance(v, mpmath.mpc) and abs(v.imag) > tiny * max(1, abs(v)) for v in vals):
                return None
            return [v.real if isinstance(v, mpmath.mpc) else v for v in vals]

    def differs(vals: list[Any], digits: int, tolerance: float | None = tolerance) -> int | None:
        with mpmath.workdps(digits):
            strict = mpmath.mpf(10) ** (-(DIGITS // 2))
            for i in range(n):
                a, b = vals[i], vals[n + i]
                gap = abs(a - b)
                if tolerance is not None:
                    if gap > tolerance:
                        return i
                elif gap > strict * max(1, abs(a), abs(b)):
                    return i
        return None

    def counterexample(point: dict[sp.Symbol, float], vals: list[Any], i: int) -> Verdict | None:
        # a real difference survives twice the precision; a rounding artefact (huge
        # magnitudes, cancellation) does not
        again = evaluate(point, 2 * DIGITS)
        if again is None or differs(again, 2 * DIGITS) is None:
            return None
        with mpmath.workdps(2 * DIGITS):
            stable = mpmath.mpf(10) ** (-(DIGITS // 2))
            for x, y in zip(vals, again, strict=True):
                if abs(x - y) > stable * max(1, abs(x), abs(y)):
                    return None  # the values depend on the precision: 0/0, cancellation
        where = _point_text(scope, syms, point)
        at = f" at {where}" if where else ""
        idx = ""
        if shape is not None:
            idx = f"[{i}]" if len(shape) == 1 else f"[{i // shape[1]}, {i % shape[1]}]"
        la, lb = _fmt_pair(vals[i], vals[n + i])
        within = f" (beyond the written precision ±{tolerance:g})" if tolerance is not None else ""
        return Verdict(
            "false", f"claim is false{at}{size_note}: lhs{idx}={la}, rhs{idx}={lb}{within}"
        )

    good = 0
    tries = 0
    first_bad: str | None = None
    close_only = False  # a point agreed only to the written precision, not exactly
    points: list[dict[sp.Symbol, float]] = []
    while good < POINTS and tries < MAX_TRIES:
        tries += 1
        point = {s: _sample(rng, scope.bounds_of(s.name)) for s in syms}
        vals = evaluate(point, DIGITS)
        if vals is None:
            if first_bad is None:
                first_bad = _point_text(scope, syms, point)
            continue
        good += 1
        points.append(point)
        i = differs(vals, DIGITS)
        if i is not None:
            verdict = counterexample(point, vals, i)
            if verdict is not None:
                return verdict
        if tolerance is not None and not close_only:
            close_only = differs(vals, DIGITS, None) is not None
        if not syms:
            break
    if good == 0:
        at = f" (e.g. at {first_bad})" if first_bad else ""
        return Verdict(
            "undefined",
            f"the claim is undefined (not a finite real number) at every point tried{at}"
            f"{size_note}",
        )
    # extreme points: large magnitudes and the edges of the domain, where a claim that holds
    # only near the origin (`min(x, 100) == x`) is false
    extremes = 0
    try:
        with sub_budget(budget * EXTREME_SHARE):
            for point in _extreme_points(syms, scope, points[0], left + right):
                vals = evaluate(point, DIGITS)
                if vals is None:
                    continue
                extremes += 1
                i = differs(vals, DIGITS)
                if i is not None:
                    verdict = counterexample(point, vals, i)
                    if verdict is not None:
                        return verdict
    except _SubTimeout:
        pass  # `sin(exp(x**2))` at x = 1e6 needs millions of digits: fewer extreme points
    if close_only:
        return Verdict(
            "proved" if not syms else "unproved",
            ""
            if not syms
            else f"claim holds to the written precision (±{tolerance:g}) at {good} random "
            f"points but is not exact{size_note}",
        )
    timed_out = False
    try:
        if all(_proves(a - b) for a, b in zip(left, right, strict=True)):
            return Verdict("proved")
    except _Timeout:
        timed_out = True
    except (
        RecursionError,
        ValueError,
        TypeError,
        AttributeError,
        NotImplementedError,
        ArithmeticError,
    ):
        pass
    if not syms:
        return Verdict("proved")  # a constant claim that agrees to 50 digits
    pts = f"{good} random point{'s' if good != 1 else ''}"
    if extremes:
        pts += f" and {extremes} extreme one{'s' if extremes != 1 else ''}"
    if timed_out:
        return Verdict(
            "budget",
            f"claim holds at {pts} but was not proved within {budget:g} s of CPU time{size_note}",
        )
    return Verdict("unproved", f"claim holds at {pts} but was not proved{size_note}")


def _extreme_points(
    syms: list[sp.Symbol], scope: Scope, base: dict[sp.Symbol, float], exprs: list[Any]
) -> Iterator[dict[sp.Symbol, float]]:
    """Points at large magnitudes, near the domain's edges and beyond the claim's constants:
    each symbol alone (the others at a random point), then all together."""
    consts = [abs(float(c)) for e in exprs for c in e.atoms(sp.Number) if c.is_finite]
    big = max([c for c in consts if c < 1e12] or [0.0])
    scales = sorted({*EXTREMES, round(2 * big + 1.5, 2)} if big else set(EXTREMES))
    per_symbol: dict[sp.Symbol, list[float]] = {}
    for s in syms:
        lo, lo_strict, hi, hi_strict = scope.bounds_of(s.name) or (None, False, None, False)
        values: list[float] = []
        for v in scales:
            for cand in (v, -v):
                if (lo is not None and cand < lo + (0.001 if lo_strict else 0)) or (
                    hi is not None and cand > hi - (0.001 if hi_strict else 0)
                ):
                    continue
                values.append(cand)
        for edge, strict, sign in ((lo, lo_strict, 1), (hi, hi_strict, -1)):
            if edge is not None:
                values.append(edge + sign * 1e-6 if strict else edge)
        per_symbol[s] = values
    for s in syms:
        for v in per_symbol[s]:
            yield {**base, s: v}
    if len(syms) > 1:  # all at once, each a little apart (equal entries make 0/0 in var(v))
        for k in range(max((len(v) for v in per_symbol.values()), default=0)):
            yield {
                s: _spread(vals[k % len(vals)], j, scope.bounds_of(s.name)) if vals else base[s]
                for j, (s, vals) in enumerate(per_symbol.items())
            }


def _spread(
    v: float, j: int, bounds: tuple[float | None, bool, float | None, bool] | None
) -> float:
    lo, _, hi, _ = bounds or (None, False, None, False)
    moved = round(v * (1 + 0.07 * j), 2) if abs(v) >= 1 else v
    if (lo is not None and moved <= lo) or (hi is not None and moved >= hi):
        return v
    return moved


def _proves(d: Any) -> bool:
    d = sp.sympify(d)
    if d == 0:
        return True
    for attempt in (
        lambda e: sp.cancel(sp.together(e)),
        lambda e: sp.cancel(sp.together(e.rewrite(sp.exp))),
        sp.simplify,
        lambda e: sp.simplify(e.rewrite(sp.exp)),
    ):
        r = attempt(d)
        if r == 0:
            return True
    return False
