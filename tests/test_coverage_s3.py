"""`dlcards check --coverage`, session 3 (issue 12): prose checked by code has its own category
(`code-checked`, outside the formula-card rate), a torch block's tagged assert binds a card's
setting (`$\\epsilon = 10^{-5}$`), `\\neq` cards, and the headline's rate. Real torch runs (skipped
without torch), a real consent marker, a real result cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlcards.app.coverage import coverage_report
from dlcards.app.verify import binding_status
from dlcards.cli.main import main
from dlcards.system.decks import read_decks

DECK = """---
week: 1
topic: coverage-s3
---

# Cards

Q: What does `torch.zeros(2, 3).sum()` give?
A: Zero: every entry is zero.

```torch
assert torch.zeros(2, 3).sum().item() == 0
```

Q: What does `torch.ones(2).sum()` give?
A: Three, says this wrong card.

```torch
assert torch.ones(2).sum().item() == 3
```

Q: What is LayerNorm's default epsilon?
A: $\\epsilon = 10^{-5}$, added to the variance.

```torch
ln = torch.nn.LayerNorm(4)
assert ln.eps == 1e-5  # card: eps
```

Q: What is BatchNorm's default epsilon?
A: $\\epsilon = 10^{-4}$, says this wrong card.

```torch
bn = torch.nn.BatchNorm1d(4)
assert bn.eps == 1e-5  # card: eps
```

Q: Do square matrices commute?
A: Not in general: $AB \\neq BA$.

```check
A = mat('A', 2, 2)
B = mat('B', 2, 2)
(A @ B).T == B.T @ A.T
```

Q: Why is softmax shift-invariant?
A: The constant cancels.

```check
z = vec('z', 3)
softmax(z + c) == softmax(z)
```

Q: What is a tensor?
A: An n-dimensional array.
"""
LINES = {
    "code": 8,
    "code_false": 15,
    "setting": 22,
    "setting_false": 30,
    "neq": 38,
    "no_formula": 47,
    "none": 55,
}


@pytest.fixture
def col(tmp_path: Path) -> Path:
    root = tmp_path / "col"
    (root / "decks").mkdir(parents=True)
    (root / "decks" / "c.md").write_text(DECK, encoding="utf-8")
    return root


def _by_line(cov: object) -> dict[int, str]:
    return {c.line: c.category for c in cov.cards}  # type: ignore[attr-defined]


def test_without_running_code_the_code_cards_are_unbound(col: Path) -> None:
    decks = read_decks(col, use_cache=False, lint=False)
    _report, cov = coverage_report(decks, no_exec=True)
    got = _by_line(cov)
    assert got[LINES["code"]] == "unbound" and got[LINES["setting"]] == "unbound"
    assert got[LINES["neq"]] == "bound-and-proved"
    assert got[LINES["no_formula"]] == "unbound" and got[LINES["none"]] == "nothing-checkable"
    reasons = {(u.line, u.reason) for u in cov.unbound}
    assert (LINES["code"], "code cards were not run") in reasons
    assert (
        LINES["no_formula"],
        "the check block passes, but the card's text states no formula it proves",
    ) in reasons


def test_code_checked_cards_and_torch_bound_settings(col: Path) -> None:
    pytest.importorskip("torch")
    from dlcards.checks.runner.consent import trust

    trust(col, datetime(2026, 1, 1, tzinfo=UTC))
    decks = read_decks(col, use_cache=False, lint=False)
    report, cov = coverage_report(decks)
    assert _by_line(cov) == {
        LINES["code"]: "code-checked",  # prose, its torch block passed
        LINES["code_false"]: "false",  # its assert fails
        LINES["setting"]: "bound-and-proved",  # eps = 10^{-5}, asserted by the torch block
        LINES["setting_false"]: "false",  # the card says 10^{-4}, the block asserts 1e-5
        LINES["neq"]: "bound-and-proved",  # A @ B == B @ A is false somewhere: a witness
        LINES["no_formula"]: "unbound",  # a check block, but no formula on the card
        LINES["none"]: "nothing-checkable",
    }
    t = cov.total
    assert (t["code_checked"], t["formula_cards"], t["bound_and_proved"]) == (1, 5, 2)
    assert cov.headline() == (
        "2 of 3 formulas on cards are proved; 2 of 5 formula cards bound and proved (40%)"
    )
    errors = sorted((p.location.line, p.code) for p in report.problems if p.severity == "error")
    assert errors == [(19, "code-error"), (31, "card-formula-false")]
    false = next(p for p in report.problems if p.code == "card-formula-false")
    assert "the card says eps = 10**(-4), the torch block asserts 1e-05" in false.message
    text = "\n".join(cov.lines())
    assert "checked by code (no formula on the card; its torch block passed):" in text
    assert f"c.md:{LINES['code']}: card " in text
    # the review screen, from the cache the check filled: what is true, never "formula proved"
    notes = {n.line: n for n in decks.notes}
    assert binding_status(notes[LINES["code"]]) == "code"
    assert binding_status(notes[LINES["code_false"]]) == "false"
    assert binding_status(notes[LINES["setting"]]) == "proved"
    assert binding_status(notes[LINES["setting_false"]]) == "false"
    assert binding_status(notes[LINES["none"]]) == "none"


def test_cli_json_has_the_new_category_and_counts(
    col: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["-C", str(col), "check", "--coverage", "--json", "--no-exec"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1  # the card's eps disagrees with the assert's literal: no run needed
    assert {"code_checked", "formula_cards"} <= set(data["total"])
    assert data["total"]["code_checked"] == 0  # not run: unbound, never code-checked
