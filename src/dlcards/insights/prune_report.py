"""The typed prune list: `Reason`, `PruneItem` and `PruneReport`, each with `to_dict()`.

`PruneReport.to_dict()` is the exact `dlcards prune --json` shape (`PruneReportDict`, written
to `schemas/prune.schema.json` by `scripts/write_schema.py`). The numbers behind a reason are
one TypedDict per reason code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from typing_extensions import TypedDict

ReasonCode = Literal[
    "leech",
    "difficult",
    "low-retention",
    "long-answer",
    "several-facts",
    "duplicate",
    "never-reviewed",
    "long-suspended",
    "orphan",
]

REASON_LABELS: dict[ReasonCode, str] = {
    "leech": "leech",
    "difficult": "difficult",
    "low-retention": "low retention",
    "long-answer": "long answer",
    "several-facts": "several facts",
    "duplicate": "near-duplicate",
    "never-reviewed": "never reviewed",
    "long-suspended": "long suspended",
    "orphan": "orphaned history",
}


# -- the numbers behind each reason -----------------------------------------------------------
class LeechNumbers(TypedDict):
    lapses: int
    threshold: int
    flagged: bool


class DifficultNumbers(TypedDict):
    difficulty: float
    stability: float | None
    retrievability: float | None


class LowRetentionNumbers(TypedDict):
    passed: int
    failed: int
    retention: float


class LongAnswerNumbers(TypedDict):
    words: int
    limit: int


class SeveralFactsNumbers(TypedDict):
    list_items: int
    sentences: int


class ClozeFactsNumbers(TypedDict):
    line: int  # the line of the cloze number that hides several pieces


class DuplicateNumbers(TypedDict):
    other: str
    other_where: str
    question_similarity: float
    answer_similarity: float
    others: list[str]


class NeverReviewedNumbers(TypedDict):
    week: int
    latest_studied_week: int


class LongSuspendedNumbers(TypedDict):
    days_since_review: int | None


class OrphanNumbers(TypedDict):
    reviews: int
    was_at: str
    relink_to: str | None
    match_score: float


ReasonNumbers = (
    LeechNumbers
    | DifficultNumbers
    | LowRetentionNumbers
    | LongAnswerNumbers
    | SeveralFactsNumbers
    | ClozeFactsNumbers
    | DuplicateNumbers
    | NeverReviewedNumbers
    | LongSuspendedNumbers
    | OrphanNumbers
)


# -- reasons and items ------------------------------------------------------------------------
class ReasonDict(TypedDict):
    code: ReasonCode
    message: str
    weight: float
    numbers: ReasonNumbers


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str
    weight: float
    numbers: ReasonNumbers

    def to_dict(self) -> ReasonDict:
        return {
            "code": self.code,
            "message": self.message,
            "weight": round(self.weight, 3),
            "numbers": self.numbers,
        }


class PruneItemDict(TypedDict):
    card_id: str
    note_id: str
    path: str | None
    line: int | None
    end_line: int | None
    question: str
    score: float
    orphan: bool
    relink_to: str | None
    relink_question: str | None
    reviews: int
    flag: int
    reasons: list[ReasonDict]


@dataclass(frozen=True, slots=True)
class PruneItem:
    card_id: str
    note_id: str
    path: str | None
    line: int | None
    end_line: int | None
    question: str
    reasons: tuple[Reason, ...]
    orphan: bool = False
    relink_to: str | None = None
    reviews: int = 0
    flag: int = 0  # 0 none, 1..7 Anki's colours (dlcards.insights.cardinfo.FLAG_NAMES)
    relink_question: str | None = None  # the suggested card's question (an orphan's relink)

    @property
    def score(self) -> float:
        return round(sum(r.weight for r in self.reasons), 3)

    @property
    def codes(self) -> list[ReasonCode]:
        return [r.code for r in self.reasons]

    def to_dict(self) -> PruneItemDict:
        return {
            "card_id": self.card_id,
            "note_id": self.note_id,
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line,
            "question": self.question,
            "score": self.score,
            "orphan": self.orphan,
            "relink_to": self.relink_to,
            "relink_question": self.relink_question,
            "reviews": self.reviews,
            "flag": self.flag,
            "reasons": [r.to_dict() for r in self.reasons],
        }


class PruneReportDict(TypedDict):
    now: str
    count: int
    reasons: dict[str, int]  # reason code -> number of items with it
    items: list[PruneItemDict]


@dataclass(frozen=True, slots=True)
class PruneReport:
    """The ranked list at `now` (`.to_dict()` is `dlcards prune --json`)."""

    now: datetime
    items: tuple[PruneItem, ...]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for it in self.items:
            for code in it.codes:
                counts[code] = counts.get(code, 0) + 1
        return counts

    def to_dict(self) -> PruneReportDict:
        return {
            "now": self.now.isoformat(),
            "count": self.count,
            "reasons": self.reasons,
            "items": [it.to_dict() for it in self.items],
        }
