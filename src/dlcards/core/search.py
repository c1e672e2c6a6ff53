"""The card search language shared by the browser and `dlcards list QUERY`. Pure.

Modelled on Anki's search syntax (https://docs.ankiweb.net/searching.html), with the keys a
deep-learning curriculum needs:

    softmax                   free text in the question or answer (case-insensitive; `*` wildcard)
    "chain rule"              a quoted phrase
    week:3  week:>=5  week:3-5
    topic:softmax  topic:soft*     tag:calculus (also matches tag::child)     deck:"Deep Learning"
    is:new|learn|review|due|suspended|buried|leech|flagged
    flag:1 … flag:7 (flag:0 = no flag)
    prop:ivl>10  prop:s<5  prop:d>7  prop:r<0.8  prop:due<=1  prop:reps>3  prop:lapses>=2
    rated:7 (answered in the last 7 study days)   rated:7:1 (… with Again)
    added:3 (first seen in the last 3 study days)
    lapses:>2  reps:0  id:abc123  kind:cloze  file:week-03
    -term (not), a or b, (a or b) c   (terms side by side: all must hold)

`parse_query(text)` returns an expression tree or raises `SearchError` naming the position and,
for an unknown key or value, the valid ones (with a did-you-mean). `Expr.matches(row, ctx)`
evaluates it against a `SearchRow` (any object with the attributes below) at a time given by
the caller, so the same query means the same thing in every front end.
"""

from __future__ import annotations

import difflib
import fnmatch
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from dlcards.core.errors import DlcardsError

__all__ = [
    "IS_VALUES",
    "KEYS",
    "PROPS",
    "And",
    "Expr",
    "Not",
    "Or",
    "SearchContext",
    "SearchError",
    "SearchRow",
    "Term",
    "filter_rows",
    "parse_query",
]


class SearchError(DlcardsError):
    """A query that cannot be read; the message names the place and the fix."""

    exit_code = 2


