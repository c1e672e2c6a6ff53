"""The corpus of deliberately wrong cards (issue 12): tests/fixtures/wrong_cards/wrong/ holds one
card per way to be wrong (card formula wrong next to a right block, digits, a wrong shape on the
card, an undefined claim, off by one, a transposed gradient, a missing 1/N, a wrong sign, a wrong
broadcast, a wrong dtype, ...); each must get exactly the error of expected.txt, at its line.
Its twin in right/ (the same card, corrected) must check clean.

All cards of a side are checked in one `run_checks` (as `dlcards check` does), in a collection
of their own under a fresh state folder; torch cards are skipped with a reason without torch.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlcards.app.verify import CheckTally, run_checks
from dlcards.core.errors import Problem
from dlcards.system.decks import read_decks

CORPUS = Path(__file__).parent / "fixtures" / "wrong_cards"
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _expected() -> dict[str, tuple[int, str, str]]:
    out = {}
    for line in (CORPUS / "expected.txt").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        where, code, message = line.split(": ", 2)
        name, _, line_no = where.partition(":")
        out[name] = (int(line_no), code, message)
    return out


EXPECTED = _expected()
NAMES = sorted(p.name for p in (CORPUS / "wrong").glob("*.md"))


def _is_torch(name: str) -> bool:
    return "```torch" in (CORPUS / "wrong" / name).read_text(encoding="utf-8")


def _check_side(side: str, tmp: Path) -> dict[str, list[Problem]]:
    """Every check problem (structure and style aside) of the corpus side, by file name."""
    from dlcards.checks.runner.consent import trust

    root = tmp / side
    (root / "decks").mkdir(parents=True)
    for name in NAMES:
        if HAS_TORCH or not _is_torch(name):
            shutil.copy(CORPUS / side / name, root / "decks" / name)
    trust(root, datetime(2026, 1, 1, tzinfo=UTC))
    decks = read_decks(root, use_cache=False, lint=False)
    problems = run_checks(decks, [], no_cache=True, quiet=True, report=CheckTally())
    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        by_file.setdefault(Path(p.location.path).name, []).append(p)
    return by_file


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    tmp = tmp_path_factory.mktemp("corpus")
    old = os.environ.get("DLCARDS_HOME")
    os.environ["DLCARDS_HOME"] = str(tmp / "home")  # never the developer's state folder
    try:
        yield {side: _check_side(side, tmp) for side in ("wrong", "right")}
    finally:
        if old is None:
            os.environ.pop("DLCARDS_HOME", None)
        else:
            os.environ["DLCARDS_HOME"] = old


def test_the_corpus_is_large_and_paired() -> None:
    assert len(NAMES) >= 40
    assert sorted(p.name for p in (CORPUS / "right").glob("*.md")) == NAMES
    assert sorted(EXPECTED) == NAMES  # one expected error per wrong card


@pytest.mark.parametrize("name", NAMES)
def test_each_wrong_card_is_caught_at_its_line(name: str, results: dict[str, dict]) -> None:
    if _is_torch(name) and not HAS_TORCH:
        pytest.skip("torch is not installed: code cards are not run")
    line, code, message = EXPECTED[name]
    errors = [p for p in results["wrong"].get(name, []) if p.severity == "error"]
    got = [(p.location.line, p.code, p.message) for p in errors]
    assert got == [(line, code, message)]


@pytest.mark.parametrize("name", NAMES)
def test_each_corrected_card_checks_clean(name: str, results: dict[str, dict]) -> None:
    if _is_torch(name) and not HAS_TORCH:
        pytest.skip("torch is not installed: code cards are not run")
    got = [f"{p.location.line}: {p.code}: {p.message}" for p in results["right"].get(name, [])]
    assert got == []


def test_the_headline_bug_a_wrong_answer_next_to_a_right_block_fails(
    results: dict[str, dict],
) -> None:
    """The block is right, only the LaTeX on the card is wrong: that must be an error now."""
    errors = results["wrong"]["01-sigmoid-derivative-sign.md"]
    assert [p.code for p in errors] == ["card-formula-false"]
    assert "1 + \\sigma(x)" in (errors[0].hint or "")
