"""`check` blocks: formulas in plain sympy syntax, falsified numerically then proved.

The language is documented in docs/checks.md. Expressions are parsed with `ast` and evaluated
by walking a whitelisted set of node types (never `eval`/`sympify`, which evaluate strings).
Pure: no I/O, no wall clock (the proof budget is CPU time: an ITIMER_PROF interval timer and
time.process_time, where available).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from dlcards.checks.common import (
    PROOF_BUDGET,
    BlockProblem,
    CheckError,
    parse_expression,
    statements,
)

PROOF_BUDGET_S = 3.0  # CPU seconds per claim
CHECK_HINT = "see docs/checks.md, section 1, for the check language and its vocabulary"
POINTS = 12
MAX_TRIES = 60
DIGITS = 50
MAX_VEC = 8
MAX_MAT = 6
MAX_BITS = 20_000  # a number literal or power result larger than 2**20000 is refused
MAX_EXPONENT = 10_000  # x**n with |n| above this is refused (expanding it never ends)
EXTREMES = (10.0, 123.45, 1e3, 1e6)  # magnitudes tried besides the random points
EXTREME_SHARE = 0.25  # of the claim's budget, at most, for the extreme points


class _Timeout(BaseException):  # not an Exception: sympy code must not swallow it
    pass


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise `_Timeout` in the main thread after `seconds` of this process's CPU time.

    CPU time (ITIMER_PROF: user + system), not wall time, so a loaded machine reaches the
    same verdicts as a quiet one (issue 12). A no-op off the main thread or without
    setitimer."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


class _SubTimeout(BaseException):
    pass


@contextmanager
def sub_budget(seconds: float) -> Iterator[None]:
    """Within a `time_budget`: raise `_SubTimeout` after `seconds` of CPU time (or when the
    outer budget would end first, `_Timeout` as usual); afterwards the outer budget goes on
    with what is left of it."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    outer_left = signal.getitimer(signal.ITIMER_PROF)[0]
    if outer_left and outer_left <= seconds:
        yield  # the outer budget ends first: nothing to nest
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _SubTimeout

    started = time.process_time()
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
        if outer_left:
            left = outer_left - (time.process_time() - started)
            if left <= 0:
                raise _Timeout
            signal.setitimer(signal.ITIMER_PROF, left)


# ---------------------------------------------------------------------------------------------
# Values: sympy scalars, or Arr (a vector or matrix of sympy expressions)


