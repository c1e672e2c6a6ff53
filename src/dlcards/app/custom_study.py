"""Free choice of what to study: the home screen's overview (today's counts per week and
topic, tomorrow's load, the streak) and custom study sessions.

A custom study session is today's review session over the cards a search query picks
(`core.search`, the browser's language), with what the session normally holds back lifted as
the learner asked:

- `study_now(...)`: a week, topic, tag or flag now. Prerequisites (`requires`) are overridden
  for this session (the topics the cards wait for count as started); `StudyPlan.skips` names
  them so the screen can say what is being skipped.
- `review_ahead(days)`: review cards due in the next `days` study days, answered as usual.
- `forgotten_today()`: the cards answered Again today.
- `preview_new(query)`: new cards shown without scheduling (nothing is written).
- `raise_limits(new, reviews)`: today's limits raised for the whole collection.

Counts follow the session's rules: suspended and buried cards are not counted; learning and
review cards count when due by the end of today's study day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from dlcards.app.review import Limits, ReviewService
from dlcards.review.session import Filters

if TYPE_CHECKING:
    from dlcards.app.browse import Browser, BrowseRow
    from dlcards.app.collection import Collection
    from dlcards.core.search import SearchContext
    from dlcards.review.session import Outcome, SessionCard


# -- the overview ---------------------------------------------------------------------------
@dataclass
class Counts:
    new: int = 0
    learning: int = 0
    due: int = 0

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.learning += other.learning
        self.due += other.due

    @property
    def total(self) -> int:
        return self.new + self.learning + self.due


@dataclass
class TopicNode:
    topic: str  # "" for cards without a topic
    counts: Counts
    cards: int


@dataclass
class WeekNode:
    week: int | None
    counts: Counts
    cards: int
    topics: list[TopicNode] = field(default_factory=list)


@dataclass
class Overview:
    """What the home screen shows."""

    today: date
    counts: Counts  # every card
    weeks: list[WeekNode]  # in curriculum order (numeric weeks, then no week)
    tags: list[tuple[str, Counts]]
    flags: list[tuple[int, int]]  # (flag, cards) for flags in use
    tomorrow: int  # learning and review cards due in tomorrow's study day
    streak: int  # study days in a row with an answer, up to today (or yesterday)
    studied_today: int  # answers today
    new_per_day: int
    reviews_per_day: int


def _available(row: BrowseRow, ctx: SearchContext) -> bool:
    return not row.suspended and not (row.buried_until is not None and row.buried_until > ctx.today)


def counts_of(row: BrowseRow, ctx: SearchContext) -> Counts:
    """How one card counts today (new / learning / due), 0s when it waits or is held back."""
    if not _available(row, ctx):
        return Counts()
    if row.state == "new":
        return Counts(new=1)
    if row.due is None or row.due >= ctx.end_of_today:
        return Counts()
    if row.state == "review":
        return Counts(due=1)
    return Counts(learning=1)


def overview(browser: Browser) -> Overview:
    ctx = browser.context()
    col = browser.col
    weeks: dict[int | None, WeekNode] = {}
    topics: dict[tuple[int | None, str], TopicNode] = {}
    tags: dict[str, Counts] = {}
    flags: Counter[int] = Counter()
    total = Counts()
    tomorrow_end = col.calendar.day_start(ctx.today + timedelta(days=2))
    tomorrow = 0
    topic_names = {r.topic for r in browser.rows if r.topic}
    for row in browser.rows:
        c = counts_of(row, ctx)
        total.add(c)
        week = weeks.setdefault(row.week, WeekNode(row.week, Counts(), 0))
        week.counts.add(c)
        week.cards += 1
        key = (row.week, row.topic or "")
        node = topics.get(key)
        if node is None:
            node = topics[key] = TopicNode(row.topic or "", Counts(), 0)
            week.topics.append(node)
        node.counts.add(c)
        node.cards += 1
        for tag in row.tags:
            if tag not in topic_names and not (tag.startswith("week") and tag[4:].isdigit()):
                tags.setdefault(tag, Counts()).add(c)
        if row.flag:
            flags[row.flag] += 1
        if (
            not row.suspended
            and row.state != "new"
            and row.due is not None
            and ctx.end_of_today <= row.due < tomorrow_end
        ):
            tomorrow += 1
    days = study_days(browser)
    ordered = sorted(weeks.values(), key=lambda w: (w.week is None, w.week or 0))
    return Overview(
        today=ctx.today,
        counts=total,
        weeks=ordered,
        tags=sorted(tags.items()),
        flags=sorted(flags.items()),
        tomorrow=tomorrow,
        streak=streak(days, ctx.today),
        studied_today=days.get(ctx.today, 0),
        new_per_day=col.settings.new_per_day,
        reviews_per_day=col.settings.reviews_per_day,
    )


def study_days(browser: Browser) -> Counter[date]:
    """Answers per study day."""
    days: Counter[date] = Counter()
    for row in browser.rows:
        for day, _ in row.ratings:
            days[day] += 1
    return days


def streak(days: Iterable[date], today: date) -> int:
    """Study days in a row ending today, or yesterday when today has no answer yet."""
    have = set(days)
    day = today if today in have else today - timedelta(days=1)
    n = 0
    while day in have:
        n += 1
        day -= timedelta(days=1)
    return n


# -- custom study ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryFilters(Filters):
    """A session's cards picked by a search query (the ids it matched when the plan was made)."""

    ids: frozenset[str] = frozenset()
    label: str = ""

    def matches(self, card: SessionCard) -> bool:
        return card.id in self.ids

    def describe(self) -> str:
        return self.label


