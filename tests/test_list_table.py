"""`dlcards list`'s plain table from the list cache (issue 16, item 6): the table's cells come
from a cache slot holding the questions already rendered and from one light read of the
store's states and flags (no `ListRow`, no numpy, no renderer); the printed table is exactly
the full path's, in narrow and wide terminals, with every schedule cell (due, overdue, learning,
R, suspended / leech marks, flags, a card with flags and no state); a change of the adopted
FSRS parameters is not served stale."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import test_stats_tui as T
from dlcards.cli.main import main


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
        store.set_flag("sm-out", 5)
        store.set_suspended(["sm-out"], True)
    return r


def guard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the runs that built rows (the full path or the cached row path)."""
    from dlcards.app import collection as module
    from dlcards.app import list_cache

    used: list[str] = []
    real_open = module.Collection.open.__func__  # type: ignore[attr-defined]
    real_rows = list_cache.fast_rows

    def spy_open(cls, *a, **k):  # type: ignore[no-untyped-def]
        used.append("full")
        return real_open(cls, *a, **k)

    def spy_rows(*a, **k):  # type: ignore[no-untyped-def]
        used.append("rows")
        return real_rows(*a, **k)

    monkeypatch.setattr(module.Collection, "open", classmethod(spy_open))
    monkeypatch.setattr(list_cache, "fast_rows", spy_rows)
    return used


@pytest.mark.parametrize("columns", ["80", "150", "40"])
def test_cached_table_equals_the_full_path(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    for later in (timedelta(0), timedelta(hours=5), timedelta(days=9)):  # due cells move
        monkeypatch.setenv("DLCARDS_NOW", (T.NOW + later).isoformat())
        monkeypatch.setenv("DLCARDS_CACHE_OFF", "list-view,list-table")
        full = run(capsys, root, "list")
        monkeypatch.delenv("DLCARDS_CACHE_OFF")
        with pytest.MonkeyPatch.context() as spies:
            used = guard(spies)
            first = run(capsys, root, "list")  # writes the row entry (full path), once
            assert used in (["rows", "full"], [])
            used.clear()
            second = run(capsys, root, "list")  # from the table slot (the full path wrote it)
            third = run(capsys, root, "list")
            assert used == []  # neither rows nor the collection
        assert first == second == third == full
    for mark in ("[S]", "[L]", "new", "review", "-22d"):
        assert mark in full, mark
    if columns != "40":  # 40 columns: every line cut after the R column's digits
        assert "%" in full and " 3 " in full and " 5 " in full
    if columns == "150":
        assert "decks/softmax.md:" in full


def test_table_slot_derived_from_the_entry_the_stats_wrote(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dlcards stats` writes the row entry without the rendered table; the next `dlcards
    list` derives the table from it, without the collection."""
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "list-view,list-table")
    full = run(capsys, root, "list")
    monkeypatch.delenv("DLCARDS_CACHE_OFF")
    run(capsys, root, "stats", "--json")
    with pytest.MonkeyPatch.context() as spies:
        used = guard(spies)
        derived = run(capsys, root, "list")
        again = run(capsys, root, "list")
        assert used == []
    assert derived == again == full


def test_colored_cells_equal_the_full_path(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cells (and so the coloured pager output) of the cached table == of the rows."""
    from dlcards.app.collection import Collection
    from dlcards.app.list_cache import fast_table, remember
    from dlcards.app.listing import ListQuery
    from dlcards.cli.list import format_table, table_cells

    with Collection.open(root) as col:
        now = col.now()
        rows = col.list_rows(ListQuery(), now)
        remember(col, now)
    hit = fast_table(root, ListQuery(), lambda: now)
    assert hit is not None
    cells, at = hit
    old = table_cells(rows, now)
    assert at == now
    for k, v in old.items():
        assert list(cells[k]) == list(v), k
    assert list(format_table(cells, 100, color=True)) == list(format_table(old, 100, color=True))
    assert fast_table(root, ListQuery(week=1), lambda: now) is None  # filters: the row path


def test_new_parameters_are_not_served_stale_in_the_table(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.app.optimize import adopt_parameters

    run(capsys, root, "list")
    run(capsys, root, "list")  # the table slot exists
    with Collection.open(root) as col:
        params = list(col.scheduler.parameters)
        params[20] = 0.3
        adopt_parameters(col, params)
    fresh = run(capsys, root, "list")
    again = run(capsys, root, "list")
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "list-view,list-table")
    assert fresh == again == run(capsys, root, "list")


def test_the_table_path_imports_no_numpy_renderer_or_parser(root: Path) -> None:
    env = {**os.environ, "DLCARDS_NOW": (T.NOW + timedelta(hours=1)).isoformat()}
    cmd = [sys.executable, "-m", "dlcards", "-C", str(root), "list"]
    for _ in range(2):  # the row entry, then the table slot
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['dlcards', '-C', {str(root)!r}, 'list']\n"
        "try:\n    runpy.run_module('dlcards', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'fsrs', "
        "'markdown_it', 'numpy', 'pylatexenc') or m in ('dlcards.core.parse', "
        "'dlcards.core.model', 'dlcards.app.browse', 'dlcards.insights.listing'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True
    )
    assert "HEAVY []" in out.stderr
    assert "gr-part" in out.stdout and "[L]" in out.stdout
