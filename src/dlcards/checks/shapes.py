"""`shapes` blocks: symbolic tensor shapes with PyTorch semantics (docs/checks.md, section 2).

Dimensions are sympy expressions in positive-integer symbols. `where:` constraints give a
canonical substitution (`D == h*d_k`, `H % 2 == 0` -> `H = 2*H_2`) used whenever two sizes are
compared; messages show the sizes as the author wrote them. Pure: no I/O, no clock.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from dlcards.checks.common import (
    PROOF_BUDGET,
    BlockProblem,
    CheckError,
    parse_expression,
    statements,
)
from dlcards.checks.math import MAX_BITS, _power, _Timeout, time_budget

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


class _DimPrinter(StrPrinter):
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


# ---------------------------------------------------------------------------------------------


def _bcast(dims: Dims, shapes: list[tuple[Any, ...]], what: str = "broadcast") -> tuple[Any, ...]:
    n = max((len(s) for s in shapes), default=0)
    out: list[Any] = []
    for i in range(-n, 0):
        cur: Any = None
        cur_shape: tuple[Any, ...] = ()
        for s in shapes:
            if len(s) < -i:
                continue
            d = s[i]
            if cur is None:
                cur, cur_shape = d, s
                continue
            if dims.is_one(d):
                continue
            if dims.is_one(cur):
                cur, cur_shape = d, s
                continue
            if not dims.equal(cur, d)[0]:
                raise ShapeError(
                    f"{what}: dims {fmt_dim(cur)} vs {fmt_dim(d)} are not compatible "
                    f"(dim {i} of {fmt_shape(cur_shape)} and {fmt_shape(s)})"
                )
        out.append(cur)
    return tuple(out)


def _norm_dim(d: Any, ndim: int, what: str, extra: int = 0) -> int:
    i = _int(d)
    if i is None:
        raise ShapeError(f"{what}: dim must be an integer, got {fmt_dim(d)}")
    n = ndim + extra
    if not -n <= i < n or n == 0:
        raise ShapeError(f"{what}: dim {i} out of range for a {ndim}-D tensor")
    return i + n if i < 0 else i


def _tensor(v: Any, what: str) -> Tensor:
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (sp.Basic, int | float)):
        return Tensor(())
    raise ShapeError(f"{what} needs a tensor")


def _sizes(args: tuple[Any, ...]) -> list[Any]:
    if len(args) == 1 and isinstance(args[0], tuple | list):
        return list(args[0])
    return list(args)


def _prod(ds: list[Any] | tuple[Any, ...]) -> Any:
    return sp.Mul(*ds) if ds else sp.Integer(1)


def _pair(v: Any, n: int, what: str) -> list[Any]:
    if isinstance(v, tuple | list):
        if len(v) != n:
            raise ShapeError(f"{what} needs {n} values, got {len(v)}")
        return list(v)
    return [v] * n


class Ops:
    """PyTorch shape rules. Each op takes evaluated arguments and returns a shape value."""

    def __init__(self, dims: Dims):
        self.dims = dims

    def eq(self, a: Any, b: Any) -> bool:
        return self.dims.equal(a, b)[0]

    # -- elementwise / matmul ------------------------------------------------------------------
    def broadcast(self, *vals: Any) -> Tensor:
        return Tensor(_bcast(self.dims, [_tensor(v, "broadcast").shape for v in vals]))

    def matmul(self, a: Any, b: Any, what: str = "matmul") -> Tensor:
        A, B = _tensor(a, what), _tensor(b, what)
        if A.ndim == 0 or B.ndim == 0:
            raise ShapeError(f"{what}: both arguments need at least 1 dimension")
        inner_a = A.shape[-1]
        inner_b = B.shape[0] if B.ndim == 1 else B.shape[-2]
        if not self.eq(inner_a, inner_b):
            raise ShapeError(f"{what} inner dims: {fmt_dim(inner_a)} vs {fmt_dim(inner_b)}")
        if A.ndim == 1 and B.ndim == 1:
            return Tensor(())
        if A.ndim == 1:
            return Tensor(B.shape[:-2] + B.shape[-1:])
        if B.ndim == 1:
            return Tensor(A.shape[:-1])
        batch = _bcast(self.dims, [A.shape[:-2], B.shape[:-2]], f"{what} batch")
        return Tensor((*batch, A.shape[-2], B.shape[-1]))

    def mm(self, a: Any, b: Any) -> Tensor:
        if _tensor(a, "mm").ndim != 2 or _tensor(b, "mm").ndim != 2:
            raise ShapeError("mm needs two 2-D tensors")
        return self.matmul(a, b, "mm")

    def bmm(self, a: Any, b: Any) -> Tensor:
        A, B = _tensor(a, "bmm"), _tensor(b, "bmm")
        if A.ndim != 3 or B.ndim != 3:
            raise ShapeError("bmm needs two 3-D tensors")
        if not self.eq(A.shape[0], B.shape[0]):
            raise ShapeError(f"bmm batch dims: {fmt_dim(A.shape[0])} vs {fmt_dim(B.shape[0])}")
        return self.matmul(a, b, "bmm")

    def mv(self, a: Any, b: Any) -> Tensor:
        if _tensor(a, "mv").ndim != 2 or _tensor(b, "mv").ndim != 1:
            raise ShapeError("mv needs a 2-D and a 1-D tensor")
        return self.matmul(a, b, "mv")

    def dot(self, a: Any, b: Any) -> Tensor:
        if _tensor(a, "dot").ndim != 1 or _tensor(b, "dot").ndim != 1:
            raise ShapeError("dot needs two 1-D tensors")
        return self.matmul(a, b, "dot")

    def outer(self, a: Any, b: Any) -> Tensor:
        A, B = _tensor(a, "outer"), _tensor(b, "outer")
        if A.ndim != 1 or B.ndim != 1:
            raise ShapeError("outer needs two 1-D tensors")
        return Tensor((A.shape[0], B.shape[0]))

    def einsum(self, spec: Any, *ops: Any) -> Tensor:
        if not isinstance(spec, str):
            raise ShapeError("einsum: the first argument is the subscript string")
        if len(ops) == 1 and isinstance(ops[0], list | tuple):
            ops = tuple(ops[0])
        spec = spec.replace(" ", "")
        if "." in spec:
            raise ShapeError("einsum: `...` is not supported; name every dimension")
        ins, _, out = spec.partition("->")
        terms = ins.split(",")
        if len(terms) != len(ops):
            raise ShapeError(f"einsum: {len(terms)} operands in the subscripts, {len(ops)} given")
        sizes: dict[str, Any] = {}
        for term, op in zip(terms, ops, strict=True):
            t = _tensor(op, "einsum")
            if len(term) != t.ndim:
                raise ShapeError(
                    f"einsum: subscript '{term}' has {len(term)} letters for a {t.ndim}-D tensor"
                )
            for ch, d in zip(term, t.shape, strict=True):
                if ch in sizes and not self.eq(sizes[ch], d):
                    if self.dims.is_one(sizes[ch]):
                        sizes[ch] = d
                    elif not self.dims.is_one(d):
                        raise ShapeError(f"einsum: '{ch}' is {fmt_dim(sizes[ch])} vs {fmt_dim(d)}")
                else:
                    sizes.setdefault(ch, d)
        if "->" not in spec:
            counts = {ch: ins.count(ch) for ch in sizes}
            out = "".join(sorted(ch for ch, c in counts.items() if c == 1))
        for ch in out:
            if ch not in sizes:
                raise ShapeError(f"einsum: output letter '{ch}' is not in the inputs")
        return Tensor(tuple(sizes[ch] for ch in out))

    # -- transposes and reshapes ---------------------------------------------------------------
    def T(self, x: Any) -> Tensor:
        t = _tensor(x, ".T")
        if t.ndim > 2:
            raise ShapeError(
                f".T on a {t.ndim}-D tensor is deprecated in PyTorch; use .mT or .permute(...)"
            )
        return Tensor(tuple(reversed(t.shape)))

    def mT(self, x: Any) -> Tensor:
        t = _tensor(x, ".mT")
        if t.ndim < 2:
            raise ShapeError(f".mT needs at least 2 dims, got a {t.ndim}-D tensor")
        return Tensor((*t.shape[:-2], t.shape[-1], t.shape[-2]))

    def transpose(self, x: Any, i: Any = None, j: Any = None) -> Tensor:
        t = _tensor(x, "transpose")
        if i is None or j is None:
            if t.ndim <= 2:
                return self.T(t)
            raise ShapeError("transpose needs two dims: X.transpose(1, 2)")
        a, b = _norm_dim(i, t.ndim, "transpose"), _norm_dim(j, t.ndim, "transpose")
        s = list(t.shape)
        s[a], s[b] = s[b], s[a]
        return Tensor(tuple(s))

    swapaxes = transpose
    swapdims = transpose

    def permute(self, x: Any, *order: Any) -> Tensor:
        t = _tensor(x, "permute")
        idx = [_norm_dim(d, t.ndim, "permute") for d in _sizes(order)]
        if sorted(idx) != list(range(t.ndim)):
            raise ShapeError(
                f"permute: ({', '.join(map(str, _sizes(order)))}) is not a permutation of the {t.ndim} dims"
            )
        return Tensor(tuple(t.shape[i] for i in idx))

    def reshape(self, x: Any, *size: Any, what: str = "reshape") -> Tensor:
        t = _tensor(x, what)
        new = _sizes(size)
        numel = _prod(t.shape)
        holes = [i for i, d in enumerate(new) if _int(d) == -1]
        if len(holes) > 1:
            raise ShapeError(f"{what}: only one dimension can be -1")
        if holes:
            known = _prod([d for i, d in enumerate(new) if i != holes[0]])
            inferred = sp.simplify(numel / known)
            if not self.dims.integral(inferred):
                raise ShapeError(
                    f"{what}: cannot infer -1: {fmt_dim(numel)} elements are not "
                    f"divisible by {fmt_dim(known)}"
                )
            if sp.fraction(sp.together(inferred))[1] != 1:
                inferred = sp.simplify(self.dims.canon(inferred))
            new[holes[0]] = inferred
        for d in new:
            iv = _int(d)
            if iv is not None and iv < 0:
                raise ShapeError(f"{what}: invalid size {iv}")
        if not self.eq(_prod(new), numel):
            raise ShapeError(
                f"{what}: cannot reshape {fmt_shape(t.shape)} ({fmt_dim(numel)} elements) "
                f"into {fmt_shape(tuple(new))} ({fmt_dim(_prod(new))} elements)"
            )
        return Tensor(tuple(new))

    def view(self, x: Any, *size: Any) -> Tensor:
        return self.reshape(x, *size, what="view")

    def view_as(self, x: Any, y: Any) -> Tensor:
        return self.reshape(x, _tensor(y, "view_as").shape, what="view_as")

    reshape_as = view_as

    def flatten(self, x: Any, start_dim: Any = 0, end_dim: Any = -1) -> Tensor:
        t = _tensor(x, "flatten")
        if t.ndim == 0:
            return Tensor((sp.Integer(1),))
        a, b = _norm_dim(start_dim, t.ndim, "flatten"), _norm_dim(end_dim, t.ndim, "flatten")
        if a > b:
            raise ShapeError("flatten: start_dim comes after end_dim")
        return Tensor((*t.shape[:a], _prod(t.shape[a : b + 1]), *t.shape[b + 1 :]))

    def unflatten(self, x: Any, dim: Any, sizes: Any) -> Tensor:
        t = _tensor(x, "unflatten")
        i = _norm_dim(dim, t.ndim, "unflatten")
        part = self.reshape(Tensor((t.shape[i],)), tuple(_sizes((sizes,))), what="unflatten")
        return Tensor(t.shape[:i] + part.shape + t.shape[i + 1 :])

    def squeeze(self, x: Any, dim: Any = None) -> Tensor:
        t = _tensor(x, "squeeze")
        if dim is None:
            return Tensor(tuple(d for d in t.shape if not self.dims.is_one(d)))
        ds = {
            _norm_dim(d, t.ndim, "squeeze")
            for d in (dim if isinstance(dim, tuple | list) else [dim])
        }
        return Tensor(
            tuple(d for i, d in enumerate(t.shape) if not (i in ds and self.dims.is_one(d)))
        )

    def unsqueeze(self, x: Any, dim: Any) -> Tensor:
        t = _tensor(x, "unsqueeze")
        i = _norm_dim(dim, t.ndim, "unsqueeze", extra=1)
        return Tensor((*t.shape[:i], sp.Integer(1), *t.shape[i:]))

    def expand(self, x: Any, *size: Any) -> Tensor:
        t = _tensor(x, "expand")
        new = _sizes(size)
        if len(new) < t.ndim:
            raise ShapeError(f"expand: {len(new)} sizes for a {t.ndim}-D tensor")
        out = list(new)
        off = len(new) - t.ndim
        for i, d in enumerate(t.shape):
            want = new[off + i]
            if _int(want) == -1:
                out[off + i] = d
            elif not (self.eq(want, d) or self.dims.is_one(d)):
                raise ShapeError(
                    f"expand: dim {i} has size {fmt_dim(d)}, cannot expand to {fmt_dim(want)}"
                )
        return Tensor(tuple(out))

    def expand_as(self, x: Any, y: Any) -> Tensor:
        return self.expand(x, _tensor(y, "expand_as").shape)

    def repeat(self, x: Any, *reps: Any) -> Tensor:
        t = _tensor(x, "repeat")
        r = _sizes(reps)
        if len(r) < t.ndim:
            raise ShapeError(f"repeat: {len(r)} repeats for a {t.ndim}-D tensor")
        shape = (sp.Integer(1),) * (len(r) - t.ndim) + t.shape
        return Tensor(tuple(d * k for d, k in zip(shape, r, strict=True)))

    # -- reductions ----------------------------------------------------------------------------
    def reduce(self, x: Any, dim: Any = None, keepdim: Any = False, what: str = "sum") -> Tensor:
        t = _tensor(x, what)
        if dim is None:
            return Tensor(tuple(sp.Integer(1) for _ in t.shape) if keepdim else ())
        ds = {_norm_dim(d, t.ndim, what) for d in (dim if isinstance(dim, tuple | list) else [dim])}
        if keepdim:
            return Tensor(tuple(sp.Integer(1) if i in ds else d for i, d in enumerate(t.shape)))
        return Tensor(tuple(d for i, d in enumerate(t.shape) if i not in ds))

    def maxmin(self, x: Any, dim: Any = None, keepdim: Any = False, what: str = "max") -> Tensor:
        if isinstance(dim, Tensor):
            return self.broadcast(x, dim)
        return self.reduce(x, dim, keepdim, what)

    def norm(self, x: Any, p: Any = None, dim: Any = None, keepdim: Any = False) -> Tensor:
        return self.reduce(x, dim, keepdim, "norm")

    def same(self, x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return _tensor(x, "this operation")

    def softmax(self, x: Any, dim: Any = None, **kwargs: Any) -> Tensor:
        t = _tensor(x, "softmax")
        if dim is None:
            raise ShapeError("softmax: give the dim, e.g. softmax(X, dim=-1)")
        _norm_dim(dim, max(t.ndim, 1), "softmax")
        return t

    def masked_fill(self, x: Any, mask: Any, value: Any = 0) -> Tensor:
        t = _tensor(x, "masked_fill")
        out = _bcast(self.dims, [t.shape, _tensor(mask, "masked_fill").shape], "masked_fill")
        if len(out) != t.ndim or not all(self.eq(a, b) for a, b in zip(out, t.shape, strict=True)):
            raise ShapeError(
                f"masked_fill: mask {fmt_shape(mask.shape)} does not broadcast to {fmt_shape(t.shape)}"
            )
        return t

    def where(self, cond: Any, a: Any, b: Any) -> Tensor:
        return self.broadcast(cond, a, b)

    # -- joining ----------------------------------------------------------------------------------
    def cat(self, tensors: Any, dim: Any = 0) -> Tensor:
        ts = [
            _tensor(v, "cat") for v in (tensors if isinstance(tensors, list | tuple) else [tensors])
        ]
        if not ts:
            raise ShapeError("cat needs a list of tensors")
        n = ts[0].ndim
        for t in ts[1:]:
            if t.ndim != n:
                raise ShapeError(f"cat: tensors have {n} and {t.ndim} dims")
        i = _norm_dim(dim, n, "cat")
        for t in ts[1:]:
            for j in range(n):
                if j != i and not self.eq(t.shape[j], ts[0].shape[j]):
                    raise ShapeError(
                        f"cat: sizes must match except in dim {i}: "
                        f"{fmt_shape(ts[0].shape)} vs {fmt_shape(t.shape)}"
                    )
        shape = list(ts[0].shape)
        shape[i] = sp.Add(*[t.shape[i] for t in ts])
        return Tensor(tuple(shape))

    concat = cat
    concatenate = cat

    def stack(self, tensors: Any, dim: Any = 0) -> Tensor:
        ts = [
            _tensor(v, "stack")
            for v in (tensors if isinstance(tensors, list | tuple) else [tensors])
        ]
        if not ts:
            raise ShapeError("stack needs a list of tensors")
        for t in ts[1:]:
            if t.ndim != ts[0].ndim or not all(
                self.eq(a, b) for a, b in zip(t.shape, ts[0].shape, strict=True)
            ):
                raise ShapeError(
                    f"stack: all tensors must have the same shape: "
                    f"{fmt_shape(ts[0].shape)} vs {fmt_shape(t.shape)}"
                )
        i = _norm_dim(dim, ts[0].ndim, "stack", extra=1)
        return Tensor((*ts[0].shape[:i], sp.Integer(len(ts)), *ts[0].shape[i:]))

    def chunk(self, x: Any, chunks: Any, dim: Any = 0) -> Pieces:
        t = _tensor(x, "chunk")
        n = _int(chunks)
        if n is None or n < 1:
            raise ShapeError("chunk: the number of chunks must be a positive integer")
        i = _norm_dim(dim, t.ndim, "chunk")
        size = t.shape[i] / n
        size = size if self.dims.integral(size) else sp.ceiling(size)
        piece = Tensor((*t.shape[:i], size, *t.shape[i + 1 :]))
        return Pieces((piece,) * n)

    def split(self, x: Any, size: Any, dim: Any = 0) -> Pieces:
        t = _tensor(x, "split")
        i = _norm_dim(dim, t.ndim, "split")
        if isinstance(size, list | tuple):
            if not self.eq(sp.Add(*size), t.shape[i]):
                raise ShapeError(
                    f"split: sizes add up to {fmt_dim(sp.Add(*size))}, dim {i} is {fmt_dim(t.shape[i])}"
                )
            return Pieces(tuple(Tensor((*t.shape[:i], s, *t.shape[i + 1 :])) for s in size))
        count = t.shape[i] / size
        k = _int(sp.ceiling(self.dims.canon(count)))
        n = k if k is not None else 2
        return Pieces((Tensor((*t.shape[:i], size, *t.shape[i + 1 :])),) * n)

    # -- layers ----------------------------------------------------------------------------------
    def linear(self, x: Any, w: Any, b: Any = None) -> Tensor:
        t = _tensor(x, "linear")
        if t.ndim == 0:
            raise ShapeError("linear needs an input with at least 1 dim")
        if isinstance(w, Tensor):
            if w.ndim != 2:
                raise ShapeError(
                    f"linear: the weight must be 2-D (out, in), got {fmt_shape(w.shape)}"
                )
            if not self.eq(t.shape[-1], w.shape[1]):
                raise ShapeError(
                    f"linear: input features {fmt_dim(t.shape[-1])} vs weight in_features {fmt_dim(w.shape[1])}"
                )
            return Tensor((*t.shape[:-1], w.shape[0]))
        return Tensor((*t.shape[:-1], w))

    def embedding(self, idx: Any, d: Any) -> Tensor:
        t = _tensor(idx, "embedding")
        if isinstance(d, Tensor):
            if d.ndim != 2:
                raise ShapeError("embedding: the weight must be 2-D (num_embeddings, dim)")
            d = d.shape[1]
        return Tensor((*t.shape, d))

    def _spatial(self, x: Any, nd: int, what: str) -> tuple[tuple[Any, ...], list[Any]]:
        t = _tensor(x, what)
        if t.ndim not in (nd + 1, nd + 2):
            names = {
                1: "(N, C, L) or (C, L)",
                2: "(N, C, H, W) or (C, H, W)",
                3: "(N, C, D, H, W) or (C, D, H, W)",
            }[nd]
            raise ShapeError(f"{what} needs {names}, got {fmt_shape(t.shape)}")
        return t.shape[:-nd], list(t.shape[-nd:])

    def conv(
        self,
        nd: int,
        x: Any,
        out: Any,
        kernel_size: Any = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: Any = 1,
        bias: Any = None,
        what: str = "conv",
    ) -> Tensor:
        lead, sizes = self._spatial(x, nd, what)
        if isinstance(out, Tensor):
            w = out
            if w.ndim != nd + 2:
                raise ShapeError(
                    f"{what}: the weight must be {nd + 2}-D (C_out, C_in/groups, k...)"
                )
            c_in = lead[-1]
            if not self.eq(c_in, w.shape[1] * groups):
                raise ShapeError(
                    f"{what}: input channels {fmt_dim(c_in)} vs weight {fmt_dim(w.shape[1] * groups)}"
                )
            out, kernel_size = w.shape[0], tuple(w.shape[2:])
        if kernel_size is None:
            raise ShapeError(f"{what} needs the kernel size: {what}(X, C_out, k)")
        ks = _pair(kernel_size, nd, f"{what} kernel_size")
        ss = _pair(stride, nd, f"{what} stride")
        ds = _pair(dilation, nd, f"{what} dilation")
        if isinstance(padding, str):
            if padding == "valid":
                ps = [0] * nd
            elif padding == "same":
                if any(_int(s) != 1 for s in ss):
                    raise ShapeError(f"{what}: padding='same' needs stride 1")
                return Tensor((*tuple(lead[:-1]), out, *tuple(sizes)))
            else:
                raise ShapeError(f"{what}: padding must be a size, 'same' or 'valid'")
        else:
            ps = _pair(padding, nd, f"{what} padding")
        new = [
            sp.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1
            for n, k, s, p, d in zip(sizes, ks, ss, ps, ds, strict=True)
        ]
        return Tensor((*tuple(lead[:-1]), out, *tuple(new)))

    def conv_transpose(
        self,
        nd: int,
        x: Any,
        out: Any,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: Any = 1,
        bias: Any = None,
        dilation: Any = 1,
        what: str = "conv_transpose",
    ) -> Tensor:
        lead, sizes = self._spatial(x, nd, what)
        ks, ss = _pair(kernel_size, nd, what), _pair(stride, nd, what)
        ps, ops_, ds = (
            _pair(padding, nd, what),
            _pair(output_padding, nd, what),
            _pair(dilation, nd, what),
        )
        new = [
            (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            for n, k, s, p, op, d in zip(sizes, ks, ss, ps, ops_, ds, strict=True)
        ]
        return Tensor((*tuple(lead[:-1]), out, *tuple(new)))

    def pool(
        self,
        nd: int,
        x: Any,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: Any = False,
        what: str = "pool",
        **_: Any,
    ) -> Tensor:
        lead, sizes = self._spatial(x, nd, what)
        ks = _pair(kernel_size, nd, f"{what} kernel_size")
        ss = ks if stride is None else _pair(stride, nd, f"{what} stride")
        ps, ds = _pair(padding, nd, f"{what} padding"), _pair(dilation, nd, f"{what} dilation")
        rnd = sp.ceiling if ceil_mode is True else sp.floor
        new = [
            rnd((n + 2 * p - d * (k - 1) - 1) / s) + 1
            for n, k, s, p, d in zip(sizes, ks, ss, ps, ds, strict=True)
        ]
        return Tensor(tuple(lead) + tuple(new))

    def adaptive_pool(
        self, nd: int, x: Any, output_size: Any, what: str = "adaptive_pool"
    ) -> Tensor:
        lead, sizes = self._spatial(x, nd, what)
        outs = _pair(output_size, nd, f"{what} output_size")
        return Tensor(
            tuple(lead) + tuple(s if o is None else o for s, o in zip(sizes, outs, strict=True))
        )

    def attention(
        self, q: Any, k: Any, v: Any, attn_mask: Any = None, *args: Any, **kwargs: Any
    ) -> Tensor:
        Q, K, V = (_tensor(a, "attention") for a in (q, k, v))
        for name, t in (("query", Q), ("key", K), ("value", V)):
            if t.ndim < 2:
                raise ShapeError(f"attention: the {name} needs at least 2 dims (..., T, E)")
        if not self.eq(Q.shape[-1], K.shape[-1]):
            raise ShapeError(
                f"attention: query and key feature dims: {fmt_dim(Q.shape[-1])} vs {fmt_dim(K.shape[-1])}"
            )
        if not self.eq(K.shape[-2], V.shape[-2]):
            raise ShapeError(
                f"attention: key and value lengths: {fmt_dim(K.shape[-2])} vs {fmt_dim(V.shape[-2])}"
            )
        batch = _bcast(self.dims, [Q.shape[:-2], K.shape[:-2], V.shape[:-2]], "attention batch")
        if isinstance(attn_mask, Tensor):
            _bcast(
                self.dims, [attn_mask.shape, (*batch, Q.shape[-2], K.shape[-2])], "attention mask"
            )
        return Tensor((*batch, Q.shape[-2], V.shape[-1]))

    def layer_norm(self, x: Any, normalized_shape: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        t = _tensor(x, "layer_norm")
        if normalized_shape is not None:
            ns = (
                list(normalized_shape)
                if isinstance(normalized_shape, list | tuple)
                else [normalized_shape]
            )
            tail = t.shape[len(t.shape) - len(ns) :] if len(ns) <= t.ndim else None
            if tail is None or not all(self.eq(a, b) for a, b in zip(tail, ns, strict=True)):
                raise ShapeError(
                    f"layer_norm: normalized shape {fmt_shape(tuple(ns))} does not match "
                    f"the last dims of {fmt_shape(t.shape)}"
                )
        return t

    # -- creation --------------------------------------------------------------------------------
    def new(self, *size: Any, **kwargs: Any) -> Tensor:
        return Tensor(tuple(_sizes(size)))

    def like(self, x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return _tensor(x, "*_like")

    def full(self, size: Any, value: Any = 0, **kwargs: Any) -> Tensor:
        return Tensor(tuple(_sizes((size,))))

    def arange(self, a: Any, b: Any = None, step: Any = 1, **kwargs: Any) -> Tensor:
        n = a if b is None else b - a
        return Tensor((n if _int(step) == 1 else sp.ceiling(n / step),))

    def eye(self, n: Any, m: Any = None, **kwargs: Any) -> Tensor:
        return Tensor((n, n if m is None else m))


SAME = [
    "relu",
    "gelu",
    "silu",
    "sigmoid",
    "tanh",
    "exp",
    "log",
    "abs",
    "sqrt",
    "rsqrt",
    "neg",
    "softplus",
    "dropout",
    "batch_norm",
    "contiguous",
    "clone",
    "detach",
    "float",
    "double",
    "half",
    "long",
    "int",
    "bool",
    "to",
    "cpu",
    "cuda",
    "type_as",
    "relu_",
    "exp_",
    "sin",
    "cos",
    "square",
    "sign",
    "elu",
    "leaky_relu",
    "mish",
    "hardtanh",
    "clamp",
    "clip",
    "erf",
    "log1p",
    "expm1",
    "requires_grad_",
    "zero_",
    "normal_",
    "uniform_",
    "fill_",
    "instance_norm",
    "group_norm",
    "tril",
    "triu",
    "dropout1d",
    "dropout2d",
    "log_sigmoid",
    "logsigmoid",
    "floor",
    "ceil",
    "round",
    "reciprocal",
    "pow",
    "nan_to_num",
    "sigmoid_",
    "tanh_",
    "abs_",
]
REDUCE = [
    "sum",
    "mean",
    "prod",
    "amax",
    "amin",
    "std",
    "var",
    "logsumexp",
    "all",
    "any",
    "argmax",
    "argmin",
    "nansum",
    "nanmean",
    "median",
    "mode",
    "count_nonzero",
]


def _named(op: Callable[..., Any], nd: int, what: str) -> Callable[..., Any]:
    """`op` for `nd` spatial dims, naming itself `what` in messages."""

    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs["what"] = what
        return op(nd, *args, **kwargs)

    return call


def _functions(ops: Ops) -> dict[str, Callable[..., Any]]:
    f: dict[str, Callable[..., Any]] = {name: ops.same for name in SAME}
    for name in REDUCE:
        f[name] = (
            lambda n: lambda x, dim=None, keepdim=False, **kw: ops.reduce(x, dim, keepdim, n)
        )(name)
    f["max"] = lambda x, dim=None, keepdim=False: ops.maxmin(x, dim, keepdim, "max")
    f["min"] = lambda x, dim=None, keepdim=False: ops.maxmin(x, dim, keepdim, "min")
    for name in (
        "add",
        "sub",
        "mul",
        "div",
        "maximum",
        "minimum",
        "pow",
        "atan2",
        "fmod",
        "remainder",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "logical_and",
        "logical_or",
    ):
        f[name] = lambda a, b, **kw: ops.broadcast(a, b)
    f["pow"] = lambda a, b=None, **kw: ops.broadcast(a, b) if b is not None else ops.same(a)
    f["softmax"] = ops.softmax
    f["log_softmax"] = ops.softmax
    for name in (
        "matmul",
        "mm",
        "bmm",
        "mv",
        "dot",
        "outer",
        "einsum",
        "T",
        "mT",
        "transpose",
        "swapaxes",
        "swapdims",
        "permute",
        "reshape",
        "view",
        "view_as",
        "reshape_as",
        "flatten",
        "unflatten",
        "squeeze",
        "unsqueeze",
        "expand",
        "expand_as",
        "repeat",
        "norm",
        "masked_fill",
        "where",
        "cat",
        "concat",
        "concatenate",
        "stack",
        "chunk",
        "split",
        "linear",
        "embedding",
        "attention",
        "layer_norm",
        "full",
        "arange",
        "eye",
    ):
        f[name] = getattr(ops, name)
    f["scaled_dot_product_attention"] = ops.attention
    f["ger"] = ops.outer
    for name in ("zeros", "ones", "randn", "rand", "empty", "randint_like"):
        f[name] = ops.new
    for name in ("zeros_like", "ones_like", "randn_like", "rand_like", "empty_like", "full_like"):
        f[name] = ops.like
    for nd in (1, 2, 3):
        f[f"conv{nd}d"] = _named(ops.conv, nd, f"conv{nd}d")
        f[f"conv_transpose{nd}d"] = _named(ops.conv_transpose, nd, f"conv_transpose{nd}d")
        for kind in ("max", "avg"):
            f[f"{kind}_pool{nd}d"] = _named(ops.pool, nd, f"{kind}_pool{nd}d")
            f[f"adaptive_{kind}_pool{nd}d"] = _named(
                ops.adaptive_pool, nd, f"adaptive_{kind}_pool{nd}d"
            )
    return f


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
