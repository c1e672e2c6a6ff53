"""`_Atoms`: the reader's atom half: subscripts, atoms (numbers, letters, groups, norms,
absolute values), macros (Greek, functions, accents, `\\nabla`), variables, fractions."""

from __future__ import annotations

import re

from dlcards.checks.latex.expressions import _E, _derivative_parts, _join_kind
from dlcards.checks.latex.reader_base import _ReaderBase
from dlcards.checks.latex.tables import (
    _ACCENTS,
    CONSTANTS,
    FUNCTIONS,
    GREEK,
    INDEX_LETTERS,
    NAMED,
    LatexUnreadable,
)
from dlcards.checks.latex.tokens import UNITS, _Tok


class _Atoms(_ReaderBase):
    """Subscripts, atoms, macros, variables and fractions."""

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
        sub = type(self).__new__(type(self))
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
        sub = type(self).__new__(type(self))
        sub.toks, sub.i, sub.kinds, sub.n = toks, 0, self.kinds, self.n
        e = sub.postfix()
        if sub.peek() is not None or not re.fullmatch(r"[A-Za-z]\w*", e.text):
            raise LatexUnreadable("the variable to differentiate by must be a name", col)
        return e.text

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
