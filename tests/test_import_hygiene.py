"""Architecture as a checked contract: fast paths import no heavy libraries.

`dlcards --help` and a no-change `dlcards check` must not import sympy, torch, textual or
genanki (nor fsrs). Checked in a fresh interpreter, as the user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES

HEAVY = ("sympy", "torch", "textual", "genanki", "fsrs", "anki", "rapidfuzz", "pygments")

PROBE = """
import json, sys
from dlcards.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy})
print("\\n" + json.dumps({{"code": code, "heavy": heavy}}))
"""


def imported(args: list[str], cwd: Path) -> dict:  # type: ignore[type-arg]
    probe = PROBE.format(heavy=set(HEAVY))
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    result = imported(["--help"], tmp_path)
    assert result["code"] == 0 and result["heavy"] == []


def test_no_change_check_imports_nothing_heavy(tmp_path: Path) -> None:
    import shutil

    (tmp_path / "decks").mkdir()
    for f in EXAMPLES.glob("*.md"):
        shutil.copy(f, tmp_path / "decks" / f.name)
    first = imported(["check", "--no-exec"], tmp_path)  # fills the caches
    assert first["code"] == 0
    second = imported(["check", "--no-exec"], tmp_path)
    assert second["code"] == 0
    assert second["heavy"] == [], f"a no-change check imported {second['heavy']}"


def test_domain_modules_do_not_import_heavy_or_io_modules() -> None:
    """Only the edges touch the world: parse/identity/lint/model/session/days import no I/O libs."""
    probe = (
        "import sys, json\n"
        "import dlcards.core.parse, dlcards.core.identity, dlcards.core.lint, dlcards.core.model, dlcards.core.calendar, dlcards.core.state\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlite3','textual','genanki','sympy','torch','fsrs','subprocess'})))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout) == []
