"""Reading a query: the tokenizer (quotes, `-` negation, `key:`, parentheses, `or`) and the
recursive-descent parser into an expression tree (`parse_query`), and `filter_rows`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from dlcards.core.search.model import (
    And,
    Expr,
    Not,
    Or,
    SearchContext,
    SearchError,
    SearchRow,
    _Tok,
)
from dlcards.core.search.terms import _term


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append(_Tok("lp" if c == "(" else "rp", c, i + 1))
            i += 1
            continue
        start = i
        negated = False
        if c == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
            if text[i] == "(":
                toks.append(_Tok("not", "-", start + 1))
                continue
        buf: list[str] = []
        quoted = False
        key: str | None = None
        while i < n and not text[i].isspace() and text[i] not in "()":
            if text[i] == ":" and key is None and not quoted:
                key = "".join(buf)
                buf = []
                i += 1
                continue
            if text[i] == '"':
                close = text.find('"', i + 1)
                if close < 0:
                    raise SearchError(
                        f"column {i + 1}: unclosed quote",
                        hint='close the phrase with " (e.g. "chain rule")',
                    )
                buf.append(text[i + 1 : close])
                quoted = True
                i = close + 1
                continue
            buf.append(text[i])
            i += 1
        word = "".join(buf)
        if key is not None:
            toks.append(_Tok("term", word, start + 1, negated, quoted, key))
        elif not quoted and not negated and word.lower() == "or":
            toks.append(_Tok("or", word, start + 1))
        elif not quoted and not negated and word.lower() == "and":
            continue  # explicit 'and' is the default
        else:
            toks.append(_Tok("term", word, start + 1, negated, quoted))
    return toks


class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Expr:
        expr = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise SearchError(
                f"column {tok.pos}: unexpected ')'", hint="remove it or add a matching '('"
            )
        return expr

    def or_expr(self) -> Expr:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            if self.peek() is None or self.peek().kind in ("or", "rp"):  # type: ignore[union-attr]
                raise SearchError(
                    f"column {tok.pos}: 'or' needs a term on both sides",
                    hint="e.g. week:3 or week:4",
                )
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Expr:
        parts: list[Expr] = []
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rp"):
            parts.append(self.unary())
        if not parts:
            tok = self.peek()
            where = f"column {tok.pos}: " if tok else ""
            raise SearchError(f"{where}expected a search term", hint="e.g. week:3 softmax")
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Expr:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "not":
            return Not(self.group(self.toks[self.i]))
        if tok.kind == "lp":
            return self.group(tok, consumed=True)
        expr = _term(tok)
        return Not(expr) if tok.negated else expr

    def group(self, tok: _Tok, consumed: bool = False) -> Expr:
        if not consumed:
            self.i += 1
        if self.peek() is not None and self.peek().kind == "rp":  # type: ignore[union-attr]
            raise SearchError(
                f"column {tok.pos}: empty parentheses", hint="put a search term inside"
            )
        inner = self.or_expr()
        close = self.peek()
        if close is None or close.kind != "rp":
            raise SearchError(f"column {tok.pos}: '(' is never closed", hint="add a matching ')'")
        self.i += 1
        return inner


_ALL = And(())


def parse_query(text: str) -> Expr:
    """The expression a query stands for; an empty query matches every card."""
    toks = _tokenize(text)
    if not toks:
        return _ALL
    return _Parser(toks).parse()


_R = TypeVar("_R", bound=SearchRow)


def filter_rows(rows: Iterable[_R], query: str | Expr, ctx: SearchContext) -> list[_R]:
    expr = parse_query(query) if isinstance(query, str) else query
    return [r for r in rows if expr.matches(r, ctx)]
