"""docs/checks.md is the contract deck authors write against: every example in it must pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlcards.checks import check_block

DOC = Path(__file__).resolve().parent.parent / "docs" / "checks.md"
FENCE = re.compile(r"^```(check|shapes)\n(.*?)^```", re.M | re.S)


def examples() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def test_the_document_has_examples_of_both_kinds() -> None:
    kinds = [k for k, _ in examples()]
    assert kinds.count("check") >= 4 and kinds.count("shapes") >= 4


@pytest.mark.parametrize(("kind", "text"), examples())
def test_every_documented_example_passes(kind: str, text: str) -> None:
    assert check_block(kind, text) == []


def test_documented_messages_are_the_real_ones() -> None:
    doc = DOC.read_text(encoding="utf-8")
    (p,) = check_block(
        "check", "z = vec('z', 3)\ngrad(cross_entropy(z, 1), z) == softmax(z) - onehot(0, 3)"
    )
    assert p.message in doc
    for text in (
        "A: (N, H)\nB: (N, D)\nA @ B -> (N, D)",
        "X: (N, D)\nmu: (N,)\nX - mu -> (N, D)",
        "X: (N, 3, H, W)\nconv2d(X, 16, 3, stride=2, padding=1) -> (N, 16, H // 2, W // 2)",
        "X: (B, T, D)\nX.reshape(B, T, h, d) -> (B, T, h, d)",
    ):
        (p,) = check_block("shapes", text)
        assert p.message in doc, p.message