class SearchRow(Protocol):
    """What a query looks at. `dlcards.insights.listing.ListRow` and the browser rows have it."""

    @property
    def id(self) -> str: ...
    @property
    def note_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def week(self) -> int | None: ...
    @property
    def topic(self) -> str | None: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def deck(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def text(self) -> str: ...  # question + answer, as written
    @property
    def state(self) -> str: ...  # new | learning | review | relearning
    @property
    def due(self) -> datetime | None: ...
    @property
    def interval_days(self) -> int: ...
    @property
    def stability(self) -> float | None: ...
    @property
    def difficulty(self) -> float | None: ...
    @property
    def retrievability(self) -> float | None: ...
    @property
    def reps(self) -> int: ...
    @property
    def lapses(self) -> int: ...
    @property
    def suspended(self) -> bool: ...
    @property
    def buried_until(self) -> date | None: ...
    @property
    def leech(self) -> bool: ...
    @property
    def flag(self) -> int: ...
    @property
    def added(self) -> date | None: ...  # study day the card was first seen
    @property
    def ratings(self) -> Sequence[tuple[date, int]]: ...  # (study day, rating) per answer, oldest first


@dataclass(frozen=True)
class SearchContext:
    """The moment a query is evaluated at: `now` and today's study day, and the instant today
    ends (review cards due before it are due today)."""

    now: datetime
    today: date
    end_of_today: datetime


IS_VALUES = ("new", "learn", "review", "due", "suspended", "buried", "leech", "flagged")
PROPS = ("ivl", "s", "d", "r", "due", "reps", "lapses")
KEYS = (
    "week",
    "topic",
    "tag",
    "deck",
    "is",
    "flag",
    "prop",
    "rated",
    "added",
    "lapses",
    "reps",
    "id",
    "kind",
    "file",
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "=": operator.eq,
}
_CMP = re.compile(r"^(<=|>=|!=|<|>|=)?\s*(-?\d+(?:\.\d+)?)$")


class Expr:
    def matches(self, row: SearchRow, ctx: SearchContext) -> bool:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class And(Expr):
    parts: tuple[Expr, ...]

    def matches(self, row: SearchRow, ctx: SearchContext) -> bool:
        return all(p.matches(row, ctx) for p in self.parts)


@dataclass(frozen=True)
class Or(Expr):
    parts: tuple[Expr, ...]

    def matches(self, row: SearchRow, ctx: SearchContext) -> bool:
        return any(p.matches(row, ctx) for p in self.parts)


@dataclass(frozen=True)
class Not(Expr):
    inner: Expr

    def matches(self, row: SearchRow, ctx: SearchContext) -> bool:
        return not self.inner.matches(row, ctx)


@dataclass(frozen=True)
class Term(Expr):
    """One search term: `key` is '' for free text."""

    key: str
    value: str
    test: Callable[[SearchRow, SearchContext], bool] = field(compare=False, repr=False)

    def matches(self, row: SearchRow, ctx: SearchContext) -> bool:
        return self.test(row, ctx)


@dataclass(frozen=True)
class _Tok:
    kind: str  # 'lp' | 'rp' | 'or' | 'term'
    text: str
    pos: int  # 1-based column
    negated: bool = False
    quoted: bool = False
    key: str | None = None  # the part before an unquoted ':' (None: free text)


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


def _glob(pattern: str) -> Callable[[str], bool]:
    """Case-insensitive match of a whole value; `*` is a wildcard, `_` a single character.
    (Plain words and `word*` skip the regex: the browser searches 10k cards per keystroke.)"""
    p = pattern.lower()
    if not any(c in p for c in "*_?[]"):
        return lambda s: s.lower() == p
    head = p[:-1]
    if p.endswith("*") and not any(c in head for c in "*_?[]"):
        return lambda s: s.lower().startswith(head)
    rx = re.compile(fnmatch.translate(p.replace("_", "?")))
    return lambda s: bool(rx.match(s.lower()))


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def _number(key: str, raw: str, pos: int, *, integer: bool = False) -> tuple[str, float]:
    m = _CMP.match(raw.strip())
    if not m or (integer and "." in m.group(2)):
        kind = "a whole number" if integer else "a number"
        raise SearchError(
            f"column {pos}: {key}:{raw} needs {kind}, optionally after <, <=, >, >=, = or !=",
            hint=f"e.g. {key}:3 or {key}:>=2",
        )
    return m.group(1) or "=", float(m.group(2))


def _cmp(op: str, target: float) -> Callable[[float | None], bool]:
    fn = _OPS[op]
    return lambda v: v is not None and fn(float(v), target)


def _days_ago(ctx: SearchContext, day: date) -> int:
    return (ctx.today - day).days


def _term(tok: _Tok) -> Expr:
    if tok.key is None:
        return _free_text(tok.text, tok)
    key, value = tok.key.lower(), tok.text
    if key not in KEYS:
        raise SearchError(
            f"column {tok.pos}: unknown search key '{key}:'; {_did_you_mean(key, KEYS)}".rstrip(),
            hint="keys: "
            + ", ".join(f"{k}:" for k in KEYS)
            + '; to find the text, quote it: "a:b"',
        )
    if value == "":
        raise SearchError(
            f"column {tok.pos}: '{key}:' needs a value", hint=f"e.g. {_EXAMPLES[key]}"
        )
    test = _BUILDERS[key](value, tok)
    return Term(key, value, test)


def _free_text(word: str, tok: _Tok) -> Term:
    needle = word.lower()
    if "*" in needle.strip("*"):
        parts = needle.strip("*").split("*")
        rx = re.compile(".*?".join(re.escape(p) for p in parts), re.S)
        return Term("", word, lambda r, c: bool(rx.search(r.text.lower())))
    needle = needle.strip("*")  # `*grad*` is `grad`: free text matches anywhere already
    return Term("", word, lambda r, c: needle in r.text.lower())


def _week(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    m = re.fullmatch(r"(\d+)-(\d+)", value)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        return lambda r, c: r.week is not None and lo <= r.week <= hi
    op, n = _number("week", value, tok.pos, integer=True)
    test = _cmp(op, n)
    return lambda r, c: test(r.week)


def _topic(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    g = _glob(value)
    return lambda r, c: r.topic is not None and g(r.topic)


def _tag(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    g = _glob(value)
    child = _glob(value + "::*")
    if not any(ch in value for ch in "*_?[]"):
        v, kids = value.lower(), value.lower() + "::"
        return lambda r, c: any((t := tag.lower()) == v or t.startswith(kids) for tag in r.tags)
    return lambda r, c: any(g(t) or child(t) for t in r.tags)


def _deck(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    g = _glob(value)
    child = _glob(value + "::*")
    return lambda r, c: g(r.deck) or child(r.deck)


def _is(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    v = value.lower()

    def due(r: SearchRow, c: SearchContext) -> bool:
        if r.due is None or r.suspended or _buried(r, c):
            return False
        return r.due < c.end_of_today if r.state == "review" else r.due <= c.now

    tests: dict[str, Callable[[SearchRow, SearchContext], bool]] = {
        "new": lambda r, c: r.state == "new",
        "learn": lambda r, c: r.state in ("learning", "relearning"),
        "review": lambda r, c: r.state in ("review", "relearning"),
        "due": due,
        "suspended": lambda r, c: r.suspended,
        "buried": _buried,
        "leech": lambda r, c: r.leech,
        "flagged": lambda r, c: r.flag > 0,
    }
    if v not in tests:
        raise SearchError(
            f"column {tok.pos}: unknown value is:{value}; {_did_you_mean(v, IS_VALUES)}".rstrip(),
            hint="is: takes one of " + ", ".join(IS_VALUES),
        )
    return tests[v]


def _buried(r: SearchRow, c: SearchContext) -> bool:
    return r.buried_until is not None and r.buried_until > c.today


def _flag(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    if not re.fullmatch(r"[0-7]", value):
        raise SearchError(
            f"column {tok.pos}: flag:{value} is not a flag",
            hint="flag:1 red, 2 orange, 3 green, 4 blue, 5 pink, 6 turquoise, 7 purple; flag:0 none",
        )
    n = int(value)
    return lambda r, c: r.flag == n


def _prop(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    m = re.fullmatch(r"([a-z]+)\s*((?:<=|>=|!=|<|>|=).*)", value.lower())
    if not m:
        raise SearchError(
            f"column {tok.pos}: prop:{value} needs a property, a comparison and a number",
            hint="e.g. prop:ivl>10, prop:s<5, prop:d>7, prop:r<0.8; properties: "
            + ", ".join(PROPS),
        )
    name, rest = m.group(1), m.group(2)
    if name not in PROPS:
        raise SearchError(
            f"column {tok.pos}: unknown property prop:{name}; {_did_you_mean(name, PROPS)}".rstrip(),
            hint="properties: ivl (days), s (stability), d (difficulty 1-10), r (retrievability "
            "0-1), due (days from today), reps, lapses",
        )
    op, n = _number(f"prop:{name}", rest, tok.pos)
    test = _cmp(op, n)
    getters: dict[str, Callable[[SearchRow, SearchContext], float | None]] = {
        "ivl": lambda r, c: r.interval_days if r.state != "new" else None,
        "s": lambda r, c: r.stability,
        "d": lambda r, c: r.difficulty,
        "r": lambda r, c: r.retrievability,
        "due": lambda r, c: None if r.due is None else (r.due - c.end_of_today).days + 1,
        "reps": lambda r, c: r.reps,
        "lapses": lambda r, c: r.lapses,
    }
    get = getters[name]
    return lambda r, c: test(get(r, c))


def _rated(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    m = re.fullmatch(r"(\d+)(?::([1-4]))?", value)
    if not m:
        raise SearchError(
            f"column {tok.pos}: rated:{value} needs a number of days (and optionally :1-4)",
            hint="rated:1 = answered today, rated:7 = in the last 7 days, rated:7:1 = Again in 7 days",
        )
    days = max(1, int(m.group(1)))
    rating = int(m.group(2)) if m.group(2) else None
    back = timedelta(days=days - 1)

    def test(r: SearchRow, c: SearchContext) -> bool:
        first = c.today - back  # the earliest study day that counts
        for day, rt in reversed(r.ratings):  # newest first: stop at the first older answer
            if day < first:
                return False
            if rating is None or rt == rating:
                return True
        return False

    return test


def _added(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    if not value.isdigit():
        raise SearchError(
            f"column {tok.pos}: added:{value} needs a number of days",
            hint="added:1 = first seen today, added:7 = in the last 7 days",
        )
    days = max(1, int(value))
    return lambda r, c: r.added is not None and _days_ago(c, r.added) < days


def _counter(name: str) -> Callable[[str, _Tok], Callable[[SearchRow, SearchContext], bool]]:
    def build(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
        op, n = _number(name, value, tok.pos, integer=True)
        test = _cmp(op, n)
        return lambda r, c: test(getattr(r, name))

    return build


def _id(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    g = _glob(value)
    return lambda r, c: g(r.id) or g(r.note_id)


def _kind(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    v = value.lower()
    if v not in ("basic", "cloze"):
        raise SearchError(
            f"column {tok.pos}: kind:{value} is not a card kind", hint="kind:basic or kind:cloze"
        )
    return lambda r, c: r.kind == v


def _file(value: str, tok: _Tok) -> Callable[[SearchRow, SearchContext], bool]:
    v = value.lower()
    return lambda r, c: v in r.path.lower()


_BUILDERS: dict[str, Callable[[str, _Tok], Callable[[SearchRow, SearchContext], bool]]] = {
    "week": _week,
    "topic": _topic,
    "tag": _tag,
    "deck": _deck,
    "is": _is,
    "flag": _flag,
    "prop": _prop,
    "rated": _rated,
    "added": _added,
    "lapses": _counter("lapses"),
    "reps": _counter("reps"),
    "id": _id,
    "kind": _kind,
    "file": _file,
}
_EXAMPLES = {
    "week": "week:3",
    "topic": "topic:softmax",
    "tag": "tag:calculus",
    "deck": 'deck:"Deep Learning"',
    "is": "is:due",
    "flag": "flag:1",
    "prop": "prop:ivl>10",
    "rated": "rated:7",
    "added": "added:3",
    "lapses": "lapses:>2",
    "reps": "reps:0",
    "id": "id:k3v9x2ab",
    "kind": "kind:cloze",
    "file": "file:week-03",
}


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
