"""The card-formula reader, session 3 (issue 12): step subscripts, `\\neq`, `\\leftarrow`,
`\\sum` over any letter, primes on the block's functions, multi-letter names, `\\mathbf{1}`,
row vectors, floors of closed forms, tuples. What it reads, and what it refuses, loudly.
Fixtures: tests/fixtures/latex/read_s3.txt and refuse_s3.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.checks.latex import LatexUnreadable, read_claims, read_expr

FIXTURES = Path(__file__).parent / "fixtures" / "latex"
KINDS = {
    **{n: "V" for n in ("x", "y", "z", "u", "h_t", "h_tm1", "x_t", "b", "lam", "ones_vec")},
    **{n: "M" for n in ("A", "B", "W_xh", "W_hh", "Sigma")},
    **{n: "F" for n in ("f", "g", "h", "ell", "L", "r", "eps_theta", "D_star")},
}
NAMES = {
    "TP", "FP", "FN", "TN", "N", "PPL", "FPR", "specificity", "m_t", "m_tm1", "g_t", "beta1",
    "output_padding", "PE_2ip1",
}  # fmt: skip
PARAMS = {
    "f": ("x",), "g": ("x",), "h": ("x",), "ell": ("z",), "L": ("w",), "r": ("x", "y"),
    "eps_theta": ("x", "c"), "D_star": ("x",),
}  # fmt: skip


def cases(name: str) -> list[tuple[str, str]]:
    out = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "  =>  " not in line:
            continue
        latex, _, expected = line.partition("  =>  ")
        out.append((latex.strip(), expected.strip()))
    return out


def shown(latex: str) -> str:
    claims = read_claims(latex, KINDS, NAMES, PARAMS)
    return " ; ".join(c.statement + (" (approx)" if c.approx else "") for c in claims)


@pytest.mark.parametrize(("latex", "expected"), cases("read_s3.txt"))
def test_reads(latex: str, expected: str) -> None:
    assert shown(latex) == expected


@pytest.mark.parametrize(("latex", "message"), cases("refuse_s3.txt"))
def test_refuses_with_a_reason(latex: str, message: str) -> None:
    with pytest.raises(LatexUnreadable) as info:
        read_claims(latex, KINDS, NAMES, PARAMS)
    assert str(info.value).startswith(message)


def test_a_neq_claim_is_checked_as_its_equation_and_marked_negated() -> None:
    (c,) = read_claims(r"AB \neq BA", KINDS)
    assert c.negated and c.equation == "A @ B == B @ A" and c.statement == "A @ B != B @ A"


def test_multi_letter_names_need_the_block() -> None:
    # without the block's names, TP is T times P, and \mathrm{FPR} is no vocabulary function
    assert read_expr("TP/N") == "T*P/N"
    assert read_expr("TP/N", names={"TP", "N"}) == "TP/N"
    with pytest.raises(LatexUnreadable, match="unknown function name 'fpr'"):
        read_expr(r"\mathrm{FPR}")
    # the longest declared run wins; a space ends a run
    assert read_expr("TPR", names={"TP", "TPR"}) == "TPR"
    assert read_expr("TP R", names={"TP", "TPR"}) == "TP*R"


def test_step_subscripts_and_entries() -> None:
    # an index letter on a declared vector is an entry, unless the subscripted name is declared
    assert read_claims("x_i = y_i", KINDS)[0].statement == "x == y"
    assert read_expr("h_t", {"h": "V", "h_t": "V"}) == "h_t"
    assert read_expr("x_{t-1} + x_{t+1}") == "x_tm1 + x_tp1"
    # a bound index outside the index letters is an entry only inside its sum
    assert read_expr(r"\sum_c y_c", KINDS) == "sum(y)"
    assert read_expr("y_c", KINDS) == "y_c"


def test_bare_functions_need_their_parameters() -> None:
    # without the parameters a bare f is refused as before (it needs its argument)
    with pytest.raises(LatexUnreadable):
        read_claims("(fg)' = f'g + fg'", {"f": "F", "g": "F"})
    # functions of different parameters: the group's variable is ambiguous
    with pytest.raises(LatexUnreadable, match="a prime is read only on a function"):
        read_claims("(fg)' = 0", {"f": "F", "g": "F"}, params={"f": ("x",), "g": ("y",)})


def test_a_closed_floor_never_guesses_past_the_numbers() -> None:
    assert read_expr(r"\lfloor -7/2 \rfloor") == "-4"
    assert read_expr(r"\lceil -7/2 \rceil") == "-3"
    with pytest.raises(LatexUnreadable, match="symbolic"):
        read_expr(r"\lfloor 7/0 \rfloor")  # not a number: refused, never a crash


def test_an_upright_name_with_an_index_before_a_paren_is_refused_not_multiplied() -> None:
    """`\\mathrm{rank}_r(d)` is a function applied to d; with a block vector `rank` it was once
    read as `rank*d` inside the sum: the reader must refuse, never guess (found in the RAG deck)."""
    kinds = {"rank": "V"}
    with pytest.raises(LatexUnreadable) as info:
        read_expr(r"\sum_r \frac{1}{k + \mathrm{rank}_r(d)}", kinds, names={"rank", "k", "d"})
    assert "is rank_r(…) a function or a product?" in str(info.value)
    # spaced, it is a product, as everywhere else
    got = read_expr(r"\sum_r \frac{1}{k + \mathrm{rank}_r \, (d)}", kinds, names={"rank", "k", "d"})
    assert got == "sum((1/(k + rank*d)))"


@pytest.mark.parametrize(
    ("latex", "kinds", "message"),
    [
        (r"E[z^2] = 1", {}, "column 2: E[…] is an expectation: not read"),
        (r"\sum_n \delta_n = 0", {"delta": "M"}, "column 14: delta_n has one index on a matrix"),
    ],
)
def test_expectations_and_a_matrix_row_are_refused(
    latex: str, kinds: dict[str, str], message: str
) -> None:
    """Found by the deck authors: `E[z^2]` was read as Euler's number times z^2, and
    `\\sum_n \\delta_n` of a matrix as the sum of all its entries."""
    with pytest.raises(LatexUnreadable) as info:
        read_claims(latex, kinds, {"z", "delta"})  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_a_derivative_of_the_blocks_function_is_taken_in_its_own_variable() -> None:
    """`f'(a)` with `f(x) = a*x**2`: the derivative of f at a (2a^2), not d/da of f(a) (3a^2)."""
    got = read_expr("f'(a)", {"f": "F"}, names={"f", "a"}, params={"f": ("x",)})
    assert got == "subs(diff(f(at__f), at__f), at__f, a)"
