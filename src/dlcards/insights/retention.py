"""Retention maths shared by the stats, the week summary and the prune ranking. Pure.

*True retention* is Anki's (rslib `stats/graphs/retention.rs`): among reviews that rate a card
which had an interval of at least one day (every `review`-kind entry, and any other rated entry
whose card had an interval >= 1 day before it), only the FIRST such review of each card on each
study day counts; Again is a fail, Hard/Good/Easy a pass. The review is *mature* when the
card's interval before it was >= 21 days, else *young*. A *lapse* is an Again on a card in the
review phase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Protocol

from typing_extensions import TypedDict

from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardState, Rating, ReviewEntry

if TYPE_CHECKING:
    from dlcards.core.model import Note  # typing only: no pydantic on light paths

MATURE_DAYS = 21
FSRS6_DEFAULT_DECAY = 0.1542

# the study calendar (time zone + day start); `Calendar(tz, day_starts_at)` as before
Calendar = StudyCalendar

Retrievability = Callable[[CardState, datetime], "float | None"]
GroupKey = str | int | None  # a topic name or a study week number


def fsrs6_retrievability(
    state: CardState, now: datetime, decay: float = FSRS6_DEFAULT_DECAY
) -> float | None:
    """FSRS-6 forgetting curve with the default decay (used when no scheduler is given)."""
    if state.stability is None or state.last_review is None or state.stability <= 0:
        return None
    elapsed = max(0.0, (now - state.last_review).total_seconds() / 86400)
    factor = 0.9 ** (-1 / decay) - 1
    return float((1 + factor * elapsed / state.stability) ** (-decay))


def ratio(passed: int, failed: int) -> float | None:
    total = passed + failed
    return round(passed / total, 4) if total else None


def is_retention_review(entry: ReviewEntry) -> bool:
    """Anki's filter: rated, affects scheduling, and the card had an interval >= 1 day."""
    if entry.kind == "manual":
        return False
    return entry.kind == "review" or entry.before.interval_days >= 1


def is_lapse(entry: ReviewEntry) -> bool:
    return entry.rating == Rating.AGAIN and entry.before.phase == "review"


def first_retention_reviews(
    reviews: Iterable[ReviewEntry], cal: StudyCalendar
) -> list[tuple[date, ReviewEntry]]:
    """The first retention review of each (card, study day), in time order."""
    seen: set[tuple[str, date]] = set()
    out: list[tuple[date, ReviewEntry]] = []
    for entry in sorted(reviews, key=lambda e: e.time):
        if not is_retention_review(entry):
            continue
        d = cal.study_day(entry.time)
        key = (entry.card_id, d)
        if key in seen:
            continue
        seen.add(key)
        out.append((d, entry))
    return out


class RetentionDict(TypedDict):
    young_passed: int
    young_failed: int
    young_retention: float | None
    mature_passed: int
    mature_failed: int
    mature_retention: float | None
    passed: int
    failed: int
    retention: float | None


@dataclass(frozen=True, slots=True)
class PassFail:
    """Passes and fails of retention reviews, young and mature."""

    young_passed: int = 0
    young_failed: int = 0
    mature_passed: int = 0
    mature_failed: int = 0

    @classmethod
    def of(cls, entries: Iterable[ReviewEntry]) -> PassFail:
        counts = [0, 0, 0, 0]  # young passed, young failed, mature passed, mature failed
        for entry in entries:
            mature = entry.before.interval_days >= MATURE_DAYS
            failed = entry.rating == Rating.AGAIN
            counts[2 * mature + failed] += 1
        return cls(*counts)

    @property
    def passed(self) -> int:
        return self.young_passed + self.mature_passed

    @property
    def failed(self) -> int:
        return self.young_failed + self.mature_failed

    @property
    def retention(self) -> float | None:
        return ratio(self.passed, self.failed)

    @property
    def young_retention(self) -> float | None:
        return ratio(self.young_passed, self.young_failed)

    @property
    def mature_retention(self) -> float | None:
        return ratio(self.mature_passed, self.mature_failed)

    def to_dict(self) -> RetentionDict:
        return {
            "young_passed": self.young_passed,
            "young_failed": self.young_failed,
            "young_retention": self.young_retention,
            "mature_passed": self.mature_passed,
            "mature_failed": self.mature_failed,
            "mature_retention": self.mature_retention,
            "passed": self.passed,
            "failed": self.failed,
            "retention": self.retention,
        }


@dataclass(frozen=True, slots=True)
class CardMeta:
    card_id: str
    path: str | None
    line: int | None
    topic: str | None
    week: int | None
    question: str


