"""`dlcards list` into a pipe from its printed lines (issue 16, item 6: `dlcards list` starts in
≤ 8× `python -c pass`): `python -m dlcards list` answers from `dlcards.app.list_lines` without
click; the bytes are the full path's, in narrow and wide terminals, and stay so when the
store changes (a review, a suspension, a flag, a new stability alone, new parameters), when
the clock moves (rows redrawn in place, or everything when a column's width changes), when
it goes back, and with the caches off. The times up to which a row's cells are known not to
move (`_until`) are checked against the cells themselves on random states."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import test_stats_tui as T
from dlcards.app import list_cache, list_lines
from dlcards.cli.main import main

SRC = str(Path(__file__).resolve().parent.parent / "src")


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    assert main(["-C", str(root), *args]) == 0
    return capsys.readouterr().out


def full(capsys: pytest.CaptureFixture[str], root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The full path's table (every list cache off)."""
    with monkeypatch.context() as m:
        m.setenv("DLCARDS_CACHE_OFF", "list-view,list-table,list-lines")
        return run(capsys, root, "list")


def process(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """`python -m dlcards ...` as a user runs it (stdout a pipe)."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "dlcards", *args],
        cwd=cwd or root,
        env=env,
        capture_output=True,
        check=False,
    )


@pytest.fixture
def root(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", T.NOW.isoformat())
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(collection)  # `where` cells relative to it, as `python -m dlcards` sees
    r = T.build_collection(collection)
    from dlcards.store import Store

    with Store.open() as store:
        store.set_suspended(["sm-max"], True)
        store.set_leech("gr-part", True)
        store.set_flag("gr-dir", 3)
    return r


def light_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every run that rendered the table (the light path) instead of the lines."""
    used: list[str] = []
    real = list_cache._light_table

    def spy(*a, **k):  # type: ignore[no-untyped-def]
        used.append("light")
        return real(*a, **k)

    monkeypatch.setattr(list_cache, "_light_table", spy)
    return used


def at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setenv("DLCARDS_NOW", when.isoformat())


@pytest.mark.parametrize("columns", ["80", "150", "40"])
def test_printed_lines_equal_the_full_path(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    expected = full(capsys, root, monkeypatch)
    first = run(capsys, root, "list")  # the full path, which stores the lines
    with monkeypatch.context() as m:
        used = light_spy(m)
        second = run(capsys, root, "list")
        assert used == ([] if columns != "40" else ["light"])  # 40: lines cut, not stored
    assert first == second == expected
    for _ in range(2):  # the click-free path, as `python -m dlcards list` into a pipe
        done = process(root, "list")
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected.encode()
        assert done.stderr.endswith(b" cards\n")
    assert "[S]" in expected and "[L]" in expected and ("%" in expected or columns == "40")


def test_store_changes_are_not_served_stale(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from dlcards.store import Store

    run(capsys, root, "list")

    def check() -> None:
        expected = full(capsys, root, monkeypatch)
        assert run(capsys, root, "list") == expected
        assert process(root, "list").stdout == expected.encode()
        assert run(capsys, root, "list") == expected  # stored again, served

    with Store.open() as store:
        store.set_flag("sm-out", 5)
    check()
    with Store.open() as store:
        store.set_suspended(["sm-max"], False)
    check()
    with Store.open() as store:
        states = store.states()
        card_id, state = next((k, s) for k, s in states.items() if s.stability)
        assert state.stability is not None
        store.set_state(replace(state, stability=state.stability * 0.37))  # R moves, nothing else
    before = process(root, "list").stdout
    check()
    with Store.open() as store:
        state = store.states()[card_id]
        store.set_state(replace(state, due=T.NOW + timedelta(days=3, minutes=7)))  # due alone
    check()
    assert process(root, "list").stdout != before


def test_rows_moved_by_the_clock_are_redrawn_in_place(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, root, "list")
    redrawn = 0
    for later in (
        timedelta(seconds=1),
        timedelta(minutes=2),
        timedelta(minutes=40),
        timedelta(hours=5),
        timedelta(hours=5, minutes=1),
        timedelta(days=1),
        timedelta(days=9),
        timedelta(days=40),
        timedelta(days=400),
    ):
        at(monkeypatch, T.NOW + later)
        expected = full(capsys, root, monkeypatch)
        before = _meta(root)
        with monkeypatch.context() as m:
            used = light_spy(m)
            got = run(capsys, root, "list")
        assert got == expected, later
        if not used:  # served from the lines: redrawn (a later `at`) or unchanged
            redrawn += _meta(root)["at"] != before["at"]
        assert process(root, "list").stdout == expected.encode()
    assert redrawn >= 3  # most steps move a few rows without changing a column's width


def _meta(root: Path) -> dict[str, object]:
    import marshal

    path = list_lines.entry_path(str(root.resolve()), "meta")
    with open(path, "rb") as fh:
        fh.readline()
        value = marshal.loads(fh.read())
    assert isinstance(value, dict)
    return value


def test_the_clock_going_back_and_caches_off(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, T.NOW + timedelta(days=2))
    run(capsys, root, "list")
    at(monkeypatch, T.NOW)
    expected = full(capsys, root, monkeypatch)
    with monkeypatch.context() as m:
        used = light_spy(m)
        assert run(capsys, root, "list") == expected
        assert used == ["light"]
    assert process(root, "list").stdout == expected.encode()
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "list-lines")
    assert run(capsys, root, "list") == expected
    assert process(root, "list").stdout == expected.encode()


def test_the_hit_imports_no_click_or_heavy_module(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = run(capsys, root, "list")
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['dlcards', 'list']\n"
        "try:\n    runpy.run_module('dlcards', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "mods = sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'pydantic', "
        "'numpy', 'fsrs', 'platformdirs', 'typing_extensions', 'pathlib', 'json', 'pickle'))\n"
        "print('MODULES', mods, code, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, check=True, capture_output=True
    )
    assert b"MODULES [] 0" in out.stderr
    assert out.stdout == expected.encode()


def test_every_other_use_goes_through_click(
    root: Path, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere")
    done = process(root, "list", cwd=outside)  # no collection: click's error, exit 2
    assert done.returncode == 2 and b"no dlcards collection" in done.stderr
    done = process(root, "-C", str(outside / "missing"), "list")
    assert done.returncode == 2 and b"no such folder" in done.stderr
    done = process(root, "-C", str(root), "list")
    assert done.returncode == 0 and done.stdout == run(capsys, root, "list").encode()
    done = process(root, "list", "--help")
    assert done.returncode == 0 and b"QUERY is the browser's search language" in done.stdout
    done = process(root, "list", "--week", "1")
    assert done.returncode == 0 and done.stdout == run(capsys, root, "list", "--week", "1").encode()
    done = process(root, "list", "--json")
    assert done.returncode == 0 and done.stdout.startswith(b"[")


def test_light_replicas_agree_with_the_originals(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.cli.list_plain import terminal_columns
    from dlcards.system.clock import now
    from dlcards.system.paths import find_root, state_dir

    for where in (root / "decks", root, tmp_path.parent, Path("/")):
        found = find_root(where)
        assert list_lines.find_root(str(where)) == (None if found is None else str(found))
    assert list_lines.state_dir() == str(state_dir())
    monkeypatch.delenv("DLCARDS_HOME")
    for xdg in (str(tmp_path / "xdg"), "", "  ", f"{tmp_path}//xdg/", None):
        if xdg is None:
            monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert os.path.normpath(list_lines.state_dir()) == str(state_dir()), xdg
    for value in ("80", "0", "x", "200"):
        monkeypatch.setenv("COLUMNS", value)
        assert terminal_columns() == shutil.get_terminal_size((80, 24)).columns
    monkeypatch.delenv("COLUMNS")
    assert terminal_columns() == shutil.get_terminal_size((80, 24)).columns
    for raw in ("2026-03-20T12:00:00Z", "2026-03-20T13:30:00.123456+01:30", "2030-01-01T00:00Z"):
        monkeypatch.setenv("DLCARDS_NOW", raw)
        assert list_lines.now_micros() == list_cache._micros_of(now())
    for bad in ("2026-03-20T12:00:00", "tomorrow", "1900-01-01T00:00:00Z"):
        monkeypatch.setenv("DLCARDS_NOW", bad)
        assert list_lines.now_micros() is None


DAY_US = 86_400_000_000
CURVE = (0.9 ** (1 / -0.1542) - 1, -0.1542)


@settings(max_examples=300, deadline=None)
@given(
    due=st.integers(-800 * DAY_US, 800 * DAY_US),
    last=st.integers(-900 * DAY_US, 10 * DAY_US),
    stability=st.floats(0.01, 40_000, allow_nan=False),
    probes=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_cells_hold_until_their_time(
    due: int, last: int, stability: float, probes: list[float]
) -> None:
    """At any time between now and `_until`, the due and R cells are the ones drawn now."""
    from dlcards.review.scheduling import format_interval as fmt

    now = 1_767_603_600_000_000
    factor, decay = CURVE
    when = list_cache._due_cell(now + due, now, fmt)
    r = list_cache._r_cell(now + last, stability, factor, decay, now)
    until = list_cache._until(now + due, now + last, stability, factor, decay, now, when, r)
    assert until >= now
    for p in [*probes, 1.0]:
        t = now + int((until - now) * p) if until < list_cache._NEVER else now + int(p * 1e15)
        assert list_cache._due_cell(now + due, t, fmt) == when
        assert list_cache._r_cell(now + last, stability, factor, decay, t) == r


def test_where_cells_follow_the_working_folder(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `where` column is relative to the working folder: a run from another folder is
    not served the lines (or the table slot) of the first."""
    monkeypatch.setenv("COLUMNS", "160")
    run(capsys, root, "list")
    here = run(capsys, root, "list")
    assert " decks/softmax.md:" in here
    monkeypatch.chdir(root / "decks")
    expected = full(capsys, root, monkeypatch)
    assert " softmax.md:" in expected and " decks/softmax.md:" not in expected
    assert run(capsys, root, "list") == expected
    assert process(root, "-C", str(root), "list", cwd=root / "decks").stdout == expected.encode()


def test_list_leaves_the_store_as_closed_cleanly(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dlcards list` (the full path, then the light one in a process) only reads the store and
    leaves no -wal/-shm behind: the next open still trusts the clean close and skips
    `PRAGMA quick_check` (a read-only SQLite connection could not remove them)."""
    from dlcards.store import Store, integrity
    from dlcards.system.paths import state_dir

    db = state_dir() / "dlcards.sqlite3"
    with Store.open():
        pass
    assert integrity.unchanged_since_clean_close(db)
    full(capsys, root, monkeypatch)
    for _ in range(2):  # the first fills the cache, the second is served from it
        assert process(root, "list").returncode == 0
    assert not db.with_name(db.name + "-wal").exists()
    assert not db.with_name(db.name + "-shm").exists()
    assert integrity.unchanged_since_clean_close(db)


def test_cache_keys_ignore_which_caches_are_off(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`DLCARDS_CACHE_OFF` says which caches are used, not what they hold: turning another
    cache off (as `stats` measured without its own cache) keeps the list's and the review
    catalogue's entries; any other `DLCARDS_*` variable still changes them."""
    from dlcards.app import review_catalogue

    def keys() -> tuple[str, list[str | bytes]]:
        return list_cache._key(list_cache._cache(), root), review_catalogue._inputs(root, False)[0]

    before = keys()
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "stats-log-figures")
    assert keys() == before
    monkeypatch.setenv("DLCARDS_DECK_NAME_PROBE", "x")
    changed = keys()
    assert changed[0] != before[0] and changed[1] != before[1]
