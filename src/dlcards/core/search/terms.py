"""The search keys and their term builders: each `key:value` (and free text) becomes a `Term`
whose test looks at a `SearchRow`; a bad key or value raises `SearchError` with the valid ones
and a did-you-mean."""

from __future__ import annotations

import difflib
import fnmatch
import operator
import re
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from dlcards.core.search.model import Expr, SearchContext, SearchError, SearchRow, Term, _Tok

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
        lowered: dict[tuple[str, ...], tuple[str, ...]] = {}  # cards share their note's tags

        def plain(r: SearchRow, c: SearchContext) -> bool:
            tags = tuple(r.tags)
            low = lowered.get(tags)
            if low is None:
                low = lowered[tags] = tuple(t.lower() for t in tags)
            return v in low or any(t.startswith(kids) for t in low)

        return plain
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
