"""Values of the check language: sympy scalars, or `Arr` (a vector or matrix), and their arithmetic."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlcards.checks.common import (
    CheckError,
)
from dlcards.checks.math.limits import MAX_BITS, MAX_EXPONENT

# ---------------------------------------------------------------------------------------------
# Values: sympy scalars, or Arr (a vector or matrix of sympy expressions)


@dataclass(frozen=True)
class Arr:
    """A vector (`shape=(n,)`) or matrix (`shape=(m, n)`) of sympy expressions, row-major."""

    shape: tuple[int, ...]
    items: tuple[Any, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def map(self, f: Callable[[Any], Any]) -> Arr:
        return Arr(self.shape, tuple(f(v) for v in self.items))

    def rows(self) -> list[list[Any]]:
        if self.ndim == 1:
            return [list(self.items)]
        m, n = self.shape
        return [list(self.items[i * n : (i + 1) * n]) for i in range(m)]

    def describe(self) -> str:
        return (
            f"vector of size {self.shape[0]}"
            if self.ndim == 1
            else f"{self.shape[0]}×{self.shape[1]} matrix"
        )


def _vec(items: list[Any]) -> Arr:
    return Arr((len(items),), tuple(sp.sympify(v) for v in items))


def _mat(rows: list[list[Any]]) -> Arr:
    m = len(rows)
    n = len(rows[0]) if rows else 0
    return Arr((m, n), tuple(sp.sympify(v) for r in rows for v in r))


def _power(x: Any, y: Any) -> Any:
    """`x**y`, refusing results no machine can hold (`2**2**2**2**2**2`, `(x + 1)**10**9`)."""
    x, y = sp.sympify(x), sp.sympify(y)
    if y.is_Number and y.is_finite:
        if x.is_Number and x.is_finite and x != 0 and abs(x) != 1:
            bits = abs(float(y)) * abs(_log2(x)) if abs(y) < 10**9 else math.inf
            if bits > MAX_BITS:
                raise CheckError(
                    "a number too large to compute (over 2**20000)",
                    "use smaller numbers: a claim about sizes holds at small sizes too",
                )
        elif not x.is_Number and abs(y) > MAX_EXPONENT:
            raise CheckError(
                f"an exponent of {_short_number(y)} is too large to expand (at most {MAX_EXPONENT})",
                "use a symbol for the exponent: `x**n`",
            )
    return x**y


def _log2(x: Any) -> float:
    """log2(|x|) of a sympy number, also beyond the float range."""
    if x.is_Rational:
        return math.log2(abs(int(x.p))) - math.log2(int(x.q))
    return math.log2(abs(float(x)))


def _short_number(v: Any) -> str:
    try:
        text = str(v)
    except ValueError:
        return "a huge number"
    return text if len(text) <= 20 else text[:8] + "…"


def _src(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):
        return "this number"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_arr(v: Any) -> bool:
    return isinstance(v, Arr)


def _scalar(v: Any, what: str) -> Any:
    if isinstance(v, Arr):
        raise CheckError(f"{what} needs a scalar, got a {v.describe()}")
    if isinstance(v, str | list | tuple):
        raise CheckError(f"{what} needs a scalar expression")
    return v


def _elementwise(a: Any, b: Any, op: Callable[[Any, Any], Any], name: str) -> Any:
    if isinstance(a, Arr) and isinstance(b, Arr):
        if a.shape != b.shape:
            raise CheckError(f"`{name}` of a {a.describe()} and a {b.describe()}: sizes differ")
        return Arr(a.shape, tuple(op(x, y) for x, y in zip(a.items, b.items, strict=True)))
    if isinstance(a, Arr):
        return a.map(lambda x: op(x, b))
    if isinstance(b, Arr):
        return b.map(lambda y: op(a, y))
    return op(a, b)


def _matmul(a: Any, b: Any) -> Any:
    if not (isinstance(a, Arr) and isinstance(b, Arr)):
        raise CheckError("`@` needs vectors or matrices on both sides (use `*` for scalars)")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise CheckError(f"`@` of vectors of sizes {a.shape[0]} and {b.shape[0]}")
        return sp.Add(*[x * y for x, y in zip(a.items, b.items, strict=True)])
    A = sp.Matrix(a.rows()) if a.ndim == 2 else sp.Matrix([list(a.items)])
    B = sp.Matrix(b.rows()) if b.ndim == 2 else sp.Matrix(list(b.items))
    if A.shape[1] != B.shape[0]:
        raise CheckError(f"`@` inner sizes differ: {a.describe()} @ {b.describe()}")
    C = A * B
    if a.ndim == 1 or b.ndim == 1:
        return _vec(list(C))
    return _mat(C.tolist())


def _transpose(a: Any) -> Any:
    if isinstance(a, Arr) and a.ndim == 2:
        return _mat(sp.Matrix(a.rows()).T.tolist())
    return a


def _to_matrix(a: Arr) -> sp.Matrix:
    if not isinstance(a, Arr) or a.ndim != 2:
        raise CheckError("needs a matrix")
    return sp.Matrix(a.rows())


def _items(v: Any) -> list[Any]:
    return list(v.items) if isinstance(v, Arr) else [v]
