"""`dlcards suspend` / `unsuspend` on a real store: by card id, by note id, unknown ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlcards.cli.main import main

DECK = "Q: One? <!-- id: one -->\nA: 1\n\nC: {{c1::a}} and {{c2::b}} <!-- id: clz -->\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def suspended(capsys: pytest.CaptureFixture[str], col: Path) -> list[str]:
    code, out, _ = run(capsys, "-C", str(col), "list", "--suspended", "--json")
    assert code == 0
    return sorted(r["id"] for r in json.loads(out))


def test_suspend_and_unsuspend(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (collection / "decks" / "a.md").write_text(DECK)
    code, out, _ = run(capsys, "-C", str(collection), "suspend", "one", "clz")
    assert code == 0 and "Suspended 3 cards." in out
    assert suspended(capsys, collection) == ["clz/c1", "clz/c2", "one"]
    code, out, _ = run(capsys, "-C", str(collection), "unsuspend", "clz/c2", "one")
    assert code == 0 and "Unsuspended 2 cards." in out
    assert suspended(capsys, collection) == ["clz/c1"]
    code, out, _ = run(capsys, "-C", str(collection), "unsuspend", "one")
    assert "Unsuspended 0 cards (1 already active)." in out
    code, out, err = run(capsys, "-C", str(collection), "suspend", "nope")
    assert code == 2 and "no card with id 'nope'" in err
    assert suspended(capsys, collection) == ["clz/c1"]
    from dlcards.store import Store

    with Store.open() as store:  # suspending synced the real cards: no placeholder orphans
        assert store.orphans() == []
