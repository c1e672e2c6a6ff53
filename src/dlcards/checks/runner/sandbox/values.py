"""Comparing a snippet's value with the card's answer: normalised values, tolerances, `same`,
`display`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

RTOL = 1e-3  # answers are often copied from torch's 4-decimal printout
ATOL = 1e-4
# ---------------------------------------------------------------------------------------------
# Values: normalised for comparison, never compared as reprs


def normalise(v: Any) -> Any:
    """A JSON-able description of a value: shapes, dtypes, bools exact; numbers as floats."""
    import torch

    if isinstance(v, torch.Size):
        return {"t": "seq", "items": [normalise(int(x)) for x in v]}
    if isinstance(v, torch.Tensor):
        t = v.detach().to("cpu")
        if t.is_complex():
            vals: Any = [[float(c.real), float(c.imag)] for c in t.flatten().tolist()]
        else:
            vals = t.flatten().tolist() if t.numel() <= 100_000 else None
        return {"t": "tensor", "dtype": str(t.dtype), "shape": list(t.shape), "values": vals}
    if isinstance(v, torch.dtype):
        return {"t": "dtype", "v": str(v)}
    if isinstance(v, torch.device):
        return {"t": "device", "v": v.type}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int | float):
        return {"t": "num", "v": float(v), "int": isinstance(v, int)}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if v is None:
        return {"t": "none"}
    if isinstance(v, tuple | list):
        return {"t": "seq", "items": [normalise(x) for x in v]}
    if isinstance(v, dict):
        return {"t": "dict", "items": {str(k): normalise(x) for k, x in v.items()}}
    return {"t": "other", "type": type(v).__name__, "repr": repr(v)[:200]}


@dataclass(frozen=True)
class Tolerance:
    """How closely a number must match the answer: `abs` absolute, `rel` relative."""

    abs: float = ATOL
    rel: float = RTOL
    note: str = ""


EXACT = Tolerance(0.0, 1e-6, "exactly")  # integers; 1e-6 absorbs float32 rounding only
APPROX_REL = 0.01  # `≈ 2.30`: 1 % or the written precision, whichever is looser
_DECIMAL_RE = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][-+]?\d+)?(?![\w.])")


def answer_tolerance(expect: str) -> tuple[str, Tolerance]:
    """The answer text without a leading `≈`/`~`, and the precision it is written at.

    A decimal literal is compared to half a unit in its last written digit (`2.3040` ->
    ±5e-5); with several, the finest counts. An answer without decimal literals (integers,
    shapes) is compared exactly. `≈`/`~` first loosens it to 1 % (or the written precision
    if looser)."""
    text = expect.strip()
    approx = text[:1] in ("≈", "~")
    if approx:
        text = text[1:].strip()
    best: float | None = None
    for m in _DECIMAL_RE.finditer(text):
        mantissa, exponent = m.group(1), m.group(2) or ""
        decimals = len(mantissa.partition(".")[2])
        try:
            exp10 = int(exponent[1:]) if exponent else 0
        except ValueError:
            continue
        if abs(exp10) > 300:
            continue
        if decimals == 0 and not exponent:
            continue  # `1.` as torch prints whole floats: exact
        tol = 0.5 * 10.0 ** (exp10 - decimals)
        best = tol if best is None else min(best, tol)
    if approx:
        return text, Tolerance(best or 0.0, APPROX_REL, "approximately (1 %)")
    if best is None:
        return text, EXACT
    return text, Tolerance(best, 1e-6, f"to the written precision ±{best:g}")


def _close(a: float, b: float, tol: Tolerance = EXACT) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol.abs + tol.rel * abs(b)


def same(got: Any, want: Any, tol: Tolerance = EXACT) -> str | None:
    """None if `got` matches the answer `want` (both normalised), else why not."""
    return _same(got, want, tol)


def _same(got: Any, want: Any, tol: Tolerance) -> str | None:
    tg, tw = got["t"], want["t"]
    if tg == "seq" and tw == "seq":
        if len(got["items"]) != len(want["items"]):
            return f"{len(got['items'])} items, the answer has {len(want['items'])}"
        for i, (a, b) in enumerate(zip(got["items"], want["items"], strict=True)):
            why = _same(a, b, tol)
            if why:
                return f"item {i}: {why}"
        return None
    if tg == "tensor" and tw == "tensor":
        if got["shape"] != want["shape"]:
            return f"shape {tuple(got['shape'])} vs {tuple(want['shape'])}"
        if got["dtype"] != want["dtype"]:
            return f"dtype {got['dtype']} vs {want['dtype']}"
        return _values_differ(got["values"], want["values"], tol)
    if tg == "tensor" and tw in ("num", "bool") and got["shape"] == []:
        return _scalar_differ(got["values"][0], want, tol)
    if tg in ("num", "bool") and tw in ("num", "bool"):
        return _scalar_differ(got["v"], want, tol)
    if tg == tw and tg in ("dtype", "device", "str", "none"):
        return None if got.get("v") == want.get("v") else f"{got.get('v')} vs {want.get('v')}"
    if tg == tw == "dict":
        if set(got["items"]) != set(want["items"]):
            return "different keys"
        for k in got["items"]:
            why = _same(got["items"][k], want["items"][k], tol)
            if why:
                return f"key {k!r}: {why}"
        return None
    return f"a {_kind(got)} vs a {_kind(want)}"


def _kind(n: Any) -> str:
    names = {"seq": "shape/sequence", "num": "number", "tensor": "tensor", "bool": "boolean"}
    return str(names.get(n["t"], n["t"]))


def _scalar_differ(g: Any, want: Any, tol: Tolerance) -> str | None:
    if isinstance(g, list):  # complex
        return "a complex number vs a real one"
    if want["t"] == "bool" or isinstance(g, bool):
        if not (isinstance(g, bool) and want["t"] == "bool"):
            return f"{g} vs {want['v']} (a boolean must match exactly)"
        return None if g == want["v"] else f"{g} vs {want['v']}"
    if _close(float(g), float(want["v"]), tol):
        return None
    a, b = _num_pair(g, want["v"])
    return f"{a} vs {b}{_how(g, want['v'], tol)}"


def _how(a: Any, b: Any, tol: Tolerance) -> str:
    whole = float(a).is_integer() and float(b).is_integer()
    return "" if whole and tol is EXACT else f", compared {tol.note}"


def _num(v: Any, digits: int = 6) -> str:
    return str(int(v)) if float(v).is_integer() else f"{float(v):.{digits}g}"


def _num_pair(a: Any, b: Any) -> tuple[str, str]:
    """Both numbers with enough digits that they visibly differ."""
    for digits in (6, 9, 12, 17):
        x, y = _num(a, digits), _num(b, digits)
        if x != y:
            return x, y
    return x, y


def _values_differ(a: list[Any] | None, b: list[Any] | None, tol: Tolerance) -> str | None:
    if a is None or b is None:
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if isinstance(x, bool) or isinstance(y, bool):
            if x != y:
                return f"element {i}: {x} vs {y}"
        elif isinstance(x, list):
            if not (_close(x[0], y[0], tol) and _close(x[1], y[1], tol)):
                return f"element {i} differs"
        elif not _close(float(x), float(y), tol):
            p, q = _num_pair(x, y)
            return f"element {i}: {p} vs {q}{_how(x, y, tol)}"
    return None


def answer_namespace() -> dict[str, Any]:
    import torch

    ns: dict[str, Any] = {
        "torch": torch,
        "tensor": torch.tensor,
        "Size": torch.Size,
        "nan": float("nan"),
        "inf": float("inf"),
        "True": True,
        "False": False,
        "None": None,
        "device": torch.device,
    }
    for name in (
        "float16",
        "float32",
        "float64",
        "bfloat16",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
        "complex64",
        "complex128",
        "float",
        "double",
        "long",
        "half",
        "int",
        "cfloat",
    ):
        if hasattr(torch, name):
            ns.setdefault(name, getattr(torch, name))
    return ns


def display(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 2000 else text[:2000] + " ..."
