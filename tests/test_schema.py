"""Generated artefacts must match their source: schemas/deck.schema.json vs DeckMeta."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def test_deck_schema_matches_the_model() -> None:
    spec = importlib.util.spec_from_file_location(
        "write_schema", ROOT / "scripts" / "write_schema.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    on_disk = (ROOT / "schemas" / "deck.schema.json").read_text(encoding="utf-8")
    assert on_disk == module.render(), (
        "schemas/deck.schema.json is out of date with dlcards.core.model.DeckMeta: "
        "run `python scripts/write_schema.py` and commit the result"
    )


def test_schema_rejects_unknown_keys() -> None:
    import json

    schema = json.loads((ROOT / "schemas" / "deck.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"deck", "week", "topic", "tags", "requires"}
