"""`dlcards check --coverage`: how much of what the cards say is proved (issue 12, item 2).

Every card falls in one category:

- `bound-and-proved`: every formula the card states (`checks.binding.card_formulas`), and a
  question snippet's answer, was proved in the context of the card's blocks;
- `bound-numeric-only`: all bound, but some formula holds only at the sampled points (no proof),
  or ran out of its CPU budget;
- `false`: a formula on the card is false (an error of `dlcards check`);
- `unbound`: a formula on the card cannot be read or names what no block defines, or a formula
  has no block to be proved in, or the card has a `check`/`shapes` block but its text states
  nothing it proves;
- `code-checked`: the card states no formula; its answer is prose checked by code: its `torch`
  block(s) ran and passed their asserts. Not a formula card: outside the rate's denominator;
- `nothing-checkable`: no formula on the card and no checked block.

The rate: formula cards are all cards but `code-checked` and `nothing-checkable`; the headline
says how many formulas were proved and how many formula cards were bound and proved.

The JSON form is `CoverageReport.to_dict()` (schemas/coverage.schema.json).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

from dlcards.app.verify import CardBinding, CheckReport, CheckTally, run_checks
from dlcards.core.errors import Problem
from dlcards.system.decks import Decks

Category = Literal[
    "bound-and-proved",
    "bound-numeric-only",
    "false",
    "unbound",
    "code-checked",
    "nothing-checkable",
]
CATEGORIES: tuple[Category, ...] = (
    "bound-and-proved",
    "bound-numeric-only",
    "false",
    "unbound",
    "code-checked",
    "nothing-checkable",
)
_CARD_OF: dict[str, Category] = {
    "proved": "bound-and-proved",
    "numeric": "bound-numeric-only",
    "budget": "bound-numeric-only",
    "false": "false",
    "failed": "false",
    "unbound": "unbound",
}


class CoverageCountsDict(TypedDict):
    cards: int
    bound_and_proved: int
    bound_numeric_only: int
    false: int
    unbound: int
    code_checked: int
    nothing_checkable: int
    formula_cards: int  # every card but code-checked and nothing-checkable ones
    formulas: int
    formulas_proved: int


class CoverageFileDict(TypedDict):
    path: str
    counts: CoverageCountsDict


class UnboundDict(TypedDict):
    path: str
    line: int
    card: str
    formula: str
    reason: str


class CoverageCardDict(TypedDict):
    path: str
    line: int
    card: str
    category: Category
    formulas: int
    proved: int


class CoverageReportDict(TypedDict):
    total: CoverageCountsDict
    files: list[CoverageFileDict]
    cards: list[CoverageCardDict]
    unbound: list[UnboundDict]


@dataclass(frozen=True, slots=True)
class Unbound:
    path: str
    line: int
    card: str
    formula: str  # the formula as written ("" when the card states none)
    reason: str

    def to_dict(self) -> UnboundDict:
        return {
            "path": self.path,
            "line": self.line,
            "card": self.card,
            "formula": self.formula,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class CardCoverage:
    path: str
    line: int
    card: str  # the note id
    category: Category
    formulas: int
    proved: int

    def to_dict(self) -> CoverageCardDict:
        return {
            "path": self.path,
            "line": self.line,
            "card": self.card,
            "category": self.category,
            "formulas": self.formulas,
            "proved": self.proved,
        }


def _counts(cards: list[CardCoverage]) -> CoverageCountsDict:
    by = Counter(c.category for c in cards)
    return {
        "cards": len(cards),
        "bound_and_proved": by["bound-and-proved"],
        "bound_numeric_only": by["bound-numeric-only"],
        "false": by["false"],
        "unbound": by["unbound"],
        "code_checked": by["code-checked"],
        "nothing_checkable": by["nothing-checkable"],
        "formula_cards": len(cards) - by["code-checked"] - by["nothing-checkable"],
        "formulas": sum(c.formulas for c in cards),
        "formulas_proved": sum(c.proved for c in cards),
    }


@dataclass(frozen=True, slots=True)
class CoverageReport:
    cards: tuple[CardCoverage, ...]
    unbound: tuple[Unbound, ...]

    @property
    def total(self) -> CoverageCountsDict:
        return _counts(list(self.cards))

    def by_file(self) -> dict[str, CoverageCountsDict]:
        paths = sorted({c.path for c in self.cards})
        return {p: _counts([c for c in self.cards if c.path == p]) for p in paths}

    def headline(self) -> str:
        t = self.total
        line = f"{t['formulas_proved']} of {t['formulas']} formulas on cards are proved"
        if t["formula_cards"]:
            rate = round(100 * t["bound_and_proved"] / t["formula_cards"])
            line += (
                f"; {t['bound_and_proved']} of {t['formula_cards']} formula cards bound and "
                f"proved ({rate}%)"
            )
        return line

    def to_dict(self) -> CoverageReportDict:
        return {
            "total": self.total,
            "files": [{"path": p, "counts": c} for p, c in self.by_file().items()],
            "cards": [c.to_dict() for c in self.cards],
            "unbound": [u.to_dict() for u in self.unbound],
        }

    def lines(self) -> list[str]:
        """The text form: per file, the total, then every unbound formula with its reason."""
        out = []
        head = f"{'file':<44} {'cards':>5} {'proved':>6} {'numeric':>7} {'false':>5} "
        head += f"{'unbound':>7} {'code':>5} {'none':>5} {'formulas':>9}"
        out.append(head)
        rows = [*self.by_file().items(), ("total", self.total)]
        for path, c in rows:
            out.append(
                f"{path[-44:]:<44} {c['cards']:>5} {c['bound_and_proved']:>6} "
                f"{c['bound_numeric_only']:>7} {c['false']:>5} {c['unbound']:>7} "
                f"{c['code_checked']:>5} {c['nothing_checkable']:>5} "
                f"{c['formulas_proved']:>4}/{c['formulas']:<4}"
            )
        if self.unbound:
            out.append("")
            out.append("unbound:")
            for u in self.unbound:
                shown = f" {u.formula}:" if u.formula else ""
                out.append(f"{u.path}:{u.line}:{shown} {u.reason}")
        code = [c for c in self.cards if c.category == "code-checked"]
        if code:
            out.append("")
            out.append("checked by code (no formula on the card; its torch block passed):")
            out += [f"{c.path}:{c.line}: card {c.card}" for c in code]
        out.append("")
        out.append(self.headline())
        return out


def coverage_report(
    col: Decks, *, strict: bool = False, no_exec: bool = False, no_cache: bool = False
) -> tuple[CheckReport, CoverageReport]:
    """`dlcards check --coverage`: the check's report, and the coverage of its cards."""
    tally = CheckTally()
    problems = run_checks(
        col,
        list(col.problems),
        strict=strict,
        no_exec=no_exec,
        no_cache=no_cache,
        quiet=True,
        report=tally,
    )
    report = CheckReport.of(problems, tally, files=len(col.files), cards=len(col.cards))
    return report, coverage_of(col, tally.bindings, problems, no_exec=no_exec)


