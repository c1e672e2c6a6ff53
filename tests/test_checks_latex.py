"""The card-formula reader (issue 12, item 1): what it reads, and what it refuses, loudly.
Fixtures: tests/fixtures/latex/read.txt and refuse.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.checks.latex import LatexUnreadable, read_claim, read_claims, read_expr, strip_cloze

FIXTURES = Path(__file__).parent / "fixtures" / "latex"
KINDS = {
    **{n: "V" for n in "abpwxyz"},
    **{n: "M" for n in ("A", "B", "P", "W", "X", "Y")},
    "f": "F",
}


def cases(name: str) -> list[tuple[str, str]]:
    out = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "  =>  " not in line:
            continue
        latex, _, expected = line.partition("  =>  ")
        out.append((latex.strip(), expected.strip()))
    return out


@pytest.mark.parametrize(("latex", "expected"), cases("read.txt"))
def test_reads(latex: str, expected: str) -> None:
    if expected == "REFUSED":
        with pytest.raises(LatexUnreadable):
            read_claims(latex, KINDS)
        return
    claims = read_claims(latex, KINDS)
    got = " ; ".join(c.statement + (" (approx)" if c.approx else "") for c in claims)
    assert got == expected


@pytest.mark.parametrize(("latex", "message"), cases("refuse.txt"))
def test_refuses_with_a_reason(latex: str, message: str) -> None:
    with pytest.raises(LatexUnreadable) as info:
        read_claims(latex, KINDS)
    assert str(info.value).startswith(message)


def test_names_without_declared_kinds_are_scalars_and_indices_need_a_vector() -> None:
    assert read_claim(r"d_k = 64").statement == "d_k == 64"  # a name, not an entry of d
    with pytest.raises(LatexUnreadable, match="does not use the index"):
        read_claims(r"s = \sum_i x_i")  # x is not declared a vector: x_i is a name


def test_cloze_deletions_are_filled_in() -> None:
    assert strip_cloze(r"a = {{c1::b + {{c2::c::hint}}}}") == "a = b + c"
    assert read_expr(r"{{c1::\frac{1}{N}}} X^\top y", KINDS) == "(1/N)*X.T @ y"


def test_a_chain_needs_read_claims() -> None:
    with pytest.raises(LatexUnreadable, match="chain"):
        read_claim("a = b = c")
