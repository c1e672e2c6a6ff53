"""Bind a card's own text to its checked blocks (issue 12, item 1). Pure: no I/O, no clock.

What a learner memorises is the formula on the card, not the `check` block under it. This
module finds those formulas and proves them *in the block's context*:

- `card_formulas(note)` (no sympy) lists the formulas a card states, each with its line:
    * `relation`: a math span of the answer (or a cloze card's math span that holds a deletion)
      whose top level is `a = b` or `a \\approx b`;
    * `answer`: on a card with a `check` block, the answer's leading math span when it is an
      expression (`$2x$`), and a cloze deletion's math that is not a relation: it must equal a
      side of one of the block's claims;
    * `shape`: on a card with a `shapes` block, the answer's first shape tuple (`$(N, C)$` or
      `` `(N, C)` ``): it must be the shape of one of the block's claims.
- `bind_block(kind, block_text, formulas)` (sympy, in the checker's workers) checks the block
  once with the card's formulas appended as claims (translated by `checks.latex` with the kinds
  of the block's names), and returns the block's own problems plus one `Outcome` per formula:
  `proved`, `numeric` (true at every sampled point, no proof), `false` (an error at the
  formula's line), `unbound` (the formula cannot be read, or names something the block does not
  define: counted and listed, not an error) or `budget` (out of CPU time: not cached).

A formula is bound only when every name it uses is a name of the block (defined, a function,
or a symbol the block uses): a card's `L` is never proved against an unrelated symbol.

The parts:
- `outcomes`: `CardFormula`, `Outcome`, their statuses and ranks, `best`, `outcome_problem`.
- `formulas`: finding a card's formulas (no sympy): `card_formulas`, `formula_payload`,
  `free_payload`.
- `bind`: `bind_block`, which sends a block to one of the two below.
- `prove`: binding formulas to a `check` block and proving them in its context.
- `shape_binding`: binding a card's shape tuples to a `shapes` block's claims.
- `torch_values`: binding a card's setting (`$T = 1000$`) to a torch block's tagged assert
  (`assert … == 1000  # card: T`).
Every name is re-exported here, so `dlcards.checks.binding.X` still works.
"""

from __future__ import annotations

from dlcards.checks.binding.bind import (
    SHAPES_BIND_BUDGET_S,
    bind_block,
)
from dlcards.checks.binding.formulas import (
    _CODE,
    _FENCE,
    _LONE_NAME,
    _MATH,
    _TUPLE,
    _answer_position,
    _blank,
    _is_tuple,
    _lead_lines,
    _top_level_relation,
    card_formulas,
    formula_payload,
    free_payload,
)
from dlcards.checks.binding.outcomes import (
    _RANK,
    OUTCOME_CODES,
    CardFormula,
    FormulaKind,
    Outcome,
    Status,
    best,
    outcome_problem,
)
from dlcards.checks.binding.prove import (
    _answer_outcome,
    _bind_check,
    _block_info,
    _BlockInfo,
    _exact_decimals,
    _foreign,
    _free_names,
    _names,
    _setting,
    _verdict,
)
from dlcards.checks.binding.shape_binding import (
    _bind_shapes,
    _card_dims,
    _declarations,
    _dims,
    _fmt_shape,
    _names_of,
    _same,
    _shape_claims,
    _shape_mismatch,
    _sym,
)
from dlcards.checks.binding.torch_values import TorchValue, bind_torch_value, torch_values

__all__ = [
    "OUTCOME_CODES",
    "SHAPES_BIND_BUDGET_S",
    "_CODE",
    "_FENCE",
    "_LONE_NAME",
    "_MATH",
    "_RANK",
    "_TUPLE",
    "CardFormula",
    "FormulaKind",
    "Outcome",
    "Status",
    "TorchValue",
    "_BlockInfo",
    "_answer_outcome",
    "_answer_position",
    "_bind_check",
    "_bind_shapes",
    "_blank",
    "_block_info",
    "_card_dims",
    "_declarations",
    "_dims",
    "_exact_decimals",
    "_fmt_shape",
    "_foreign",
    "_free_names",
    "_is_tuple",
    "_lead_lines",
    "_names",
    "_names_of",
    "_same",
    "_setting",
    "_shape_claims",
    "_shape_mismatch",
    "_sym",
    "_top_level_relation",
    "_verdict",
    "best",
    "bind_block",
    "bind_torch_value",
    "card_formulas",
    "formula_payload",
    "free_payload",
    "outcome_problem",
    "torch_values",
]
