"""`_Operators`: the reader's operator and call half: sums, products, factors, postfix
(transpose, primes, powers), function calls, big operators (`\\sum`, `\\prod`)."""

from __future__ import annotations

import re

from dlcards.checks.latex.expressions import _E, _product
from dlcards.checks.latex.reader_base import _ReaderBase
from dlcards.checks.latex.tables import (
    INDEX_LETTERS,
    SCALAR_OF_VECTOR,
    VECTOR_RESULT,
    Kind,
)


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
        sub = type(self).__new__(type(self))
        sub.toks, sub.i, sub.kinds, sub.n = toks, 0, self.kinds, self.n
        exp = sub.expr()
        if sub.peek() is not None:
            raise self.fail("cannot read this exponent", col)
        if base.kind != "S" and exp.text == "-1":
            raise self.fail(
                "a matrix inverse: write \\mathrm{inv}? not read yet; use the block", col
            )
        return _E(f"{base.paren()}**{exp.paren()}", base.kind, base.indices | exp.indices)

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
