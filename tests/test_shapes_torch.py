"""Property test: the shapes checker agrees with PyTorch's `meta` device on random sizes.

Each template is a `shapes` block with symbolic sizes. For random distinct sizes, the block is
instantiated with numbers; the checker's result (a shape, or an error) must equal what torch
computes on meta tensors (no memory, no compute) for the same expression.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
F = torch.nn.functional

from dlcards.checks.shapes import evaluate_shapes  # noqa: E402


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _meta(*shape: int) -> Any:
    return torch.empty(*shape, device="meta")


NAMESPACE: dict[str, Any] = {
    "torch": torch,
    "F": F,
    "cat": torch.cat,
    "stack": torch.stack,
    "matmul": torch.matmul,
    "einsum": torch.einsum,
    "attention": F.scaled_dot_product_attention,
    "relu": torch.relu,
    "softmax": torch.softmax,
    "conv2d": lambda X, out, k, stride=1, padding=0, dilation=1: F.conv2d(
        X, _meta(out, X.shape[-3], *_pair(k)), stride=stride, padding=padding, dilation=dilation
    ),
    "conv1d": lambda X, out, k, stride=1, padding=0, dilation=1: F.conv1d(
        X, _meta(out, X.shape[-2], k), stride=stride, padding=padding, dilation=dilation
    ),
    "conv_transpose2d": lambda X, out, k, stride=1, padding=0, output_padding=0: F.conv_transpose2d(
        X,
        _meta(X.shape[-3], out, *_pair(k)),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
    ),
    "max_pool2d": lambda X, k, stride=None, padding=0: F.max_pool2d(X, k, stride, padding),
    "avg_pool2d": lambda X, k, stride=None, padding=0: F.avg_pool2d(X, k, stride, padding),
    "linear": lambda X, out: F.linear(X, _meta(out, X.shape[-1])),
    "embedding": lambda idx, d: F.embedding(idx, _meta(50, d)),
}

# (declarations, expressions, constraints on the size names)
TEMPLATES: list[tuple[dict[str, str], list[str]]] = [
    (
        {"A": "(N, K)", "B": "(K, M)", "v": "(K,)"},
        ["A @ B", "A @ v", "v @ B", "B @ A", "A @ A", "v @ v"],
    ),
    (
        {"X": "(B, N, K)", "Y": "(K, M)", "Z": "(B, K, M)", "W": "(C, K, M)"},
        ["X @ Y", "X @ Z", "X @ W", "Y.mT @ X.mT", "X.mT @ X", "matmul(X, Z)"],
    ),
    (
        {"X": "(N, D)", "mu": "(D,)", "r": "(N,)", "c": "(N, 1)"},
        [
            "X - mu",
            "X - r",
            "X - r[:, None]",
            "X * c",
            "X + X.mean(dim=0)",
            "X - X.mean(1, keepdim=True)",
            "X.sum(1)",
            "X.sum()",
            "X.amax(dim=0, keepdim=True)",
        ],
    ),
    (
        {"X": "(B, T, D)"},
        [
            "X.view(B, T, h, -1)",
            "X.reshape(B, -1)",
            "X.reshape(-1, D)",
            "X.flatten(1)",
            "X.flatten(0, 1)",
            "X.transpose(1, 2)",
            "X.permute(2, 0, 1)",
            "X.unsqueeze(1)",
            "X.mT",
            "X[:, 0]",
            "X[..., :2]",
            "X[:, None]",
            "X.view(B, T, h, -1).transpose(1, 2)",
            "cat([X, X], dim=-1)",
            "stack([X, X], dim=1)",
            "X.chunk(2, dim=0)[0]",
            "X.unflatten(-1, (h, -1))",
            "X.reshape(B, T, h, T)",
        ],
    ),
    (
        {"Q": "(B, H, T, E)", "K": "(B, H, S, E)", "V": "(B, H, S, Ev)"},
        [
            "Q @ K.mT",
            "Q @ K",
            "attention(Q, K, V)",
            "attention(Q, Q, Q)",
            "einsum('bhte,bhse->bhts', Q, K)",
            "(Q @ K.mT).softmax(dim=-1) @ V",
            "(Q @ K.mT) @ V",
        ],
    ),
    (
        {"X": "(N, C, H, W)"},
        [
            "conv2d(X, O, 3)",
            "conv2d(X, O, 3, stride=2, padding=1)",
            "conv2d(X, O, (3, 1), padding=(1, 0))",
            "conv2d(X, O, 3, dilation=2)",
            "max_pool2d(X, 2)",
            "avg_pool2d(X, 3, stride=2, padding=1)",
            "conv_transpose2d(X, O, 4, stride=2, padding=1)",
            "conv2d(X, O, 3).flatten(1)",
        ],
    ),
    ({"X": "(N, C, L)"}, ["conv1d(X, O, 3)", "conv1d(X, O, 5, stride=2, padding=2)"]),
    (
        {"X": "(B, T, D)", "ids": "(B, T)"},
        ["linear(X, O)", "embedding(ids, D)", "linear(embedding(ids, D), O) + X"],
    ),
]

DIVISIBLE = {"h": 2}  # the view/unflatten templates need D divisible by h


def _sizes(rng: random.Random, names: set[str]) -> dict[str, int]:
    values = rng.sample(range(3, 40), len(names))
    sizes = dict(zip(sorted(names), values, strict=True))
    if "h" in sizes:
        sizes["h"] = rng.choice([2, 4])
        if "D" in sizes:
            sizes["D"] = sizes["h"] * rng.randint(2, 9)
    for k in ("H", "W", "L"):
        if k in sizes:
            sizes[k] = rng.randint(8, 40)
    return sizes


NAME = r"(?<![.\w'])([A-Za-z_][A-Za-z_0-9]*)(?!\s*=[^=])(?![\w'])"


def _names(text: str) -> set[str]:
    """Size names: identifiers that are not attributes, keywords or inside einsum strings."""
    return set(re.findall(NAME, re.sub(r"'[^']*'", "''", text)))


@pytest.mark.parametrize("template", range(len(TEMPLATES)))
def test_checker_agrees_with_torch_meta(template: int) -> None:
    decls, exprs = TEMPLATES[template]
    rng = random.Random(template)
    checked = 0
    for _trial in range(6):
        dims = set().union(*(_names(s) for s in decls.values()), *(_names(e) for e in exprs)) - set(
            decls
        )
        dims -= set(NAMESPACE) | {"None", "True", "False"}
        sizes = _sizes(rng, dims)
        lines = []
        for name, shape in decls.items():
            lines.append(f"{name}: {_subst(shape, sizes)}")
        lines.extend(f"{_subst(e, sizes)} -> error" for e in exprs)
        _, results = evaluate_shapes("\n".join(lines))
        assert len(results) == len(exprs)
        ns = dict(NAMESPACE)
        for name, shape in decls.items():
            dtype = torch.long if name == "ids" else torch.float32
            ns[name] = torch.empty(*eval(_subst(shape, sizes)), device="meta", dtype=dtype)
        for expr, res in zip(exprs, results, strict=True):
            try:
                want = tuple(eval(_subst(expr, sizes), ns).shape)
            except (RuntimeError, IndexError, ValueError) as exc:
                assert res.error is not None, (
                    f"{expr} at {sizes}: torch fails ({exc}), checker gives {res.shape}"
                )
                continue
            assert res.error is None, (
                f"{expr} at {sizes}: checker says {res.error!r}, torch gives {want}"
            )
            got = tuple(int(d) for d in res.shape)
            assert got == want, f"{expr} at {sizes}: checker {got}, torch {want}"
            checked += 1
    assert checked > 0


def _subst(text: str, sizes: dict[str, int]) -> str:
    parts = text.split("'")  # odd parts are inside einsum strings
    return "'".join(
        p if i % 2 else re.sub(NAME, lambda m: str(sizes.get(m.group(1), m.group(1))), p)
        for i, p in enumerate(parts)
    )
