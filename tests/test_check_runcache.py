"""The whole-run cache of `dlcards check`: a no-change check is nearly free, and every input
that can change the outcome invalidates it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlcards.cli.main import main

DECK = "Q: What is 2+2?\nA: 4\n"

PROBE = (
    "import json, sys\nfrom dlcards.cli.main import main\ncode = main(sys.argv[1:])\n"
    "print('\\n' + json.dumps({'code': code, 'pydantic': 'pydantic' in sys.modules, "
    "'parser': 'dlcards.core.parse.cards' in sys.modules}))"
)


def probe(cwd: Path, *args: str) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"stderr": proc.stderr}


def test_no_change_check_skips_the_parser_and_pydantic(collection: Path) -> None:
    (collection / "decks" / "a.md").write_text(DECK)
    first = probe(collection, "check", "--no-exec")
    assert first["code"] == 0 and first["parser"]
    second = probe(collection, "check", "--no-exec")
    assert second["code"] == 0 and not second["pydantic"] and not second["parser"]
    assert "nothing changed since the last check" in second["stderr"]
    assert "0 errors, 0 warnings in 1 file (1 cards)" in second["stderr"]


def check(
    capsys: pytest.CaptureFixture[str], collection: Path, *args: str
) -> tuple[int, list[str]]:
    code = main(["-C", str(collection), "check", "--json", "--no-exec", *args])
    out, _ = capsys.readouterr()
    return code, [d["code"] for d in json.loads(out)]


def test_each_input_invalidates(
    collection: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = collection / "decks" / "a.md"
    deck.write_text(DECK)
    assert check(capsys, collection) == (0, [])
    assert check(capsys, collection) == (0, [])  # cached
    deck.write_text("Q: What is 2+2?\n")  # an edit
    assert check(capsys, collection) == (1, ["missing-answer"])
    deck.write_text("Q: Long?\nA: one two three four five\n")
    assert check(capsys, collection) == (0, [])
    (collection / "dlcards.toml").write_text("[dlcards]\nanswer_word_limit = 3\n")  # settings
    assert check(capsys, collection) == (0, ["long-answer"])
    monkeypatch.setenv("DLCARDS_ANSWER_WORD_LIMIT", "10")  # environment
    assert check(capsys, collection) == (0, [])
    (collection / "decks" / "b.md").write_text("C: nothing hidden\n")  # a new file
    assert check(capsys, collection) == (1, ["cloze-without-deletion"])
    (collection / "decks" / "b.md").unlink()  # a removed file
    assert check(capsys, collection) == (0, [])


def test_consent_invalidates(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (collection / "decks" / "a.md").write_text(
        "Q: Shape?\n```torch\ntorch.zeros(2).shape\n```\nA: `torch.Size([2])`\n"
    )
    code = main(["-C", str(collection), "check", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and [d["code"] for d in json.loads(out)] == ["needs-trust"]
    from datetime import UTC, datetime

    from dlcards.checks.runner.consent import trust

    trust(collection, datetime(2026, 1, 1, tzinfo=UTC))
    code = main(["-C", str(collection), "check", "--json"])
    out, _ = capsys.readouterr()
    assert "needs-trust" not in [d["code"] for d in json.loads(out)]