@dataclass(frozen=True)
class StudyPlan:
    """One custom study session, before it starts."""

    label: str  # "week 7", "review ahead 3 days"
    query: str  # the search that picks the cards
    ids: frozenset[str]
    counts: Counts  # what it holds now
    skips: tuple[str, ...] = ()  # prerequisite topics overridden for this session
    limits: Limits = field(default_factory=Limits)
    ahead_days: int = 0  # review cards due this many study days ahead count as due
    preview: bool = False  # nothing is scheduled or written

    def says(self) -> str:
        """One line for the screen: what will be studied and what is skipped."""
        c = self.counts
        text = f"{self.label}: {c.new} new, {c.learning} learning, {c.due} due"
        if self.preview:
            text += " (preview: nothing is scheduled)"
        if self.skips:
            text += f". Skips the prerequisite{'s' if len(self.skips) > 1 else ''} " + ", ".join(
                self.skips
            )
        return text


def _plan(
    browser: Browser,
    label: str,
    query: str,
    *,
    unblock: bool = True,
    limits: Limits | None = None,
    ahead_days: int = 0,
    preview: bool = False,
) -> StudyPlan:
    ctx = browser.context()
    rows = browser.search(query)
    counts = Counts()
    ahead_end = browser.col.calendar.day_start(ctx.today + timedelta(days=ahead_days + 1))
    for row in rows:
        if ahead_days and row.state == "review" and row.due is not None:
            if _available(row, ctx) and row.due < ahead_end:
                counts.due += 1
            continue
        counts.add(counts_of(row, ctx))
    skips: tuple[str, ...] = ()
    if unblock:
        skips = tuple(waiting_topics(browser, rows))
    if limits is None:
        # studying a chosen set now: its new cards are not held back by today's new limit
        limits = Limits(new=max(counts.new, 0) + _new_done_today(browser))
    return StudyPlan(
        label=label,
        query=query,
        ids=frozenset(r.id for r in rows),
        counts=counts,
        skips=skips,
        limits=limits,
        ahead_days=ahead_days,
        preview=preview,
    )


def _new_done_today(browser: Browser) -> int:
    today = browser.context().today
    return sum(
        1 for r in browser.rows if r.ratings and r.ratings[0][0] == today and r.state != "new"
    )


def waiting_topics(browser: Browser, rows: Iterable[BrowseRow]) -> list[str]:
    """Topics the new cards among `rows` wait for (`requires` of a topic not started yet)."""
    notes = {n.id: n for n in browser.col.notes}
    started = {r.topic for r in browser.rows if r.topic and (r.state != "new" or r.reps)}
    known = {r.topic for r in browser.rows if r.topic}
    out: set[str] = set()
    for row in rows:
        if row.state != "new":
            continue
        note = notes.get(row.note_id)
        if note is None:
            continue
        out.update(t for t in note.meta.requires if t in known and t not in started)
    return sorted(out)


