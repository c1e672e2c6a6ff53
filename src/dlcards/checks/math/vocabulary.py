"""The check language's vocabulary: scalar and vector functions, constants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from dlcards.checks.common import (
    CheckError,
)
from dlcards.checks.math.limits import MAX_MAT, MAX_VEC
from dlcards.checks.math.values import (
    Arr,
    _elementwise,
    _mat,
    _matmul,
    _scalar,
    _to_matrix,
    _transpose,
    _vec,
)

# ---------------------------------------------------------------------------------------------
# The vocabulary


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + sp.exp(-x))


def _softplus(x: Any) -> Any:
    return sp.log(1 + sp.exp(x))


def _elu(x: Any, a: Any = 1) -> Any:
    return sp.Piecewise((x, x > 0), (a * (sp.exp(x) - 1), True))


SCALAR_FUNCS: dict[str, Callable[..., Any]] = {
    "exp": sp.exp,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "sign": sp.sign,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "erf": sp.erf,
    "ln": sp.log,
    "sigmoid": _sigmoid,
    "logit": lambda p: sp.log(p / (1 - p)),
    "relu": lambda x: sp.Max(0, x),
    "heaviside": lambda x: sp.Heaviside(x, sp.Rational(1, 2)),
    "leaky_relu": lambda x, a=None: sp.Max(x, (sp.Rational(1, 100) if a is None else a) * x),
    "softplus": _softplus,
    "log_sigmoid": lambda x: -_softplus(-x),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: x / 2 * (1 + sp.erf(x / sp.sqrt(2))),
    "elu": _elu,
}


def _log(x: Any, base: Any = None) -> Any:
    if isinstance(x, Arr):
        return x.map(lambda v: _log(v, base))
    return sp.log(x) if base is None else sp.log(x, _scalar(base, "log base"))


def _size(v: Any, what: str, limit: int) -> int:
    v = sp.sympify(v)
    if not v.is_Integer or not 1 <= int(v) <= limit:
        raise CheckError(f"{what} must be an integer from 1 to {limit}")
    return int(v)


def _index(v: Any, what: str) -> int:
    v = sp.sympify(v)
    if not v.is_Integer:
        raise CheckError(f"{what} must be an integer (0-based)")
    return int(v)


def _sum(v: Any) -> Any:
    return sp.Add(*v.items) if isinstance(v, Arr) else v


def _mean(v: Any) -> Any:
    return _sum(v) / len(v.items) if isinstance(v, Arr) else v


def _need_vec(v: Any, what: str) -> Arr:
    if not isinstance(v, Arr) or v.ndim != 1:
        raise CheckError(f"{what} needs a vector (e.g. vec('z', 3))")
    return v


def _softmax(z: Any) -> Arr:
    z = _need_vec(z, "softmax")
    exps = [sp.exp(v) for v in z.items]
    total = sp.Add(*exps)
    return _vec([e / total for e in exps])


def _logsumexp(z: Any) -> Any:
    z = _need_vec(z, "logsumexp")
    return sp.log(sp.Add(*[sp.exp(v) for v in z.items]))


def _log_softmax(z: Any) -> Arr:
    lse = _logsumexp(z)
    return _need_vec(z, "log_softmax").map(lambda v: v - lse)


def _cross_entropy(z: Any, y: Any) -> Any:
    z = _need_vec(z, "cross_entropy")
    if isinstance(y, Arr):
        if y.shape != z.shape:
            raise CheckError("cross_entropy: the target vector must have the logits' size")
        ls = _log_softmax(z)
        return -sp.Add(*[a * b for a, b in zip(y.items, ls.items, strict=True)])
    k = _index(y, "cross_entropy's class")
    if not 0 <= k < z.shape[0]:
        raise CheckError(f"cross_entropy: class {k} out of range for {z.shape[0]} logits")
    return -(z.items[k] - _logsumexp(z))


def _nll(p: Any, k: Any) -> Any:
    p = _need_vec(p, "nll")
    i = _index(k, "nll's class")
    if not 0 <= i < p.shape[0]:
        raise CheckError(f"nll: class {i} out of range for size {p.shape[0]}")
    return -sp.log(p.items[i])


def _mse(a: Any, b: Any) -> Any:
    d = _elementwise(a, b, lambda x, y: (x - y) ** 2, "mse")
    return _mean(d)


def _sse(a: Any, b: Any) -> Any:
    return _sum(_elementwise(a, b, lambda x, y: (x - y) ** 2, "sse"))


def _bce(p: Any, y: Any) -> Any:
    return _mean(_elementwise(p, y, lambda q, t: -(t * sp.log(q) + (1 - t) * sp.log(1 - q)), "bce"))


def _onehot(k: Any, n: Any) -> Arr:
    size = _size(n, "onehot's size", MAX_VEC)
    i = _index(k, "onehot's index")
    if not 0 <= i < size:
        raise CheckError(f"onehot: index {i} out of range for size {size}")
    return _vec([1 if j == i else 0 for j in range(size)])


def _filled(value: int) -> Callable[..., Arr]:
    def make(*dims: Any) -> Arr:
        if len(dims) == 1:
            return _vec([value] * _size(dims[0], "size", MAX_VEC))
        if len(dims) == 2:
            m, n = _size(dims[0], "rows", MAX_MAT), _size(dims[1], "columns", MAX_MAT)
            return _mat([[value] * n for _ in range(m)])
        raise CheckError("zeros/ones take one or two sizes")

    return make


def _eye(n: Any) -> Arr:
    size = _size(n, "eye's size", MAX_MAT)
    return _mat(sp.eye(size).tolist())


def _max(*args: Any) -> Any:
    if len(args) == 1 and isinstance(args[0], Arr):
        return sp.Max(*args[0].items)
    return sp.Max(*[_scalar(a, "max") for a in args])


def _min(*args: Any) -> Any:
    if len(args) == 1 and isinstance(args[0], Arr):
        return sp.Min(*args[0].items)
    return sp.Min(*[_scalar(a, "min") for a in args])


def _diff(f: Any, *args: Any) -> Any:
    spec: list[Any] = []
    for a in args:
        if isinstance(a, Arr):
            raise CheckError(
                "diff: differentiate with respect to a symbol; use grad(f, v) for a vector"
            )
        spec.append(a)
    if not spec:
        raise CheckError("diff needs a variable: diff(f, x)")
    if isinstance(f, Arr):
        return f.map(lambda e: sp.diff(e, *spec))
    return sp.diff(f, *spec)


def _grad(f: Any, v: Any) -> Any:
    f = _scalar(f, "grad's function")
    if isinstance(v, Arr):
        for s in v.items:
            if not isinstance(s, sp.Symbol):
                raise CheckError(
                    "grad: differentiate with respect to a vec(...) or mat(...) of symbols"
                )
        return v.map(lambda s: sp.diff(f, s))
    if isinstance(v, list | tuple):
        return _vec([sp.diff(f, s) for s in v])
    return sp.diff(f, v)


def _jacobian(F: Any, v: Any) -> Arr:
    F = _need_vec(F, "jacobian") if isinstance(F, Arr) else _vec([F])
    v = _need_vec(v, "jacobian's variable")
    return _mat([[sp.diff(fi, s) for s in v.items] for fi in F.items])


def _hessian(f: Any, v: Any) -> Arr:
    f = _scalar(f, "hessian's function")
    v = _need_vec(v, "hessian's variable")
    return _mat([[sp.diff(f, a, b) for b in v.items] for a in v.items])


def _subs(f: Any, x: Any, a: Any) -> Any:
    if isinstance(f, Arr):
        return f.map(lambda e: e.subs(x, a))
    return sp.sympify(f).subs(x, a)


def _dot(u: Any, v: Any) -> Any:
    return _matmul(_need_vec(u, "dot"), _need_vec(v, "dot"))


def _outer(u: Any, v: Any) -> Arr:
    u, v = _need_vec(u, "outer"), _need_vec(v, "outer")
    return _mat([[a * b for b in v.items] for a in u.items])


def _diag(v: Any) -> Arr:
    v = _need_vec(v, "diag")
    n = v.shape[0]
    return _mat([[v.items[i] if i == j else 0 for j in range(n)] for i in range(n)])


def _prod(v: Any) -> Any:
    return sp.Mul(*v.items) if isinstance(v, Arr) else v


def _var(v: Any) -> Any:
    m = _mean(v)
    return _mean(_elementwise(v, m, lambda a, b: (a - b) ** 2, "var"))


def _len(v: Any) -> Any:
    if not isinstance(v, Arr):
        raise CheckError("len needs a vector or matrix")
    return sp.Integer(v.shape[0])


def _sum_sq(v: Any) -> Any:
    return _sum(_elementwise(v, 2, lambda a, b: a**b, "sum_sq"))


VECTOR_FUNCS: dict[str, Callable[..., Any]] = {
    "log": _log,
    "sum": _sum,
    "mean": _mean,
    "prod": _prod,
    "sum_sq": _sum_sq,
    "norm": lambda v: sp.sqrt(_sum_sq(v)),
    "var": _var,
    "len": _len,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "logsumexp": _logsumexp,
    "cross_entropy": _cross_entropy,
    "nll": _nll,
    "mse": _mse,
    "sse": _sse,
    "bce": _bce,
    "bce_logits": lambda z, y: _bce(
        SCALAR_FUNCS["sigmoid"](z) if not isinstance(z, Arr) else z.map(_sigmoid), y
    ),
    "onehot": _onehot,
    "zeros": _filled(0),
    "ones": _filled(1),
    "eye": _eye,
    "max": _max,
    "min": _min,
    "dot": _dot,
    "outer": _outer,
    "diag": _diag,
    "transpose": _transpose,
    "trace": lambda w: _to_matrix(w).trace(),
    "det": lambda w: _to_matrix(w).det(),
    "inv": lambda w: _mat(_to_matrix(w).inv().tolist()),
    "diff": _diff,
    "grad": _grad,
    "jacobian": _jacobian,
    "hessian": _hessian,
    "subs": _subs,
}

CONSTANTS: dict[str, Any] = {"pi": sp.pi, "e": sp.E, "E": sp.E}
SPECIAL = ("vec", "mat")
VOCABULARY = (
    frozenset(SCALAR_FUNCS) | frozenset(VECTOR_FUNCS) | frozenset(CONSTANTS) | frozenset(SPECIAL)
)
