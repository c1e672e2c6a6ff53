"""The reader's vocabulary: `Kind`, `LatexUnreadable`, `Claim`, and the name tables (Greek
letters, functions, named operators, transparent/sizing/spacing macros, accents, cloze)."""

from __future__ import annotations

import re
from dataclasses import dataclass

Kind = str  # "S" scalar, "V" vector, "M" matrix


class LatexUnreadable(ValueError):
    """A formula the reader refuses: `column` (1-based) and a reason a learner can act on."""

    def __init__(self, message: str, column: int):
        super().__init__(f"column {column}: {message}")
        self.reason = message
        self.column = column


@dataclass(frozen=True)
class Claim:
    lhs: str
    rhs: str
    approx: bool  # written with \approx: compared numerically at the written precision
    # written with \neq: the card says the sides differ (somewhere in the block's domain);
    # the engine checks `equation` and binding inverts the verdict
    negated: bool = False

    @property
    def equation(self) -> str:
        """The claim the engine checks (for `\\neq`, the equation that must be false)."""
        return f"{self.lhs} == {self.rhs}"

    @property
    def statement(self) -> str:
        return f"{self.lhs} {'!=' if self.negated else '=='} {self.rhs}"


GREEK = {
    "alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta", "epsilon": "eps",
    "varepsilon": "eps", "zeta": "zeta", "eta": "eta", "theta": "theta", "vartheta": "theta",
    "iota": "iota", "kappa": "kappa", "lambda": "lam", "mu": "mu", "nu": "nu", "xi": "xi",
    "rho": "rho", "tau": "tau", "phi": "phi", "varphi": "phi", "chi": "chi", "psi": "psi",
    "omega": "omega", "sigma": "sigma", "Gamma": "Gamma", "Delta": "Delta", "Theta": "Theta", "Lambda": "Lam",
    "Sigma": "Sigma", "Phi": "Phi", "Psi": "Psi", "Omega": "Omega", "ell": "ell",
}  # fmt: skip
CONSTANTS = {"pi": "pi"}
FUNCTIONS = {
    "exp": "exp", "log": "log", "ln": "log", "sin": "sin", "cos": "cos",
    "tan": "tan", "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "arctan": "atan",
    "det": "det",
}  # fmt: skip
# names written with \mathrm / \operatorname / \text, lower-cased
NAMED = {
    "softmax": "softmax", "sigmoid": "sigmoid", "relu": "relu", "gelu": "gelu",
    "softplus": "softplus", "silu": "silu", "swish": "swish", "elu": "elu", "tanh": "tanh",
    "logsumexp": "logsumexp", "lse": "logsumexp", "logit": "logit", "exp": "exp", "log": "log",
    "erf": "erf", "sign": "sign", "sgn": "sign", "mse": "mse", "bce": "bce", "var": "var",
    "tr": "trace", "trace": "trace", "det": "det", "diag": "diag", "max": "max", "min": "min",
    "log_softmax": "log_softmax", "logsoftmax": "log_softmax", "sum": "sum", "mean": "mean",
}  # fmt: skip
VECTOR_RESULT = {"softmax", "log_softmax", "diag"}
SCALAR_OF_VECTOR = {"logsumexp", "mse", "bce", "var", "trace", "det", "sum", "prod", "norm"}
INDEX_LETTERS = set("ijkmnt")
_TRANSPARENT = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
    "textstyle", "mathbf", "boldsymbol", "bm", "mathit", "mathnormal", "limits",
}  # fmt: skip
_SIZING = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
    "biggr", "Biggl", "Biggr",
}  # fmt: skip
_SPACE = {",", ";", ":", "!", " ", "quad", "qquad", "enspace", "thinspace"}
# relations read at the top level of a formula: `=`, `\\approx` (symbols and these macros)
NEGATED = {"neq", "ne"}  # a \neq b: the sides are not equal (everywhere the block samples)
UPDATE = {"leftarrow", "gets"}  # w \leftarrow E: the new value of w (read as `w_new == E`)
RELATION_MACROS = {"approx", *NEGATED, *UPDATE}
UPDATE_SUFFIX = "_new"
# the bold 1 and 0 (`\mathbf{1}`): vectors (or matrices) of ones and zeros the block names
BOLD_NAMES = {"1": "ones_vec", "0": "zeros_vec"}
# the argument of a prime at an expression, f'(g(x)) -> subs(diff(f(at__f), at__f), at__f, g(x));
# binding knows names with this prefix are the reader's own, not the card's
DUMMY_PREFIX = "at__"
_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde"}
_CLOZE = re.compile(r"\{\{c\d+::((?:(?!\{\{c\d+::).)*?)(?:::[^{}]*?)?\}\}", re.S)
