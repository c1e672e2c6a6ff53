"""Write schemas/deck.schema.json from the DeckMeta pydantic model.

Run after changing `dlcards.core.model.DeckMeta`: `python scripts/write_schema.py`.
tests/test_schema.py fails (and says to run this) when the file drifts from the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schemas" / "deck.schema.json"


def render() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from dlcards.core.model import DeckMeta

    schema = DeckMeta.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://dlcards.dev/schemas/deck.schema.json"
    schema["description"] = (
        "YAML front matter at the top of a dlcards deck file (between `---` lines). "
        "Unknown keys are errors."
    )
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
