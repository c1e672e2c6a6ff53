"""`shapes` blocks: PyTorch shape rules on symbolic sizes, with messages that say why."""

from __future__ import annotations

import pytest

from dlcards.checks.shapes import check_shapes

TRUE_BLOCKS = {
    "matrix-vector": "W: (m, n)\nx: (n,)\nW @ x -> (m,)",
    "linear layer with bias": "X: (N, D)\nW: (D, C)\nb: (C,)\nX @ W + b -> (N, C)",
    "attention scores": "Q: (B, h, T, d_k)\nK: (B, h, T, d_k)\nQ @ K.mT -> (B, h, T, T)",
    "batched matmul broadcasts batch dims": "A: (B, 1, n, k)\nC: (h, k, m)\nA @ C -> (B, h, n, m)",
    "1-D promotion": "v: (n,)\nM: (B, n, m)\nv @ M -> (B, m)\nM.mT @ v -> (B, m)\nv @ v -> ()",
    "head split and merge": (
        "X: (B, T, D)\nwhere: D == h * d_k\n"
        "Xh = X.view(B, T, h, d_k).transpose(1, 2)\nXh -> (B, h, T, d_k)\n"
        "Xh.transpose(1, 2).reshape(B, T, D) -> (B, T, D)\n"
        "X.view(B, T, h, -1) -> (B, T, h, d_k)\n"
        "X.unflatten(-1, (h, d_k)).permute(0, 2, 1, 3) -> (B, h, T, d_k)\n"
        "attention(Xh, Xh, Xh) -> (B, h, T, d_k)\n"
        "F.scaled_dot_product_attention(Xh, Xh, Xh) -> (B, h, T, d_k)"
    ),
    "attention with different value width": "Q: (B, L, E)\nK: (B, S, E)\nV: (B, S, Ev)\nattention(Q, K, V) -> (B, L, Ev)",
    "conv sizes": (
        "X: (8, 3, 32, 32)\nconv2d(X, 16, 3, stride=2, padding=1) -> (8, 16, 16, 16)\n"
        "conv2d(X, 16, 5) -> (8, 16, 28, 28)\nconv2d(X, 16, (3, 5), padding='same') -> (8, 16, 32, 32)\n"
        "conv2d(X, 4, 3, dilation=2) -> (8, 4, 28, 28)\nmax_pool2d(X, 2) -> (8, 3, 16, 16)\n"
        "avg_pool2d(X, 3, stride=2, padding=1) -> (8, 3, 16, 16)\n"
        "adaptive_avg_pool2d(X, (1, 1)).flatten(1) -> (8, 3)\n"
        "conv_transpose2d(X, 8, 4, stride=2, padding=1) -> (8, 8, 64, 64)"
    ),
    "symbolic conv halves even sizes": (
        "X: (N, 3, H, W)\nwhere: H % 2 == 0, W % 2 == 0\n"
        "conv2d(X, 16, 3, stride=2, padding=1) -> (N, 16, H // 2, W // 2)"
    ),
    "symbolic conv output": "X: (N, C, L)\nconv1d(X, 8, k) -> (N, 8, L - k + 1)",
    "broadcasting": (
        "X: (N, D)\nmu: (D,)\nrow: (N, 1)\nX - mu -> (N, D)\nX * row -> (N, D)\n"
        "X - X.mean(dim=0) -> (N, D)\nX - X.mean(1, keepdim=True) -> (N, D)"
    ),
    "broadcasting mistakes": "X: (N, D)\nmu: (N,)\nX - mu -> error\nX - mu[:, None] -> (N, D)",
    "reductions": (
        "X: (B, T, D)\nX.sum() -> ()\nX.sum(dim=(1, 2)) -> (B,)\nX.mean(-1, keepdim=True) -> (B, T, 1)\n"
        "X.max(dim=1).values -> (B, D)\nX.argmax(-1) -> (B, T)\ntorch.logsumexp(X, dim=2) -> (B, T)"
    ),
    "cat and stack": (
        "A: (N, D)\nB: (M, D)\ncat([A, B], dim=0) -> (N + M, D)\ntorch.cat((A, A), dim=1) -> (N, 2*D)\n"
        "stack([A, A], dim=1) -> (N, 2, D)"
    ),
    "squeeze and friends": (
        "X: (B, 1, D)\nX.squeeze() -> (B, D)\nX.squeeze(1) -> (B, D)\nX.squeeze(0) -> (B, 1, D)\n"
        "X.unsqueeze(-1) -> (B, 1, D, 1)\nX[None] -> (1, B, 1, D)\nX.expand(B, T, D) -> (B, T, D)\n"
        "X.flatten() -> (B*D,)\nX.repeat(2, 3, 1) -> (2*B, 3, D)"
    ),
    "indexing": "X: (B, T, D)\nX[0] -> (T, D)\nX[:, -1] -> (B, D)\nX[..., :k] -> (B, T, k)\nX[:, 1:3] -> (B, 2, D)",
    "embedding and linear": (
        "ids: (B, T)\nE = embedding(ids, D)\nE -> (B, T, D)\nlinear(E, 4*D) -> (B, T, 4*D)\n"
        "W: (C, D)\nlinear(E, W) -> (B, T, C)"
    ),
    "einsum": "Q: (B, T, D)\nK: (B, S, D)\neinsum('btd,bsd->bts', Q, K) -> (B, T, S)",
    "chunk a fused projection": "qkv: (B, T, 3*D)\nqkv.chunk(3, dim=-1)[0] -> (B, T, D)\nqkv.split(D, dim=-1)[2] -> (B, T, D)",
    "transposes": "X: (N, D)\nX.T -> (D, N)\nY: (B, T, D)\nY.mT -> (B, D, T)\nY.permute(2, 0, 1) -> (D, B, T)",
    "a size declared to be 1 broadcasts": "X: (N, D)\nm: (T,)\nwhere: T == 1\nX * m -> (N, D)",
    "bounds pick the sizes compared": "X: (N, C, L)\nwhere: k <= L\nconv1d(X, 8, k, padding=0) -> (N, 8, L - k + 1)",
    "layer norm and softmax": "X: (B, T, D)\nlayer_norm(X, (D,)) -> (B, T, D)\nX.softmax(dim=-1) -> (B, T, D)\nF.softmax(X, dim=-1) -> (B, T, D)",
}


