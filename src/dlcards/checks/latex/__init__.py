"""Read a card's LaTeX formula into the `check` language, so the formula the learner memorises
is the claim that gets proved (issue 12: "bind the card to its checks"). Pure; no sympy.

The reader is deliberately small and strict: it reads the notation the decks use and refuses
everything else with a `LatexUnreadable` that names the column and the reason. It never guesses:
sympy's own LaTeX parser reads `\\sigma(x)` as a product and `f'(x)` as a derivative of an
unknown, silently; here every construct is either translated by a documented rule or refused.

Rules (docs/checks.md, "Binding the card's formula"):

- `a = b` (also `\\approx`) is a claim `lhs == rhs`; other relations are refused.
- Letters are symbols; adjacent factors multiply (`2x`, `x y`, `\\sigma(x)(1-\\sigma(x))`);
  between two non-scalars (names the block made with `vec`/`mat`, and their transposes)
  adjacency and `\\cdot` are the matrix product `@`, `\\odot` is elementwise `*`.
- Names: Greek letters by name (`\\lambda` -> `lam`, `\\eta` -> `eta`, `\\epsilon` -> `eps`),
  accents as suffixes (`\\hat y` -> `y_hat`, `\\bar x` -> `x_bar`), word subscripts joined
  (`d_{model}` -> `d_model`), number subscripts appended (`W_1` -> `W1`).
- Functions: `\\exp \\log \\ln \\sqrt \\sin \\cos \\tanh`, `\\sigma(…)` (the sigmoid),
  `\\mathrm{softmax}`, `\\operatorname{ReLU}` and the rest of the check vocabulary by name,
  `\\max(a, b)`. An argument without parentheses is one factor (`\\log x`); a function followed
  by more factors without parentheses is refused (`\\log x y`: say `\\log(xy)` or `(\\log x)y`).
- Index notation: a subscript that is a single index letter (`i j k n t m`) marks an entry of a
  vector; a claim whose two sides use the same free index holds for every entry, so the index is
  dropped and the claim is read elementwise (`\\mathrm{softmax}(z)_i = e^{z_i}/\\sum_j e^{z_j}`
  -> `softmax(z) == exp(z)/sum(exp(z))`); `\\sum_j`/`\\prod_j` over an index sum the entries.
- Calculus: `\\frac{d}{dx} f` and `\\frac{df}{dx}` -> `diff(f, x)`; `\\frac{\\partial L}{\\partial W}`
  and `\\nabla_W L` -> `grad(L, W)`; `f'(x)` for a known function -> `diff(f(x), x)`.
- `^\\top`, `^T` -> `.T`; `\\|x\\|` -> `norm(x)`, `\\|x\\|_2^2` -> `sum_sq(x)`; `|x|` -> `abs(x)`.
- Spacing, sizing and font macros (`\\,`, `\\left`, `\\mathbf`, `\\boldsymbol`) are transparent.

Parts (the code of the old `checks/latex.py`, moved):

- `tables`: `Kind`, `LatexUnreadable`, `Claim` and the name tables (`GREEK`, `FUNCTIONS`, `NAMED`, …).
- `tokens`: `strip_cloze` and the tokenizer (`_Tok`, `_tokens`).
- `expressions`: `_E` and the helpers that combine expressions (`_product`, `_vectorise`, …).
- `reader_base`: `_ReaderBase`, the token cursor and `claims`.
- `operators`: `_Operators`, sums, products, postfix, calls and big operators.
- `atoms`: `_Atoms`, subscripts, atoms, macros, variables and fractions.
- `reader`: `_Reader` and `read_claims`, `read_claim`, `read_expr`.
"""

from __future__ import annotations

from dlcards.checks.latex.atoms import _Atoms
from dlcards.checks.latex.expressions import (
    _E,
    _derivative_parts,
    _join_kind,
    _product,
    _vectorise,
    exact_value,
)
from dlcards.checks.latex.operators import _Operators
from dlcards.checks.latex.reader import _Reader, read_claim, read_claims, read_expr
from dlcards.checks.latex.reader_base import _ReaderBase
from dlcards.checks.latex.tables import (
    _ACCENTS,
    _CLOZE,
    _SIZING,
    _SPACE,
    _TRANSPARENT,
    BOLD_NAMES,
    CONSTANTS,
    DUMMY_PREFIX,
    FUNCTIONS,
    GREEK,
    INDEX_LETTERS,
    NAMED,
    NEGATED,
    RELATION_MACROS,
    SCALAR_OF_VECTOR,
    UPDATE,
    UPDATE_SUFFIX,
    VECTOR_RESULT,
    Claim,
    Kind,
    LatexUnreadable,
)
from dlcards.checks.latex.tokens import _GROUPED, _MACRO, UNITS, _Tok, _tokens, strip_cloze

__all__ = [
    "BOLD_NAMES",
    "CONSTANTS",
    "DUMMY_PREFIX",
    "FUNCTIONS",
    "GREEK",
    "INDEX_LETTERS",
    "NAMED",
    "NEGATED",
    "RELATION_MACROS",
    "SCALAR_OF_VECTOR",
    "UNITS",
    "UPDATE",
    "UPDATE_SUFFIX",
    "VECTOR_RESULT",
    "_ACCENTS",
    "_CLOZE",
    "_E",
    "_GROUPED",
    "_MACRO",
    "_SIZING",
    "_SPACE",
    "_TRANSPARENT",
    "Claim",
    "Kind",
    "LatexUnreadable",
    "_Atoms",
    "_Operators",
    "_Reader",
    "_ReaderBase",
    "_Tok",
    "_derivative_parts",
    "_join_kind",
    "_product",
    "_tokens",
    "_vectorise",
    "exact_value",
    "read_claim",
    "read_claims",
    "read_expr",
    "strip_cloze",
]
