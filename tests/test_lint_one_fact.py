"""One fact per card: each minimum-information warning fires on a bad card and not on a good one."""

from __future__ import annotations

import pytest

from dlcards.core.lint import lint_note
from dlcards.core.parse import parse_text

LIMIT = 40


def codes(markdown: str) -> list[str]:
    parsed = parse_text(markdown, "deck.md")
    assert not [p for p in parsed.problems if p.severity == "error"], parsed.problems
    return [p.code for note in parsed.notes for p in lint_note(note, LIMIT)]


def lines(markdown: str, code: str) -> list[int]:
    parsed = parse_text(markdown, "deck.md")
    return [
        p.location.line for note in parsed.notes for p in lint_note(note, LIMIT) if p.code == code
    ]


# --- two questions in one -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Which activation do the LSTM gates use, and why?",
        "What is the Hessian of $f$, and its shape?",
        "Which backend is used for GPUs, and which for CPUs?",
        "What is a tensor? What is its rank?",
        "How does LoRA initialise $B$ and why?",
        "Which paper introduced label smoothing, and with which $\\varepsilon$?",
    ],
)
def test_several_questions_fires(question: str) -> None:
    assert codes(f"Q: {question}\nA: An answer.\n") == ["several-questions"]


@pytest.mark.parametrize(
    "question",
    [
        "Why do LSTM gates use the sigmoid?",
        "How does the model know which tools exist and what they do?",
        "What does `x.clamp(min=0, max=1)` return?",
        "What is $f(a, b)$ for $a = 1, b = 2$?",
        "Which sublayer does a decoder block have that an encoder block lacks?",
    ],
)
def test_several_questions_spares_one_question(question: str) -> None:
    assert codes(f"Q: {question}\nA: An answer.\n") == []


def test_several_questions_ignores_question_marks_in_code() -> None:
    text = 'Q: What does `re.match("a?b?", s)` match first?\nA: The empty string.\n'
    assert codes(text) == []


# --- enumerations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Name three fixes for high bias.",
        "List the steps of one training iteration.",
        "Give two reasons ReLU trains better than sigmoid.",
        "What are the four arrays `train_test_split` returns?",
        "Which three fields does a preference example hold?",
        "What two sublayers make up an encoder block?",
    ],
)
def test_enumeration_fires(question: str) -> None:
    assert codes(f"Q: {question}\nA: One, two and three.\n") == ["enumeration"]


@pytest.mark.parametrize(
    "question",
    [
        "Which 2012 result started the deep-learning boom?",
        "Which fix for high bias changes the model's capacity?",
        "What are 2 and 3 multiplied together?",
        "What does the name `ReLU` stand for?",
        "Which $k$ gives leave-one-out cross-validation?",
    ],
)
def test_enumeration_spares_single_items(question: str) -> None:
    assert codes(f"Q: {question}\nA: One thing.\n") == []


# --- boolean answers to what/which questions ------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is `x.grad is None` before backward?", "`True` — nothing was written yet."),
        ("Which value does `y.requires_grad` have under `no_grad`?", "`False`"),
        ("What does this check return?\n```torch\ntorch.allclose(a, b)\n```", "`True`"),
        ("What happens to BN statistics in eval mode?", "No, they stay fixed."),
        ("Which answer is right?", "Yes."),
    ],
)
def test_boolean_answer_fires(question: str, answer: str) -> None:
    assert "boolean-answer" in codes(f"Q: {question}\nA: {answer}\n")


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is `x.grad` before backward?", "`None` — nothing was written yet."),
        ("What does 'valid' padding mean?", "No padding: the kernel stays inside the input."),
        ("What does `inference_mode` give?", "No autograd graph, so less memory."),
        ("Is matrix multiplication associative?", "Yes: $(AB)C = A(BC)$."),
    ],
)
def test_boolean_answer_spares_values_and_yes_no_questions(question: str, answer: str) -> None:
    assert codes(f"Q: {question}\nA: {answer}\n") == []


