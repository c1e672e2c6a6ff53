"""Hostile deck content from issue 17 (items 4, 8, 11, 12, 14): every case ends with a
`path:line: error` and a hint, never a hang, a traceback or "internal error".

The long-input cases run in a subprocess with a generous timeout: the assertion is that the
work finishes at all (the quadratic versions took minutes to hours), not how fast.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dlcards.checks import check_block
from dlcards.core.parse import find_id_comment, parse_text

BOUND_S = 10  # CPU seconds, generous: the linear versions need about one
WALL_S = 300  # only a backstop for a stuck machine; the CPU limit is the assertion


def _limit_cpu() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (BOUND_S, BOUND_S + 1))


def finishes(code: str) -> str:
    """Run `code` in a fresh interpreter limited to BOUND_S seconds of CPU time (so a loaded
    machine does not fail it); fail if it does not finish within them."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=WALL_S,
            preexec_fn=_limit_cpu,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish within {WALL_S} s of wall time")
    if proc.returncode < 0:
        pytest.fail(
            f"killed by signal {-proc.returncode}: over {BOUND_S} s of CPU (a super-linear scan?)"
        )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize("blank", [" ", "\t"])
def test_a_megabyte_of_blanks_in_a_cards_first_line_parses(blank: str) -> None:
    out = finishes(
        f"""
        from dlcards.core.parse import parse_text
        text = "Q: q" + {blank!r} * 1_000_000 + "x <!-- id: abc -->\\nA: a\\n"
        p = parse_text(text, "d.md")
        print(len(p.notes), p.notes[0].id)
        text = "Q: q <!-- id:" + {blank!r} * 1_000_000 + "\\nA: a\\n"
        print(len(parse_text(text, "d.md").notes))
        """
    )
    assert out.splitlines() == ["1 abc", "1"]


def test_fifty_thousand_unclosed_clozes_parse() -> None:
    out = finishes(
        """
        from dlcards.core.parse import parse_text
        p = parse_text("C: " + "{{c1:: " * 50_000 + "\\n", "d.md")
        codes = {x.code for x in p.problems}
        print(len(p.problems), sorted(codes))
        """
    )
    assert out == "50000 ['cloze-unbalanced']"


def test_many_unclosed_id_comments_in_one_line_parse() -> None:
    out = finishes(
        """
        from dlcards.core.parse import parse_text
        p = parse_text("Q: q " + "<!-- id: x " * 100_000 + "\\nA: a\\n", "d.md")
        print(len(p.notes))
        """
    )
    assert out == "1"


def test_find_id_comment_matches_the_documented_pattern() -> None:
    line = "Q: What? \t <!-- id:  ab-1_C  -->  tail"
    c = find_id_comment(line)
    assert c is not None and c.raw_id == "ab-1_C"
    assert line[: c.start] == "Q: What?" and line[c.end :] == "  tail"
    assert find_id_comment("Q: <!-- note --> <!-- id: x -->").raw_id == "x"
    assert find_id_comment("Q: <!-- id: x") is None


# --- check and shapes blocks ---------------------------------------------------------------

CHECK_CASES = {
    "x/0 == 1": ("claim-undefined", "the lhs is undefined"),
    "0**-1 == 1": ("claim-undefined", "the lhs is undefined"),
    "sign(0)**-1 == 1": ("claim-undefined", "the lhs is undefined"),
    "2**2**2**2**2 == 1": ("check-syntax", "a number too large to compute"),
    "10**10**10 == 1": ("check-syntax", "a number too large to compute"),
    "1e999 == x": ("check-syntax", "a number literal is too large"),
    "x**(10**10) == x": ("check-syntax", "exponent of 10000000000 is too large"),
    "log(-1 - x**2) == 5": ("claim-undefined", "undefined (not a finite real number)"),
    "min(x, 100) == x": ("claim-false", "claim is false at x=123.45"),
    "2.3040 == 2.3026": ("claim-false", "beyond the written precision ±5e-05"),
    "9" * 5000 + " == x": ("check-syntax", ""),
}