@dataclass(frozen=True)
class Arr:
    """A vector (`shape=(n,)`) or matrix (`shape=(m, n)`) of sympy expressions, row-major."""

    shape: tuple[int, ...]
    items: tuple[Any, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def map(self, f: Callable[[Any], Any]) -> Arr:
        return Arr(self.shape, tuple(f(v) for v in self.items))

    def rows(self) -> list[list[Any]]:
        if self.ndim == 1:
            return [list(self.items)]
        m, n = self.shape
        return [list(self.items[i * n : (i + 1) * n]) for i in range(m)]

    def describe(self) -> str:
        return (
            f"vector of size {self.shape[0]}"
            if self.ndim == 1
            else f"{self.shape[0]}×{self.shape[1]} matrix"
        )


def _vec(items: list[Any]) -> Arr:
    return Arr((len(items),), tuple(sp.sympify(v) for v in items))


def _mat(rows: list[list[Any]]) -> Arr:
    m = len(rows)
    n = len(rows[0]) if rows else 0
    return Arr((m, n), tuple(sp.sympify(v) for r in rows for v in r))


def _power(x: Any, y: Any) -> Any:
    """`x**y`, refusing results no machine can hold (`2**2**2**2**2**2`, `(x + 1)**10**9`)."""
    x, y = sp.sympify(x), sp.sympify(y)
    if y.is_Number and y.is_finite:
        if x.is_Number and x.is_finite and x != 0 and abs(x) != 1:
            bits = abs(float(y)) * abs(_log2(x)) if abs(y) < 10**9 else math.inf
            if bits > MAX_BITS:
                raise CheckError(
                    "a number too large to compute (over 2**20000)",
                    "use smaller numbers: a claim about sizes holds at small sizes too",
                )
        elif not x.is_Number and abs(y) > MAX_EXPONENT:
            raise CheckError(
                f"an exponent of {_short_number(y)} is too large to expand (at most {MAX_EXPONENT})",
                "use a symbol for the exponent: `x**n`",
            )
    return x**y


def _log2(x: Any) -> float:
    """log2(|x|) of a sympy number, also beyond the float range."""
    if x.is_Rational:
        return math.log2(abs(int(x.p))) - math.log2(int(x.q))
    return math.log2(abs(float(x)))


def _short_number(v: Any) -> str:
    try:
        text = str(v)
    except ValueError:
        return "a huge number"
    return text if len(text) <= 20 else text[:8] + "…"


def _src(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):
        return "this number"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_arr(v: Any) -> bool:
    return isinstance(v, Arr)


def _scalar(v: Any, what: str) -> Any:
    if isinstance(v, Arr):
        raise CheckError(f"{what} needs a scalar, got a {v.describe()}")
    if isinstance(v, str | list | tuple):
        raise CheckError(f"{what} needs a scalar expression")
    return v


def _elementwise(a: Any, b: Any, op: Callable[[Any, Any], Any], name: str) -> Any:
    if isinstance(a, Arr) and isinstance(b, Arr):
        if a.shape != b.shape:
            raise CheckError(f"`{name}` of a {a.describe()} and a {b.describe()}: sizes differ")
        return Arr(a.shape, tuple(op(x, y) for x, y in zip(a.items, b.items, strict=True)))
    if isinstance(a, Arr):
        return a.map(lambda x: op(x, b))
    if isinstance(b, Arr):
        return b.map(lambda y: op(a, y))
    return op(a, b)


def _matmul(a: Any, b: Any) -> Any:
    if not (isinstance(a, Arr) and isinstance(b, Arr)):
        raise CheckError("`@` needs vectors or matrices on both sides (use `*` for scalars)")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise CheckError(f"`@` of vectors of sizes {a.shape[0]} and {b.shape[0]}")
        return sp.Add(*[x * y for x, y in zip(a.items, b.items, strict=True)])
    A = sp.Matrix(a.rows()) if a.ndim == 2 else sp.Matrix([list(a.items)])
    B = sp.Matrix(b.rows()) if b.ndim == 2 else sp.Matrix(list(b.items))
    if A.shape[1] != B.shape[0]:
        raise CheckError(f"`@` inner sizes differ: {a.describe()} @ {b.describe()}")
    C = A * B
    if a.ndim == 1 or b.ndim == 1:
        return _vec(list(C))
    return _mat(C.tolist())


def _transpose(a: Any) -> Any:
    if isinstance(a, Arr) and a.ndim == 2:
        return _mat(sp.Matrix(a.rows()).T.tolist())
    return a


def _to_matrix(a: Arr) -> sp.Matrix:
    if not isinstance(a, Arr) or a.ndim != 2:
        raise CheckError("needs a matrix")
    return sp.Matrix(a.rows())


def _items(v: Any) -> list[Any]:
    return list(v.items) if isinstance(v, Arr) else [v]


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


# ---------------------------------------------------------------------------------------------
# Deciding claims


def _fmt_point(v: float) -> str:
    return f"{v:g}"


def _fmt_value(v: Any, digits: int = 4) -> str:
    import mpmath

    if isinstance(v, mpmath.mpc):
        return f"({mpmath.nstr(v.real, digits)} + {mpmath.nstr(v.imag, digits)}j)"
    text = str(mpmath.nstr(v, digits, min_fixed=-4, max_fixed=9))
    return text[:-2] if text.endswith(".0") else text


def _fmt_pair(a: Any, b: Any) -> tuple[str, str]:
    """lhs and rhs with enough significant digits (4 at least) that they visibly differ."""
    for digits in (4, 6, 8, 10, 12, 15, 20, 30, 40):
        sa, sb = _fmt_value(a, digits), _fmt_value(b, digits)
        if sa != sb:
            return sa, sb
    return sa, sb


def _sample(
    rng: random.Random, bounds: tuple[float | None, bool, float | None, bool] | None
) -> float:
    lo, lo_strict, hi, hi_strict = bounds or (None, False, None, False)
    for _ in range(100):
        if lo is None and hi is None:
            v = rng.uniform(-3, 3)
        elif hi is None:
            assert lo is not None
            v = rng.uniform(lo, lo + 4)
        elif lo is None:
            v = rng.uniform(hi - 4, hi)
        else:
            v = rng.uniform(lo, hi)
        v = round(v, 2)
        if abs(v) < 0.01 and not (lo is not None and lo == 0 and not lo_strict):
            continue
        if lo is not None and (v < lo or (lo_strict and v == lo)):
            continue
        if hi is not None and (v > hi or (hi_strict and v == hi)):
            continue
        return v
    return lo if lo is not None else (hi if hi is not None else 1.0)


@dataclass
class Verdict:
    status: str  # "proved" | "false" | "unproved" | "undecided"
    message: str = ""


def _size_note(scope: Scope, syms: set[sp.Symbol]) -> str:
    used = [(n, a) for n, a in scope.groups.items() if any(s in syms for s in a.items)]
    if not used:
        return ""
    if all(a.ndim == 1 for _, a in used) and len({a.shape for _, a in used}) == 1:
        return f" (checked with vectors of size {used[0][1].shape[0]})"
    parts = [
        f"{n}: {a.shape[0]}" if a.ndim == 1 else f"{n}: {a.shape[0]}×{a.shape[1]}" for n, a in used
    ]
    return f" (checked with sizes {', '.join(parts)})"


def _point_text(scope: Scope, syms: list[sp.Symbol], point: dict[sp.Symbol, float]) -> str:
    parts: list[str] = []
    grouped: set[sp.Symbol] = set()
    for name, arr in sorted(scope.groups.items()):
        if not any(s in point for s in arr.items):
            continue
        grouped.update(arr.items)
        if arr.ndim == 1:
            parts.append(f"{name}=[{', '.join(_fmt_point(point.get(s, 0.0)) for s in arr.items)}]")
        else:
            rows = arr.rows()
            parts.append(
                f"{name}=["
                + ", ".join(
                    "[" + ", ".join(_fmt_point(point.get(s, 0.0)) for s in r) + "]" for r in rows
                )
                + "]"
            )
    for s in sorted(syms, key=lambda s: s.name):
        if s not in grouped:
            parts.append(f"{s.name}={_fmt_point(point[s])}")
    return ", ".join(parts)


def decide(
    lhs: Any,
    rhs: Any,
    scope: Scope,
    *,
    budget: float = PROOF_BUDGET_S,
    tolerance: float | None = None,
) -> Verdict:
    """Numeric falsification (50 digits) first, then a symbolic proof within `budget` seconds.

    `tolerance`: the absolute tolerance of a claim that writes decimal literals (half a unit in
    the last written digit of its most precise literal); None compares exactly (to 25 digits).
    """
    import mpmath

    if isinstance(lhs, Arr) and isinstance(rhs, Arr) and lhs.shape != rhs.shape:
        return Verdict(
            "false",
            f"the sides have different sizes: lhs is a {lhs.describe()}, rhs is a {rhs.describe()}",
        )
    shape = lhs.shape if isinstance(lhs, Arr) else rhs.shape if isinstance(rhs, Arr) else None
    n = len(lhs.items) if isinstance(lhs, Arr) else len(rhs.items) if isinstance(rhs, Arr) else 1
    left = [sp.sympify(v) for v in (_items(lhs) if isinstance(lhs, Arr) else [lhs] * n)]
    right = [sp.sympify(v) for v in (_items(rhs) if isinstance(rhs, Arr) else [rhs] * n)]
    for side, exprs in (("lhs", left), ("rhs", right)):
        if any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in exprs):
            return Verdict(
                "undefined",
                f"the {side} is undefined (a division by zero, 0**-1, or an infinity)",
            )
    free: set[sp.Symbol] = set()
    for e in left + right:
        free |= e.free_symbols
    syms = sorted(free, key=lambda s: s.name)
    size_note = _size_note(scope, free)
    rng = random.Random(0)
    try:
        fn = sp.lambdify(syms, left + right, modules="mpmath")
    except (KeyError, TypeError, ValueError, NameError, SyntaxError) as exc:
        return Verdict("undecided", f"the claim cannot be evaluated numerically ({exc}){size_note}")

    def evaluate(point: dict[sp.Symbol, float], digits: int) -> list[Any] | None:
        with mpmath.workdps(digits):
            tiny = mpmath.mpf(10) ** (-(digits // 2))
            try:
                vals = fn(*[mpmath.mpf(repr(point[s])) for s in syms])
            except (ZeroDivisionError, ValueError, OverflowError, TypeError, ArithmeticError):
                return None
            vals = [mpmath.mpmathify(v) for v in vals]
            if any(not mpmath.isfinite(v) for v in vals):
                return None
            if any(isinstance(v, mpmath.mpc) and abs(v.imag) > tiny * max(1, abs(v)) for v in vals):
                return None
            return [v.real if isinstance(v, mpmath.mpc) else v for v in vals]

    def differs(vals: list[Any], digits: int, tolerance: float | None = tolerance) -> int | None:
        with mpmath.workdps(digits):
            strict = mpmath.mpf(10) ** (-(DIGITS // 2))
            for i in range(n):
                a, b = vals[i], vals[n + i]
                gap = abs(a - b)
                if tolerance is not None:
                    if gap > tolerance:
                        return i
                elif gap > strict * max(1, abs(a), abs(b)):
                    return i
        return None

    def counterexample(point: dict[sp.Symbol, float], vals: list[Any], i: int) -> Verdict | None:
        # a real difference survives twice the precision; a rounding artefact (huge
        # magnitudes, cancellation) does not
        again = evaluate(point, 2 * DIGITS)
        if again is None or differs(again, 2 * DIGITS) is None:
            return None
        with mpmath.workdps(2 * DIGITS):
            stable = mpmath.mpf(10) ** (-(DIGITS // 2))
            for x, y in zip(vals, again, strict=True):
                if abs(x - y) > stable * max(1, abs(x), abs(y)):
                    return None  # the values depend on the precision: 0/0, cancellation
        where = _point_text(scope, syms, point)
        at = f" at {where}" if where else ""
        idx = ""
        if shape is not None:
            idx = f"[{i}]" if len(shape) == 1 else f"[{i // shape[1]}, {i % shape[1]}]"
        la, lb = _fmt_pair(vals[i], vals[n + i])
        within = f" (beyond the written precision ±{tolerance:g})" if tolerance is not None else ""
        return Verdict(
            "false", f"claim is false{at}{size_note}: lhs{idx}={la}, rhs{idx}={lb}{within}"
        )

    good = 0
    tries = 0
    first_bad: str | None = None
    close_only = False  # a point agreed only to the written precision, not exactly
    points: list[dict[sp.Symbol, float]] = []
    while good < POINTS and tries < MAX_TRIES:
        tries += 1
        point = {s: _sample(rng, scope.bounds_of(s.name)) for s in syms}
        vals = evaluate(point, DIGITS)
        if vals is None:
            if first_bad is None:
                first_bad = _point_text(scope, syms, point)
            continue
        good += 1
        points.append(point)
        i = differs(vals, DIGITS)
        if i is not None:
            verdict = counterexample(point, vals, i)
            if verdict is not None:
                return verdict
        if tolerance is not None and not close_only:
            close_only = differs(vals, DIGITS, None) is not None
        if not syms:
            break
    if good == 0:
        at = f" (e.g. at {first_bad})" if first_bad else ""
        return Verdict(
            "undefined",
            f"the claim is undefined (not a finite real number) at every point tried{at}"
            f"{size_note}",
        )
    # extreme points: large magnitudes and the edges of the domain, where a claim that holds
    # only near the origin (`min(x, 100) == x`) is false
    extremes = 0
    try:
        with sub_budget(budget * EXTREME_SHARE):
            for point in _extreme_points(syms, scope, points[0], left + right):
                vals = evaluate(point, DIGITS)
                if vals is None:
                    continue
                extremes += 1
                i = differs(vals, DIGITS)
                if i is not None:
                    verdict = counterexample(point, vals, i)
                    if verdict is not None:
                        return verdict
    except _SubTimeout:
        pass  # `sin(exp(x**2))` at x = 1e6 needs millions of digits: fewer extreme points
    if close_only:
        return Verdict(
            "proved" if not syms else "unproved",
            ""
            if not syms
            else f"claim holds to the written precision (±{tolerance:g}) at {good} random "
            f"points but is not exact{size_note}",
        )
    timed_out = False
    try:
        if all(_proves(a - b) for a, b in zip(left, right, strict=True)):
            return Verdict("proved")
    except _Timeout:
        timed_out = True
    except (
        RecursionError,
        ValueError,
        TypeError,
        AttributeError,
        NotImplementedError,
        ArithmeticError,
    ):
        pass
    if not syms:
        return Verdict("proved")  # a constant claim that agrees to 50 digits
    pts = f"{good} random point{'s' if good != 1 else ''}"
    if extremes:
        pts += f" and {extremes} extreme one{'s' if extremes != 1 else ''}"
    if timed_out:
        return Verdict(
            "budget",
            f"claim holds at {pts} but was not proved within {budget:g} s of CPU time{size_note}",
        )
    return Verdict("unproved", f"claim holds at {pts} but was not proved{size_note}")


def _extreme_points(
    syms: list[sp.Symbol], scope: Scope, base: dict[sp.Symbol, float], exprs: list[Any]
) -> Iterator[dict[sp.Symbol, float]]:
    """Points at large magnitudes, near the domain's edges and beyond the claim's constants:
    each symbol alone (the others at a random point), then all together."""
    consts = [abs(float(c)) for e in exprs for c in e.atoms(sp.Number) if c.is_finite]
    big = max([c for c in consts if c < 1e12] or [0.0])
    scales = sorted({*EXTREMES, round(2 * big + 1.5, 2)} if big else set(EXTREMES))
    per_symbol: dict[sp.Symbol, list[float]] = {}
    for s in syms:
        lo, lo_strict, hi, hi_strict = scope.bounds_of(s.name) or (None, False, None, False)
        values: list[float] = []
        for v in scales:
            for cand in (v, -v):
                if (lo is not None and cand < lo + (0.001 if lo_strict else 0)) or (
                    hi is not None and cand > hi - (0.001 if hi_strict else 0)
                ):
                    continue
                values.append(cand)
        for edge, strict, sign in ((lo, lo_strict, 1), (hi, hi_strict, -1)):
            if edge is not None:
                values.append(edge + sign * 1e-6 if strict else edge)
        per_symbol[s] = values
    for s in syms:
        for v in per_symbol[s]:
            yield {**base, s: v}
    if len(syms) > 1:  # all at once, each a little apart (equal entries make 0/0 in var(v))
        for k in range(max((len(v) for v in per_symbol.values()), default=0)):
            yield {
                s: _spread(vals[k % len(vals)], j, scope.bounds_of(s.name)) if vals else base[s]
                for j, (s, vals) in enumerate(per_symbol.items())
            }


def _spread(
    v: float, j: int, bounds: tuple[float | None, bool, float | None, bool] | None
) -> float:
    lo, _, hi, _ = bounds or (None, False, None, False)
    moved = round(v * (1 + 0.07 * j), 2) if abs(v) >= 1 else v
    if (lo is not None and moved <= lo) or (hi is not None and moved >= hi):
        return v
    return moved


def _proves(d: Any) -> bool:
    d = sp.sympify(d)
    if d == 0:
        return True
    for attempt in (
        lambda e: sp.cancel(sp.together(e)),
        lambda e: sp.cancel(sp.together(e.rewrite(sp.exp))),
        sp.simplify,
        lambda e: sp.simplify(e.rewrite(sp.exp)),
    ):
        r = attempt(d)
        if r == 0:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# The block


def _parse_where(text: str, scope: Scope) -> None:
    for part in _split_commas(text):
        node = parse_expression(part)
        if not isinstance(node, ast.Compare):
            raise CheckError(f"`{part.strip()}`: a bound looks like `x > 0` or `0 < p < 1`")
        operands = [node.left, *node.comparators]
        names = [o.id for o in operands if isinstance(o, ast.Name)]
        if len(names) != 1:
            raise CheckError(f"`{part.strip()}`: a bound compares one symbol with numbers")
        name = names[0]
        lo, lo_s, hi, hi_s = scope.bounds.get(name, (None, False, None, False))
        for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
            sym_left = isinstance(left, ast.Name)
            num = _number(right if sym_left else left, part)
            strict = isinstance(op, ast.Lt | ast.Gt)
            if not isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                raise CheckError(f"`{part.strip()}`: use < <= > >=")
            upper = isinstance(op, ast.Lt | ast.LtE) == sym_left
            if upper:
                hi, hi_s = num, strict
            else:
                lo, lo_s = num, strict
        scope.bounds[name] = (lo, lo_s, hi, hi_s)


def _number(node: ast.expr, part: str) -> float:
    try:
        v = Evaluator(Scope()).eval(node)
        return float(sp.sympify(v))
    except (CheckError, TypeError, ValueError):
        raise CheckError(f"`{part.strip()}`: bounds must be numbers") from None


def _split_commas(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def check_math(text: str, *, budget: float = PROOF_BUDGET_S) -> list[BlockProblem]:
    """Check every claim of a `check` block; return its problems (offsets within the block)."""
    scope = Scope()
    problems: list[BlockProblem] = []
    stmts = statements(text)
    body = []
    for st in stmts:
        if st.text.startswith("where:"):
            try:
                _parse_where(st.text[len("where:") :], scope)
            except CheckError as exc:
                problems.append(
                    BlockProblem(st.offset, "error", "check-syntax", exc.message, exc.hint)
                )
        else:
            body.append(st)
    ev = Evaluator(scope)
    claims = 0
    for st in body:
        try:
            with time_budget(budget):
                claims += _statement(st.text, scope, ev, problems, st.offset, budget)
        except _Timeout:
            claims += 1
            problems.append(
                BlockProblem(
                    st.offset,
                    "error",
                    PROOF_BUDGET,
                    f"the statement could not be evaluated within {budget:g} s of CPU time",
                    "split it into smaller claims or use smaller vectors and numbers",
                )
            )
        except (ValueError, OverflowError, MemoryError, ZeroDivisionError, TypeError) as exc:
            # e.g. sympy refusing a huge number; never an internal error
            problems.append(
                BlockProblem(
                    st.offset,
                    "error",
                    "check-syntax",
                    f"cannot evaluate this statement: {type(exc).__name__}: {_first_line(exc)}",
                    "use smaller numbers and the vocabulary of docs/checks.md",
                )
            )
        except CheckError as exc:
            problems.append(BlockProblem(st.offset, "error", "check-syntax", exc.message, exc.hint))
        except RecursionError:
            problems.append(
                BlockProblem(st.offset, "error", "check-syntax", "expression too deeply nested")
            )
    problems = [
        p if p.hint or p.code != "check-syntax" else dataclasses.replace(p, hint=CHECK_HINT)
        for p in problems
    ]
    if claims == 0 and not problems:
        problems.append(
            BlockProblem(
                0,
                "warning",
                "check-syntax",
                "check block makes no claim",
                "write a claim as `lhs == rhs`",
            )
        )
    return problems


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text if len(text) <= 100 else text[:97] + "..."


def written_tolerance(text: str, node: ast.expr) -> float | None:
    """Half a unit in the last written digit of the claim's most precise decimal literal
    (`2.3040` -> 5e-05, `6.02e23` -> 5e+20); None when the claim writes no decimal literal
    (integers and exact forms are compared exactly)."""
    best: float | None = None
    source = text.strip()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, float):
            literal = ast.get_source_segment(source, sub) or repr(sub.value)
            tol = decimal_tolerance(literal)
            if tol is not None and (best is None or tol < best):
                best = tol
    return best


def decimal_tolerance(literal: str) -> float | None:
    """Half a unit in the last digit of a decimal literal: '2.3040' -> 5e-05, '1e-3' -> 5e-04."""
    text = literal.strip().lower().replace("_", "")
    mantissa, _, exponent = text.partition("e")
    try:
        exp10 = int(exponent) if exponent else 0
    except ValueError:
        return None
    if abs(exp10) > 400:
        return None
    decimals = len(mantissa.partition(".")[2]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (exp10 - decimals)


def _statement(
    text: str, scope: Scope, ev: Evaluator, problems: list[BlockProblem], offset: int, budget: float
) -> int:
    node = _parse_statement(text)
    if isinstance(node, ast.Assign):
        target = node.targets[0]
        if isinstance(target, ast.Name):
            name = target.id
            _check_new_name(name)
            scope.names[name] = ev.eval(node.value)
            return 0
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Name):
            name = target.func.id
            _check_new_name(name)
            params = []
            for a in target.args:
                if not isinstance(a, ast.Name) or a.id.startswith("_"):
                    raise CheckError(f"`{ast.unparse(target)}`: parameters must be plain names")
                params.append(a.id)
            # validate the body's syntax now (evaluated on each call)
            _whitelist(node.value)
            scope.functions[name] = (params, node.value)
            return 0
        raise CheckError(
            f"`{ast.unparse(target)}`: define a name (`a = ...`) or a function (`f(x) = ...`)"
        )
    assert isinstance(node, ast.Compare)
    lhs, rhs = ev.eval(node.left), ev.eval(node.comparators[0])
    for side in (lhs, rhs):
        if isinstance(side, str | tuple | list):
            raise CheckError("each side of a claim must be an expression")
    verdict = decide(lhs, rhs, scope, budget=budget, tolerance=written_tolerance(text, node))
    if verdict.status == "undefined":
        problems.append(
            BlockProblem(
                offset,
                "error",
                "claim-undefined",
                verdict.message,
                "undefined is false: fix the formula, or give `where:` bounds inside its domain",
            )
        )
    elif verdict.status == "budget":
        problems.append(
            BlockProblem(
                offset,
                "warning",
                PROOF_BUDGET,
                verdict.message,
                "split it into smaller claims or use smaller vectors; --strict makes this an error",
            )
        )
    elif verdict.status == "false":
        problems.append(
            BlockProblem(
                offset,
                "error",
                "claim-false",
                verdict.message,
                "fix the formula on the card and in the check block",
            )
        )
    elif verdict.status == "unproved":
        problems.append(
            BlockProblem(
                offset,
                "warning",
                "claim-unproved",
                verdict.message,
                "add `where:` bounds if it holds only on a domain; --strict makes this an error",
            )
        )
    elif verdict.status == "undecided":
        problems.append(
            BlockProblem(
                offset,
                "warning",
                "claim-undecided",
                verdict.message,
                "check the `where:` bounds and the functions' domains",
            )
        )
    return 1


def _check_new_name(name: str) -> None:
    if name.startswith("_"):
        raise CheckError(f"`{name}`: names starting with `_` are not allowed")
    if name in VOCABULARY:
        raise CheckError(f"`{name}` is a vocabulary name and cannot be redefined")


_ALLOWED = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.MatMult,
    ast.BitXor,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Subscript,
    ast.Attribute,
    ast.Slice,
)


def _whitelist(node: ast.AST) -> None:
    for sub in ast.walk(node):
        if not isinstance(sub, _ALLOWED):
            raise CheckError(
                f"`{ast.unparse(sub) if isinstance(sub, ast.expr) else type(sub).__name__}` "
                "is not allowed in a check block"
            )
        if isinstance(sub, ast.Attribute) and sub.attr != "T":
            raise CheckError(f"`{ast.unparse(sub)}`: only the `.T` attribute is allowed")
        if isinstance(sub, ast.Name) and sub.id.startswith("_"):
            raise CheckError(f"`{sub.id}`: names starting with `_` are not allowed")


def _parse_statement(text: str) -> ast.Assign | ast.Compare:
    stripped = text.strip()
    # `f(x) = expr` is not Python; split on a top-level single `=`
    depth = 0
    for i, ch in enumerate(stripped):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0:
            prev = stripped[i - 1] if i else ""
            nxt = stripped[i + 1] if i + 1 < len(stripped) else ""
            if nxt == "=" or prev in "=!<>":
                continue
            target = parse_expression(stripped[:i])
            value = parse_expression(stripped[i + 1 :])
            _whitelist(value)
            assign = ast.Assign(targets=[target], value=value, lineno=1)
            return assign
    node = parse_expression(stripped)
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
            raise CheckError(
                f"`{stripped}`: a claim is `lhs == rhs` (one `==`)",
                "inequalities are not checked; bounds on symbols go in `where:`",
            )
        _whitelist(node.left)
        _whitelist(node.comparators[0])
        return node
    raise CheckError(
        f"`{stripped}` is neither a claim (`lhs == rhs`) nor a definition (`name = expr`)"
    )
