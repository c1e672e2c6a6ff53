"""Parser behaviour pinned by fixture files (tests/fixtures/parse/*.md), one case per edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.core.parse import parse_text
from parse_fixtures import describe, read_cases

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "parse"
CASES = [
    pytest.param(case, id=f"{path.stem}:{case.line}:{case.title}")
    for path in sorted(FIXTURE_DIR.glob("*.md"))
    for case in read_cases(path)
]


@pytest.mark.parametrize("case", CASES)
def test_fixture(case):  # type: ignore[no-untyped-def]
    assert describe(parse_text(case.source, "t.md")) == case.expected


def test_fixture_files_have_cases() -> None:
    assert len(CASES) >= 30
