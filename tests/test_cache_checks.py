"""The per-block check cache keeps verdicts and never a result that depended on the machine's
speed: a proof that ran out of its budget is proved again next run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dlcards.app import verify
from dlcards.system.decks import read_decks

DECK = (
    "Q: d/dx x^2?\nA: $2x$\n\n```check\ndiff(x**2, x) == 2*x\n```\n\n"
    "Q: A hard one?\nA: yes\n\n```check\nsin(x)**2 + cos(x)**2 == 1\n```\n"
)


def _check(root: Path) -> verify.CheckTally:
    decks = read_decks(root)
    report = verify.CheckTally()
    verify.run_checks(decks, list(decks.problems), report=report, no_exec=True)
    return report


@pytest.fixture
def slow_machine(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The real checker, except that the second claim runs out of its proof budget (as on a
    loaded machine). Returns the texts of the blocks checked, in order."""
    real = verify._check_pure
    seen: list[str] = []

    def checker(item: tuple[str, str]) -> list[dict[str, Any]]:
        seen.append(item[1])
        if "sin" in item[1]:
            return [
                {
                    "offset": 0,
                    "severity": "warning",
                    "code": "proof-budget",
                    "message": "claim holds at 12 random points but was not proved within "
                    "3 s of CPU time",
                    "hint": None,
                }
            ]
        return real(item)

    monkeypatch.setattr(verify, "_check_pure", checker)
    return seen


def test_an_out_of_budget_proof_is_checked_again(collection: Path, slow_machine: list[str]) -> None:
    (collection / "decks" / "a.md").write_text(DECK, encoding="utf-8")
    first = _check(collection)
    assert (first.blocks, first.cached, first.ran) == (2, 0, 2)
    second = _check(collection)
    assert (second.cached, second.ran) == (1, 1)  # the verdict is kept, the time-out is not
    assert [t for t in slow_machine if "sin" in t] == ["sin(x)**2 + cos(x)**2 == 1\n"] * 2


def test_cacheable_results() -> None:
    verdict = [{"offset": 0, "severity": "error", "code": "claim-false", "message": "false at x=1"}]
    assert verify.cacheable(verdict) and verify.cacheable([])
    for code in ("internal", "code-not-run", "code-timeout", "proof-budget", "claim-undecided"):
        assert not verify.cacheable([{"code": code, "message": ""}])
