"""`ShapeEvaluator`: evaluating a `shapes` statement's `ast` to sizes and tensors."""

from __future__ import annotations

import ast
import math
from typing import Any

import sympy as sp

from dlcards.checks.common import (
    CheckError,
)
from dlcards.checks.math import MAX_BITS, _power
from dlcards.checks.shapes.functions import Ops, _functions
from dlcards.checks.shapes.ops_tensor import _norm_dim, _prod
from dlcards.checks.shapes.sizes import PREFIXES, Dims, Pieces, ShapeError, Tensor, _int

# ---------------------------------------------------------------------------------------------
# Evaluation


class ShapeEvaluator:
    def __init__(self, dims: Dims, env: dict[str, Any]):
        self.dims = dims
        self.env = env
        self.ops = Ops(dims)
        self.funcs = _functions(self.ops)

    def eval(self, node: ast.expr) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise CheckError(f"`{ast.unparse(node)}` is not supported in a shapes block")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int):
            if v.bit_length() > MAX_BITS:
                raise CheckError(
                    f"a size literal of {v.bit_length()} bits is too large",
                    "use a symbol for a large size: `N`",
                )
            return sp.Integer(v)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise CheckError(
                    "a number literal is too large (it is not finite)",
                    "sizes are positive integers or symbols",
                )
            return sp.Float(v)
        if isinstance(v, str):
            return v
        if v is Ellipsis:
            return Ellipsis
        raise CheckError(f"`{ast.unparse(node)}` is not supported")

    def _Name(self, node: ast.Name) -> Any:
        if node.id.startswith("_"):
            raise CheckError(f"`{node.id}`: names starting with `_` are not allowed")
        if node.id in self.env:
            return self.env[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return self.dims.symbol(node.id)

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.eval(e) for e in node.elts)

    def _List(self, node: ast.List) -> Any:
        return [self.eval(e) for e in node.elts]

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        v = self.eval(node.operand)
        if isinstance(v, Tensor):
            return v
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Not | ast.Invert):
            return v
        raise CheckError(f"`{ast.unparse(node)}`: operator not supported")

    def _BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.eval(node.left), self.eval(node.right)
        if isinstance(node.op, ast.MatMult):
            return self.ops.matmul(a, b)
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            if not isinstance(
                node.op,
                ast.Add
                | ast.Sub
                | ast.Mult
                | ast.Div
                | ast.FloorDiv
                | ast.Pow
                | ast.Mod
                | ast.BitAnd
                | ast.BitOr,
            ):
                raise CheckError(f"`{ast.unparse(node)}`: operator not supported")
            return self.ops.broadcast(a, b)
        if not (isinstance(a, sp.Basic) and isinstance(b, sp.Basic)):
            raise CheckError(f"`{ast.unparse(node)}`: operands must be tensors or sizes")
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and b == 0:
            raise CheckError(f"`{ast.unparse(node)}`: division by zero", "a size is never 0")
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.FloorDiv):
            return sp.floor(a / b)
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.Pow):
            return _power(a, b)
        if isinstance(node.op, ast.Mod):
            return sp.Mod(a, b)
        raise CheckError(f"`{ast.unparse(node)}`: operator not supported for sizes")

    def _Compare(self, node: ast.Compare) -> Any:
        vals = [self.eval(node.left), *[self.eval(c) for c in node.comparators]]
        if any(isinstance(v, Tensor) for v in vals):
            return self.ops.broadcast(*vals)
        raise CheckError(f"`{ast.unparse(node)}`: comparisons of sizes belong in `where:`")

    def _Attribute(self, node: ast.Attribute) -> Any:
        base = self.eval(node.value)
        if isinstance(base, Tensor):
            if node.attr == "T":
                return self.ops.T(base)
            if node.attr == "mT":
                return self.ops.mT(base)
            if node.attr == "shape":
                return tuple(base.shape)
            if node.attr == "ndim":
                return sp.Integer(base.ndim)
            if node.attr in ("values", "indices", "data", "grad", "real"):
                return base
            if node.attr == "H" or node.attr == "mH":
                return self.ops.mT(base) if node.attr == "mH" else self.ops.T(base)
        raise CheckError(
            f"`{ast.unparse(node)}`: attribute `{node.attr}` is not supported",
            "supported: .T .mT .shape .ndim .values .indices and the methods in docs/checks.md",
        )

    def _func_name(self, func: ast.expr) -> str | None:
        text = ast.unparse(func)
        for p in PREFIXES:
            if text.startswith(p) and text[len(p) :].isidentifier():
                return text[len(p) :]
        if isinstance(func, ast.Name):
            return func.id
        return None

    def _Call(self, node: ast.Call) -> Any:
        args = [self.eval(a) for a in node.args if not isinstance(a, ast.Starred)]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise CheckError("`*args` is not supported")
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None or kw.arg.startswith("_"):
                raise CheckError("`**kwargs` is not supported")
            kwargs[kw.arg] = self.eval(kw.value)
        name = self._func_name(node.func)
        if name is not None and not (isinstance(node.func, ast.Name) and node.func.id in self.env):
            if name not in self.funcs:
                raise CheckError(
                    f"unknown function `{name}`", "see docs/checks.md for the supported operations"
                )
            return self._apply(name, args, kwargs, ast.unparse(node))
        if isinstance(node.func, ast.Attribute):
            base = self.eval(node.func.value)
            m = node.func.attr
            if isinstance(base, Tensor):
                if m == "size":
                    if not args and "dim" not in kwargs:
                        return tuple(base.shape)
                    i = _norm_dim(kwargs.get("dim", args[0] if args else 0), base.ndim, "size")
                    return base.shape[i]
                if m == "dim":
                    return sp.Integer(base.ndim)
                if m == "numel":
                    return _prod(base.shape)
                if m in self.funcs:
                    return self._apply(m, [base, *args], kwargs, ast.unparse(node))
                raise CheckError(
                    f"unknown method `.{m}`", "see docs/checks.md for the supported operations"
                )
        raise CheckError(f"`{ast.unparse(node.func)}` cannot be called here")

    def _apply(self, name: str, args: list[Any], kwargs: dict[str, Any], text: str) -> Any:
        try:
            return self.funcs[name](*args, **kwargs)
        except TypeError as exc:
            if "argument" in str(exc):
                raise CheckError(
                    f"`{text}`: wrong arguments for `{name}`", "see docs/checks.md for its spelling"
                ) from None
            raise ShapeError(f"`{text}`: invalid arguments") from None

    def _Subscript(self, node: ast.Subscript) -> Any:
        base = self.eval(node.value)
        if isinstance(base, Pieces | tuple | list):
            i = _int(self.eval(node.slice))
            items = base.items if isinstance(base, Pieces) else base
            if i is None or not -len(items) <= i < len(items):
                raise ShapeError(f"`{ast.unparse(node)}`: index out of range")
            return items[i]
        if not isinstance(base, Tensor):
            raise CheckError(f"`{ast.unparse(node)}`: only tensors can be indexed")
        parts = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        return self._index(base, parts, ast.unparse(node))

    def _index(self, t: Tensor, parts: list[ast.expr], text: str) -> Tensor:
        used = sum(
            1 for p in parts if not (isinstance(p, ast.Constant) and p.value in (None, Ellipsis))
        )
        if used > t.ndim:
            raise ShapeError(f"`{text}`: too many indices for a {t.ndim}-D tensor")
        out: list[Any] = []
        dim = 0
        for p in parts:
            if isinstance(p, ast.Constant) and p.value is Ellipsis:
                skip = t.ndim - used
                out.extend(t.shape[dim : dim + skip])
                dim += skip
                continue
            if isinstance(p, ast.Constant) and p.value is None:
                out.append(sp.Integer(1))
                continue
            size = t.shape[dim]
            if isinstance(p, ast.Slice):
                out.append(self._slice_len(p, size))
                dim += 1
                continue
            v = self.eval(p)
            if isinstance(v, Tensor):
                out.extend(v.shape)
                dim += 1
                continue
            if _int(v) is None and not isinstance(v, sp.Basic):
                raise CheckError(f"`{text}`: unsupported index")
            dim += 1
        out.extend(t.shape[dim:])
        return Tensor(tuple(out))

    def _slice_len(self, s: ast.Slice, size: Any) -> Any:
        def val(e: ast.expr | None) -> Any:
            return None if e is None else self.eval(e)

        lo, hi, step = val(s.lower), val(s.upper), val(s.step)

        def pos(v: Any) -> Any:
            iv = _int(v)
            return size + v if iv is not None and iv < 0 else v

        a = sp.Integer(0) if lo is None else pos(lo)
        b = size if hi is None else pos(hi)
        n = b - a
        if step is not None and _int(step) != 1:
            n = sp.ceiling(n / step)
        return n
