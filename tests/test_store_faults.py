"""Damaged, empty, foreign, future-version, read-only and full stores (issue 17): each is
caught before anything is written or backed up, and named as what it is."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from dlcards.cli.main import main
from dlcards.core.errors import StoreError
from dlcards.core.state import CardState, Rating
from dlcards.review.scheduling import Scheduler, SchedulerConfig
from dlcards.store import Store
from dlcards.store.backup import daily_backup, list_backups
from dlcards.store.integrity import (
    DamagedStoreError,
    FutureStoreError,
    StoreFullError,
    StoreReadOnlyError,
)
from dlcards.store.migrations import LATEST

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY0 = date(2026, 1, 5)
DECK = "---\nweek: 1\ntopic: basics\n---\n\nQ: What is a scalar?\nA: A single number.\n"


def sched() -> Scheduler:
    from zoneinfo import ZoneInfo

    return Scheduler(
        SchedulerConfig(0.9, (600.0,), (600.0,), 36500, False, None, 4, ZoneInfo("UTC"))
    )


def fill(store: Store, cards: int = 5, answers: int = 3) -> None:
    s = sched()
    for c in range(cards):
        state = CardState(f"card{c}")
        t = T0
        for _ in range(answers):
            entry = s.review(state, Rating.GOOD, t)
            store.record_review(entry)
            state = entry.after
            t = (state.due or t) + timedelta(hours=1)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` and its hash: "nothing was written" is this not changing."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "cache" not in p.relative_to(folder).parts
    }


def good_db(folder: Path) -> Path:
    path = folder / "dlcards.sqlite3"
    with Store.open(path) as store:
        fill(store)
    return path


def damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data) - 1, 61):
        data[offset] = (data[offset] + 0x55) % 256
    path.write_bytes(bytes(data))


def big_db(folder: Path) -> Path:
    path = folder / "dlcards.sqlite3"
    with Store.open(path) as store:
        fill(store, cards=120, answers=3)
    return path


def make_fault(kind: str, folder: Path) -> Path:
    path = folder / "dlcards.sqlite3"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "not-sqlite":
        path.write_bytes(b"hello, I am a text file\n" * 50)
    elif kind == "foreign-sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO photos (name) VALUES ('cat.jpg')")
        conn.commit()
        conn.close()
    elif kind == "future-version":
        good_db(folder)
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
        conn.commit()
        conn.close()
    elif kind == "truncated":
        big_db(folder)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "damaged-pages":
        big_db(folder)
        damage(path)
    for extra in ("-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)
    return path


KINDS = ["empty", "not-sqlite", "foreign-sqlite", "future-version", "truncated", "damaged-pages"]
EXPECT = {
    "empty": (DamagedStoreError, "empty (0 bytes)"),
    "not-sqlite": (DamagedStoreError, "not a dlcards database"),
    "foreign-sqlite": (DamagedStoreError, "not a dlcards review database"),
    "future-version": (FutureStoreError, "newer than this dlcards knows"),
    "truncated": (DamagedStoreError, "damaged"),
    "damaged-pages": (DamagedStoreError, "damaged"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_database_is_refused_before_anything_is_written(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = make_fault(kind, folder)
    (folder / "backups").mkdir()
    before = snapshot(folder)
    error, words = EXPECT[kind]
    with pytest.raises(error) as info:  # the review's open: with a daily backup
        Store.open(path, backup_day=DAY0)
    assert str(path) in info.value.message and words in info.value.message
    assert (
        info.value.hint and ("upgrade" if kind == "future-version" else "doctor") in info.value.hint
    )
    assert snapshot(folder) == before  # no backup, no -wal, no new database, no migration
    assert not list_backups(path)


@pytest.mark.parametrize("kind", KINDS)
def test_commands_name_the_fault_with_exit_code_1(
    kind: str, tmp_path: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "col"
    (root / "decks").mkdir(parents=True)
    (root / "decks" / "a.md").write_text(DECK)
    path = make_fault(kind, dlcards_home)
    before = snapshot(dlcards_home)
    _, words = EXPECT[kind]
    for args in (["doctor"], ["stats", "--json"]):
        code = main(["-C", str(root), *args])
        out, err = capsys.readouterr()
        assert code == 1, (args, out, err)
        assert words in out + err and str(path) in out + err, (args, out, err)
        assert "Traceback" not in out + err and "internal error" not in (out + err).lower()
    assert snapshot(dlcards_home) == before


def test_a_new_database_is_created_whole(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dlcards.sqlite3"
    with Store.open(path) as store:
        assert store.schema_version == LATEST
    assert not [p.name for p in path.parent.iterdir() if ".new" in p.name]
    with Store.open(path) as store:  # and it opens again (not taken as empty or foreign)
        assert store.reviews() == []


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[bool]:
    """A tiny tmpfs at `folder` when this test runs as root and may mount; else nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        yield False
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_read_only_store_is_named_read_only_not_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    with tmpfs(folder, "4m") as mounted:
        path = good_db(folder)
        if mounted:
            ok = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True)
            assert ok.returncode == 0, ok.stderr
        else:
            if os.geteuid() == 0:
                pytest.skip("root without mount: file permissions do not bind root")
            path.chmod(0o444)
            folder.chmod(0o555)
        try:
            with pytest.raises(StoreError) as info, Store.open(path) as store:
                store.set_suspended(["card0"], True)
            assert isinstance(info.value, StoreReadOnlyError), info.value.message
            assert "read-only" in info.value.message and "damaged" not in info.value.message
        finally:
            if not mounted:
                folder.chmod(0o755)