@pytest.mark.parametrize("claim", sorted(CHECK_CASES))
def test_hostile_check_claims_are_errors_with_a_hint(claim: str) -> None:
    code, text = CHECK_CASES[claim]
    problems = check_block("check", claim)
    assert [(p.severity, p.code) for p in problems] == [("error", code)], problems
    assert text in problems[0].message
    assert problems[0].hint


SHAPES_CASES = {
    "X: (N,)\nwhere: N >= 10**10**10\nX -> (N,)": (1, "a number too large to compute"),
    "X: (2**2**2**2**2**2,)\nX -> (X.shape[0],)": (0, "a number too large to compute"),
    "X: (1e999,)\nX -> (N,)": (0, "a number literal is too large"),
    "X: (N // 0,)\nX -> (N,)": (0, "division by zero"),
    "X: (N,)\nX.view(N**(10**9)) -> (N,)": (1, "too large to expand"),
}


@pytest.mark.parametrize("text", sorted(SHAPES_CASES))
def test_hostile_shapes_blocks_are_errors_with_a_hint(text: str) -> None:
    offset, message = SHAPES_CASES[text]
    problems = check_block("shapes", text)
    assert problems, text
    first = problems[0]
    assert (first.offset, first.severity) == (offset, "error")
    assert message in first.message
    assert all(p.hint for p in problems)
    assert not any(p.code == "internal" for p in problems)


def test_a_shapes_statement_that_runs_out_of_cpu_time_is_an_uncached_error() -> None:
    from dlcards.checks.common import cacheable
    from dlcards.checks.shapes import check_shapes

    text = "X: (N,)\n" + "\n".join(
        f"X.reshape({i + 2}, -1) -> (N // {i + 2}, {i + 2})" for i in range(40)
    )
    problems = check_shapes(text, budget=0.001)
    budget = [p for p in problems if p.code == "proof-budget"]
    assert budget and all(p.severity == "error" and p.hint for p in budget)
    assert not cacheable([p.to_dict() for p in problems])


# --- front matter --------------------------------------------------------------------------

FRONT_MATTER = {
    "tags: " + "[" * 5000 + "]" * 5000: (2, "nests deeper than 20 levels"),
    "\n".join(" " * i + f"k{i}:" for i in range(3000)): (22, "nests deeper than 20 levels"),
    "week: -" + "9" * 5000: (2, "malformed front matter"),
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\ntags: *b": (
        2,
        "YAML aliases",
    ),
}


@pytest.mark.parametrize("yaml_text", sorted(FRONT_MATTER))
def test_hostile_front_matter_is_an_error_at_its_line_and_the_cards_survive(
    yaml_text: str,
) -> None:
    line, message = FRONT_MATTER[yaml_text]
    parsed = parse_text(f"---\n{yaml_text}\n---\n\nQ: still here?\nA: yes\n", "d.md")
    assert [n.question for n in parsed.notes] == ["still here?"]  # the file is not dropped
    (p,) = parsed.problems
    assert (p.location.line, p.severity) == (line, "error")
    assert message in p.message and p.hint


# --- settings and the clock ----------------------------------------------------------------


@pytest.mark.parametrize("step", ["infd", "1e400s", "nanm", "99999999d", "-1m", "0s"])
def test_learning_steps_that_crashed_the_review_fail_validation_naming_the_key(step: str) -> None:
    from pydantic import ValidationError

    from dlcards.system.config import Settings

    with pytest.raises(ValidationError) as err:
        Settings(learning_steps=[step])
    assert err.value.errors()[0]["loc"] == ("learning_steps",)
    assert step in str(err.value)


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "0001-01-01T00:00:00+01:00"]
)
def test_dlcards_now_out_of_range_is_a_clear_error(
    when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.core.errors import ConfigError
    from dlcards.system.clock import now

    monkeypatch.setenv("DLCARDS_NOW", when)
    with pytest.raises(ConfigError) as err:
        now()
    assert err.value.message.startswith("$DLCARDS_NOW: ") and err.value.hint
