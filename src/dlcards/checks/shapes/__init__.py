"""`shapes` blocks: symbolic tensor shapes with PyTorch semantics (docs/checks.md, section 2).

Dimensions are sympy expressions in positive-integer symbols. `where:` constraints give a
canonical substitution (`D == h*d_k`, `H % 2 == 0` -> `H = 2*H_2`) used whenever two sizes are
compared; messages show the sizes as the author wrote them. Pure: no I/O, no clock.

The parts, in the order a block flows through them:
- `sizes`: `Tensor`, `Pieces`, printing sizes, `Dims` (the symbols and their constraints).
- `ops_tensor`: broadcasting helpers; elementwise, matmul, einsum, transposes and reshapes.
- `ops_reduce`: reductions, masking, joining and splitting, creation.
- `ops_layers`: layers: linear, embedding, convolutions, pooling, attention, layer norm.
- `functions`: `Ops` (the PyTorch shape rules, one class over the three families above) and
  the names a statement may call (`_functions`).
- `evaluator`: `ShapeEvaluator`, which walks a statement's `ast`.
- `block`: a block's statements and claims, `evaluate_shapes` and `check_shapes`.
Every name is re-exported here, so `dlcards.checks.shapes.X` still works.
"""

from __future__ import annotations

from dlcards.checks.shapes.block import (
    _NUMERIC_FAILURES,
    ShapeResult,
    _compare,
    _out_of_budget,
    _parse_where,
    _shape_statement,
    _split_arrow,
    _unevaluable,
    check_shapes,
    evaluate_shapes,
)
from dlcards.checks.shapes.evaluator import (
    ShapeEvaluator,
)
from dlcards.checks.shapes.functions import (
    REDUCE,
    SAME,
    Ops,
    _functions,
    _named,
)
from dlcards.checks.shapes.ops_tensor import (
    _bcast,
    _norm_dim,
    _pair,
    _prod,
    _sizes,
    _tensor,
)
from dlcards.checks.shapes.sizes import (
    _PRINTER,
    DECL_RE,
    DEF_RE,
    PREFIXES,
    SAMPLES,
    SHAPES_BUDGET_S,
    SHAPES_HINT,
    Dims,
    Pieces,
    ShapeError,
    Tensor,
    _DimPrinter,
    _int,
    fmt_dim,
    fmt_shape,
)

__all__ = [
    "DECL_RE",
    "DEF_RE",
    "PREFIXES",
    "REDUCE",
    "SAME",
    "SAMPLES",
    "SHAPES_BUDGET_S",
    "SHAPES_HINT",
    "_NUMERIC_FAILURES",
    "_PRINTER",
    "Dims",
    "Ops",
    "Pieces",
    "ShapeError",
    "ShapeEvaluator",
    "ShapeResult",
    "Tensor",
    "_DimPrinter",
    "_bcast",
    "_compare",
    "_functions",
    "_int",
    "_named",
    "_norm_dim",
    "_out_of_budget",
    "_pair",
    "_parse_where",
    "_prod",
    "_shape_statement",
    "_sizes",
    "_split_arrow",
    "_tensor",
    "_unevaluable",
    "check_shapes",
    "evaluate_shapes",
    "fmt_dim",
    "fmt_shape",
]
