"""`_E`, an expression read so far, and the pure helpers that combine expressions: kinds,
products (`@`, `*`, outer), derivative fractions, and per-entry (vectorised) claims."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from fractions import Fraction

from dlcards.checks.latex.tables import (
    Claim,
    Kind,
    LatexUnreadable,
)
from dlcards.checks.latex.tokens import _Tok


@dataclass(frozen=True)
class _E:
    """An expression read so far: its check-language text, kind and free index letters."""

    text: str
    kind: Kind = "S"
    indices: frozenset[str] = frozenset()
    atomic: bool = True  # needs no parentheses as an operand

    def paren(self) -> str:
        return self.text if self.atomic else f"({self.text})"


def _join_kind(a: Kind, b: Kind) -> Kind:
    return a if a != "S" else b


def _product(factors: list[tuple[str, _E, int]]) -> _E:
    text = factors[0][1].paren()
    kind = factors[0][1].kind
    idx = set(factors[0][1].indices)
    # a row vector so far (u^\top, u^\top \Sigma): times a vector it is the dot product
    row = kind == "V" and text.endswith(".T")
    for op, f, col in factors[1:]:
        if idx and f.indices and idx != f.indices:
            # x_i y_j is entry (i, j) of an outer product: reading it per entry would say x * y
            raise LatexUnreadable(
                f"a product of entries with different free indices "
                f"({', '.join(sorted(idx | f.indices))}) is not read per entry: "
                "write the matrix (x y^\\top) or sum over the index",
                col,
            )
        if op == "/":
            sym = "/"
        elif op == "odot":
            sym = "*"
        elif kind == "V" and f.kind == "V" and op == "" and f.text.endswith(".T"):
            # a b^\top: the outer product (a matrix)
            text = f"outer({text}, {f.text[: -len('.T')]})"
            kind = "M"
            idx |= f.indices
            continue
        elif kind == "V" and f.kind == "V" and op == "" and row:
            sym = " @ "  # a^\top b, u^\top \Sigma u: the dot product
        elif kind == "V" and f.kind == "V" and op == "":
            raise LatexUnreadable(
                "two vectors side by side: write a^\\top b or a \\cdot b for the dot product, "
                "a \\odot b for the elementwise product",
                col,
            )
        elif kind != "S" and f.kind != "S":
            sym = " @ "
        else:
            sym = "*"
        text = f"{text}{sym}{f.paren()}"
        # a row vector stays one times a matrix, or times a scalar (u^\top c\, u)
        row = row and ((sym == " @ " and f.kind == "M") or (sym == "*" and f.kind == "S"))
        if sym == " @ ":
            kind = (
                "S"
                if kind == "V" and f.kind == "V"
                else ("M" if kind == "M" and f.kind == "M" else "V")
            )
        else:
            kind = _join_kind(kind, f.kind)
        idx |= f.indices
    return _E(text, kind, frozenset(idx), len(factors) == 1 and factors[0][1].atomic)


def _derivative_parts(
    num: list[_Tok], den: list[_Tok]
) -> tuple[str, list[_Tok], list[_Tok]] | None:
    """`\\frac{d}{dx}`, `\\frac{df}{dx}`, `\\frac{\\partial L}{\\partial W}` -> (d|partial, f, x)."""

    def lead(toks: list[_Tok]) -> str | None:
        if toks and toks[0].kind == "letter" and toks[0].text == "d":
            return "d"
        if toks and toks[0].kind == "macro" and toks[0].text == "partial":
            return "partial"
        if toks and toks[0].kind == "macro" and toks[0].text == "mathrm" and len(toks) > 3:
            return None
        return None

    a, b = lead(num), lead(den)
    if a is None or a != b or len(den) < 2:
        return None
    if (
        a == "d"
        and len(num) > 1
        and num[1].kind == "letter"
        and len(den) == 2
        and num[1].text == den[1].text
    ):
        return None  # \frac{dx}{dx}? leave to the plain fraction reading
    return a, num[1:], den[1:]


def _vectorise(lhs: _E, rhs: _E, approx: bool) -> Claim:
    free = lhs.indices | rhs.indices
    if lhs.indices != rhs.indices:
        missing = sorted(free - (lhs.indices & rhs.indices))
        raise LatexUnreadable(
            f"the index {missing[0]} is free on one side only: the claim is not per entry", 1
        )
    return Claim(lhs.text, rhs.text, approx)


def exact_value(text: str) -> Fraction | None:
    """The exact value of a check-language closed form (numbers, + - * / ** and parentheses),
    or None when it names anything."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None

    def value(n: ast.expr) -> Fraction:
        if isinstance(n, ast.Constant) and isinstance(n.value, int | float):
            return Fraction(str(n.value))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return -value(n.operand)
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            a, b = value(n.left), value(n.right)
            if isinstance(n.op, ast.Add):
                return a + b
            if isinstance(n.op, ast.Sub):
                return a - b
            if isinstance(n.op, ast.Mult):
                return a * b
            if b == 0:
                raise ValueError("division by zero")
            return a / b
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow):
            power = value(n.right)
            base = value(n.left)
            if power.denominator != 1 or abs(power) > 64 or (base == 0 and power < 0):
                raise ValueError("not a closed form")
            if max(base.numerator.bit_length(), base.denominator.bit_length()) > 4096:
                raise ValueError("too large")  # (10**64)**64**...: never a hang
            return base ** int(power)
        raise ValueError("not a closed form")

    try:
        return value(node)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
