"""Bounded fuzzing (issue 17): the parser, the `check` language, the `shapes` language and the
front matter, with a per-input time limit. Every input must end in problems (or none): no
traceback, no hang, no "internal error", every error with a line inside its block and a hint.

Longer runs over mutated copies of the shipped decks: `python scripts/fuzz.py --help`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlcards.checks.common import statements
from dlcards.checks.math import check_math
from dlcards.checks.shapes import check_shapes
from dlcards.core.parse import parse_text

T = TypeVar("T")
PER_INPUT_S = 20.0  # a hang detector, far above what any input needs (not a timing assert)
BUDGET = 0.3  # CPU seconds per statement for the checkers under fuzzing
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same inputs on every run: CI failures reproduce
)


class Hang(Exception):
    pass


@contextmanager
def watchdog(seconds: float = PER_INPUT_S) -> Iterator[None]:
    """Fail the input (instead of hanging the suite) if it runs longer than `seconds`."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield
        return

    def _fire(signum: int, frame: Any) -> None:
        raise Hang(f"no result within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def bounded(fn: Callable[[], T]) -> T:
    with watchdog():
        return fn()


def assert_block_problems(text: str, problems: list[Any]) -> None:
    n = max(1, len(text.split("\n")))
    for p in problems:
        assert p.code != "internal", p
        assert 0 <= p.offset < n, (p, text)
        assert p.message, p
        if p.code.endswith("-syntax") or p.code in ("proof-budget", "claim-undefined"):
            assert p.hint, p  # the errors hostile input ends in all say what to do


# --- the parser ----------------------------------------------------------------------------

FRAGMENTS = [
    "Q: ",
    "A: ",
    "C: ",
    "{{c1::",
    "{{c2::",
    "{{c0::",
    "{{c99999999999::",
    "::",
    "}}",
    "{",
    "}",
    "\\",
    "<!-- id: ",
    "<!--",
    "-->",
    "abc",
    "x-y_1",
    "```check\n",
    "```shapes\n",
    "```torch\n",
    "```\n",
    "~~~\n",
    "$$",
    "$",
    "---\n",
    "week: 3\n",
    "tags: [",
    "]",
    "# ",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "    ",
    "\ufeff",
    "é∇",
    "- ",
    "> ",
    "|a|b|\n",
    "<div>",
]

deckish = st.lists(
    st.sampled_from(FRAGMENTS)
    | st.text(max_size=6)
    | st.builds(
        lambda f, n: f * n,
        st.sampled_from([" ", "\t", "{{c1::", "<!-- id:"]),
        st.integers(50, 3000),
    ),
    max_size=80,
).map("".join)


@settings(FUZZ, max_examples=400)
@given(deckish)
def test_fuzz_the_parser(text: str) -> None:
    parsed = bounded(lambda: parse_text(text, "fuzz.md"))
    lines = max(1, text.count("\n") + 1)
    for note in parsed.notes:
        assert 1 <= note.line <= note.end_line <= lines + 1
    for p in parsed.problems:
        assert 1 <= p.location.line <= lines + 1, p
        assert p.code != "internal"


yamlish = st.lists(
    st.sampled_from(
        [
            "week: ",
            "topic: ",
            "tags: ",
            "requires: ",
            "deck: ",
            "extra: ",
            "[",
            "]",
            "{",
            "}",
            "- ",
            ": ",
            ", ",
            "&a ",
            "*a",
            "!!python/object:os.system ",
            "'",
            '"',
            "#",
            "\n",
            "\n  ",
            "\t",
            "1e999",
            "-" + "9" * 5000,
            "3",
            "0",
            ".inf",
            ".nan",
            "2026-01-01",
            "softmax",
            "a b",
        ]
    )
    | st.builds(
        lambda f, n: f * n, st.sampled_from(["[", "{a: ", "- ", "  x:\n"]), st.integers(10, 2000)
    ),
    max_size=40,
).map("".join)


@settings(FUZZ, max_examples=300)
@given(yamlish)
def test_fuzz_the_front_matter(yaml_text: str) -> None:
    text = f"---\n{yaml_text}\n---\n\nQ: kept?\nA: yes\n"
    parsed = bounded(lambda: parse_text(text, "fuzz.md"))
    if "\n---\n" not in yaml_text and "\n...\n" not in yaml_text:
        assert [n.question for n in parsed.notes][-1:] == ["kept?"]  # never drops the file
    for p in parsed.problems:
        assert p.location.line >= 1 and p.code != "internal"


# --- the check language --------------------------------------------------------------------

NUMBERS = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "-1",
        "0.5",
        "2.3040",
        "1e-30",
        "1e308",
        "1e999",
        "10**10",
        "2**2**2**2**2",
        "9" * 400,
        "0.0",
    ]
)
SYMBOLS = st.sampled_from(["x", "y", "p", "v", "W", "z"])
UNARY = st.sampled_from(
    [
        "exp",
        "log",
        "sqrt",
        "abs",
        "sign",
        "sin",
        "tanh",
        "sigmoid",
        "relu",
        "softplus",
        "gelu",
        "erf",
        "sum",
        "softmax",
        "norm",
        "len",
        "diff",
        "grad",
        "transpose",
        "inv",
        "det",
    ]
)
BINARY = st.sampled_from(["+", "-", "*", "/", "**", "@", "==", "^", "%"])

