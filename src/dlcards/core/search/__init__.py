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

The parts: `model` (what a query is and looks at: `SearchRow`, `SearchContext`, the expression
tree, `SearchError`), `terms` (each search key and its term builder), `parser` (tokenizer and
parser: `parse_query`, `filter_rows`).
"""

from dlcards.core.search.model import (
    And,
    Expr,
    Not,
    Or,
    SearchContext,
    SearchError,
    SearchRow,
    Term,
)
from dlcards.core.search.parser import filter_rows, parse_query
from dlcards.core.search.terms import IS_VALUES, KEYS, PROPS

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
