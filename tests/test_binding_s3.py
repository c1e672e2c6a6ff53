"""Binding, session 3 (issue 12): `\\neq` (proved by a witness, false when the sides are equal),
`\\leftarrow` (the block's `w_new`), step subscripts, primes at expressions, bare functions,
multi-letter names, `\\mathbf{1}`, floors of closed forms, tuples, and a torch block's tagged
assert binding a card's setting. Real sympy proofs through `bind_block`."""

from __future__ import annotations

import pytest

from dlcards.checks.binding import (
    CardFormula,
    bind_block,
    bind_torch_value,
    card_formulas,
    torch_values,
)
from dlcards.core.parse import parse_text


def outcomes(block: str, forms: list[tuple[str, str]]) -> list[str]:
    _problems, found = bind_block("check", block, [[k, latex, ""] for k, latex in forms])
    return [o.status for o in found]


MATS = "A = mat('A', 2, 2)\nB = mat('B', 2, 2)\n(A @ B).T == B.T @ A.T\n"


def test_neq_is_proved_by_a_witness_and_false_when_the_sides_are_equal() -> None:
    got = outcomes(
        MATS,
        [
            ("relation", r"AB \neq BA"),
            ("relation", r"(AB)^\top \neq B^\top A^\top"),
            ("relation", r"A \neq A + 0"),
        ],
    )
    assert got == ["proved", "false", "false"]
    # closed forms need no block
    assert outcomes("", [("relation", r"3 \neq 4"), ("relation", r"3 \neq 3")]) == [
        "proved",
        "false",
    ]


def test_neq_on_a_free_symbol_is_a_condition_not_a_claim() -> None:
    _p, (o,) = bind_block("check", "diff(x**2, x) == 2*x\n", [["relation", r"x \neq 0", ""]])
    assert o.status == "unbound" and "a condition on x" in o.message


def test_leftarrow_is_a_claim_about_the_blocks_new_value() -> None:
    block = (
        "L(w) = w**4/4\nJ(w) = L(w) + lam/2*w**2\nw_new = w - eta*diff(J(w), w)\n"
        "diff(J(w), w) == diff(L(w), w) + lam*w\n"
    )
    got = outcomes(
        block,
        [
            ("relation", r"w \leftarrow (1 - \eta\lambda)\,w - \eta\,\nabla L(w)"),
            ("relation", r"w \leftarrow (1 + \eta\lambda)\,w - \eta\,\nabla L(w)"),
            ("relation", r"v \leftarrow w"),  # the block has no v_new: unbound, never proved
        ],
    )
    assert got == ["proved", "false", "unbound"]


def test_a_recurrence_with_step_subscripts_is_proved() -> None:
    block = (
        "W_xh = mat('W_xh', 2, 2)\nW_hh = mat('W_hh', 2, 2)\nx_t = vec('x_t', 2)\n"
        "h_tm1 = vec('h_tm1', 2)\nb = vec('b', 2)\ncell(x, h) = tanh(W_xh @ x + W_hh @ h + b)\n"
        "h_t = cell(x_t, h_tm1)\njacobian(h_t, h_tm1) == diag(1 - h_t*h_t) @ W_hh\n"
    )
    got = outcomes(
        block,
        [
            ("relation", r"h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b)"),
            ("relation", r"h_t = \tanh(W_{xh} h_{t-1} + W_{hh} x_t + b)"),  # swapped weights
        ],
    )
    assert got == ["proved", "false"]


