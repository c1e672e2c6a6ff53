"""Opening a review must not import sympy or torch (nor genanki): checked in a fresh process
that runs a real review session (pilot) on the shipped decks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

SCRIPT = r"""
import asyncio, json, sys
from pathlib import Path
from dlcards.app.collection import Collection
from dlcards.tui.app import build_review_app

async def main():
    with Collection.open(Path(sys.argv[1])) as col:
        store = col.store
        app = build_review_app(col)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            shown = app.review_screen.card_id
            await pilot.press("space", "3", "space", "v")
            await pilot.pause(0.3)
        return shown, len(store.reviews())

shown, n = asyncio.run(main())
print(json.dumps({"shown": shown, "reviews": n,
                  "heavy": sorted(m for m in ("sympy", "torch", "genanki") if m in sys.modules)}))
"""


def test_review_session_imports_no_sympy_or_torch(tmp_path: Path) -> None:
    decks = ROOT / "decks"
    source = decks if any(decks.rglob("*.md")) else EXAMPLES
    if not any(source.rglob("*.md")):
        pytest.skip("no shipped decks to review")
    col = tmp_path / "col"
    shutil.copytree(source, col / "decks")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(col)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DLCARDS_NOW": "2026-01-05T09:00:00Z"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["shown"] is not None and out["reviews"] == 1
    assert out["heavy"] == []
