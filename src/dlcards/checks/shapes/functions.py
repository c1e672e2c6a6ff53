"""`Ops`, all the PyTorch shape rules, and the table of names a `shapes` statement may call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlcards.checks.shapes.ops_layers import _LayerOps


class Ops(_LayerOps):
    """PyTorch shape rules. Each op takes evaluated arguments and returns a shape value."""


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
