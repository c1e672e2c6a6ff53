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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Claim", "LatexUnreadable", "read_claim", "read_claims", "read_expr", "strip_cloze"]

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

    @property
    def statement(self) -> str:
        return f"{self.lhs} == {self.rhs}"


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
_ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde"}
_CLOZE = re.compile(r"\{\{c\d+::((?:(?!\{\{c\d+::).)*?)(?:::[^{}]*?)?\}\}", re.S)


def strip_cloze(latex: str) -> str:
    """The formula with cloze deletions filled in (`{{c1::x::hint}}` -> `x`)."""
    previous = None
    while previous != latex:
        previous, latex = latex, _CLOZE.sub(r"\1", latex)
    return latex


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, letter, macro, sym, prime
    text: str
    col: int
    spaced: bool = False  # a space or a spacing macro (`\\,`) stands before it


_MACRO = re.compile(r"\\([A-Za-z]+|.)")
_GROUPED = re.compile(r"\d{1,3}(?:(?:\\,|\{,\}|\\ )\d{3})+(?![\d.])")
UNITS = {"k", "m", "million", "b", "billion", "g", "gb", "mb", "kb", "tb", "ms", "s", "%", "x"}


def _tokens(s: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    space = False

    def add(kind: str, text: str, col: int) -> None:
        nonlocal space
        out.append(_Tok(kind, text, col, space))
        space = False

    while i < len(s):
        c = s[i]
        if c.isspace():
            space = True
            i += 1
            continue
        if c == "\\":
            m = _MACRO.match(s, i)
            if m is None:
                raise LatexUnreadable("a backslash at the end", i + 1)
            name = m.group(1)
            if name == "|":
                add("sym", "‖", i + 1)
            elif name in ("{", "}"):
                raise LatexUnreadable(
                    f"a literal brace \\{name} has no meaning in a formula", i + 1
                )
            elif name in _SPACE:
                space = True
            elif name in _SIZING:
                # \left( \bigr] ... size the delimiter that follows; the delimiter is what is read
                nxt = s[m.end() : m.end() + 2]
                if not (nxt[:1] in ("(", ")", "[", "]", "|") or nxt == "\\|"):
                    raise LatexUnreadable(f"\\{name} must stand before a delimiter", i + 1)
            else:
                add("macro", name, i + 1)
            i = m.end()
            continue
        if c.isdigit():
            grouped = _GROUPED.match(s, i)
            if grouped is not None:  # 101\,770 and 60{,}000: thousands separators
                add("num", re.sub(r"\D", "", grouped.group(0)), i + 1)
                i = grouped.end()
                continue
        if c.isdigit() or (c == "." and i + 1 < len(s) and s[i + 1].isdigit()):
            m2 = re.compile(r"\d*\.?\d+").match(s, i)
            assert m2 is not None
            add("num", m2.group(0), i + 1)
            i = m2.end()
            continue
        if c.isascii() and c.isalpha():
            add("letter", c, i + 1)
        elif c == "'":
            add("prime", c, i + 1)
        elif c in "+-*/=(){}[]^_,|<>":
            add("sym", c, i + 1)
        else:
            raise LatexUnreadable(f"'{c}' is not read in formulas", i + 1)
        i += 1
    return out


@dataclass(frozen=True)
class _E:
    """An expression read so far: its check-language text, kind and free index letters."""

    text: str
    kind: Kind = "S"
    indices: frozenset[str] = frozenset()
    atomic: bool = True  # needs no parentheses as an operand

    def paren(self) -> str:
        return self.text if self.atomic else f"({self.text})"


class _Reader:
    def __init__(self, latex: str, kinds: Mapping[str, Kind]):
        self.toks = _tokens(latex)
        self.i = 0
        self.kinds = dict(kinds)
        self.n = len(latex)

    # -- token helpers ---------------------------------------------------------------------
    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def col(self) -> int:
        t = self.peek()
        return t.col if t else self.n + 1

    def fail(self, message: str, col: int | None = None) -> LatexUnreadable:
        return LatexUnreadable(message, self.col() if col is None else col)

    def is_sym(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "sym" and t.text == text

    def next_kind(self, kind: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == kind

    def is_macro(self, *names: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "macro" and t.text in names

    def take(self) -> _Tok:
        t = self.peek()
        if t is None:
            raise self.fail("the formula ends too early")
        self.i += 1
        return t

    def expect(self, text: str) -> None:
        if not self.is_sym(text):
            t = self.peek()
            got = f"'{t.text}'" if t else "the end"
            raise self.fail(f"expected '{text}', found {got}")
        self.i += 1

    def skip_transparent(self) -> None:
        while self.is_macro(*_TRANSPARENT):
            bold = self.is_macro("mathbf", "boldsymbol", "bm")
            col = self.col()
            self.i += 1
            nxt = self.peek(1) if self.is_sym("{") else self.peek()
            if bold and nxt is not None and nxt.kind == "num":
                # \mathbf{1} is the vector of ones (or an indicator), never the number 1
                raise self.fail(
                    f"\\mathbf{{{nxt.text}}} is a vector of {nxt.text}s or an indicator, "
                    "not a number: name it in the check block",
                    col,
                )

    def raw_group(self) -> list[_Tok]:
        """The tokens of `{...}` (or one token)."""
        self.skip_transparent()
        if self.is_sym("{"):
            self.i += 1
            start, depth = self.i, 1
            while depth:
                t = self.take()
                if t.kind == "sym" and t.text == "{":
                    depth += 1
                elif t.kind == "sym" and t.text == "}":
                    depth -= 1
            return self.toks[start : self.i - 1]
        t = self.take()
        if t.kind == "num" and len(t.text) > 1 and t.text.isdigit():
            # TeX reads one digit per argument: \frac12 is 1/2, x^23 is x^2 3
            rest = _Tok("num", t.text[1:], t.col + 1)
            self.toks = [*self.toks[: self.i], rest, *self.toks[self.i :]]
            return [_Tok("num", t.text[0], t.col, t.spaced)]
        return [t]

    def word(self, toks: list[_Tok]) -> str:
        if not toks or not all(t.kind in ("letter", "num") or t.text == "_" for t in toks):
            raise self.fail("expected a name", toks[0].col if toks else None)
        return "".join(t.text for t in toks)

    # -- grammar ---------------------------------------------------------------------------
    def claims(self) -> list[Claim]:
        """`a = b` or a chain `a = b = c` (two claims, each side with the next)."""
        sides = [self.expr()]
        rels: list[bool] = []
        while self.is_sym("=") or self.is_macro("approx"):
            rels.append(self.take().text == "approx")
            sides.append(self.expr())
        t = self.peek()
        if not rels:
            if t is None:
                raise self.fail("not an equation: nothing to prove (write `a = b`)")
            raise self.fail(f"only '=' and '\\approx' are read as claims, not '{t.text}'")
        if t is not None:
            raise self.fail(f"unexpected '{t.text}' after the right-hand side")
        pairs = zip(sides[:-1], sides[1:], rels, strict=True)
        return [_vectorise(a, b, approx) for a, b, approx in pairs]

    def expr(self) -> _E:
        parts: list[str] = []
        kinds: list[Kind] = []
        idx: set[str] = set()
        first = True
        while True:
            sign = ""
            if self.is_sym("+") or self.is_sym("-"):
                sign = self.take().text
            elif not first:
                break
            if sign and self.peek() is None:
                raise self.fail(f"'{sign}' needs something after it")
            t = self.term()
            parts.append((f" {sign} " if not first else ("-" if sign == "-" else "")) + t.text)
            kinds.append(t.kind)
            idx |= t.indices
            atomic = t.atomic
            first = False
            if not (self.is_sym("+") or self.is_sym("-")):
                break
        kind = next((k for k in kinds if k != "S"), "S")
        single = len(parts) == 1 and parts[0][:1] != "-" and atomic
        return _E("".join(parts), kind, frozenset(idx), single)

    def term(self) -> _E:
        factors: list[tuple[str, _E, int]] = [("", self.factor(), self.col())]
        while True:
            t = self.peek()
            if t is None or (t.kind == "sym" and t.text in "+-=)],}|") or self.is_macro("approx"):
                break
            if t.kind == "sym" and t.text == "‖" and self._closing_norm():
                break
            if self.is_macro("cdot"):
                self.i += 1
                factors.append(("cdot", self.factor(), 0))
            elif self.is_macro("odot"):
                self.i += 1
                factors.append(("odot", self.factor(), 0))
            elif self.is_macro("times"):
                raise self.fail(
                    "'\\times' is read only in shapes; write the product as ab or a \\cdot b"
                )
            elif t.kind == "sym" and t.text == "/":
                self.i += 1
                factors.append(("/", self.factor(), 0))
            elif t.kind == "sym" and t.text in "<>":
                raise self.fail(f"only '=' and '\\approx' are read as claims, not '{t.text}'")
            else:
                col = self.col()
                factors.append(("", self.factor(), col))
        return _product(factors)

    def _closing_norm(self) -> bool:
        return getattr(self, "_norm_depth", 0) > 0

    def factor(self) -> _E:
        if self.is_sym("-"):
            self.i += 1
            inner = self.factor()
            return _E(f"-{inner.paren()}", inner.kind, inner.indices, False)
        base = self.postfix()
        return base

    def postfix(self) -> _E:
        e = self.atom()
        while True:
            if self.is_sym("^"):
                self.i += 1
                e = self.power(e)
            elif self.is_sym("_"):
                col = self.col()
                self.i += 1
                sub = self.raw_group()
                e = self.subscript(e, sub, col)
            elif self.next_kind("prime"):
                raise self.fail(
                    "a prime is read only on a function: \\sigma'(x), f'(x) with f known"
                )
            else:
                return e

    def power(self, base: _E) -> _E:
        col = self.col()
        toks = self.raw_group()
        if len(toks) == 1 and (toks[0].text in ("T", "top", "intercal")):
            return _E(f"{base.paren()}.T", base.kind, base.indices)
        sub = _Reader.__new__(_Reader)
        sub.toks, sub.i, sub.kinds, sub.n = toks, 0, self.kinds, self.n
        exp = sub.expr()
        if sub.peek() is not None:
            raise self.fail("cannot read this exponent", col)
        if base.kind != "S" and exp.text == "-1":
            raise self.fail(
                "a matrix inverse: write \\mathrm{inv}? not read yet; use the block", col
            )
        return _E(f"{base.paren()}**{exp.paren()}", base.kind, base.indices | exp.indices)

    def subscript(self, e: _E, toks: list[_Tok], col: int) -> _E:
        if not e.atomic and not e.text.endswith(")"):
            raise self.fail("a subscript on an expression", col)
        if (
            len(toks) == 1
            and toks[0].kind == "letter"
            and toks[0].text in INDEX_LETTERS
            and e.kind != "S"
        ):
            # an entry of a vector the block declares (or of softmax(z)): read per entry
            return _E(e.text, "S", e.indices | {toks[0].text}, e.atomic)
        if e.text.endswith(")") and not e.text[:1].isalpha():
            raise self.fail("a subscript on an expression", col)
        if (
            len(toks) == 1
            and toks[0].kind == "macro"
            and toks[0].text in ("max", "min")
            and re.fullmatch(r"[A-Za-z]\w*", e.text)
        ):
            # \eta_{\max}, \lambda_{\min}: a label, part of the name
            name = f"{e.text}_{toks[0].text}"
            return _E(name, self.kinds.get(name, "S"))
        if all(t.kind in ("letter", "num") for t in toks) and re.fullmatch(r"[A-Za-z]\w*", e.text):
            joined = "".join(t.text for t in toks)
            name = f"{e.text}{joined}" if joined.isdigit() else f"{e.text}_{joined}"
            return _E(name, self.kinds.get(name, "S"))
        if len(toks) == 2 and toks[0].text == "2" and e.text.startswith("norm("):
            return e  # \|x\|_2 is the Euclidean norm
        if len(toks) == 1 and toks[0].text == "1" and e.text.startswith("norm("):
            return _E(f"sum(abs({e.text[5:-1]}))", "S", e.indices)
        if len(toks) == 1 and toks[0].text == "2" and e.text.startswith("norm("):
            return e
        raise self.fail(f"cannot read the subscript {''.join(t.text for t in toks)!r}", col)

    def atom(self) -> _E:
        self.skip_transparent()
        t = self.peek()
        if t is None:
            raise self.fail("the formula ends too early")
        if t.kind == "num":
            self.i += 1
            return _E(t.text)
        if t.kind == "letter":
            self.i += 1
            name = t.text
            if name == "e" and self.is_sym("^"):
                self.i += 1
                col = self.col()
                toks = self.raw_group()
                inner = self.sub_expr(toks, col)
                return _E(f"exp({inner.text})", inner.kind, inner.indices)
            return self.maybe_call(name, _E(name, self.kinds.get(name, "S")), t.col)
        if t.kind == "sym":
            if t.text in "({[":
                self.i += 1
                close = {"(": ")", "{": "}", "[": "]"}[t.text]
                inner = self.expr()
                if self.is_macro("right"):
                    self.i += 1
                self.expect(close)
                if t.text == "{":  # braces group without adding parentheses of their own
                    return inner
                text = inner.text if inner.atomic else f"({inner.text})"
                return _E(text, inner.kind, inner.indices, True)
            if t.text == "|":
                self.i += 1
                inner = self.expr()
                self.expect("|")
                return _E(f"abs({inner.text})", inner.kind, inner.indices)
            if t.text == "‖":
                self.i += 1
                self._norm_depth = getattr(self, "_norm_depth", 0) + 1
                inner = self.expr()
                self._norm_depth -= 1
                if self.is_macro("right"):
                    self.i += 1
                if not self.is_sym("‖"):
                    raise self.fail("a norm \\| ... \\| is never closed")
                self.i += 1
                # \|x\|_2^2 -> sum_sq(x)
                if (
                    self.is_sym("_")
                    and self.peek(1) is not None
                    and self.peek(1).text == "2"  # type: ignore[union-attr]
                    and self.is_sym("^", 2)
                    and self.peek(3) is not None
                    and self.peek(3).text == "2"  # type: ignore[union-attr]
                ):
                    self.i += 4
                    return _E(f"sum_sq({inner.text})", "S", inner.indices)
                return _E(f"norm({inner.text})", "S", inner.indices)
            raise self.fail(f"unexpected '{t.text}'")
        if t.kind == "macro":
            return self.macro_atom(t)
        raise self.fail(f"unexpected '{t.text}'")

    def sub_expr(self, toks: list[_Tok], col: int) -> _E:
        sub = _Reader.__new__(_Reader)
        sub.toks, sub.i, sub.kinds, sub.n = toks, 0, self.kinds, self.n
        e = sub.expr()
        if sub.peek() is not None:
            raise LatexUnreadable(f"cannot read '{sub.peek().text}' here", sub.col())  # type: ignore[union-attr]
        if not toks:
            raise LatexUnreadable("an empty group", col)
        return e

    def macro_atom(self, t: _Tok) -> _E:
        name = t.text
        self.i += 1
        if name in ("frac", "dfrac", "tfrac"):
            return self.fraction(t.col)
        if name in GREEK:
            sym = GREEK[name]
            if name == "sigma" and (self.is_sym("(") or self.next_kind("prime")):
                return self.call("sigmoid", t.col, prime_allowed=True)
            if name == "sigma" and self.is_macro("left"):
                return self.call("sigmoid", t.col, prime_allowed=True)
            e = _E(sym, self.kinds.get(sym, "S"))
            return self.maybe_call(sym, e, t.col)
        if name in CONSTANTS:
            return _E(CONSTANTS[name])
        if name in FUNCTIONS:
            return self.call(FUNCTIONS[name], t.col)
        if name in ("mathrm", "operatorname", "text", "textrm"):
            word = self.word(self.raw_group()).lower()
            if word in NAMED:
                return self.call(NAMED[word], t.col)
            if word == "d":
                raise self.fail("a lone \\mathrm{d} is read only in \\frac{d}{dx}", t.col)
            if word in UNITS:
                raise self.fail(f"a unit ({word}): the formula states a rounded quantity", t.col)
            raise self.fail(f"unknown function name '{word}'", t.col)
        if name in ("max", "min"):
            if self.is_sym("_"):
                return self.big_op(name, t.col)
            return self.call(name, t.col)
        if name in _ACCENTS:
            toks = self.raw_group()
            if len(toks) == 1 and toks[0].kind == "macro" and toks[0].text in GREEK:
                base = GREEK[toks[0].text]  # \bar\alpha, \hat{\epsilon}
            else:
                base = self.word(toks)
            sym = f"{base}_{_ACCENTS[name]}"
            return _E(sym, self.kinds.get(sym, "S"))
        if name == "sqrt":
            if self.is_sym("["):
                raise self.fail("an n-th root: write x^{1/n}", t.col)
            inner = self.sub_expr(self.raw_group(), t.col)
            return _E(f"sqrt({inner.text})", inner.kind, inner.indices)
        if name in ("sum", "prod"):
            return self.big_op(name, t.col)
        if name == "nabla":
            if not self.is_sym("_"):
                raise self.fail("\\nabla needs the variable: \\nabla_W L", t.col)
            self.i += 1
            var = self.variable(self.raw_group(), t.col)
            self.skip_transparent()
            f = self.postfix()
            return _E(f"grad({f.text}, {var})", self.kinds.get(var, "S"), f.indices)
        if name == "partial":
            # \partial L / \partial W
            f = self.postfix()
            if not self.is_sym("/"):
                raise self.fail(
                    "\\partial is read as \\partial f / \\partial x or in \\frac", t.col
                )
            self.i += 1
            if not self.is_macro("partial"):
                raise self.fail("expected \\partial x after /", t.col)
            self.i += 1
            var_e = self.postfix()
            if not re.fullmatch(r"[A-Za-z]\w*", var_e.text):
                raise self.fail("the variable to differentiate by must be a name", t.col)
            return _E(f"grad({f.text}, {var_e.text})", self.kinds.get(var_e.text, "S"), f.indices)
        raise self.fail(f"\\{name} is not read in formulas", t.col)

    def variable(self, toks: list[_Tok], col: int) -> str:
        """The name of a differentiation variable: a letter, Greek letter or accent form."""
        sub = _Reader.__new__(_Reader)
        sub.toks, sub.i, sub.kinds, sub.n = toks, 0, self.kinds, self.n
        e = sub.postfix()
        if sub.peek() is not None or not re.fullmatch(r"[A-Za-z]\w*", e.text):
            raise LatexUnreadable("the variable to differentiate by must be a name", col)
        return e.text

    def call(self, fn: str, col: int, prime_allowed: bool = False) -> _E:
        derivative = False
        if self.next_kind("prime"):
            if not prime_allowed and fn not in ("exp", "tanh", "sin", "cos", "log", "sigmoid"):
                raise self.fail(f"{fn}' is not read", col)
            self.i += 1
            derivative = True
        pow_before = None
        if self.is_sym("^") and not derivative:
            # \log^2 x, \tanh^2(x): power of the function value
            self.i += 1
            pow_before = self.sub_expr(self.raw_group(), col)
        self.skip_transparent()
        if self.is_sym("("):
            self.i += 1
            args = [self.expr()]
            while self.is_sym(","):
                self.i += 1
                args.append(self.expr())
            if self.is_macro("right"):
                self.i += 1
            self.expect(")")
        else:
            if derivative:
                raise self.fail(f"{fn}' needs its argument in parentheses", col)
            arg = self.postfix_or_bigop()
            t = self.peek()
            if t is not None and (
                t.kind in ("letter", "num", "macro") and not self.is_macro("cdot", "odot", "approx")
            ):
                raise self.fail(
                    f"what does {fn} apply to? add parentheses: {fn}(… …) or ({fn} …)…", col
                )
            args = [arg]
        text_args = ", ".join(a.text for a in args)
        idx = frozenset().union(*(a.indices for a in args))
        kind: Kind = "S"
        if fn in VECTOR_RESULT:
            kind = "V"
        elif fn not in SCALAR_OF_VECTOR and fn not in ("max", "min") and len(args) == 1:
            kind = args[0].kind
        out = _E(f"{fn}({text_args})", kind, idx)
        if derivative:
            if len(args) != 1 or not re.fullmatch(r"[A-Za-z]\w*", args[0].text):
                raise self.fail(f"{fn}'(…) is read only at a variable: {fn}'(x)", col)
            out = _E(f"diff({out.text}, {args[0].text})", kind, idx)
        if pow_before is not None:
            out = _E(f"{out.text}**{pow_before.paren()}", kind, idx | pow_before.indices)
        return out

    def postfix_or_bigop(self) -> _E:
        if self.is_macro("sum", "prod"):
            t = self.take()
            return self.big_op(t.text, t.col)
        if self.is_macro("frac", "dfrac", "tfrac"):
            t = self.take()
            return self.fraction(t.col)
        return self.postfix()

    def maybe_call(self, name: str, e: _E, col: int) -> _E:
        if self.kinds.get(name) == "F":
            # a function the block defines: g'(x) is its derivative at a variable
            return self.call(name, col, prime_allowed=True)
        if self.next_kind("prime"):
            raise self.fail(
                f"{name}' is not a known function: prove the derivative in the block", col
            )
        nxt = self.peek()
        if (self.is_sym("(") or self.is_macro("left")) and nxt is not None and not nxt.spaced:
            raise self.fail(
                f"is {name}(…) a function or a product? define {name}(…) in the check block, "
                f"or write {name} \\cdot (…) for a product",
                col,
            )
        return e

    def big_op(self, name: str, col: int) -> _E:
        index: str | None = None
        if self.is_sym("_"):
            self.i += 1
            sub = self.raw_group()
            if not sub or sub[0].kind != "letter" or sub[0].text not in INDEX_LETTERS:
                raise self.fail(
                    f"\\{name} is read over an index letter: \\{name}_i or \\{name}_{{i=1}}^n", col
                )
            index = sub[0].text
            if len(sub) > 1 and not (
                sub[1].text == "=" and len(sub) == 3 and sub[2].text in ("0", "1")
            ):
                raise self.fail(
                    f"\\{name} is read over all entries: \\{name}_{{i=1}}^n or \\{name}_i", col
                )
        if self.is_sym("^"):
            self.i += 1
            self.raw_group()  # the upper limit is the vector's length
        if index is None:
            raise self.fail(f"\\{name} needs its index: \\{name}_i", col)
        body = self.term()
        if index not in body.indices:
            raise self.fail(f"the body of \\{name}_{index} does not use the index {index}", col)
        return _E(f"{name}({body.text})", "S", body.indices - {index})

    def fraction(self, col: int) -> _E:
        num_toks = self.raw_group()
        den_toks = self.raw_group()
        d = _derivative_parts(num_toks, den_toks)
        if d is not None:
            kind, f_toks, var_toks = d
            var = self.variable(var_toks, col)
            if f_toks:
                f = self.sub_expr(f_toks, col)
            else:
                self.skip_transparent()
                f = self.postfix_or_bigop()
            fn = "diff" if kind == "d" else "grad"
            return _E(
                f"{fn}({f.text}, {var})",
                f.kind if fn == "diff" else self.kinds.get(var, "S"),
                f.indices,
            )
        num = self.sub_expr(num_toks, col)
        den = self.sub_expr(den_toks, col)
        return _E(
            f"{num.paren()}/{den.paren()}",
            _join_kind(num.kind, den.kind),
            num.indices | den.indices,
            False,
        )


def _join_kind(a: Kind, b: Kind) -> Kind:
    return a if a != "S" else b


def _product(factors: list[tuple[str, _E, int]]) -> _E:
    text = factors[0][1].paren()
    kind = factors[0][1].kind
    idx = set(factors[0][1].indices)
    for op, f, col in factors[1:]:
        if idx and f.indices and idx != f.indices:
            # x_i y_j is entry (i, j) of an outer product: reading it per entry would say x * y
            raise LatexUnreadable(
                f"a product of entries with different free indices "
                f"({', '.join(sorted(idx | f.indices))}) is not read per entry: "
                "write the matrix (x y^\\top) or sum over the index",
                col,
            )
        if op == "/":
            sym = "/"
        elif op == "odot":
            sym = "*"
        elif kind == "V" and f.kind == "V" and op == "" and f.text.endswith(".T"):
            # a b^\top: the outer product (a matrix)
            text = f"outer({text}, {f.text[: -len('.T')]})"
            kind = "M"
            idx |= f.indices
            continue
        elif kind == "V" and f.kind == "V" and op == "" and text.endswith(".T"):
            sym = " @ "  # a^\top b: the dot product
        elif kind == "V" and f.kind == "V" and op == "":
            raise LatexUnreadable(
                "two vectors side by side: write a^\\top b or a \\cdot b for the dot product, "
                "a \\odot b for the elementwise product",
                col,
            )
        elif kind != "S" and f.kind != "S":
            sym = " @ "
        else:
            sym = "*"
        text = f"{text}{sym}{f.paren()}"
        if sym == " @ ":
            kind = (
                "S"
                if kind == "V" and f.kind == "V"
                else ("M" if kind == "M" and f.kind == "M" else "V")
            )
        else:
            kind = _join_kind(kind, f.kind)
        idx |= f.indices
    return _E(text, kind, frozenset(idx), len(factors) == 1 and factors[0][1].atomic)


def _derivative_parts(
    num: list[_Tok], den: list[_Tok]
) -> tuple[str, list[_Tok], list[_Tok]] | None:
    """`\\frac{d}{dx}`, `\\frac{df}{dx}`, `\\frac{\\partial L}{\\partial W}` -> (d|partial, f, x)."""

    def lead(toks: list[_Tok]) -> str | None:
        if toks and toks[0].kind == "letter" and toks[0].text == "d":
            return "d"
        if toks and toks[0].kind == "macro" and toks[0].text == "partial":
            return "partial"
        if toks and toks[0].kind == "macro" and toks[0].text == "mathrm" and len(toks) > 3:
            return None
        return None

    a, b = lead(num), lead(den)
    if a is None or a != b or len(den) < 2:
        return None
    if (
        a == "d"
        and len(num) > 1
        and num[1].kind == "letter"
        and len(den) == 2
        and num[1].text == den[1].text
    ):
        return None  # \frac{dx}{dx}? leave to the plain fraction reading
    return a, num[1:], den[1:]


def _vectorise(lhs: _E, rhs: _E, approx: bool) -> Claim:
    free = lhs.indices | rhs.indices
    if lhs.indices != rhs.indices:
        missing = sorted(free - (lhs.indices & rhs.indices))
        raise LatexUnreadable(
            f"the index {missing[0]} is free on one side only: the claim is not per entry", 1
        )
    return Claim(lhs.text, rhs.text, approx)


def read_claims(latex: str, kinds: Mapping[str, Kind] | None = None) -> list[Claim]:
    """The claims a formula states (`a = b`, or `a = b = c`), in the check language. `kinds`
    names the block's vectors ('V'), matrices ('M') and functions ('F'); every other name is a
    scalar. Raises LatexUnreadable."""
    reader = _Reader(strip_cloze(latex), kinds or {})
    return reader.claims()


def read_claim(latex: str, kinds: Mapping[str, Kind] | None = None) -> Claim:
    """The one claim of `a = b` (a chain is refused here: use read_claims)."""
    found = read_claims(latex, kinds)
    if len(found) != 1:
        raise LatexUnreadable("a chain of equations: read it with read_claims", 1)
    return found[0]


def read_expr(latex: str, kinds: Mapping[str, Kind] | None = None) -> str:
    """One expression (no relation), in the check language. Raises LatexUnreadable."""
    reader = _Reader(strip_cloze(latex), kinds or {})
    e = reader.expr()
    if reader.peek() is not None:
        raise reader.fail(f"unexpected '{reader.take().text}'")
    return e.text
