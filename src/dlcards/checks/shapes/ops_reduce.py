"""PyTorch shape rules, part 2: reductions, masking, joining and splitting, creation."""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlcards.checks.shapes.ops_tensor import _bcast, _norm_dim, _sizes, _tensor, _TensorOps
from dlcards.checks.shapes.sizes import Pieces, ShapeError, Tensor, _int, fmt_dim, fmt_shape


class _ReduceOps(_TensorOps):
    """Reductions, masking, joining and splitting, creation."""

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