def test_primes_at_expressions_and_on_bare_functions() -> None:
    # the card's x must be a name of the block: its claim is about h at x
    chain = "f(u) = exp(a*u)\ng(u) = sin(b*u)\nh(u) = u**3 + c*u\ndiff(h(x), x) == 3*x**2 + c\n"
    assert outcomes(
        chain,
        [
            ("relation", r"\frac{d}{dx} f(g(h(x))) = f'(g(h(x)))\;g'(h(x))\;h'(x)"),
            ("relation", r"\frac{d}{dx} f(g(h(x))) = f'(g(h(x)))\;g'(h(x))"),
        ],
    ) == ["proved", "false"]
    product = "f(x) = exp(a*x)\ng(x) = sin(b*x)\nf(0) == 1\n"
    assert outcomes(
        product,
        [
            ("relation", r"(fg)' = f'g + fg'"),
            ("relation", r"(fg)' = f'g'"),
            ("relation", r"\left(\frac{f}{g}\right)' = \frac{f'g - fg'}{g^2}"),
        ],
    ) == ["proved", "false", "proved"]


def test_multi_letter_names_bold_one_row_vectors_and_tuples() -> None:
    metrics = "where: FP > 0, TN > 0\nspecificity = TN/(TN + FP)\nFPR = FP/(FP + TN)\nFPR + specificity == 1\n"
    assert outcomes(
        metrics,
        [
            ("relation", r"\mathrm{FPR} = \frac{FP}{FP + TN} = 1 - \text{specificity}"),
            ("relation", r"\mathrm{FPR} = \frac{FP}{FP + TN} = \text{specificity}"),
        ],
    ) == ["proved", "false"]
    ones = "x = vec('x', 3)\nn = 3\nones_vec = ones(3)\ngrad(mean(x), x) == ones_vec/n\n"
    assert outcomes(
        ones, [("answer", r"\frac{1}{n}\mathbf{1}"), ("answer", r"\frac{1}{n^2}\mathbf{1}")]
    ) == ["proved", "false"]
    quad = (
        "u = vec('u', 2)\nSigma = mat('Sigma', 2, 2)\nq = u.T @ Sigma @ u\nq == u @ (Sigma @ u)\n"
    )
    assert outcomes(quad, [("answer", r"u^\top \Sigma u")]) == ["proved"]
    soft = "z = [2, 1, 1/10]\np = softmax(z)\nsum(p) == 1\n"
    assert outcomes(
        soft,
        [
            ("relation", r"p = \mathrm{softmax}(z) \approx (0.659, 0.242, 0.099)"),
            ("relation", r"p = \mathrm{softmax}(z) \approx (0.659, 0.242, 0.199)"),
        ],
    ) == ["proved", "false"]


def test_floors_of_closed_forms_need_no_block() -> None:
    assert outcomes(
        "",
        [
            ("relation", r"\lfloor (7-3)/2 \rfloor + 1 = 3"),
            ("relation", r"\lfloor (33 + 4 - 5)/2 \rfloor + 1 = 16"),
        ],
    ) == ["proved", "false"]


def test_neq_and_leftarrow_spans_are_relations_on_the_card() -> None:
    (note,) = parse_text(
        "---\nweek: 1\ntopic: t\n---\n\n"
        "C: SGD updates $\\theta \\leftarrow {{c1::\\theta - \\eta\\, g}}$.\n\n"
        "Q: Commute?\nA: No: $AB \\neq BA$ in general.\n",
        "decks/t.md",
        "dlcards",
    ).notes[:1]
    assert [(f.kind, f.latex) for f in card_formulas(note)] == [
        ("relation", "\\theta \\leftarrow \\theta - \\eta\\, g")
    ]


TORCH = "ln = torch.nn.LayerNorm(4)\nassert ln.eps == 1e-5  # card: eps\nassert 2 == 2\n"