@pytest.mark.parametrize("text", TRUE_BLOCKS.values(), ids=TRUE_BLOCKS.keys())
def test_true_claims_pass(text: str) -> None:
    assert check_shapes(text) == []


FALSE_CLAIMS = {
    "matmul inner dims": (
        "A: (N, H)\nB: (N, D)\nA @ B -> (N, D)",
        2,
        "shape-error",
        "matmul inner dims: H vs N",
    ),
    "attention scores without the transpose": (
        "Q: (B, h, T, d_k)\nK: (B, h, T, d_k)\nQ @ K -> (B, h, T, T)",
        2,
        "shape-error",
        "matmul inner dims: d_k vs T",
    ),
    "attention scores shape": (
        "Q: (B, h, T, d_k)\nK: (B, h, T, d_k)\nQ @ K.mT -> (B, h, T, d_k)",
        2,
        "shape-mismatch",
        "shape mismatch: Q @ K.mT is (B, h, T, T), claimed (B, h, T, d_k); dim 3 differs at T=1, d_k=3",
    ),
    "head split forgets the transpose": (
        "X: (B, T, D)\nwhere: D == h * d_k\nX.view(B, T, h, d_k).transpose(1, 2) -> (B, T, h, d_k)",
        2,
        "shape-mismatch",
        "shape mismatch: X.view(B, T, h, d_k).transpose(1, 2) is (B, h, T, d_k), claimed (B, T, h, d_k); "
        "dim 1 differs at h=3, T=1",
    ),
    "head merge with two -1": (
        "X: (B, h, T, d_k)\nX.view(B, -1, -1) -> (B, T, D)",
        1,
        "shape-error",
        "view: only one dimension can be -1",
    ),
    "reshape loses elements": (
        "X: (B, T, D)\nX.reshape(B, T, h, d) -> (B, T, h, d)",
        1,
        "shape-error",
        "reshape: cannot reshape (B, T, D) (B*D*T elements) into (B, T, h, d) (B*T*d*h elements)",
    ),
    "conv without padding": (
        "X: (8, 3, 32, 32)\nconv2d(X, 16, 5) -> (8, 16, 32, 32)",
        1,
        "shape-mismatch",
        "shape mismatch: conv2d(X, 16, 5) is (8, 16, 28, 28), claimed (8, 16, 32, 32)",
    ),
    "stride-2 conv on odd sizes": (
        "X: (N, 3, H, W)\nconv2d(X, 16, 3, stride=2, padding=1) -> (N, 16, H // 2, W // 2)",
        1,
        "shape-mismatch",
        "shape mismatch: conv2d(X, 16, 3, stride=2, padding=1) is (N, 16, (H - 1)//2 + 1, (W - 1)//2 + 1), "
        "claimed (N, 16, H//2, W//2); dim 2 differs at H=1",
    ),
    "broadcasting a per-row mean": (
        "X: (N, D)\nmu: (N,)\nX - mu -> (N, D)",
        2,
        "shape-error",
        "broadcast: dims D vs N are not compatible (dim -1 of (N, D) and (N,))",
    ),
    "claimed error is valid": (
        "X: (N, D)\nmu: (N,)\nX - mu[:, None] -> error",
        2,
        "shape-mismatch",
        "expected an error, but X - mu[:, None] is valid with shape (N, D)",
    ),
    ".T on a batch": (
        "X: (B, T, D)\nX.T -> (D, T, B)",
        1,
        "shape-error",
        ".T on a 3-D tensor is deprecated in PyTorch; use .mT or .permute(...)",
    ),
    "cat of mismatched widths": (
        "A: (N, D)\nB: (M, E)\ncat([A, B], dim=0) -> (N + M, D)",
        2,
        "shape-error",
        "cat: sizes must match except in dim 0: (N, D) vs (M, E)",
    ),
    "linear with the wrong weight": (
        "X: (N, D)\nW: (C, E)\nlinear(X, W) -> (N, C)",
        2,
        "shape-error",
        "linear: input features D vs weight in_features E",
    ),
    "rank mismatch": (
        "X: (N, D)\nX.sum(0) -> (1, D)",
        1,
        "shape-mismatch",
        "shape mismatch: X.sum(0) is (D,), claimed (1, D)",
    ),
    "unknown function": (
        "X: (N, D)\nfoo(X) -> (N, D)",
        1,
        "shape-syntax",
        "unknown function `foo`",
    ),
    "bad dim": (
        "X: (N, D)\nX.sum(2) -> (N,)",
        1,
        "shape-error",
        "sum: dim 2 out of range for a 2-D tensor",
    ),
}


