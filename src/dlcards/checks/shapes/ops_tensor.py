"""PyTorch shape rules, part 1: broadcasting helpers, elementwise and matmul ops, transposes and
reshapes.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlcards.checks.shapes.sizes import Dims, ShapeError, Tensor, _int, fmt_dim, fmt_shape

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


class _TensorOps:
    """Elementwise, matmul, einsum, transposes and reshapes."""

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