def test_a_torch_block_declares_the_card_values_its_asserts_check() -> None:
    (tv,) = torch_values(TORCH)
    assert (tv.name, tv.literal, tv.offset) == ("eps", "1e-05", 1)
    right = CardFormula("relation", r"\epsilon = 10^{-5}", 9)
    wrong = CardFormula("relation", r"\epsilon = 10^{-4}", 9)
    other = CardFormula("relation", r"T = 1000", 9)
    passed: list[tuple[str, bool | None]] = [(TORCH, True)]

    def status(f: CardFormula, blocks: list[tuple[str, bool | None]]) -> str | None:
        o = bind_torch_value(0, f, blocks)
        return None if o is None else o.status

    assert status(right, passed) == "proved"
    assert status(right, [(TORCH, False)]) == "failed"
    assert status(right, [(TORCH, None)]) == "unbound"
    said = bind_torch_value(0, wrong, passed)
    assert said is not None and said.status == "false"
    assert (
        said.message == "the card says eps = 10**(-4), the torch block asserts 1e-05 (its line 2)"
    )
    assert bind_torch_value(0, other, passed) is None  # no assert is tagged T


@pytest.mark.parametrize(
    "line",
    [
        "assert ln.eps < 1e-4  # card: eps",  # not an equality
        "assert ln.eps == tiny  # card: eps",  # no number to compare
        "ln.eps == 1e-5  # card: eps",  # not an assert
        "assert ln.eps == 1e-5  # eps",  # not tagged
    ],
)
def test_only_tagged_equality_asserts_with_a_number_declare_a_value(line: str) -> None:
    assert torch_values(line + "\n") == []


def test_a_prime_at_a_value_the_block_defines_and_jacobians_and_inverses() -> None:
    quadratic = "f(x) = p*x**2 + q*x + r\nwhere: p > 0\nx_star = -q/(2*p)\nf(0) == r\n"
    assert outcomes(quadratic, [("relation", r"f'(x^*) = 0"), ("relation", r"f'(x^*) = 1")]) == [
        "proved",
        "false",
    ]
    rnn = (
        "W_hh = mat('W_hh', 2, 2)\nx = vec('x', 2)\nh_tm1 = vec('h_tm1', 2)\n"
        "h_t = tanh(W_hh @ h_tm1 + x)\nsum(h_t - h_t) == 0\n"
    )
    assert outcomes(
        rnn,
        [
            (
                "relation",
                r"\frac{\partial h_t}{\partial h_{t-1}} = \mathrm{diag}(1 - h_t^2)\, W_{hh}",
            ),
            ("relation", r"\partial h_t / \partial h_{t-1} = \mathrm{diag}(1 - h_t^2)"),
        ],
    ) == ["proved", "false"]
    eig = "V = mat('V', 2, 2)\nLam = diag(vec('l', 2))\nA = V @ Lam @ inv(V)\nA @ V == V @ Lam\n"
    assert outcomes(
        eig, [("relation", r"A = V \Lambda V^{-1}"), ("relation", r"A = V^{-1} \Lambda V")]
    ) == ["proved", "false"]


def test_shapes_written_with_juxtaposed_sizes() -> None:
    block = "W_ih: (4*H, D)\nx: (N, D)\nx @ W_ih.T -> (N, 4*H)\n"
    _p, found = bind_block("shapes", block, [["shape", "(N, 4H)", ""], ["shape", "(N, 3H)", ""]])
    assert [o.status for o in found] == ["proved", "false"]
    assert (
        found[1].message == "the card says (N, 3H), the shapes block proves x @ W_ih.T -> (N, 4*H)"
    )


def test_a_tuple_answer_is_compared_only_with_vectors() -> None:
    # a scalar side would be broadcast against the list: never proved, never false through it
    scalar = "f = x**2 + 3*x*y\ndiff(f, x) == 2*x + 3*y\ndiff(f, y) == 3*x\n"
    forms = [["answer", r"(2x + 3y,\; 3x)", ""], ["answer", r"(2x + 3y,\; 2x)", ""]]
    _p, found = bind_block("check", scalar, forms)
    assert [o.status for o in found] == ["unbound", "unbound"]
    assert found[0].message == (
        "a tuple on the card, but no side of the check block's claims is a vector"
    )
    vector = scalar + "[diff(f, x), diff(f, y)] == [2*x + 3*y, 3*x]\n"
    _p, found = bind_block("check", vector, forms)
    assert [o.status for o in found] == ["proved", "false"]
