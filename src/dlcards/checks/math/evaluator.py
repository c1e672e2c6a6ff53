"""`Scope` and `Evaluator`: evaluating a whitelisted `ast` expression to a sympy value."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from dlcards.checks.common import (
    CheckError,
)
from dlcards.checks.math.limits import MAX_BITS, MAX_MAT, MAX_VEC
from dlcards.checks.math.values import (
    Arr,
    _elementwise,
    _mat,
    _matmul,
    _power,
    _scalar,
    _src,
    _transpose,
    _vec,
)
from dlcards.checks.math.vocabulary import (
    CONSTANTS,
    SCALAR_FUNCS,
    SPECIAL,
    VECTOR_FUNCS,
    _index,
    _size,
)

# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass
class Scope:
    """Definitions, symbols and vector groups of one block."""

    bounds: dict[str, tuple[float | None, bool, float | None, bool]] = field(default_factory=dict)
    names: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, tuple[list[str], ast.expr]] = field(default_factory=dict)
    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    groups: dict[str, Arr] = field(default_factory=dict)  # vec/mat name -> its symbols

    entry_of: dict[str, str] = field(default_factory=dict)  # entry symbol name -> vec/mat name

    def bounds_of(self, name: str) -> tuple[float | None, bool, float | None, bool] | None:
        return self.bounds.get(name) or self.bounds.get(self.entry_of.get(name, ""))

    def symbol(self, name: str, group: str | None = None) -> sp.Symbol:
        if group is not None:
            self.entry_of[name] = group
        if name not in self.symbols:
            lo, _lo_strict, _hi, _ = self.bounds_of(name) or (None, False, None, False)
            assumptions: dict[str, bool] = {"real": True}
            if lo is not None and lo > 0:
                assumptions = {"positive": True}
            elif lo is not None and lo == 0:
                assumptions = {"positive": True} if _lo_strict else {"nonnegative": True}
            self.symbols[name] = sp.Symbol(name, **assumptions)
        return self.symbols[name]


def _const_str(node: ast.expr, what: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return node.id
    raise CheckError(f"{what}: give the name as a string, e.g. vec('x', 3)")


class Evaluator:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.locals: list[dict[str, Any]] = []

    def eval(self, node: ast.expr) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise CheckError(
                f"`{ast.unparse(node)}` is not allowed in a check block",
                "use names, numbers, + - * / ** @, calls of the vocabulary, v[i] and .T",
            )
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CheckError(f"`{_src(node)}`: only numbers are allowed here")
        if isinstance(node.value, float):
            if not math.isfinite(node.value):
                raise CheckError(
                    "a number literal is too large (beyond about 1e308, it is not finite)",
                    "numbers in a check block are at most about 1e308",
                )
            return sp.Rational(repr(node.value))
        if node.value.bit_length() > MAX_BITS:
            raise CheckError(f"a number literal of {node.value.bit_length()} bits is too large")
        return sp.Integer(node.value)

    def _Name(self, node: ast.Name) -> Any:
        name = node.id
        if name.startswith("_"):
            raise CheckError(f"`{name}`: names starting with `_` are not allowed")
        for frame in reversed(self.locals):
            if name in frame:
                return frame[name]
        if name in self.scope.names:
            return self.scope.names[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if (
            name in SCALAR_FUNCS
            or name in VECTOR_FUNCS
            or name in SPECIAL
            or name in self.scope.functions
        ):
            raise CheckError(f"`{name}` is a function: call it, e.g. {name}(x)")
        return self.scope.symbol(name)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        v = self.eval(node.operand)
        if isinstance(node.op, ast.USub):
            return v.map(lambda x: -x) if isinstance(v, Arr) else -v
        if isinstance(node.op, ast.UAdd):
            return v
        raise CheckError(f"`{ast.unparse(node)}`: operator not allowed")

    def _BinOp(self, node: ast.BinOp) -> Any:
        if isinstance(node.op, ast.BitXor):
            raise CheckError(f"`{ast.unparse(node)}`: `^` is not a power", "write powers as `**`")
        a, b = self.eval(node.left), self.eval(node.right)
        for v in (a, b):
            if isinstance(v, str | list | tuple):
                raise CheckError(f"`{ast.unparse(node)}`: operands must be expressions")
        ops: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
            ast.Add: ("+", lambda x, y: x + y),
            ast.Sub: ("-", lambda x, y: x - y),
            ast.Mult: ("*", lambda x, y: x * y),
            ast.Div: ("/", lambda x, y: x / y),
            ast.Pow: ("**", _power),
        }
        if isinstance(node.op, ast.MatMult):
            return _matmul(a, b)
        if type(node.op) not in ops:
            raise CheckError(f"`{ast.unparse(node)}`: operator not allowed")
        sym, fn = ops[type(node.op)]
        return _elementwise(a, b, fn, sym)

    def _List(self, node: ast.List) -> Any:
        items = [self.eval(e) for e in node.elts]
        if not items:
            raise CheckError("an empty vector")
        if all(isinstance(v, Arr) and v.ndim == 1 for v in items):
            n = items[0].shape[0]
            if any(v.shape[0] != n for v in items):
                raise CheckError("matrix rows of different sizes")
            return _mat([list(v.items) for v in items])
        return _vec([_scalar(v, "a vector entry") for v in items])

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.eval(e) for e in node.elts)

    def _Attribute(self, node: ast.Attribute) -> Any:
        if node.attr != "T":
            raise CheckError(f"`{ast.unparse(node)}`: only the `.T` attribute is allowed")
        return _transpose(self.eval(node.value))

    def _Subscript(self, node: ast.Subscript) -> Any:
        v = self.eval(node.value)
        if not isinstance(v, Arr):
            raise CheckError(f"`{ast.unparse(node)}`: only vectors and matrices can be indexed")
        idx = node.slice
        parts = list(idx.elts) if isinstance(idx, ast.Tuple) else [idx]
        ints = [_index(self.eval(p), "an index") for p in parts]
        if len(ints) > v.ndim:
            raise CheckError(f"`{ast.unparse(node)}`: too many indices for a {v.describe()}")
        for i, n in zip(ints, v.shape, strict=False):
            if not -n <= i < n:
                raise CheckError(
                    f"`{ast.unparse(node)}`: index {i} out of range for a {v.describe()}"
                )
        if v.ndim == 1:
            return v.items[ints[0]]
        rows = v.rows()
        if len(ints) == 1:
            return _vec(rows[ints[0]])
        return rows[ints[0]][ints[1]]

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise CheckError(f"`{ast.unparse(node.func)}`: only vocabulary functions can be called")
        name = node.func.id
        if node.keywords:
            raise CheckError(
                f"`{name}`: keyword arguments are not supported; pass them by position"
            )
        if name in ("vec", "mat"):
            return self._make(name, node.args)
        args = [self.eval(a) for a in node.args]
        if name in self.scope.functions:
            params, body = self.scope.functions[name]
            if len(args) != len(params):
                raise CheckError(f"`{name}` takes {len(params)} argument(s), got {len(args)}")
            self.locals.append(dict(zip(params, args, strict=True)))
            try:
                return self.eval(body)
            finally:
                self.locals.pop()
        try:
            if name in VECTOR_FUNCS:
                return VECTOR_FUNCS[name](*args)
            if name in SCALAR_FUNCS:
                f = SCALAR_FUNCS[name]
                if args and isinstance(args[0], Arr):
                    rest = args[1:]
                    return args[0].map(lambda x: f(x, *rest))
                return f(*[_scalar(a, name) for a in args])
        except TypeError:
            raise CheckError(
                f"`{ast.unparse(node)}`: wrong number of arguments for `{name}`"
            ) from None
        except CheckError:
            raise
        except (ValueError, ArithmeticError, sp.SympifyError) as exc:
            raise CheckError(f"`{ast.unparse(node)}`: {exc}") from None
        raise CheckError(
            f"unknown function `{name}`",
            "see docs/checks.md for the vocabulary, or define it: f(x) = ...",
        )

    def _make(self, kind: str, args: list[ast.expr]) -> Arr:
        if not args:
            raise CheckError(f"{kind} needs a name and size(s), e.g. vec('x', 3) or mat('W', 2, 3)")
        base = _const_str(args[0], kind)
        if base.startswith("_") or not base.isidentifier():
            raise CheckError(f"{kind}: `{base}` is not a valid name")
        sizes = [self.eval(a) for a in args[1:]]
        if kind == "vec":
            if len(sizes) != 1:
                raise CheckError("vec takes a name and one size: vec('x', 3)")
            n = _size(sizes[0], "a vector's size", MAX_VEC)
            arr = _vec([self.scope.symbol(f"{base}_{i}", base) for i in range(n)])
        else:
            if len(sizes) != 2:
                raise CheckError("mat takes a name and two sizes: mat('W', 2, 3)")
            m, n = _size(sizes[0], "rows", MAX_MAT), _size(sizes[1], "columns", MAX_MAT)
            arr = _mat(
                [[self.scope.symbol(f"{base}_{i}_{j}", base) for j in range(n)] for i in range(m)]
            )
        old = self.scope.groups.get(base)
        if old is not None and old.shape != arr.shape:
            raise CheckError(f"{kind}: `{base}` was already made with another size")
        self.scope.groups[base] = arr
        return arr
