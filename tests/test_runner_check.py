"""Code cards in `dlcards check`: answers compared, errors located, results cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.checks import CheckReport, run_checks
from dlcards.cli import main
from dlcards.collection import open_collection
from dlcards.exercises import consent
from dlcards.model import Note
from dlcards.validate.code import answer_value, problems_of

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
    return Note(id="x", id_explicit=False, kind="basic", path="a.md", line=1, end_line=2,
                question="Q", answer=answer, index=0, content_hash="h")


def test_answer_value_is_the_first_code_span_or_block() -> None:
    assert answer_value(_note("`torch.Size([2, 3])` because ...")) == "torch.Size([2, 3])"
    assert answer_value(_note("It is\n\n```\n(2, 3)\n```\n\nand `x`")) == "(2, 3)"
    assert answer_value(_note("```torch\nx = 1\n```\n\n`3`")) == "3"
    assert answer_value(_note("no code here")) is None


def test_problems_of_a_result() -> None:
    ok = {"ok": True}
    assert problems_of(ok, "x\n", "answer") == []
    (p,) = problems_of({"ok": False, "kind": "exception", "error": "ZeroDivisionError: division by zero",
                        "line": 2}, "a = 1\n1/0\n", "answer")
    assert (p.offset, p.code, p.message) == (1, "code-error", "snippet failed: line 2: ZeroDivisionError: division by zero")


@pytest.mark.skipif(not __import__("importlib").util.find_spec("torch"), reason="torch is not installed")
def test_code_cards_in_check(collection: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    import dlcards.checks as checks

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
    # failures are cached: a second run starts no runner and reports the same
    col = open_collection(collection)
    report = CheckReport()

    def no_runner() -> None:
        raise AssertionError("the runner must not start when every result is cached")

    monkeypatch.setattr("dlcards.exercises.client.Runner.start", lambda self: no_runner())
    problems = run_checks(col, list(col.problems), report=report)
    assert [p.location.line for p in problems] == [6, 16, 21, 27]
    assert (report.cached, report.ran, report.snippets) == (4, 0, 0)