def study_now(browser: Browser, query: str, label: str) -> StudyPlan:
    """A week, topic, tag or flag now, prerequisites overridden (`query`: e.g. `week:7`)."""
    return _plan(browser, label, query)


def review_ahead(browser: Browser, days: int) -> StudyPlan:
    return _plan(
        browser,
        f"review ahead {days} day{'s' if days != 1 else ''}",
        f"is:review prop:due<={days}",
        unblock=False,
        ahead_days=days,
        limits=Limits(review=10**6),
    )


def forgotten_today(browser: Browser) -> StudyPlan:
    return _plan(
        browser, "forgotten today", "rated:1:1", unblock=False, limits=Limits(review=10**6)
    )


def preview_new(browser: Browser, query: str = "", label: str = "new cards") -> StudyPlan:
    q = f"is:new ({query})" if query.strip() else "is:new"
    return _plan(browser, f"preview {label}", q, preview=True, limits=Limits(new=10**6))


def raise_limits(browser: Browser, new: int, reviews: int) -> StudyPlan:
    """Today's limits raised by `new` and `reviews`, over every card (`Session.study_more`'s
    extra counts are kept for the day by the store, as `m` does)."""
    s = browser.col.settings
    limits = Limits(
        new=s.new_per_day + new,
        review=s.reviews_per_day + reviews,
    )
    return _plan(browser, f"today +{new} new, +{reviews} reviews", "", unblock=False, limits=limits)


class PreviewService(ReviewService):
    """A review service whose answers and actions are not written: previewing cards."""

    def apply(self, outcome: Outcome) -> Outcome:
        return outcome


def start(col: Collection, plan: StudyPlan) -> ReviewService:
    """The review service of a plan (the review screen runs it like any other)."""
    filters = QueryFilters(ids=plan.ids, label=plan.label) if plan.query else None
    cls = PreviewService if plan.preview else ReviewService
    service = cls(col, filters, plan.limits)
    session: Any = service.session
    rebuild = False
    if plan.skips:
        session.started.update(plan.skips)
        rebuild = True
    if plan.ahead_days:
        session.day_end = col.calendar.day_start(
            session.today + timedelta(days=plan.ahead_days + 1)
        )
        rebuild = True
    if rebuild:
        session._build()  # the queue again, with the prerequisites / the day's end moved
    return service


# -- filters that match nothing -------------------------------------------------------------
def no_match_error(notes: Iterable[Any], filters: Filters) -> Exception:
    """The error for review filters (`--week`, `--topic`, `--tag`, `--deck`) that match no
    card: which filter is wrong, a did-you-mean, and the values there are."""
    import difflib

    from dlcards.core.errors import UsageError

    notes = list(notes)
    weeks = sorted({n.meta.week for n in notes if n.meta.week is not None})
    topics = sorted({n.meta.topic for n in notes if n.meta.topic})
    tags = sorted({t for n in notes for t in n.tags})
    decks = sorted({n.deck for n in notes})

    def close(word: str, options: list[str]) -> str:
        found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
        return f"; did you mean '{found[0]}'?" if found else ""

    def listing(options: list[str]) -> str:
        return ", ".join(options[:30]) + (", …" if len(options) > 30 else "")

    what = f"no cards match {filters.describe()}"
    if filters.week is not None and filters.week not in weeks:
        span = f"{weeks[0]}–{weeks[-1]}" if weeks else "none"
        return UsageError(f"{what}: there is no week {filters.week}", hint=f"weeks: {span}")
    if filters.topic is not None and filters.topic not in topics:
        return UsageError(
            f"{what}: there is no topic {filters.topic!r}{close(filters.topic, topics)}",
            hint="topics: " + listing(topics),
        )
    if filters.tag is not None and filters.tag not in tags:
        return UsageError(
            f"{what}: there is no tag {filters.tag!r}{close(filters.tag, tags)}",
            hint="tags: " + listing(tags),
        )
    if filters.deck is not None and not any(
        d == filters.deck or d.startswith(filters.deck + "::") for d in decks
    ):
        return UsageError(
            f"{what}: there is no deck {filters.deck!r}{close(filters.deck, decks)}",
            hint="decks: " + listing(decks),
        )
    return UsageError(
        what,
        hint="each filter matches cards, but not together; `dlcards list` shows them",
    )
