"""Write the JSON Schemas under schemas/: the deck front matter and the `--json` outputs.

- `deck.schema.json` from the `DeckMeta` pydantic model;
- `stats.schema.json`, `stats-week.schema.json`, `prune.schema.json`, `card-info.schema.json`,
  `check.schema.json`, `list.schema.json`, `coverage.schema.json` from the TypedDicts that the typed reports'
  `to_dict()` return (`dlcards.insights.*`, `dlcards.core.errors.ProblemDict`), through
  pydantic's `TypeAdapter(...).json_schema()`. The reports themselves are plain frozen
  dataclasses: pydantic is needed only here, never when a command runs.

Run after changing a model or a report: `python scripts/write_schema.py`.
tests/test_schema.py fails (and says to run this) when a file drifts from its source.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
SCHEMA_PATH = SCHEMAS / "deck.schema.json"
BASE_ID = "https://dlcards.dev/schemas/"

# file name -> (dotted path of the type, what the file describes)
REPORTS: dict[str, tuple[str, str]] = {
    "stats.schema.json": (
        "dlcards.insights.stats_report:StatsReportDict",
        "`dlcards stats --json`: today, streak, study time, card counts, true retention per "
        "period, the forecast, the review heatmap, memory distributions, weekly retention, "
        "study weeks and topics (weakest first).",
    ),
    "stats-week.schema.json": (
        "dlcards.insights.week:WeekSummaryDict",
        "`dlcards stats --week N --json`: one study week's summary.",
    ),
    "prune.schema.json": (
        "dlcards.insights.prune_report:PruneReportDict",
        "`dlcards prune --json`: the ranked cards worth attention, with their reasons.",
    ),
    "card-info.schema.json": (
        "dlcards.insights.cardinfo:CardInfoDict",
        "`dlcards info CARD_ID --json`: where the card lives, its state and every review.",
    ),
    "check.schema.json": (
        "list[dlcards.core.errors:ProblemDict]",
        "`dlcards check --json`: every problem of every deck file, sorted.",
    ),
    "list.schema.json": (
        "list[dlcards.insights.listing:ListRowDict]",
        "`dlcards list --json`: one object per card, with its schedule.",
    ),
    "coverage.schema.json": (
        "dlcards.app.coverage:CoverageReportDict",
        "`dlcards check --coverage --json`: per card (a cloze note counts once) its category "
        "(bound-and-proved, bound-numeric-only, false, unbound, code-checked, "
        "nothing-checkable), counts per "
        "deck file and in total, and every unbound formula with its path, line and reason.",
    ),
}


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> str:
    """schemas/deck.schema.json."""
    sys.path.insert(0, str(ROOT / "src"))
    from dlcards.core.model import DeckMeta

    schema = DeckMeta.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = BASE_ID + "deck.schema.json"
    schema["description"] = (
        "YAML front matter at the top of a dlcards deck file (between `---` lines). "
        "Unknown keys are errors."
    )
    return _dump(schema)


def _type(spec: str) -> Any:
    import importlib

    outer = spec.startswith("list[")
    module, name = spec.removeprefix("list[").removesuffix("]").split(":")
    tp = getattr(importlib.import_module(module), name)
    return list[tp] if outer else tp  # type: ignore[valid-type]


def render_report(name: str) -> str:
    """One report schema (a file name of REPORTS)."""
    sys.path.insert(0, str(ROOT / "src"))
    from pydantic import TypeAdapter

    spec, description = REPORTS[name]
    schema = TypeAdapter(_type(spec)).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = BASE_ID + name
    schema["description"] = description
    return _dump(schema)


def render_all() -> dict[str, str]:
    """Every file under schemas/ this script writes: name -> text."""
    return {"deck.schema.json": render(), **{name: render_report(name) for name in REPORTS}}


def main() -> None:
    SCHEMAS.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        path = SCHEMAS / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
