"""docs/curriculum.md maps every topic of the five study plans to deck files: those files exist
and hold cards, every plan has its table, and every deck file is mapped at least once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlcards.core.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
CURRICULUM = ROOT / "docs" / "curriculum.md"
DECKS = ROOT / "decks"

PLANS = (
    "000_e3a5c55eebce2d2f.txt",  # 8 weeks
    "001_6629126f33dbd846.txt",  # 12 weeks
    "002_53a82f082956d0cb.txt",  # 16 weeks
    "003_1b41bfd5a76d7bcb.txt",  # one week of PyTorch
    "004_7b04d431c87fec9d.txt",  # 44 days
)
DECK_REF_RE = re.compile(r"`(decks/[^`]+\.md)`")


def curriculum_rows(text: str) -> dict[str, list[tuple[str, str, list[str]]]]:
    """Plan seed file -> its table rows (unit, topic, deck files), read from the Markdown."""
    plans: dict[str, list[tuple[str, str, list[str]]]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            m = re.search(r"`(\d{3}_[0-9a-f]+\.txt)`", line)
            current = m.group(1) if m else None
            if current:
                plans[current] = []
            continue
        if current is None or not line.startswith("| ") or line.startswith("| unit "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            continue
        plans[current].append((cells[0], cells[1], DECK_REF_RE.findall(cells[2])))
    return plans


def card_count(path: Path) -> int:
    parsed = parse_text(path.read_text(encoding="utf-8"), path.name)
    return sum(len(note.cards()) for note in parsed.notes)


@pytest.fixture(scope="module")
def rows() -> dict[str, list[tuple[str, str, list[str]]]]:
    return curriculum_rows(CURRICULUM.read_text(encoding="utf-8"))


def test_reader_finds_rows_and_files() -> None:
    text = (
        "## The plan (`000_e3a5c55eebce2d2f.txt`)\n\n| unit | topic | deck files |\n|---|---|---|\n"
        "| Week 1 | Chain rule | `decks/a.md`, `decks/b.md` |\n| Week 2 | Nothing yet |  |\n"
        "## Notes\n| x | y | `decks/c.md` |\n"
    )
    assert curriculum_rows(text) == {
        "000_e3a5c55eebce2d2f.txt": [
            ("Week 1", "Chain rule", ["decks/a.md", "decks/b.md"]),
            ("Week 2", "Nothing yet", []),
        ]
    }


def test_every_plan_has_a_table(rows: dict[str, list[tuple[str, str, list[str]]]]) -> None:
    assert sorted(rows) == sorted(PLANS)
    for plan, plan_rows in rows.items():
        assert len(plan_rows) >= 7, f"{plan}: only {len(plan_rows)} topics mapped"


def test_every_topic_names_deck_files(rows: dict[str, list[tuple[str, str, list[str]]]]) -> None:
    empty = [
        f"{plan}: {unit} {topic}"
        for plan, r in rows.items()
        for unit, topic, files in r
        if not files
    ]
    assert not empty, "topics without deck files:\n" + "\n".join(empty)


def test_listed_deck_files_exist_and_hold_cards(
    rows: dict[str, list[tuple[str, str, list[str]]]],
) -> None:
    listed = sorted({f for r in rows.values() for _, _, files in r for f in files})
    missing = [f for f in listed if not (ROOT / f).is_file()]
    assert not missing, f"curriculum lists missing deck files: {missing}"
    empty = [f for f in listed if card_count(ROOT / f) == 0]
    assert not empty, f"curriculum lists deck files without cards: {empty}"


def test_every_deck_file_is_mapped(rows: dict[str, list[tuple[str, str, list[str]]]]) -> None:
    listed = {f for r in rows.values() for _, _, files in r for f in files}
    on_disk = {p.relative_to(ROOT).as_posix() for p in DECKS.rglob("*.md")}
    assert sorted(on_disk - listed) == [], "deck files missing from docs/curriculum.md"


def test_card_count_counts_cloze_deletions(tmp_path: Path) -> None:
    deck = tmp_path / "d.md"
    deck.write_text("Q: One?\nA: Yes.\n\nC: {{c1::a}} and {{c2::b}}.\n", encoding="utf-8")
    assert card_count(deck) == 3
    deck.write_text("# Only a heading\n", encoding="utf-8")
    assert card_count(deck) == 0
