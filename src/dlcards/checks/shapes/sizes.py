"""Symbolic sizes: `Tensor`, `Pieces`, printing sizes, and `Dims` (symbols, `where:` constraints,
comparing sizes).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from dlcards.checks.common import (
    CheckError,
)

SAMPLES = 40
SHAPES_BUDGET_S = 3.0  # CPU seconds per statement
SHAPES_HINT = "see docs/checks.md, section 2, for the shapes language and its operations"
DECL_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")
DEF_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)(.*)$")
PREFIXES = ("torch.nn.functional.", "nn.functional.", "torch.", "F.")


class ShapeError(CheckError):
    """The expression is invalid under PyTorch's rules (the message says why)."""


@dataclass(frozen=True)
class Tensor:
    shape: tuple[Any, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)


@dataclass(frozen=True)
class Pieces:
    """The result of `chunk`/`split`: index it to get one piece."""

    items: tuple[Tensor, ...]


class _DimPrinter(StrPrinter):  # sympy: untyped base class
    def _print_floor(self, expr: Any) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        if den != 1:
            n = self._print(num)
            if isinstance(num, sp.Add):
                n = f"({n})"
            d = self._print(den)
            if not (den.is_Integer or den.is_Symbol):
                d = f"({d})"
            return f"{n}//{d}"
        return f"floor({self._print(expr.args[0])})"

    def _print_ceiling(self, expr: Any) -> str:
        return f"ceil({self._print(expr.args[0])})"


_PRINTER = _DimPrinter()


def fmt_dim(d: Any) -> str:
    return str(_PRINTER.doprint(d))


def fmt_shape(shape: tuple[Any, ...]) -> str:
    if len(shape) == 1:
        return f"({fmt_dim(shape[0])},)"
    return "(" + ", ".join(fmt_dim(d) for d in shape) + ")"


def _int(v: Any) -> int | None:
    v = sp.sympify(v)
    return int(v) if v.is_Integer else None


# ---------------------------------------------------------------------------------------------


@dataclass
class Dims:
    """Size symbols and the `where:` constraints of a block; decides equality of sizes."""

    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    subs: dict[sp.Symbol, Any] = field(default_factory=dict)
    bounds: list[tuple[Any, str, Any]] = field(default_factory=list)  # (lhs, op, rhs), raw

    def symbol(self, name: str) -> sp.Symbol:
        if name not in self.symbols:
            self.symbols[name] = sp.Symbol(name, integer=True, positive=True)
        return self.symbols[name]

    def canon(self, e: Any) -> Any:
        e = sp.sympify(e)
        for _ in range(8):
            new = e.xreplace(self.subs)
            if new == e:
                break
            e = new
        return e

    def equal(self, a: Any, b: Any) -> tuple[bool, str]:
        """Whether two sizes are equal; if not, an example `H=3` where they differ (may be '')."""
        d = sp.expand(self.canon(a) - self.canon(b))
        if d == 0:
            return True, ""
        if d.is_number:
            return False, ""
        free = sorted(d.free_symbols, key=lambda s: s.name)
        rng = random.Random(0)
        originals = [
            s
            for s in self.symbols.values()
            if s in sp.sympify(a).free_symbols | sp.sympify(b).free_symbols
        ]
        for k in range(SAMPLES):
            point = {s: sp.Integer(rng.randint(1, 6 if k < SAMPLES // 2 else 64)) for s in free}
            if not self._allowed(point):
                continue
            if d.xreplace(point) != 0:
                shown = ", ".join(
                    f"{s.name}={self.canon(s).xreplace(point)}" for s in originals
                ) or ", ".join(f"{s.name}={v}" for s, v in point.items())
                return False, shown
        return True, ""

    def _allowed(self, point: dict[sp.Symbol, int]) -> bool:
        for lhs, op, rhs in self.bounds:
            a = self.canon(lhs).xreplace(point)
            b = self.canon(rhs).xreplace(point)
            if not (a.is_number and b.is_number):
                continue
            ok = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            if not bool(ok):
                return False
        return True

    def is_one(self, d: Any) -> bool:
        return bool(self.canon(d) == 1)

    def integral(self, e: Any) -> bool:
        c = sp.simplify(self.canon(e))
        return bool(c.is_integer) or bool(sp.fraction(sp.together(c))[1] == 1)
