"""`bind_block`: binding a card's formulas to a `check` or `shapes` block (shapes under a CPU
budget).
"""

from __future__ import annotations

from dlcards.checks.binding.outcomes import Outcome
from dlcards.checks.binding.prove import _bind_check
from dlcards.checks.binding.shape_binding import _bind_shapes
from dlcards.checks.common import BlockProblem

# ---------------------------------------------------------------------------------------------
# Proving them in the block's context (sympy, imported lazily by the check engine)


def bind_block(
    kind: str, text: str, formulas: list[list[str]]
) -> tuple[list[BlockProblem], list[Outcome]]:
    """The block's own problems and one outcome per formula (`formula_payload` form)."""
    if kind == "check":
        return _bind_check(text, formulas)
    if kind == "shapes":
        from dlcards.checks.math import _Timeout, time_budget

        # the shapes checker has its own budgets; the card side of the binding gets one too,
        # so a hostile size (2**2**2**2**2) ends as an unbound formula, never a hang
        try:
            with time_budget(SHAPES_BIND_BUDGET_S):
                return _bind_shapes(text, formulas)
        except (_Timeout, MemoryError, RecursionError, OverflowError):
            from dlcards.checks.shapes import check_shapes

            problems = check_shapes(text)
            why = "binding this card's shapes ran out of its budget"
            return problems, [Outcome(i, "unbound", why) for i in range(len(formulas))]
    raise ValueError(f"cannot bind to a {kind} block")


SHAPES_BIND_BUDGET_S = 3.0