def card_meta(notes: Iterable[Note]) -> dict[str, CardMeta]:
    out: dict[str, CardMeta] = {}
    for note in notes:
        for cid in note.card_ids():
            out[cid] = CardMeta(
                cid, note.path, note.line, note.meta.topic, note.meta.week, note.first_question_line
            )
    return out


# -- retention per group of cards (topic or study week) ---------------------------------------
class GroupRowDict(TypedDict):
    group: GroupKey
    cards: int
    reviews: int
    lapses: int
    passed: int
    failed: int
    retention: float | None
    mean_difficulty: float | None


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Retention, lapses and mean difficulty of one topic or study week."""

    group: GroupKey
    cards: int
    reviews: int
    lapses: int
    passed: int
    failed: int
    retention: float | None
    mean_difficulty: float | None

    def to_dict(self) -> GroupRowDict:
        return {
            "group": self.group,
            "cards": self.cards,
            "reviews": self.reviews,
            "lapses": self.lapses,
            "passed": self.passed,
            "failed": self.failed,
            "retention": self.retention,
            "mean_difficulty": self.mean_difficulty,
        }


def weakest_first(row: GroupRow) -> tuple[bool, float, int, tuple[int, int, str]]:
    """Lowest retention first, then most lapses; ties (e.g. weeks not studied yet) in natural
    order: week 2 before week 10, numbers before names."""
    r = row.retention
    g = row.group
    natural = (0, g, "") if isinstance(g, int) else (1, 0, str(g))
    return (r is None, r if r is not None else 0.0, -row.lapses, natural)


def group_retention(
    meta: dict[str, CardMeta],
    reviews: list[ReviewEntry],
    retained: list[tuple[date, ReviewEntry]],
    states: dict[str, CardState],
    key: Callable[[CardMeta], GroupKey],
) -> list[GroupRow]:
    """Retention, lapses and mean difficulty per group (topic or study week) of cards, in the
    order the groups first appear among the cards."""
    from dlcards.insights.log_figures import card_figures

    passed: dict[str, int] = {}
    failed: dict[str, int] = {}
    for _, e in retained:
        bucket = failed if e.rating == Rating.AGAIN else passed
        bucket[e.card_id] = bucket.get(e.card_id, 0) + 1
    return group_rows(meta, card_figures(reviews, passed, failed), states, key)


def group_rows(
    meta: dict[str, CardMeta],
    cards: Mapping[str, CardFiguresLike],
    states: dict[str, CardState],
    key: Callable[[CardMeta], GroupKey],
) -> list[GroupRow]:
    """`group_retention` of per-card figures (reviews, lapses, retained passes and fails)."""
    difficulty = {
        cid: st.difficulty
        for cid, st in states.items()
        if st.difficulty is not None and st.phase != "new"
    }
    return group_rows_of(meta, cards, difficulty, key)


def group_rows_of(
    meta: dict[str, CardMeta],
    cards: Mapping[str, CardFiguresLike],
    difficulty: Mapping[str, float],
    key: Callable[[CardMeta], GroupKey],
) -> list[GroupRow]:
    """`group_rows` given the difficulty of every card that has one (and is not new)."""
    counts: dict[GroupKey, list[int]] = {}  # group -> [cards, reviews, lapses, passed, failed]
    diffs: dict[GroupKey, list[float]] = {}
    for cid, card in meta.items():
        g = key(card)
        c = counts.setdefault(g, [0, 0, 0, 0, 0])
        c[0] += 1
        ds = diffs.setdefault(g, [])
        d = difficulty.get(cid)
        if d is not None:
            ds.append(d)
        f = cards.get(cid)
        if f is not None:
            c[1] += f.reviews
            c[2] += f.lapses
            c[3] += f.passed
            c[4] += f.failed
    out = []
    for g, (n_cards, n_reviews, lapses, passed, failed) in counts.items():
        ds = diffs[g]
        out.append(
            GroupRow(
                g,
                n_cards,
                n_reviews,
                lapses,
                passed,
                failed,
                ratio(passed, failed),
                round(sum(ds) / len(ds), 2) if ds else None,
            )
        )
    return out


class CardFiguresLike(Protocol):
    """What `group_rows` reads of a card's figures (`dlcards.insights.log_figures.CardFigures`)."""

    @property
    def reviews(self) -> int: ...
    @property
    def lapses(self) -> int: ...
    @property
    def passed(self) -> int: ...
    @property
    def failed(self) -> int: ...


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC time (a convenience for tests and simulations)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
