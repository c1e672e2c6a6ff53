"""Code cards in `dlcards check`: answers compared, errors located, results cached."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from dlcards.app.verify import CheckTally, run_checks
from dlcards.checks.code import answer_value, problems_of
from dlcards.checks.runner import consent
from dlcards.cli.main import main
from dlcards.core.model import Note
from dlcards.system.decks import read_decks

DECK = """\
# Code

Q: What shape does this print?
```torch
conv = torch.nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)
conv(torch.randn(8, 3, 32, 32)).shape
```
A: `torch.Size([8, 16, 32, 32])`

Q: Which loss takes raw logits?
A: `nn.CrossEntropyLoss`.

```torch
logits = torch.tensor([[2.0, 0.5, -1.0]])
loss = torch.nn.CrossEntropyLoss()(logits, torch.tensor([0]))
assert loss < 0, "cross-entropy is never negative"
```

Q: What is the value here?
```torch
torch.tensor([1.0, 2.0]).mean()
```
A: It is the mean of the entries.

Q: Does this loop end?
```torch
while True:
    pass
```
A: `None`
"""


def _note(answer: str) -> Note:
    return Note(
        id="x",
        id_explicit=False,
        kind="basic",
        path="a.md",
        line=1,
        end_line=2,
        question="Q",
        answer=answer,
        index=0,
        content_hash="h",
    )


def test_answer_value_is_the_first_code_span_or_block() -> None:
    assert answer_value(_note("`torch.Size([2, 3])` because ...")) == "torch.Size([2, 3])"
    assert answer_value(_note("It is\n\n```\n(2, 3)\n```\n\nand `x`")) == "(2, 3)"
    assert answer_value(_note("```torch\nx = 1\n```\n\n`3`")) == "3"
    assert answer_value(_note("no code here")) is None


def test_problems_of_a_result() -> None:
    ok = {"ok": True}
    assert problems_of(ok, "x\n", "answer") == []
    (p,) = problems_of(
        {
            "ok": False,
            "kind": "exception",
            "error": "ZeroDivisionError: division by zero",
            "line": 2,
        },
        "a = 1\n1/0\n",
        "answer",
    )
    assert (p.offset, p.code, p.message) == (
        1,
        "code-error",
        "snippet failed: line 2: ZeroDivisionError: division by zero",
    )


@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("torch"), reason="torch is not installed"
)
def test_code_cards_in_check(
    collection: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dlcards.app.verify as checks

    monkeypatch.setattr(checks, "CODE_TIMEOUT_S", 1.0)
    (collection / "decks" / "code.md").write_text(DECK, encoding="utf-8")
    monkeypatch.chdir(collection)
    consent.trust(collection, __import__("datetime").datetime(2026, 1, 1))
    code = main(["check"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [
        "decks/code.md:6: error: the snippet gives torch.Size([8, 16, 16, 16]), the answer says "
        "torch.Size([8, 16, 32, 32]) (item 2: 16 vs 32)",
        "  hint: fix the answer's first code span (or the snippet)",
        "decks/code.md:16: error: snippet failed: line 3: assertion failed: cross-entropy is never negative",
        "  hint: an `assert` in the snippet failed: fix the snippet or the claim it checks",
        "decks/code.md:21: error: the answer states no value for this snippet",
        "  hint: put the value of the snippet's last expression in the answer's first code span, e.g. "
        "`torch.Size([2, 3])`",
        "decks/code.md:27: error: the snippet did not finish within 1 s and was stopped",
        "  hint: make the snippet smaller or faster",
    ]
    assert "ran 3 code snippets on cpu" in err
    # failures are cached; the snippet that timed out is not (a time-out says something about
    # the machine, not the snippet: issue 10): a second run runs only that one again
    col = read_decks(collection)
    report = CheckTally()
    problems = run_checks(col, list(col.problems), report=report)
    assert [p.location.line for p in problems] == [6, 16, 21, 27]
    assert (report.cached, report.ran, report.snippets) == (3, 1, 1)


class _CountingRunner:
    """A stand-in server that records which thread ran what (the orchestration, not torch)."""

    made: ClassVar[list[_CountingRunner]] = []

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.started = self.closed = False
        _CountingRunner.made.append(self)

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True

    @property
    def ready_info(self) -> dict[str, str]:
        return {"device": "cpu", "torch": "test"}

    def run(self, code: str, timeout: float, *, expect: str | None = None, mode: str = "live"):  # type: ignore[no-untyped-def]
        import time

        from dlcards.checks.runner.protocol import RunResult

        time.sleep(0.02)
        self.ran.append(code)
        return RunResult(ok=True, net_isolated=True)


def test_many_code_misses_are_spread_over_several_runners(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime

    import dlcards.app.verify as checks

    cards = "\n".join(f"Q: Snippet {i}?\n\n```torch\nx = {i}\n```\n\nA: `{i}`\n" for i in range(30))
    (collection / "decks" / "many.md").write_text("# Many\n\n" + cards, encoding="utf-8")
    consent.trust(collection, datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    monkeypatch.setattr(checks, "_cores", lambda: 2)
    monkeypatch.setattr("dlcards.checks.runner.client.torch_available", lambda: True)
    _CountingRunner.made = []
    col = read_decks(collection)
    report = CheckTally()
    problems = run_checks(col, [], report=report, runner_factory=_CountingRunner)
    assert problems == []
    made = _CountingRunner.made
    assert len(made) == 2 and all(r.started and r.closed for r in made)
    assert sorted(code for r in made for code in r.ran) == sorted(f"x = {i}\n" for i in range(30))
    assert all(r.ran for r in made)
    assert report.snippets == 30 and report.notes == ["ran 30 code snippets on cpu, torch test"]
    _CountingRunner.made = []
    assert run_checks(read_decks(collection), [], runner_factory=_CountingRunner) == []
    assert _CountingRunner.made == []  # all cached: no server started


@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("torch"), reason="torch is not installed"
)
def test_no_change_check_with_code_cards_imports_neither_sympy_nor_torch(collection: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    (collection / "decks" / "mix.md").write_text(
        "# Mix\n\nQ: d/dx x^2?\nA: $2x$\n\n```check\ndiff(x**2, x) == 2*x\n```\n\n"
        "Q: Shape?\nA: $(N, C)$\n\n```shapes\nX: (N, D)\nW: (D, C)\nX @ W -> (N, C)\n```\n\n"
        "Q: What shape?\n```torch\ntorch.zeros(2, 3).shape\n```\nA: `torch.Size([2, 3])`\n",
        encoding="utf-8",
    )
    probe = (
        "import json, sys\nfrom dlcards.cli.main import main\ncode = main(sys.argv[1:])\n"
        "print(json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sympy', 'torch', 'mpmath'))]))"
    )

    def run(*args: str) -> list:  # type: ignore[type-arg]
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args],
            cwd=collection,
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=300,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert run("trust")[0] == 0
    first = run("check")
    assert first[0] == 0 and "sympy" in first[1]
    assert run("check") == [0, []]
