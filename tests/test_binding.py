"""Binding a card's own formulas to its blocks (dlcards.checks.binding): which formulas a card
states (and at which line), and what proving them in the block's context finds."""

from __future__ import annotations

import pytest

from dlcards.checks.binding import bind_block, card_formulas, formula_payload
from dlcards.core.model import Note
from dlcards.core.parse import parse_text


def notes(text: str) -> list[Note]:
    return parse_text("---\nweek: 1\ntopic: t\n---\n\n" + text, "decks/t.md", "dlcards").notes


def one(text: str) -> Note:
    (note,) = notes(text)
    return note


def formulas(text: str) -> list[tuple[str, str, int]]:
    return [(f.kind, f.latex, f.line) for f in card_formulas(one(text))]


def outcomes(kind: str, block: str, forms: list[list[str]]) -> list[tuple[str, str]]:
    return [(o.status, o.message) for o in bind_block(kind, block, forms)[1]]


CHECK = "\n```check\nx = vec('x', 3)\ngrad(sum_sq(x), x) == 2*x\n```\n"


def test_the_answer_and_its_relations_are_the_cards_formulas_at_their_lines() -> None:
    got = formulas(
        "Q: Gradient of $\\|x\\|_2^2$?\nA: $2x$, since\n$\\partial_i x_i^2 = 2x_i$ and $n$ is free.\n"
        + CHECK
    )
    # the leading span is the answer; a later relation counts; a later lone $n$ does not
    assert got == [("answer", "2x", 7), ("relation", "\\partial_i x_i^2 = 2x_i", 8)]


def test_no_answer_expression_without_a_check_block_but_relations_count() -> None:
    assert formulas("Q: A?\nA: $2x$ and $a = b$.\n") == [("relation", "a = b", 7)]


def test_an_expression_not_at_the_answer_position_cannot_be_false() -> None:
    got = formulas("Q: Doubling the width?\nA: 4: the count $H^2$ is quadratic.\n" + CHECK)
    assert got == [("expression", "H^2", 7)]


def test_a_unit_after_the_formula_marks_it_unreadable() -> None:
    (f,) = card_formulas(one("Q: How many?\nA: $784 \\cdot 6272 + 6272 \\approx 4.9$ million.\n"))
    assert f.unread == "a unit follows the formula: it states a rounded quantity"


def test_cloze_formulas_are_the_math_inside_or_around_deletions() -> None:
    got = formulas(
        "C: For $x$ the derivative is $\\frac{d}{dx}\\tanh(x) = {{c1::1 - \\tanh(x)^2}}$;\n"
        "row {{c2::$i$}} of $A$ is {{c3::$a_i^\\top$}}.\n" + CHECK
    )
    # $x$ and $A$ are outside deletions; the lone name $i$ in a deletion is prose
    assert got == [
        ("relation", "\\frac{d}{dx}\\tanh(x) = 1 - \\tanh(x)^2", 6),
        ("answer", "a_i^\\top", 7),
    ]


def test_shapes_on_the_card_are_gathered_from_math_and_code() -> None:
    got = formulas(
        "Q: Shape?\nA: $X$ of $(N, D)$ gives `torch.Size([N, H])`.\n\n"
        "```shapes\nX: (N, D)\nW: (D, H)\nX @ W -> (N, H)\n```\n"
    )
    assert got == [("shape", "(N, D) ; torch.Size([N, H])", 7)]


@pytest.mark.parametrize(
    ("latex", "status", "message"),
    [
        ("2x", "proved", ""),
        ("x", "false", "the answer is not `2 * x`"),
        ("3", "unbound", "the answer equals no side"),  # about other quantities
    ],
)
def test_answer_expressions(latex: str, status: str, message: str) -> None:
    ((got, msg),) = outcomes("check", CHECK.split("```check\n")[1][:-5], [["answer", latex, ""]])
    assert got == status and msg.startswith(message)


def test_an_answer_the_block_proves_a_property_of_is_bound() -> None:
    block = "x = vec('x', 3)\nnorm(x / norm(x)) == 1\n"
    assert outcomes("check", block, [["answer", "x / \\|x\\|_2", ""]]) == [("proved", "")]
    # a wrong answer of the same names is not the block's answer, nor a term of it
    ((status, _),) = outcomes("check", block, [["answer", "x \\|x\\|_2", ""]])
    assert status == "unbound"


