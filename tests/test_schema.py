"""Generated artefacts must match their source: schemas/deck.schema.json vs DeckMeta, and the
report schemas (schemas/stats.schema.json, ...) vs the TypedDicts the reports' `to_dict()`
return."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from conftest import ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "write_schema", ROOT / "scripts" / "write_schema.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deck_schema_matches_the_model() -> None:
    on_disk = (ROOT / "schemas" / "deck.schema.json").read_text(encoding="utf-8")
    assert on_disk == _script().render(), (
        "schemas/deck.schema.json is out of date with dlcards.core.model.DeckMeta: "
        "run `python scripts/write_schema.py` and commit the result"
    )


REPORT_SCHEMAS = [
    "stats.schema.json",
    "stats-week.schema.json",
    "prune.schema.json",
    "card-info.schema.json",
    "check.schema.json",
    "list.schema.json",
    "coverage.schema.json",
]


@pytest.mark.parametrize("name", REPORT_SCHEMAS)
def test_report_schema_matches_the_report_types(name: str) -> None:
    script = _script()
    assert sorted(script.REPORTS) == sorted(REPORT_SCHEMAS)
    path = ROOT / "schemas" / name
    on_disk = path.read_text(encoding="utf-8") if path.is_file() else ""
    source = script.REPORTS[name][0]
    assert on_disk == script.render_report(name), (
        f"schemas/{name} is out of date with {source}: "
        "run `python scripts/write_schema.py` and commit the result"
    )


def test_every_schema_file_is_generated() -> None:
    """No hand-written or stale file under schemas/: each one has its generator."""
    on_disk = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert on_disk == set(_script().render_all()), (
        "schemas/ holds files scripts/write_schema.py does not write (delete them), or misses "
        "some: run `python scripts/write_schema.py`"
    )


def test_schema_rejects_unknown_keys() -> None:
    import json

    schema = json.loads((ROOT / "schemas" / "deck.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"deck", "week", "topic", "tags", "requires"}
