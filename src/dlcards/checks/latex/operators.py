"""`_Operators`: the reader's operator and call half: sums, products, factors, postfix
(transpose, primes, powers), function calls, big operators (`\\sum`, `\\prod`)."""

from __future__ import annotations

import re

from dlcards.checks.latex.expressions import _E, _product
from dlcards.checks.latex.reader_base import _ReaderBase
from dlcards.checks.latex.tables import (
    DUMMY_PREFIX,
    RELATION_MACROS,
    SCALAR_OF_VECTOR,
    VECTOR_RESULT,
    Kind,
)

_CLOSERS = ("rfloor", "rceil")


class _Operators(_ReaderBase):
    """Sums, products, factors, postfix, calls and big operators."""

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
            if (
                t is None
                or (t.kind == "sym" and t.text in "+-=)],}|")
                or self.is_macro(*RELATION_MACROS, *_CLOSERS)
            ):
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
                raise self.fail(
                    "only '=', '\\approx', '\\neq' and '\\leftarrow' are read as claims, "
                    f"not '{t.text}'"
                )
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
        upright = self.is_macro("mathrm", "operatorname", "text", "textrm")
        e = self.atom()
        if e.text == "E" and self.is_sym("["):
            raise self.fail("E[…] is an expectation: not read (say it in words)")
        while True:
            if self.is_sym("^") and self._star_next():
                # x^*, D^*(x): a starred name (the optimum), `x_star`
                col = self.col()
                self.i += 3 if self.is_sym("{", 1) else 2
                if not re.fullmatch(r"[A-Za-z]\w*", e.text):
                    raise self.fail("a star on an expression: only a name is starred", col)
                name = f"{e.text}_star"
                e = self.maybe_call(name, _E(name, self.kinds.get(name, "S")), col)
            elif self.is_sym("^"):
                self.i += 1
                e = self.power(e)
            elif self.is_sym("_"):
                col = self.col()
                self.i += 1
                sub = self.raw_group()
                written = f"{e.text}_{''.join(t.text for t in sub)}"
                e = self.subscript(e, sub, col)
                if self.kinds.get(e.text) == "F":
                    # \epsilon_\theta(x_t, c), r_\theta(x): a function the block names
                    e = self.call(e.text, col, prime_allowed=True)
                elif upright and self._unspaced_paren():
                    # \mathrm{rank}_r(d) reads as a function applied to d: never guess a product
                    raise self.fail(
                        f"is {written}(…) a function or a product? define it as a function "
                        "in the check block, or write \\cdot (…) for a product",
                        col,
                    )
            elif self.next_kind("prime"):
                var = self._prime_variable(e)
                if var is None:
                    raise self.fail(
                        "a prime is read only on a function: \\sigma'(x), f'(x) with f known"
                    )
                self.i += 1
                e = _E(f"diff({e.text}, {var})", e.kind, e.indices)
            else:
                return e

    def _unspaced_paren(self) -> bool:
        nxt = self.peek()
        return (self.is_sym("(") or self.is_macro("left")) and nxt is not None and not nxt.spaced

    def _prime_variable(self, e: _E) -> str | None:
        """The variable of `(fg)'`: a parenthesised expression of the block's one-parameter
        functions, all of the same parameter; None when there is no such single variable."""
        if not (e.atomic and e.text.startswith("(") and e.text.endswith(")")):
            return None
        used = {
            self.params[fn][0]
            for fn in re.findall(r"([A-Za-z]\w*)\(", e.text)
            if self.kinds.get(fn) == "F" and len(self.params.get(fn, ())) == 1
        }
        return used.pop() if len(used) == 1 else None

    def _star_next(self) -> bool:
        one = self.peek(1)
        if one is not None and one.kind == "sym" and one.text == "*":
            return True
        two = self.peek(2)
        return self.is_sym("{", 1) and two is not None and two.text == "*" and self.is_sym("}", 3)

    def power(self, base: _E) -> _E:
        col = self.col()
        toks = self.raw_group()
        if len(toks) == 1 and (toks[0].text in ("T", "top", "intercal")):
            return _E(f"{base.paren()}.T", base.kind, base.indices)
        sub = self._sub(toks)
        exp = sub.expr()
        if sub.peek() is not None:
            raise self.fail("cannot read this exponent", col)
        if base.kind == "M" and exp.text == "-1":
            return _E(f"inv({base.text})", "M", base.indices)  # V^{-1}: the matrix inverse
        if base.kind != "S" and exp.text == "-1":
            raise self.fail("the inverse of a vector is not defined", col)
        return _E(f"{base.paren()}**{exp.paren()}", base.kind, base.indices | exp.indices)

    def call(self, fn: str, col: int, prime_allowed: bool = False) -> _E:
        if self.kinds.get(fn) == "F" and len(self.params.get(fn, ())) == 1:
            # a bare `f` (or `f'`) of a one-parameter function the block defines is f at its
            # parameter: (fg)' = f'g + fg' reads f'g as diff(f(x), x)*g(x)
            (p,) = self.params[fn]
            primed = self.next_kind("prime")
            after = self.peek(1) if primed else self.peek()
            if after is None or not (
                (after.kind == "sym" and after.text == "(") or after.text == "left"
            ):
                if primed:
                    self.i += 1
                    return _E(f"diff({fn}({p}), {p})")
                return _E(f"{fn}({p})")
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
        if self.is_sym("(") and self.is_macro_at(1, "cdot") and self.is_sym(")", 2):
            raise self.fail(f"{fn}(\\cdot) names the function itself, not a value: not read", col)
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
            if len(args) != 1:
                raise self.fail(f"{fn}'(…) is read only with one argument", col)
            at_value = self.kinds.get(args[0].text) == "S"  # a name the block defines
            at_param = self.params.get(fn, (args[0].text,)) == (args[0].text,)  # f(x) = …: f'(x)
            if self.kinds.get(fn) == "F" and kind == "S" and not at_param:
                # the block's f'(a), f'(g(x)): the derivative of f at a, taken in a dummy
                # variable, so a name that f's own definition also uses is not differentiated
                u = f"{DUMMY_PREFIX}{fn}"
                out = _E(f"subs(diff({fn}({u}), {u}), {u}, {args[0].text})", kind, idx)
            elif re.fullmatch(r"[A-Za-z]\w*", args[0].text) and not at_value:
                out = _E(f"diff({out.text}, {args[0].text})", kind, idx)
            else:
                raise self.fail(f"{fn}'(…) is read only at a variable: {fn}'(x)", col)
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
        if self.kinds.get(name) == "F" and self.is_sym("_"):
            return e  # g_t, f_\theta: the subscript makes another name (postfix reads it)
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
            # any lower-case letter is an index here: \sum_c, \sum_r (the sum declares it)
            if not sub or sub[0].kind != "letter" or not sub[0].text.islower():
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
        outer = self.bound
        self.bound = (*outer, index)
        try:
            body = self.term()
        finally:
            self.bound = outer
        if index not in body.indices:
            raise self.fail(f"the body of \\{name}_{index} does not use the index {index}", col)
        return _E(f"{name}({body.text})", "S", body.indices - {index})
