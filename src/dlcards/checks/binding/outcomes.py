"""What binding a formula can end as: `CardFormula`, `Outcome`, statuses, `best`, `outcome_problem`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from dlcards.checks.common import PROOF_BUDGET

FormulaKind = Literal["relation", "answer", "expression", "shape"]
# failed: bound to a claim of the block that fails (the block's own error reports it)
Status = Literal["proved", "numeric", "false", "failed", "unbound", "budget"]
_RANK: dict[str, int] = {
    "proved": 5,
    "numeric": 4,
    "budget": 3,
    "failed": 2,
    "false": 1,
    "unbound": 0,
}

# codes of the outcome records (kept with the block's problems in the result cache)
OUTCOME_CODES: dict[str, str] = {
    "proved": "card-formula-proved",
    "numeric": "card-formula-unproved",
    "false": "card-formula-false",
    "failed": "card-formula-block-fails",
    "unbound": "card-formula-unbound",
    "budget": PROOF_BUDGET,
}


@dataclass(frozen=True)
class CardFormula:
    """A formula the card states: what kind, its LaTeX (cloze filled in), its line in the file."""

    kind: FormulaKind
    latex: str
    line: int
    unread: str = ""  # why the formula cannot be bound before reading it (a unit after it)

    @property
    def shown(self) -> str:
        return self.latex if self.kind == "shape" else f"${self.latex}$"


@dataclass(frozen=True)
class Outcome:
    """What binding found for the formula `index` of the list given to `bind_block`."""

    index: int
    status: Status
    message: str = ""  # false / numeric: the engine's message; unbound: the reason
    claim: str = ""  # the claim proved (check language), when the formula was read

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.index,
            "code": OUTCOME_CODES[self.status],
            "status": self.status,
            "message": self.message,
            "claim": self.claim,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        return cls(int(d["formula"]), d["status"], str(d["message"]), str(d["claim"]))


def best(outcomes: Iterable[Outcome]) -> Outcome | None:
    """The strongest outcome for one formula over several blocks (proved beats false: the
    formula holds in some block's context; false beats unbound: it was read and is wrong)."""
    found = list(outcomes)
    return max(found, key=lambda o: _RANK[o.status]) if found else None


def outcome_problem(
    formula: CardFormula, outcome: Outcome
) -> tuple[str, str, str, str | None] | None:
    """(severity, code, message, hint) of an outcome worth reporting at the formula's line."""
    if outcome.status == "false":
        if formula.kind == "shape":
            return (
                "error",
                "card-shape-false",
                f"the card's shape is false: {outcome.message}",
                "fix the shape on the card (the shapes block proves the one it names)",
            )
        return (
            "error",
            "card-formula-false",
            f"the card's formula is false: {outcome.message}",
            f"the card says {formula.shown}, read as `{outcome.claim}`; fix the card "
            f"(or the {'torch' if outcome.claim.startswith('torch:') else 'check'} block, "
            "if the card is right)",
        )
    if outcome.status == "numeric":
        return (
            "warning",
            "card-formula-unproved",
            f"the card's formula holds numerically but was not proved: {outcome.message}",
            "add `where:` bounds if it holds only on a domain; --strict makes this an error",
        )
    if outcome.status == "budget":
        return ("warning", PROOF_BUDGET, f"the card's formula: {outcome.message}", None)
    return None