atoms = (
    NUMBERS
    | SYMBOLS
    | st.sampled_from(["vec('v', 3)", "mat('W', 2, 2)", "[x, y]", "onehot(1, 3)", "pi", "e"])
)
expressions = st.recursive(
    atoms,
    lambda inner: (
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner, BINARY, inner)
        | st.builds(lambda f, a: f"{f}({a})", UNARY, inner)
        | st.builds(
            lambda f, a, b: f"{f}({a}, {b})",
            st.sampled_from(["max", "min", "log", "diff", "grad", "subs", "cross_entropy", "mse"]),
            inner,
            inner,
        )
        | st.builds(lambda a: f"{a}[0]", inner)
        | st.builds(lambda a: f"{a}.T", inner)
    ),
    max_leaves=8,
)
check_lines = st.one_of(
    st.builds(lambda a, b: f"{a} == {b}", expressions, expressions),
    st.builds(lambda n, a: f"{n} = {a}", st.sampled_from(["a", "f(x)", "exp", "_p"]), expressions),
    st.builds(lambda s, n: f"where: {s} > {n}", SYMBOLS, NUMBERS),
    st.sampled_from(["# comment", "", "(x +", "x ==", "lambda: 1", "x.__class__ == 1"]),
)


@settings(FUZZ, max_examples=150)
@given(st.lists(check_lines, min_size=1, max_size=5).map("\n".join))
def test_fuzz_the_check_language(text: str) -> None:
    problems = bounded(lambda: check_math(text, budget=BUDGET))
    assert_block_problems(text, problems)
    assert len(problems) <= max(1, len(statements(text)))


# --- the shapes language -------------------------------------------------------------------

DIMS = st.sampled_from(
    [
        "N",
        "D",
        "H",
        "1",
        "3",
        "0",
        "N*D",
        "H // 2",
        "N - 1",
        "2**2**2**2**2**2",
        "10**100",
        "1e999",
        "-1",
        "N // 0",
    ]
)
shape = st.lists(DIMS, max_size=4).map(
    lambda ds: "(" + ", ".join(ds) + ("," if len(ds) == 1 else "") + ")"
)
OPS = st.sampled_from(
    [
        "X",
        "X @ Y",
        "X + Y",
        "X.T",
        "X.mT",
        "X.reshape(-1)",
        "X.reshape(N, -1)",
        "X.view(10**100)",
        "X.sum(0)",
        "X.sum(10**30)",
        "X.mean(dim=(0, 1), keepdim=True)",
        "X[0]",
        "X[:, None]",
        "X[..., 1:3]",
        "cat([X, Y], dim=0)",
        "stack([X, Y])",
        "X.transpose(0, 1)",
        "X.permute(1, 0)",
        "X.unsqueeze(0)",
        "X.squeeze()",
        "X.flatten(1)",
        "conv2d(X, 16, 3, stride=2, padding=1)",
        "max_pool2d(X, 2)",
        "linear(X, 7)",
        "softmax(X, -1)",
        "attention(X, Y, Y)",
        "einsum('ij,jk->ik', X, Y)",
        "X.expand(4, -1)",
        "X.repeat(2, 2)",
        "X.chunk(2, 0)[1]",
        "embedding(X, D)",
        "X.split(2, 0)[0]",
    ]
)
shapes_lines = st.one_of(
    st.builds(lambda s: f"X: {s}", shape),
    st.builds(lambda s: f"Y: {s}", shape),
    st.builds(lambda o, s: f"{o} -> {s}", OPS, shape),
    st.builds(lambda o: f"{o} -> error", OPS),
    st.builds(lambda o: f"Z = {o}", OPS),
    st.sampled_from(
        [
            "where: N == H * D",
            "where: N % 2 == 0",
            "where: N >= 10**10**10",
            "where: D > 10**4000",
            "where: H <= N",
            "X ->",
            "-> (N,)",
            "X: N",
        ]
    ),
)


@settings(FUZZ, max_examples=200)
@given(st.lists(shapes_lines, min_size=1, max_size=6).map("\n".join))
def test_fuzz_the_shapes_language(text: str) -> None:
    problems = bounded(lambda: check_shapes(text, budget=BUDGET))
    assert_block_problems(text, problems)


# --- the cloze scanner against the plain rescanning one it replaced ------------------------


def _reference_close(text: str, begin: int) -> int | None:
    """The old scanner: from `begin`, the `}}` at depth 0, or None (unbalanced)."""
    depth, j = 0, begin
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text):
            j += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return j if text.startswith("}}", j) else None
            depth -= 1
        j += 1
    return None


@settings(FUZZ, max_examples=1500)
@given(st.text(alphabet="{}:c1\\x \n", max_size=60))
def test_the_linear_cloze_scanner_agrees_with_the_rescanning_one(body: str) -> None:
    import re

    from dlcards.core.parse import _brace_closes

    text = "C: " + body
    closes = _brace_closes(text)
    for m in re.finditer(r"\{\{c(\d+)::", text):
        assert closes(m.end()) == _reference_close(text, m.end()), (text, m.start())


@pytest.mark.parametrize(
    "text",
    [
        "C: {{c1::a}} {{c2::b::hint}}",
        "C: {{c1:: {a} }} and {{c1::\\}}}",
        "C: {{c1:: { {{c1::a}}",
    ],
)
def test_cloze_examples_agree_with_the_reference(text: str) -> None:
    import re

    from dlcards.core.parse import _brace_closes

    closes = _brace_closes(text)
    for m in re.finditer(r"\{\{c(\d+)::", text):
        assert closes(m.end()) == _reference_close(text, m.end())