# --- cloze deletions that give themselves away -------------------------------------------------


def test_cloze_single_symbol_blank_fires() -> None:
    text = "C: $Wx$ is a {{c1::weighted sum of the columns of $W$}}, with {{c2::$x$}} as weights.\n"
    assert codes(text) == ["cloze-gives-away"]
    assert lines(text, "cloze-gives-away") == [1]


def test_cloze_number_blank_is_a_fact() -> None:
    assert codes("C: The Transformer-base has $h = {{c1::8}}$ heads.\n") == []


def test_cloze_shown_by_a_sibling_fires() -> None:
    text = "C: ViT-Base has {{c1::12}} layers, width {{c2::768}} and {{c3::12}} heads.\n"
    assert codes(text) == ["cloze-gives-away", "cloze-gives-away"]


def test_cloze_short_text_shown_elsewhere_fires() -> None:
    text = "C: $h_t = {{c1::o_t}} \\odot \\tanh(c_t)$, where $o_t$ is the output gate.\n"
    assert codes(text) == ["cloze-gives-away"]


def test_cloze_shown_by_a_heading_fires() -> None:
    text = (
        "## Bias and variance\n\nC: The error is {{c1::bias squared}} + {{c2::variance}} + noise.\n"
    )
    assert codes(text) == ["cloze-gives-away"]
    fixed = "## Decomposing the error\n\nC: The error is {{c1::bias squared}} + {{c2::variance}} + noise.\n"
    assert codes(fixed) == []


def test_cloze_mostly_shown_elsewhere_fires() -> None:
    text = (
        "C: Post-LN computes $x + \\mathrm{Sublayer}(x)$ then normalises: "
        "${{c1::\\mathrm{LN}(x + \\mathrm{Sublayer}(x))}}$.\n"
    )
    assert codes(text) == ["cloze-gives-away"]
    fixed = "C: Post-LN computes ${{c1::\\mathrm{LN}(x + \\mathrm{Sublayer}(x))}}$.\n"
    assert codes(fixed) == []


def test_cloze_long_text_in_question_keeps_its_old_code() -> None:
    text = "C: {{c1::Paris}} is the capital; Paris is in France.\n"
    assert codes(text) == ["answer-in-question"]


def test_good_cloze_is_clean() -> None:
    text = "C: Softmax is invariant to {{c1::adding a constant to every logit}}.\n"
    assert codes(text) == []


# --- code prompts that do not say what they ask ----------------------------------------------------

SNIPPET = "```torch\ntorch.ones(2, 3).sum(dim=0)\n```\nA: `tensor([2., 2., 2.])`\n"


@pytest.mark.parametrize(
    "prompt",
    [
        "What does this evaluate to?",
        "What does this evaluate to? (zero gradient)",
        "What does the following code return?",
        "Which value does this give?",
        "What does it print?",
    ],
)
def test_vague_code_prompt_fires(prompt: str) -> None:
    assert codes(f"Q: {prompt}\n{SNIPPET}") == ["code-prompt-vague"]


@pytest.mark.parametrize(
    "prompt",
    [
        "What does summing a $2 \\times 3$ tensor of ones over `dim=0` give?",
        "What does this evaluate to for a column sum of a $2 \\times 3$ tensor of ones?",
        "How many ones end up in each column sum?",
        "What shape does this print?",
        "What dtype does this give?",
    ],
)
def test_specific_code_prompt_is_clean(prompt: str) -> None:
    assert codes(f"Q: {prompt}\n{SNIPPET}") == []


def test_vague_prompt_without_code_is_not_a_code_prompt() -> None:
    assert codes("Q: What does this evaluate to?\nA: Something.\n") == []


def test_answer_side_code_does_not_make_a_code_prompt() -> None:
    text = "Q: What does this evaluate to?\nA: Ones.\n\n```torch\nassert torch.ones(1).item() == 1\n```\n"
    assert codes(text) == []