def test_relations_settings_approximations_and_foreign_names() -> None:
    block = "where: x > 0\ndiff(log(x), x) == 1/x\n"
    forms = [
        ["relation", "\\frac{d}{dx}\\ln x = \\frac{1}{x}", ""],
        ["relation", "x = 2", ""],
        ["relation", "\\ln x \\approx x", ""],
        ["relation", "\\nabla_w L = 0", ""],
        ["relation", "\\frac{d}{dx}\\ln x = x", ""],
        ["relation", "\\lfloor x \\rfloor = 1", ""],
    ]
    got = outcomes("check", block, forms)
    assert got[0] == ("proved", "")
    assert got[1][0] == "unbound" and "gives x a value" in got[1][1]
    assert got[2][0] == "unbound" and "approx without a written decimal" in got[2][1]
    assert got[3] == ("unbound", "the card names L, w, which the check block does not define")
    assert got[4][0] == "false" and got[4][1].startswith("claim is false at x=")
    assert got[5][0] == "unbound" and got[5][1].startswith("cannot read the formula: column 1")


def test_block_problems_are_reported_once_with_their_offsets() -> None:
    problems, (o,) = bind_block(
        "check", "diff(x**2, x) == x\n", [["relation", "\\frac{d}{dx} x^2 = 2x", ""]]
    )
    assert [(p.offset, p.code) for p in problems] == [(0, "claim-false")]
    assert o.status == "proved"  # the card is right; the block is wrong


SHAPES = "X: (N, D)\nW: (D, H)\nb: (H,)\nX @ W -> (N, H)\n"


@pytest.mark.parametrize(
    ("card", "status", "message"),
    [
        ("(N, H)", "proved", ""),
        ("torch.Size([N, H])", "proved", ""),
        ("(H, N)", "false", "the card says (H, N), the shapes block proves X @ W -> (N, H)"),
        ("(H,)", "unbound", "the card's shape is declared by the shapes block, not proved"),
        ("(N, 1)", "unbound", "no shape on the card is one the shapes block proves"),
        ("(N, K)", "unbound", "the card's shape names K, which the shapes block does not"),
        ("(4, 5)", "unbound", "no shape on the card"),  # a concrete instance
    ],
)
def test_shapes_on_the_card(card: str, status: str, message: str) -> None:
    ((got, msg),) = outcomes("shapes", SHAPES, [["shape", card, ""]])
    assert got == status and msg.startswith(message)


def test_a_failing_block_claim_fails_the_bound_card_without_a_second_error() -> None:
    problems, (o,) = bind_block("shapes", "X: (N, D)\nX.T -> (N, D)\n", [["shape", "(N, D)", ""]])
    assert [p.code for p in problems] == ["shape-mismatch"]
    assert o.status == "failed"


def test_payload_keeps_kind_latex_and_why_unread() -> None:
    note = one("Q: How many?\nA: $2 + 2 = 4$\n")
    assert formula_payload(card_formulas(note)) == [["relation", "2 + 2 = 4", ""]]


def test_relations_that_name_nothing_are_proved_without_a_block() -> None:
    from dlcards.checks.binding import free_payload

    note = one("Q: Count?\nA: $16 \\cdot 7 \\cdot 7 = 784$ and $a = b + 1$.\n")
    free = free_payload(card_formulas(note))
    assert free == [
        ["relation", "16 \\cdot 7 \\cdot 7 = 784", ""],
        ["relation", "a = b + 1", "needs a block"],
    ]
    got = outcomes("check", "", free)
    assert got == [("proved", ""), ("unbound", "needs a block")]
    assert free_payload(card_formulas(one("Q: Rule?\nA: $a = b + 1$.\n"))) == []


def test_an_approximation_is_compared_at_the_precision_of_its_result() -> None:
    # 1/0.07 = 14.2857: right to the 0.05 that "14.3" writes, though the input has 2 decimals
    assert outcomes("check", "", [["relation", "1/0.07 \\approx 14.3", ""]]) == [("proved", "")]
    ((status, message),) = outcomes("check", "", [["relation", "1/0.07 \\approx 14.4", ""]])
    assert status == "false" and "±0.05" in message