def coverage_of(
    col: Decks, bindings: list[CardBinding], problems: list[Problem], *, no_exec: bool = False
) -> CoverageReport:
    """Categorise every card from what binding found (pure over its inputs)."""
    not_run = no_exec or any(p.code in ("needs-trust", "no-torch") for p in problems)
    failed_at = {
        (p.location.path, p.location.line)
        for p in problems
        if p.severity == "error" and p.code.startswith("code-")
    }
    cards: list[CardCoverage] = []
    unbound: list[Unbound] = []
    for b in bindings:
        note = b.note
        path = col.display_path(note.path)
        statuses: list[str] = []
        for formula, outcome in zip(b.formulas, b.outcomes, strict=True):
            if outcome is None:
                kinds = {"shape": "shapes"}.get(formula.kind, "check")
                reason = f"no {kinds} block to prove it in"
                statuses.append("unbound")
                unbound.append(Unbound(path, formula.line, note.id, formula.shown, reason))
                continue
            statuses.append(outcome.status)
            if outcome.status == "unbound":
                unbound.append(Unbound(path, formula.line, note.id, formula.shown, outcome.message))
        for block in note.blocks:
            if block.kind != "torch" or block.side != "question" or note.kind != "basic":
                continue
            if not_run:
                statuses.append("unbound")
                unbound.append(
                    Unbound(path, block.line, note.id, "torch", "code cards were not run")
                )
            else:
                # the runner compared the answer's code span with the snippet's value
                ran_badly = any(
                    (path, ln) in failed_at
                    for ln in range(block.line, block.line + block.text.count("\n") + 2)
                )
                statuses.append("false" if ran_badly else "proved")
        category: Category
        if statuses:
            category = min(
                (_CARD_OF[s] for s in statuses),
                key=lambda c: ("false", "unbound", "bound-numeric-only", "bound-and-proved").index(
                    c
                ),
            )
        elif note.blocks and all(bl.kind == "torch" for bl in note.blocks):
            # prose checked by code: the answer-side torch block ran and passed its asserts
            ran_badly = any(
                (path, ln) in failed_at
                for bl in note.blocks
                for ln in range(bl.line, bl.line + bl.text.count("\n") + 2)
            )
            if not_run:
                category = "unbound"
                unbound.append(
                    Unbound(path, note.line, note.id, "torch", "code cards were not run")
                )
            else:
                category = "false" if ran_badly else "code-checked"
        elif note.blocks:
            category = "unbound"
            kinds = "/".join(sorted({bl.kind for bl in note.blocks}))
            unbound.append(
                Unbound(
                    path,
                    note.line,
                    note.id,
                    "",
                    f"the {kinds} block passes, but the card's text states no formula it proves",
                )
            )
        else:
            category = "nothing-checkable"
        cards.append(
            CardCoverage(
                path,
                note.line,
                note.id,
                category,
                len(statuses),
                sum(1 for s in statuses if s == "proved"),
            )
        )
    unbound.sort(key=lambda u: (u.path, u.line))
    return CoverageReport(tuple(cards), tuple(unbound))
