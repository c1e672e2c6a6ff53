"""PyTorch shape rules, part 3: layers (linear, embedding, convolutions, pooling, attention, norms)."""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlcards.checks.shapes.ops_reduce import _ReduceOps
from dlcards.checks.shapes.ops_tensor import _bcast, _pair, _tensor
from dlcards.checks.shapes.sizes import ShapeError, Tensor, _int, fmt_dim, fmt_shape


class _LayerOps(_ReduceOps):
    """Layers: linear, embedding, convolutions, pooling, attention, layer norm."""

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
