"""`_ReaderBase`: the reader's token cursor (peek, take, expect, transparent macros, raw
groups) and `claims`, the entry point that reads `a = b (= c)` chains."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from dlcards.checks.latex.expressions import _E, _vectorise
from dlcards.checks.latex.tables import (
    _TRANSPARENT,
    BOLD_NAMES,
    NEGATED,
    RELATION_MACROS,
    UPDATE,
    UPDATE_SUFFIX,
    Claim,
    Kind,
    LatexUnreadable,
)
from dlcards.checks.latex.tokens import _Tok, _tokens


class _ReaderBase:
    """The token cursor the reader's halves share, and `claims`."""

    if TYPE_CHECKING:

        def expr(self) -> _E: ...
        def term(self) -> _E: ...
        def _closing_norm(self) -> bool: ...
        def factor(self) -> _E: ...
        def postfix(self) -> _E: ...
        def power(self, base: _E) -> _E: ...
        def call(self, fn: str, col: int, prime_allowed: bool = False) -> _E: ...
        def postfix_or_bigop(self) -> _E: ...
        def maybe_call(self, name: str, e: _E, col: int) -> _E: ...
        def big_op(self, name: str, col: int) -> _E: ...
        def subscript(self, e: _E, toks: list[_Tok], col: int) -> _E: ...
        def atom(self) -> _E: ...
        def sub_expr(self, toks: list[_Tok], col: int) -> _E: ...
        def macro_atom(self, t: _Tok) -> _E: ...
        def variable(self, toks: list[_Tok], col: int) -> str: ...
        def fraction(self, col: int) -> _E: ...

    def __init__(
        self,
        latex: str,
        kinds: Mapping[str, Kind],
        names: Collection[str] = (),
        params: Mapping[str, tuple[str, ...]] | None = None,
    ):
        self.toks = _tokens(latex)
        self.i = 0
        self.kinds = dict(kinds)
        # every name the block declares or uses: `TP` written together is that name, not T*P
        self.names = frozenset(names)
        # the parameters of the block's functions: a bare `f` is f at its parameter
        self.params = dict(params or {})
        self.bound: tuple[str, ...] = ()  # index letters of the enclosing \sum / \prod
        self.n = len(latex)

    def _sub(self, toks: list[_Tok]) -> _ReaderBase:
        """A reader of `toks` (a group) with this reader's context."""
        sub = type(self).__new__(type(self))
        sub.toks, sub.i, sub.kinds, sub.n = toks, 0, self.kinds, self.n
        sub.names, sub.params, sub.bound = self.names, self.params, self.bound
        return sub

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

    def is_macro_at(self, k: int, *names: str) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "macro" and t.text in names

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

    def skip_transparent(self, bold_ok: bool = False) -> str | None:
        """Skip spacing and font macros. With `bold_ok`, a bold 1 or 0 (`\\mathbf{1}`) is
        read as the block's name for it (`ones_vec`, `zeros_vec`), which is returned."""
        while self.is_macro(*_TRANSPARENT):
            bold = self.is_macro("mathbf", "boldsymbol", "bm")
            col = self.col()
            self.i += 1
            braced = self.is_sym("{")
            nxt = self.peek(1) if braced else self.peek()
            if bold and nxt is not None and nxt.kind == "num":
                # \mathbf{1} is the vector of ones (or an indicator), never the number 1
                closed = not braced or self.is_sym("}", 2)
                name = BOLD_NAMES.get(nxt.text)
                if bold_ok and name and closed:
                    self.i += 3 if braced else 1
                    if self.is_sym("[") or self.is_sym("_"):
                        raise self.fail(
                            f"\\mathbf{{{nxt.text}}}[…] is an indicator: not read "
                            "(write the mask as a name the check block defines)",
                            col,
                        )
                    return name
                raise self.fail(
                    f"\\mathbf{{{nxt.text}}} is a vector of {nxt.text}s or an indicator, "
                    "not a number: name it in the check block"
                    + (f" ({BOLD_NAMES[nxt.text]})" if nxt.text in BOLD_NAMES else ""),
                    col,
                )
        return None

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
        # `\_` inside \text{output\_padding} is the underscore of the name
        if not toks or not all(t.kind in ("letter", "num") or t.text == "_" for t in toks):
            raise self.fail("expected a name", toks[0].col if toks else None)
        return "".join(t.text for t in toks)

    # -- grammar ---------------------------------------------------------------------------
    def claims(self) -> list[Claim]:
        """`a = b` or a chain `a = b = c` (two claims, each side with the next); `a \\neq b`
        (negated: the sides differ) and `w \\leftarrow E` (the update: `w_new == E`) stand
        alone, never in a chain."""
        sides = [self.expr()]
        rels: list[tuple[str, int]] = []
        while self.is_sym("=") or self.is_macro(*RELATION_MACROS):
            col = self.col()
            rels.append((self.take().text, col))
            sides.append(self.expr())
        t = self.peek()
        if not rels:
            if t is None:
                raise self.fail("not an equation: nothing to prove (write `a = b`)")
            raise self.fail(
                "only '=', '\\approx', '\\neq' and '\\leftarrow' are read as claims, "
                f"not '{t.text}'"
            )
        if t is not None:
            raise self.fail(f"unexpected '{t.text}' after the right-hand side")
        special = [(r, col) for r, col in rels if r in NEGATED or r in UPDATE]
        if special and len(rels) > 1:
            raise self.fail(
                f"\\{special[0][0]} in a chain of relations: write one claim", special[0][1]
            )
        if special and special[0][0] in UPDATE:
            lhs, rhs = sides
            if not re.fullmatch(r"[A-Za-z]\w*", lhs.text) or lhs.kind == "F":
                raise self.fail(f"\\{special[0][0]} updates a name: write `w \\leftarrow …`", 1)
            new = _E(f"{lhs.text}{UPDATE_SUFFIX}", lhs.kind, lhs.indices)
            return [_vectorise(new, rhs, False)]
        if special:
            c = _vectorise(sides[0], sides[1], False)
            return [Claim(c.lhs, c.rhs, False, negated=True)]
        pairs = zip(sides[:-1], sides[1:], [r for r, _ in rels], strict=True)
        return [_vectorise(a, b, r == "approx") for a, b, r in pairs]