FULL_WRITER = r"""
import os, resource, signal, sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
from dlcards.core.state import CardState, Rating
from dlcards.review.scheduling import Scheduler, SchedulerConfig
from dlcards.store import Store
path = sys.argv[1]
sched = Scheduler(SchedulerConfig(0.9, (600.0,), (600.0,), 36500, False, None, 4, ZoneInfo("UTC")))
store = Store.open(path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = os.path.getsize(path) + 40_000
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
t = datetime(2026, 1, 5, 9, tzinfo=UTC)
for i in range(5000):
    cid = f"card{i}"
    try:
        rid, _ = store.record_answer(cid, lambda b: sched.review(b, Rating.GOOD, t + timedelta(seconds=i)))
    except Exception as exc:
        print("fail", type(exc).__name__, getattr(exc, "message", exc), flush=True)
        break
    print("ack", rid, flush=True)
"""


@pytest.mark.parametrize("limit", ["tmpfs", "rlimit"])
def test_a_full_disk_is_named_and_no_acknowledged_answer_is_lost(
    limit: str, tmp_path: Path
) -> None:
    folder = tmp_path / "full"
    with tmpfs(folder, "256k") if limit == "tmpfs" else contextlib.nullcontext(False) as mounted:
        if limit == "tmpfs" and not mounted:
            pytest.skip("a tiny tmpfs needs root and mount (the rlimit case still runs)")
        path = folder / "dlcards.sqlite3"
        acked: list[int] = []
        if mounted:
            s = sched()
            with Store.open(path) as store:
                error = None
                for i in range(5000):
                    try:
                        rid, _ = store.record_answer(
                            f"card{i}",
                            lambda b, i=i: s.review(b, Rating.GOOD, T0 + timedelta(seconds=i)),
                        )
                    except StoreError as exc:
                        error = exc
                        break
                    acked.append(rid)
                assert isinstance(error, StoreFullError), error
                message = error.message
            assert "disk is full" in message and "damaged" not in message
        else:
            with Store.open(path):
                pass
            script = tmp_path / "writer.py"
            script.write_text(FULL_WRITER)
            done = subprocess.run(
                [sys.executable, str(script), str(path)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            lines = done.stdout.splitlines()
            acked = [int(x.split()[1]) for x in lines if x.startswith("ack")]
            fails = [x for x in lines if x.startswith("fail")]
            assert fails, done.stdout[-500:] + done.stderr[-2000:]
            assert "StoreFullError" in fails[0] and "disk is full" in fails[0], fails[0]
            assert "damaged" not in fails[0]
        assert acked
        conn = sqlite3.connect(path)
        ids = {r[0] for r in conn.execute("SELECT id FROM reviews")}
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        conn.close()
        assert set(acked) <= ids and len(ids) == len(acked)  # none lost, none unacknowledged


def test_backups_are_verified_and_rotation_keeps_the_last_good_one(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "dlcards.sqlite3"
    with Store.open(path, backup_day=DAY0) as store:  # day 0: a backup of an empty database
        fill(store)
    with Store.open(path, backup_day=DAY0 + timedelta(days=1)):  # day 1: 15 reviews
        pass
    # the learner starts over (a new, valid, empty database); days 2..5 back it up, keep 2
    for p in folder.glob("dlcards.sqlite3*"):
        p.unlink()
    for day in range(2, 6):
        with Store.open(path, backup_day=DAY0 + timedelta(days=day), backups_keep=2):
            pass
    days = [b.day for b in list_backups(path)]
    assert days[:2] == [DAY0 + timedelta(days=5), DAY0 + timedelta(days=4)]
    assert DAY0 + timedelta(days=1) in days  # the last backup with reviews in it survives
    assert len(days) == 3
    # a copy that does not read back is never named a backup (and removes nothing)
    conn = sqlite3.connect(path)
    before = {b.path.name for b in list_backups(path)}
    import dlcards.store.integrity as integrity

    real = integrity.quick_check_file
    setattr(integrity, "quick_check_file", lambda p: ["simulated bad copy"])  # noqa: B010
    try:
        with pytest.raises(DamagedStoreError, match="does not read back"):
            daily_backup(conn, path, DAY0 + timedelta(days=9), 2)
    finally:
        setattr(integrity, "quick_check_file", real)  # noqa: B010
        conn.close()
    assert {b.path.name for b in list_backups(path)} == before
    assert not list((folder / "backups").glob("*.tmp"))


def test_quick_check_is_skipped_only_while_the_file_is_as_dlcards_left_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dlcards.store.integrity as integrity

    calls: list[int] = []
    real = integrity.quick_check

    def counting(conn: sqlite3.Connection) -> list[str]:
        calls.append(1)
        found: list[str] = real(conn)
        return found

    monkeypatch.setattr(integrity, "quick_check", counting)
    path = good_db(tmp_path)  # closed cleanly
    calls.clear()
    Store.open(path).close()
    assert calls == []  # unchanged since the clean close: no second full read
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a change in the middle (mtime may not move: coarse)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
    with contextlib.suppress(StoreError):
        Store.open(path).close()
    assert calls == [1]
    # a crash (the -wal left behind) also makes the next open check
    (tmp_path / "b").mkdir()
    path2 = good_db(tmp_path / "b")
    calls.clear()
    conn = sqlite3.connect(path2)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')")
    conn.commit()
    assert Path(str(path2) + "-wal").exists()
    Store.open(path2).close()
    conn.close()
    assert calls == [1]
