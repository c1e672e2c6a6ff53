"""`_Atoms`: the reader's atom half: subscripts, atoms (numbers, letters, groups, norms,
absolute values), macros (Greek, functions, accents, `\\nabla`), variables, fractions."""

from __future__ import annotations

import math
import re

from dlcards.checks.latex.expressions import _E, _derivative_parts, _join_kind, exact_value
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

_OFFSET_SUBSCRIPT = re.compile(r"[A-Za-z0-9]+(?:[-+][A-Za-z0-9]+)+")


class _Atoms(_ReaderBase):
    """Subscripts, atoms, macros, variables and fractions."""

    def subscript(self, e: _E, toks: list[_Tok], col: int) -> _E:
        if not e.atomic and not e.text.endswith(")"):
            raise self.fail("a subscript on an expression", col)
        declared = f"{e.text}_{''.join(t.text for t in toks)}"
        if (
            len(toks) == 1
            and toks[0].kind == "letter"
            and (toks[0].text in INDEX_LETTERS or toks[0].text in self.bound)
            and e.kind != "S"
            and not (declared in self.kinds or declared in self.names)
        ):
            if e.kind == "M":
                # \delta_n of a matrix: its row n, or an entry? never guess
                raise self.fail(
                    f"{declared} has one index on a matrix: a row or an entry? not read "
                    "(write the row as a vector the block defines)",
                    col,
                )
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
        named = re.fullmatch(r"[A-Za-z]\w*", e.text) is not None
        if all(t.kind in ("letter", "num") for t in toks) and named:
            joined = "".join(t.text for t in toks)
            name = f"{e.text}{joined}" if joined.isdigit() else f"{e.text}_{joined}"
            return _E(name, self.kinds.get(name, "S"))
        if named and len(toks) == 1 and toks[0].kind == "macro" and toks[0].text in GREEK:
            # \epsilon_\theta -> eps_theta: a Greek label is part of the name
            name = f"{e.text}_{GREEK[toks[0].text]}"
            return _E(name, self.kinds.get(name, "S"))
        if named and _OFFSET_SUBSCRIPT.fullmatch("".join(t.text for t in toks)):
            # x_{t-1} -> x_tm1, h_{t+1} -> h_tp1, PE_{2i+1} -> PE_2ip1: a name of its own
            joined = "".join(t.text for t in toks).replace("-", "m").replace("+", "p")
            name = f"{e.text}_{joined}"
            return _E(name, self.kinds.get(name, "S"))
        if named and any(t.text in ("<", ">") for t in toks):
            raise self.fail(
                f"a subscript {''.join(t.text for t in toks)!r} names a range of steps "
                "(x_{<t}): not read",
                col,
            )
        if len(toks) == 2 and toks[0].text == "2" and e.text.startswith("norm("):
            return e  # \|x\|_2 is the Euclidean norm
        if len(toks) == 1 and toks[0].text == "1" and e.text.startswith("norm("):
            return _E(f"sum(abs({e.text[5:-1]}))", "S", e.indices)
        if len(toks) == 1 and toks[0].text == "2" and e.text.startswith("norm("):
            return e
        raise self.fail(f"cannot read the subscript {''.join(t.text for t in toks)!r}", col)

    def atom(self) -> _E:
        bold = self.skip_transparent(bold_ok=True)
        if bold is not None:  # \mathbf{1}: the block's `ones_vec`
            return _E(bold, self.kinds.get(bold, "V"))
        t = self.peek()
        if t is None:
            raise self.fail("the formula ends too early")
        if t.kind == "num":
            self.i += 1
            return _E(t.text)
        if t.kind == "letter":
            run = self._declared_run()
            if run is not None:  # TP, FN, PPL: a name the block declares, written together
                return self.maybe_call(run, _E(run, self.kinds.get(run, "S")), t.col)
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
                if t.text == "(" and self.is_sym(","):
                    return self._tuple(inner, t.col)
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

    def _declared_run(self) -> str | None:
        """The longest run of letters written together (no space) from here that is a name
        the block declares (`TP`, `PPL`), consumed; None when there is none."""
        run: list[_Tok] = []
        k = 0
        while True:
            t = self.peek(k)
            if t is None or t.kind != "letter" or (k and t.spaced):
                break
            run.append(t)
            k += 1
        known = self.names | set(self.kinds)
        for size in range(len(run), 1, -1):
            name = "".join(t.text for t in run[:size])
            stem = self.is_sym("_", size) and any(n.startswith(f"{name}_") for n in known)
            if name in known or stem:  # PE_{2i+1}: the stem of the block's PE_2ip1
                self.i += size
                return name
        return None

    def _tuple(self, first: _E, col: int) -> _E:
        """`(a, b, c)`: a vector of its components, `[a, b, c]`."""
        items = [first]
        while self.is_sym(","):
            self.i += 1
            items.append(self.expr())
        self.expect(")")
        if any(x.kind != "S" for x in items):
            raise self.fail("a tuple of vectors or matrices is not read", col)
        idx = frozenset().union(*(x.indices for x in items))
        return _E("[" + ", ".join(x.text for x in items) + "]", "V", idx)

    def _floor(self, name: str, col: int) -> _E:
        """`\\lfloor E \\rfloor`, `\\lceil E \\rceil`: read only for a closed form (numbers),
        whose value is computed exactly; the check language has no floor or ceiling."""
        inner = self.expr()
        close = "rfloor" if name == "lfloor" else "rceil"
        if not self.is_macro(close):
            raise self.fail(f"\\{name} is never closed with \\{close}")
        self.i += 1
        value = exact_value(inner.text)
        if value is None:
            raise self.fail(
                f"\\{name} … \\{close} of a symbolic expression: the check language has no "
                "floor or ceiling (a closed form such as \\lfloor (7-3)/2 \\rfloor is read)",
                col,
            )
        whole = math.floor(value) if name == "lfloor" else math.ceil(value)
        return _E(str(whole))

    def sub_expr(self, toks: list[_Tok], col: int) -> _E:
        sub = self._sub(toks)
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
        if name in ("lfloor", "lceil"):
            return self._floor(name, t.col)
        if name in ("mathrm", "operatorname", "text", "textrm"):
            written = self.word(self.raw_group())
            if written in self.names or written in self.kinds:
                # \mathrm{FPR}, \text{specificity}: a name the block declares
                return self.maybe_call(written, _E(written, self.kinds.get(written, "S")), t.col)
            word = written.lower()
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
                # \nabla f(x), \nabla L(w): the gradient of a function the block defines, at
                # a variable
                self.skip_transparent()
                nxt = self.peek()
                fn = nxt.text if nxt is not None else ""
                if nxt is not None and nxt.kind == "macro" and fn in GREEK:
                    fn = GREEK[fn]
                bare = self.params.get(fn, ())
                if self.kinds.get(fn) == "F" and len(bare) == 1 and not self.is_sym("(", 1):
                    # \nabla f of a one-parameter function: its gradient at its parameter
                    self.i += 1
                    return _E(f"grad({fn}({bare[0]}), {bare[0]})", self.kinds.get(bare[0], "S"))
                if self.kinds.get(fn) == "F":
                    f = self.postfix()
                    m = re.fullmatch(r"(\w+)\(([A-Za-z]\w*)\)", f.text)
                    if m and m.group(1) == fn:
                        var = m.group(2)
                        return _E(f"grad({f.text}, {var})", self.kinds.get(var, "S"), f.indices)
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
            if self.kinds.get(var_e.text) == "V" and f.kind == "V":
                return _E(f"jacobian({f.text}, {var_e.text})", "M", f.indices)
            return _E(f"grad({f.text}, {var_e.text})", self.kinds.get(var_e.text, "S"), f.indices)
        raise self.fail(f"\\{name} is not read in formulas", t.col)

    def variable(self, toks: list[_Tok], col: int) -> str:
        """The name of a differentiation variable: a letter, Greek letter or accent form."""
        sub = self._sub(toks)
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
            if kind == "partial" and self.kinds.get(var) == "V" and f.kind == "V":
                # \frac{\partial h_t}{\partial h_{t-1}}: a vector by a vector is the Jacobian
                return _E(f"jacobian({f.text}, {var})", "M", f.indices)
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
