"""What a review session asks the caller to persist (`Effect`s), and `apply_effects`, the one
place where the session meets the store (any object with the `StoreLike` methods). Pure
apart from the calls it makes on that object."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from dlcards.core.state import ReviewEntry


@dataclass
class RecordReview:
    entry: ReviewEntry
    review_id: Any = None  # set by apply_effects; needed to undo


@dataclass(frozen=True)
class UndoReview:
    record: RecordReview


@dataclass(frozen=True)
class SetSuspended:
    card_ids: tuple[str, ...]
    value: bool


@dataclass(frozen=True)
class SetBuried:
    card_ids: tuple[str, ...]
    until: date | None


@dataclass(frozen=True)
class SetLeech:
    card_id: str
    value: bool


@dataclass(frozen=True)
class SetFlag:
    card_id: str
    flag: int


@dataclass(frozen=True)
class SetStudyMore:
    """Today's raised limits ("study more"), kept for the rest of the study day."""

    day: date
    extra_new: int
    extra_reviews: int


Effect = RecordReview | UndoReview | SetSuspended | SetBuried | SetLeech | SetFlag | SetStudyMore


def study_more_key(day: date) -> str:
    """The store setting holding a day's raised limits."""
    return f"study_more:{day.isoformat()}"


def parse_study_more(value: str | None) -> tuple[int, int]:
    """(extra new, extra reviews) from the stored setting; (0, 0) when absent or unreadable."""
    try:
        new, reviews = (int(x) for x in (value or "").split(","))
    except ValueError:
        return 0, 0
    return max(0, new), max(0, reviews)


class StoreLike(Protocol):
    def record_review(self, entry: ReviewEntry) -> Any: ...
    def undo_review(self, review_id: Any) -> ReviewEntry: ...
    def set_suspended(self, ids: Iterable[str], value: bool) -> None: ...
    def set_buried(self, ids: Iterable[str], until: date | None) -> None: ...
    def set_leech(self, card_id: str, value: bool) -> None: ...
    def set_flag(self, card_id: str, flag: int) -> None: ...
    def set_setting(self, key: str, value: str) -> None: ...


def apply_effects(store: StoreLike, effects: Iterable[Effect]) -> None:
    """Persist a session's effects, in order. The one place the session meets the store."""
    for effect in effects:
        if isinstance(effect, RecordReview):
            effect.review_id = store.record_review(effect.entry)
        elif isinstance(effect, UndoReview):
            if effect.record.review_id is None:
                raise RuntimeError("cannot undo a review that was never recorded")
            store.undo_review(effect.record.review_id)
        elif isinstance(effect, SetSuspended):
            store.set_suspended(list(effect.card_ids), effect.value)
        elif isinstance(effect, SetBuried):
            store.set_buried(list(effect.card_ids), effect.until)
        elif isinstance(effect, SetLeech):
            store.set_leech(effect.card_id, effect.value)
        elif isinstance(effect, SetFlag):
            store.set_flag(effect.card_id, effect.flag)
        elif isinstance(effect, SetStudyMore):
            store.set_setting(
                study_more_key(effect.day), f"{effect.extra_new},{effect.extra_reviews}"
            )


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """The result of one session action: effects to persist and a message for the learner."""

    effects: list[Effect]
    notice: str | None = None
    card_id: str | None = None
