"""The values `dlcards check` works with and returns: `Task` (one block to check),
`CardBinding`, `CheckTally`, `CheckReport` (and its dict form), and the `Progress` protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from typing_extensions import TypedDict

from dlcards.core.errors import Problem, ProblemDict
from dlcards.core.model import Block, Note


@dataclass
class Task:
    note: Note
    block: Block
    key: str
    mode: str = ""  # torch: "question" | "answer"; check/shapes: "bind" with the card's formulas
    expect: str | None = None
    result: list[dict[str, Any]] | None = None
    payload: str = ""  # bind: the JSON the worker reads (block text and the card's formulas)


@dataclass
class CardBinding:
    """The formulas a card states and what binding found for each (issue 12; see
    `dlcards.checks.binding`): `outcomes[i]` is None when no block could bind formula i."""

    note: Note
    formulas: list[Any]  # checks.binding.CardFormula
    outcomes: list[Any]  # checks.binding.Outcome | None


@dataclass
class CheckTally:
    """What one `run_checks` call counts and says besides problems (filled in as it runs)."""

    notes: list[str] = field(default_factory=list)
    blocks: int = 0
    cached: int = 0
    ran: int = 0
    snippets: int = 0
    bindings: list[CardBinding] = field(default_factory=list)


class CheckReportDict(TypedDict):
    problems: list[ProblemDict]
    notes: list[str]
    files: int
    cards: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of `dlcards check`: every problem, sorted, and what it says besides them.

    `problem_dicts()` is the `dlcards check --json` output (schemas/check.schema.json);
    `to_dict()` is the whole report, as the run cache keeps it (`from_dict` reads it back).
    """

    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()
    files: int = 0
    cards: int = 0
    blocks: int = 0
    cached: int = 0
    ran: int = 0
    snippets: int = 0

    @classmethod
    def of(
        cls, problems: list[Problem], tally: CheckTally, *, files: int, cards: int
    ) -> CheckReport:
        return cls(
            tuple(problems),
            tuple(tally.notes),
            files,
            cards,
            tally.blocks,
            tally.cached,
            tally.ran,
            tally.snippets,
        )

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    def problem_dicts(self) -> list[ProblemDict]:
        return [p.to_dict() for p in self.problems]

    def to_dict(self) -> CheckReportDict:
        return {
            "problems": self.problem_dicts(),
            "notes": list(self.notes),
            "files": self.files,
            "cards": self.cards,
        }

    @classmethod
    def from_dict(cls, d: CheckReportDict) -> CheckReport:
        problems = tuple(Problem.from_dict(p) for p in d["problems"])
        return cls(problems, tuple(d["notes"]), d["files"], d["cards"])


class Progress(Protocol):
    """Where long work reports how far it is (the CLI draws a bar on a terminal)."""

    def start(self, total: int, label: str) -> None: ...

    def advance(self, n: int = 1) -> None: ...
