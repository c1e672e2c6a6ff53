"""The search language shared by the browser and `dlcards list QUERY`: fixture queries, and
its errors (each names the column and the fix)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from dlcards.core.search import SearchContext, SearchError, filter_rows, parse_query

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)
CTX = SearchContext(NOW, TODAY, datetime(2026, 3, 11, 4, 0, tzinfo=UTC))
FIXTURE = Path(__file__).parent / "fixtures" / "search" / "queries.txt"


@dataclass(frozen=True)
class Row:
    id: str
    week: int | None
    topic: str | None
    text: str
    state: str = "new"
    note_id: str = ""
    kind: str = "basic"
    tags: tuple[str, ...] = ()
    deck: str = "Deep Learning"
    path: str = "decks/x.md"
    due: datetime | None = None
    interval_days: int = 0
    stability: float | None = None
    difficulty: float | None = None
    retrievability: float | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: date | None = None
    leech: bool = False
    flag: int = 0
    added: date | None = None
    ratings: tuple[tuple[date, int], ...] = field(default_factory=tuple)


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


ROWS = [
    Row(
        "a1",
        1,
        "derivatives",
        "Q: What is the chain rule? A: (f∘g)' = f'(g) g'",
        "review",
        note_id="a1",
        tags=("calculus",),
        deck="Deep Learning::Week 01 · derivatives",
        path="decks/week-01-derivatives.md",
        due=NOW - timedelta(hours=1),
        interval_days=2,
        stability=2.0,
        difficulty=5.0,
        retrievability=0.7,
        reps=2,
        added=day(20),
        ratings=((day(20), 3), (day(12), 3)),
    ),
    Row(
        "b2",
        3,
        "softmax",
        "Q: What does softmax output? A: probabilities",
        "review",
        note_id="b2",
        deck="Deep Learning::Week 03 · softmax",
        path="decks/week-03-softmax.md",
        due=NOW + timedelta(days=20),
        interval_days=30,
        stability=40.0,
        difficulty=3.0,
        retrievability=0.95,
        reps=5,
        flag=1,
        added=day(40),
        ratings=((day(5), 3),),
    ),
    Row(
        "c3/c1",
        5,
        "attention",
        "C: {{c1::Queries}} and {{c2::keys}}",
        "review",
        note_id="c3",
        kind="cloze",
        tags=("nlp",),
        deck="Deep Learning::Week 05 · attention",
        due=NOW + timedelta(days=9),
        interval_days=12,
        stability=15.0,
        difficulty=6.0,
        retrievability=0.9,
        reps=2,
        flag=4,
        added=day(30),
    ),
    Row(
        "c3/c2",
        5,
        "attention",
        "C: {{c1::Queries}} and {{c2::keys}}",
        note_id="c3",
        kind="cloze",
        tags=("nlp",),
        deck="Deep Learning::Week 05 · attention",
        buried_until=TODAY + timedelta(days=1),
    ),
    Row(
        "d4",
        6,
        "backprop",
        "Q: Backprop computes? A: gradients",
        "learning",
        note_id="d4",
        due=NOW - timedelta(minutes=5),
        stability=0.5,
        difficulty=7.0,
        retrievability=0.85,
        reps=1,
        added=day(0),
        ratings=((day(0), 1),),
    ),
    Row(
        "e5",
        1,
        "gradients",
        "Q: Gradient of x²? A: 2x",
        "review",
        note_id="e5",
        tags=("calculus::basics",),
        due=NOW - timedelta(days=1),
        interval_days=3,
        stability=3.0,
        difficulty=9.0,
        retrievability=0.6,
        reps=12,
        lapses=8,
        suspended=True,
        leech=True,
        added=day(25),
        ratings=((day(15), 1),),
    ),
    Row(
        "f6",
        8,
        "project",
        'Q: What does "a:b" mean in a slice? A: from a to b',
        note_id="f6",
        added=day(2),
    ),
]


def cases() -> list[tuple[str, list[str]]]:
    out = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "=>" not in line:
            continue
        query, _, ids = line.partition("=>")
        out.append((query.strip(), ids.split()))
    return out


@pytest.mark.parametrize(("query", "expected"), cases(), ids=[q or "<empty>" for q, _ in cases()])
def test_fixture_query(query: str, expected: list[str]) -> None:
    assert sorted(r.id for r in filter_rows(ROWS, query, CTX)) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("is:suspnded", "column 1: unknown value is:suspnded; did you mean 'suspended'?"),
        ("is:zzz", "column 1: unknown value is:zzz;"),
        ("wek:3", "column 1: unknown search key 'wek:'; did you mean 'week'?"),
        (
            "week:three",
            "column 1: week:three needs a whole number, optionally after <, <=, >, >=, = or !=",
        ),
        ("softmax prop:x>1", "column 9: unknown property prop:x;"),
        ("prop:ivl", "column 1: prop:ivl needs a property, a comparison and a number"),
        ("flag:9", "column 1: flag:9 is not a flag"),
        ('"chain rule', "column 1: unclosed quote"),
        ("(week:1", "column 1: '(' is never closed"),
        ("week:1)", "column 7: unexpected ')'"),
        ("week:1 or", "column 8: 'or' needs a term on both sides"),
        ("()", "column 1: empty parentheses"),
        ("topic:", "column 1: 'topic:' needs a value"),
        ("kind:image", "column 1: kind:image is not a card kind"),
        ("rated:x", "column 1: rated:x needs a number of days (and optionally :1-4)"),
    ],
)
def test_errors_name_the_place_and_the_fix(query: str, message: str) -> None:
    with pytest.raises(SearchError) as info:
        parse_query(query)
    assert str(info.value).startswith(message)
    assert info.value.hint


def test_unknown_is_value_lists_the_valid_ones() -> None:
    with pytest.raises(SearchError) as info:
        parse_query("is:zzz")
    assert (
        info.value.hint
        == "is: takes one of new, learn, review, due, suspended, buried, leech, flagged"
    )


def test_search_is_fast_enough_for_a_browser_on_10k_cards() -> None:
    """Not a timing assert: the evaluation does one pass, with no per-row parsing."""
    rows = [ROWS[i % len(ROWS)] for i in range(10_000)]
    expr = parse_query("(week:1 or topic:soft*) -is:suspended prop:r<0.9")
    assert len(filter_rows(rows, expr, CTX)) == sum(1 for r in rows if r.id == "a1")
