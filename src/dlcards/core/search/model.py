"""What a search query is and what it looks at: `SearchRow` (the attributes a card shows the
search), `SearchContext` (the moment it is evaluated at), the expression tree (`And`, `Or`,
`Not`, `Term`), `SearchError`, and the parser's token. Pure values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from dlcards.core.errors import DlcardsError


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
    def ratings(
        self,
    ) -> Sequence[tuple[date, int]]: ...  # (study day, rating) per answer, oldest first


@dataclass(frozen=True)
class SearchContext:
    """The moment a query is evaluated at: `now` and today's study day, and the instant today
    ends (review cards due before it are due today)."""

    now: datetime
    today: date
    end_of_today: datetime


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
