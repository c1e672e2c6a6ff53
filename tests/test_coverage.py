"""`dlcards check --coverage` on a fixture collection (tests/fixtures/coverage): every category,
the counts per deck file and in total, the unbound formulas with their lines and reasons, the
JSON form, and what the review screen may say afterwards (`binding_status`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dlcards.app.coverage import coverage_report
from dlcards.app.verify import binding_status
from dlcards.cli.main import main
from dlcards.system.decks import read_decks

FIXTURE = Path(__file__).parent / "fixtures" / "coverage"


@pytest.fixture
def col(tmp_path: Path) -> Path:
    root = tmp_path / "col"
    shutil.copytree(FIXTURE, root)
    return root


def test_categories_counts_and_unbound_reasons(col: Path) -> None:
    decks = read_decks(col, use_cache=False, lint=False)
    report, cov = coverage_report(decks, no_exec=True)
    by_line = {(Path(c.path).name, c.line): c.category for c in cov.cards}
    assert by_line == {
        ("a.md", 8): "bound-and-proved",  # the card's own formula, proved in the block
        ("a.md", 15): "unbound",  # the card names L, N, X, y_hat: not the block's names
        ("a.md", 24): "unbound",  # a symbolic \lfloor cannot be read
        ("a.md", 31): "unbound",  # a formula, but no block
        ("a.md", 34): "nothing-checkable",
        ("a.md", 37): "unbound",  # a code card, not run (--no-exec)
        ("a.md", 43): "false",  # $3x$ next to a right block
        ("a.md", 50): "bound-and-proved",  # the card's shape is the block's claim
        ("a.md", 59): "unbound",  # the block passes, the card states no formula
        ("b.md", 8): "bound-and-proved",  # a cloze deletion's formula
        ("b.md", 14): "unbound",  # one formula proved, one unreadable
        ("b.md", 22): "bound-and-proved",  # arithmetic that names nothing needs no block
    }
    assert cov.total == {
        "cards": 12,
        "bound_and_proved": 4,
        "bound_numeric_only": 0,
        "false": 1,
        "unbound": 6,
        "code_checked": 0,
        "nothing_checkable": 1,
        "formula_cards": 11,
        "formulas": 11,
        "formulas_proved": 5,
    }
    assert cov.by_file()[str(col / "decks" / "b.md")]["formulas_proved"] == 3
    assert cov.headline() == (
        "5 of 11 formulas on cards are proved; 4 of 11 formula cards bound and proved (36%)"
    )
    unbound = [(Path(u.path).name, u.line, u.reason) for u in cov.unbound]
    assert unbound == [
        (
            "a.md",
            16,
            "the card names L, N, X, y_hat, which the check block does not define",
        ),
        (
            "a.md",
            25,
            "cannot read the formula: column 24: \\lfloor … \\rfloor of a symbolic expression: "
            "the check language has no floor or ceiling (a closed form such as "
            "\\lfloor (7-3)/2 \\rfloor is read)",
        ),
        ("a.md", 32, "no check block to prove it in"),
        ("a.md", 38, "code cards were not run"),
        ("a.md", 59, "the check block passes, but the card's text states no formula it proves"),
        ("b.md", 15, "cannot read the formula: column 14: unexpected '='"),
    ]
    # the false formula is the one error of the check, at the answer's line
    assert [(p.location.line, p.code) for p in report.problems if p.severity == "error"] == [
        (44, "card-formula-false")
    ]


def test_review_screen_status_comes_from_the_cache(col: Path) -> None:
    decks = read_decks(col, use_cache=False, lint=False)
    notes = {(Path(n.path).name, n.line): n for n in decks.notes}
    assert binding_status(notes[("a.md", 8)]) == "unchecked"  # nothing ran yet
    coverage_report(decks, no_exec=True)
    assert binding_status(notes[("a.md", 8)]) == "proved"
    assert binding_status(notes[("a.md", 43)]) == "false"
    assert binding_status(notes[("a.md", 59)]) == "unbound"  # block passed, text not bound
    assert binding_status(notes[("a.md", 15)]) == "unbound"
    assert binding_status(notes[("a.md", 34)]) == "none"


def test_cli_coverage_json_and_text(col: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-C", str(col), "check", "--coverage", "--json", "--no-exec"])
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert code == 1  # the false formula is an error
    assert data["total"]["formulas"] == 11 and data["total"]["formulas_proved"] == 5
    assert set(data) == {"total", "files", "cards", "unbound"}
    assert {c["category"] for c in data["cards"]} == {
        "bound-and-proved",
        "false",
        "unbound",
        "nothing-checkable",
    }
    code = main(["-C", str(col), "check", "--coverage", "--no-exec"])
    out, err = capsys.readouterr()
    assert code == 1 and "1 error" in err
    assert out.rstrip().endswith(
        "5 of 11 formulas on cards are proved; 4 of 11 formula cards bound and proved (36%)"
    )
    assert "b.md:15: $\\frac{d}{dt} = 2$: cannot read the formula" in out
    assert "card-formula-false" not in out and "the card's formula is false" in out
