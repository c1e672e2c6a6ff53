"""`dlcards list`'s light path (issue 16, item 6): the second run of an unchanged collection
comes from the list cache (no settings model, no parser, no fsrs) and prints exactly what the
full path prints, with the schedule read live from the store; any change of the decks, the
settings or the adopted FSRS parameters sends it back to the full path."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import test_stats_tui as T
from dlcards.app import list_cache
from dlcards.cli.main import main

QUERIES = [
    ["list", "--json"],
    ["list"],
    ["list", "--due", "--json"],
    ["list", "--week", "2"],
    ["list", "--topic", "gradients", "--json"],
    ["list", "-s", "PROBABILITY"],
    ["list", "--file", "softmax", "--json"],
    ["list", "--kind", "cloze"],
    ["list", "--suspended", "--json"],
    ["list", "--leech"],
]


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    assert main(["-C", str(root), *args]) == 0
    return capsys.readouterr().out


@pytest.fixture
def root(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", T.NOW.isoformat())
    r = T.build_collection(collection)
    from dlcards.store import Store

    with Store.open() as store:
        store.set_suspended(["sm-max"], True)
        store.set_leech("gr-part", True)
        store.set_flag("gr-dir", 3)
    return r


def full_path_guard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every run that opened the full Collection."""
    from dlcards.app import collection as module

    opened: list[str] = []
    real = module.Collection.open.__func__  # type: ignore[attr-defined]

    def spy(cls, *a, **k):  # type: ignore[no-untyped-def]
        opened.append("open")
        return real(cls, *a, **k)

    monkeypatch.setattr(module.Collection, "open", classmethod(spy))
    return opened


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: " ".join(a[1:]) or "table")
def test_cached_rows_equal_the_full_path(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "list-view")
    full = run(capsys, root, *args)
    monkeypatch.delenv("DLCARDS_CACHE_OFF")
    opened = full_path_guard(monkeypatch)
    first = run(capsys, root, *args)  # writes the cache
    second = run(capsys, root, *args)  # served by it
    assert opened == ["open"]
    assert first == second == full
    assert full.strip()


def test_a_changed_deck_or_setting_is_read_again(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, root, "list", "--json")
    opened = full_path_guard(monkeypatch)
    deck = root / "decks" / "gradients.md"
    deck.write_text(
        deck.read_text() + "\nQ: A new card? <!-- id: gr-new -->\nA: Yes.\n", encoding="utf-8"
    )
    assert "gr-new" in run(capsys, root, "list")
    assert opened == ["open"]
    (root / "dlcards.toml").write_text("[dlcards]\nday_starts_at = 0\n", encoding="utf-8")
    run(capsys, root, "list")
    assert opened == ["open", "open"]
    run(capsys, root, "list")
    assert opened == ["open", "open"]


def test_new_fsrs_parameters_are_not_served_stale(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`optimize`/`adopt` changes the forgetting curve: the cached constants are not used."""
    from dlcards.app.collection import Collection
    from dlcards.app.optimize import adopt_parameters

    run(capsys, root, "list", "--json")
    with Collection.open(root) as col:
        params = list(col.scheduler.parameters)
        params[20] = 0.3  # another decay
        adopt_parameters(col, params)
    opened = full_path_guard(monkeypatch)
    fresh = run(capsys, root, "list", "--json")
    assert opened == ["open"]
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "list-view")
    assert fresh == run(capsys, root, "list", "--json")


def test_store_file_is_the_store_default_path() -> None:
    from dlcards.store import default_path

    assert list_cache.store_file() == default_path()


def test_the_light_path_imports_no_pydantic_parser_or_fsrs(root: Path) -> None:
    env = {**os.environ, "DLCARDS_NOW": (T.NOW + timedelta(hours=1)).isoformat()}
    cmd = [sys.executable, "-m", "dlcards", "-C", str(root), "list"]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['dlcards', '-C', {str(root)!r}, 'list']\n"
        "try:\n    runpy.run_module('dlcards', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'fsrs', "
        "'markdown_it') or m in ('dlcards.core.parse', 'dlcards.core.model'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True
    )
    assert "HEAVY []" in out.stderr
    assert "gr-part" in out.stdout