@pytest.mark.parametrize(
    ("text", "offset", "code", "message"), FALSE_CLAIMS.values(), ids=FALSE_CLAIMS.keys()
)
def test_false_claims_say_why(text: str, offset: int, code: str, message: str) -> None:
    assert [(p.offset, p.severity, p.code, p.message) for p in check_shapes(text)] == [
        (offset, "error", code, message)
    ]


def test_problems_point_at_each_claim() -> None:
    text = "# shapes\nA: (N, H)\n\nB: (H, D)\nA @ B -> (N, D)\nB @ A -> (H, H)\nA @ B -> (N, H)\n"
    assert [(p.offset, p.code) for p in check_shapes(text)] == [
        (5, "shape-error"),
        (6, "shape-mismatch"),
    ]


def test_declaration_errors() -> None:
    p, q = check_shapes("X: N\nX -> (N,)")
    assert p.code == "shape-syntax" and p.offset == 0 and "(d1, d2)" in p.message
    assert (q.offset, q.message) == (1, "`X` is not a tensor")
    p = check_shapes("X: (0, D)\nX -> (0, D)")[0]
    assert p.message == "`X: (0, D)`: sizes must be positive"


def test_no_attribute_tricks() -> None:
    (p,) = check_shapes("X: (N, D)\nX.__class__ -> (N, D)")
    assert p.code == "shape-syntax"
    (p,) = check_shapes("X: (N, D)\n(lambda: X)() -> (N, D)")
    assert p.code == "shape-syntax"
