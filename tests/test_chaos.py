"""The chaos suite (issue 17): `kill -9` at random points of scripted reviews (through the
app's review service, in a subprocess), of `dlcards fix` and of prune; two review sessions at
once; a full disk under a review. Every answer acknowledged is in the log, every state
matches a replay of the log, the database stays whole, files are never torn.

Bounded: fixed seeds, a few rounds each, every subprocess under a timeout; no timing
asserts (the random sleeps only choose where the kill lands)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlcards.app.collection import Collection
from dlcards.app.doctor import check_states
from dlcards.core.state import Rating
from dlcards.store import Store, list_backups
from dlcards.store.integrity import quick_check_file

BASE = datetime(2026, 1, 5, 9, tzinfo=UTC)
SRC = str(Path(__file__).resolve().parent.parent / "src")

REVIEWER = r"""
import random, sys, time
from datetime import datetime, timedelta
from pathlib import Path
from dlcards.app.collection import Collection
from dlcards.core.state import Rating

root, start, seed, limit = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
t = [start]
col = Collection.open(root, now_fn=lambda: t[0])
if seed % 3 == 0:
    col.daily_backup()  # a kill may land in the backup too
service = col.review()
print("ready", "ro" if service.read_only else "rw", flush=True)
if len(sys.argv) > 5:
    sys.stdin.readline()  # "go"
answered = 0
while answered < limit:
    t[0] += timedelta(seconds=rng.randrange(20, 400))
    cid = service.session.next_card(t[0])
    if cid is None:
        t[0] += timedelta(hours=1)  # learning cards come due
        continue
    outcome = service.apply(
        service.session.answer(Rating(rng.randint(1, 4)), t[0], rng.randrange(500, 5000))
    )
    if service.pending is not None:
        print("pending", cid, flush=True)  # not saved, still on screen: answer it again
        time.sleep(0.02)
        continue
    print("ack", outcome.effects[0].review_id, cid, flush=True)
    answered += 1
col.close()
print("done", flush=True)
"""


def make_collection(root: Path, notes: int = 30) -> Path:
    (root / "decks").mkdir(parents=True)
    for part in range(2):
        text = f"---\nweek: {part + 1}\ntopic: topic{part}\n---\n\n" + "".join(
            f"Q: In part {part}, what is fact number {i}?\nA: It is {i * 7 + part}.\n\n"
            for i in range(notes // 2)
        )
        (root / "decks" / f"part{part}.md").write_text(text, encoding="utf-8")
    (root / "dlcards.toml").write_text(
        '[dlcards]\ntimezone = "UTC"\nnew_per_day = 1000\nreviews_per_day = 1000\n',
        encoding="utf-8",
    )
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_collection(tmp_path / "col")


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


@contextlib.contextmanager
def reviewer(
    script: Path, root: Path, start: datetime, seed: int, limit: int, wait: bool = False
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(script), str(root), start.isoformat(), str(seed), str(limit)]
        + (["wait"] if wait else []),
        stdin=subprocess.PIPE if wait else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"the reviewer ended on its own: {err[-3000:]}")
    return line.strip()


def assert_log_matches(root: Path, acked: set[int], kills: int) -> dict[str, int]:
    """Acknowledged answers all in the log, at most one unacknowledged per kill, states =
    replay of the log (through the app's scheduler), the database whole."""
    with Collection.open(root) as col:
        store = col.store
        assert store.integrity_check() == []
        ids = {rid for rid, _ in store.reviews_with_ids()}
        lost = acked - ids
        assert not lost, f"{len(lost)} acknowledged answers lost"
        assert len(ids - acked) <= kills
        wrong = check_states(store, col.scheduler)
        assert wrong == [], [w.describe() for w in wrong[:5]]
        for backup in list_backups(col.store_file()):
            assert quick_check_file(backup.path) == []
        return {"acked": len(acked), "logged": len(ids), "lost": len(lost), "wrong": len(wrong)}


def test_kill_9_during_scripted_reviews_loses_no_acknowledged_answer(
    root: Path, tmp_path: Path
) -> None:
    script = tmp_path / "reviewer.py"
    script.write_text(REVIEWER)
    rng = random.Random(17)
    acked: set[int] = set()
    kills = 0
    for round_ in range(8):
        start = BASE + timedelta(days=2 * round_)  # the clock moves on between runs
        with reviewer(script, root, start, round_, 10_000) as proc:
            assert read_line(proc) == "ready rw"
            for _ in range(rng.randrange(1, 25)):
                kind, *rest = read_line(proc).split()
                assert kind == "ack", (kind, rest)
                acked.add(int(rest[0]))
            time.sleep(rng.random() * 0.03)  # lands somewhere inside the next answers
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            assert proc.stdout is not None
            # acknowledged before the kill: whole lines only (the kill can cut the last one
            # short, `ack` without its id: that answer was never acknowledged)
            for line in proc.stdout.read().split("\n")[:-1]:
                if line.startswith("ack "):
                    acked.add(int(line.split()[1]))
            kills += 1
    figures = assert_log_matches(root, acked, kills)
    print(f"\nchaos review kills: {kills} kills, {figures}")


def test_two_review_sessions_at_once_keep_states_equal_to_a_replay(
    root: Path, tmp_path: Path
) -> None:
    script = tmp_path / "reviewer.py"
    script.write_text(REVIEWER)
    acked: set[int] = set()
    pending = 0
    with (
        reviewer(script, root, BASE, 1, 25, wait=True) as first,
        reviewer(script, root, BASE + timedelta(minutes=3), 2, 25, wait=True) as second,
    ):
        modes = {read_line(first): first, read_line(second): second}
        assert sorted(modes) == ["ready ro", "ready rw"]  # one writer; the other read-only
        reader, writer = modes["ready ro"], modes["ready rw"]
        assert reader.stdin is not None and writer.stdin is not None
        reader.stdin.write("go\n")
        reader.stdin.flush()
        first_line = read_line(reader)  # it answers while the writer holds the lease
        assert first_line.startswith("pending"), first_line
        pending += 1
        writer.stdin.write("go\n")
        writer.stdin.flush()
        for proc in (writer, reader):
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
            for line in out.splitlines():
                if line.startswith("ack"):
                    acked.add(int(line.split()[1]))
                elif line.startswith("pending"):
                    pending += 1
    assert len(acked) == 50
    assert pending > 0  # the read-only window's answers waited, none was written
    figures = assert_log_matches(root, acked, 0)
    assert figures["logged"] == 50


WRITER = r"""
import random, sys
from datetime import UTC, datetime
from pathlib import Path
from dlcards.app.collection import Collection
from dlcards.core.state import Rating

root, seed, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
col = Collection.open(root)
sched, store = col.scheduler, col.store
ids = sorted(col.markdown_ids())[:6]
print("ready", flush=True)
for i in range(n):
    t = datetime.now(UTC)  # one clock for both writers, as two windows share one
    cid = rng.choice(ids)
    rating = Rating(rng.randint(1, 4))
    rid, _ = store.record_answer(
        cid, lambda before: sched.review(before, rating, max(t, before.last_review or t))
    )
    print("ack", rid, flush=True)
col.close()
"""


def test_two_writers_on_the_same_cards_without_a_lease_lose_no_update(
    root: Path, tmp_path: Path
) -> None:
    """Per answer, BEGIN IMMEDIATE computes the state from the database as it is then: two
    writers interleaving on the same six cards never overwrite each other."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), str(seed), "60", BASE.isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        for seed in (1, 2)
    ]
    acked: set[int] = set()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        acked |= {int(x.split()[1]) for x in out.splitlines() if x.startswith("ack")}
    assert len(acked) == 120
    with Collection.open(root) as col:
        rows = col.store.reviews()
        states = col.store.states()
        for cid in {e.card_id for e in rows}:
            assert states[cid].reps == sum(1 for e in rows if e.card_id == cid)
    assert_log_matches(root, acked, 0)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[bool]:
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


def test_answers_on_a_full_disk_stay_on_screen_until_saved(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with tmpfs(home, "1m") as mounted:
        if not mounted:
            pytest.skip(
                "needs root and mount for a tiny tmpfs (RLIMIT_FSIZE is covered in test_store_faults)"
            )
        monkeypatch.setenv("DLCARDS_HOME", str(home))
        t = [BASE]
        with Collection.open(root, now_fn=lambda: t[0]) as col:
            service = col.review()
            filler = home / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
            failures = saved = 0
            acked: set[int] = set()
            for _ in range(40):
                t[0] += timedelta(minutes=2)
                cid = service.session.next_card(t[0])
                assert cid is not None
                answered = service.session.stats.answered
                outcome = service.apply(service.session.answer(Rating.GOOD, t[0], 900))
                if service.pending is not None:
                    failures += 1
                    # never dropped: still current, nothing advanced, the cause named
                    assert service.session.current == cid
                    assert service.session.stats.answered == answered
                    assert "disk is full" in service.pending.describe()
                    if failures == 3:
                        filler.unlink()  # the learner frees some space; the retry saves
                    continue
                saved += 1
                acked.add(outcome.effects[0].review_id)
            assert failures >= 1 and saved >= 1
            ids = {rid for rid, _ in col.store.reviews_with_ids()}
            assert ids == acked
            assert check_states(col.store, col.scheduler) == []
            assert col.store.integrity_check() == []


def deck_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "decks").glob("*.md"))}


def test_kill_9_during_fix_never_tears_a_deck_file(root: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(root, reference)
    done = subprocess.run(
        [sys.executable, "-m", "dlcards", "-C", str(reference), "fix"],
        capture_output=True,
        env=env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    original, fixed = deck_bytes(root), deck_bytes(reference)
    assert original != fixed
    rng = random.Random(5)
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlcards", "-C", str(root), "fix"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env(),
        )
        time.sleep(0.3 + rng.random() * 1.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        now = deck_bytes(root)
        for name, data in now.items():
            assert data in (original[name], fixed[name]), f"{name} torn by a kill"
        if now == fixed:
            break
    # a kill between writing the temporary file and renaming it cannot clean up: the next
    # write removes what dead writers left, so a completed `fix` leaves no temporary file
    done = subprocess.run(
        [sys.executable, "-m", "dlcards", "-C", str(root), "fix"],
        capture_output=True,
        env=env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert deck_bytes(root) == fixed
    leftovers = list((root / "decks").glob(".*.tmp"))
    assert not leftovers, leftovers
    subprocess.run(
        [sys.executable, "-m", "dlcards", "-C", str(root), "fix"],
        env=env(),
        timeout=120,
        check=True,
    )
    assert deck_bytes(root) == fixed


PRUNER = r"""
import sys
from datetime import datetime, timedelta
from pathlib import Path
from dlcards.app.collection import Collection

root = Path(sys.argv[1])
t = [datetime.fromisoformat(sys.argv[2])]
def now():
    t[0] += timedelta(seconds=1)
    return t[0]
col = Collection.open(root, now_fn=now)
ws = col.prune_workspace()
print("ready", flush=True)
for cid in sorted(col.markdown_ids()):
    if ws.note_of(cid) is None:
        continue
    ws.delete(cid)
    print("deleted", cid, flush=True)
col.close()
"""


def test_kill_9_during_prune_deletes_leaves_whole_files_and_an_honest_journal(
    root: Path, tmp_path: Path
) -> None:
    script = tmp_path / "pruner.py"
    script.write_text(PRUNER)
    original = deck_bytes(root)
    rng = random.Random(11)
    for round_ in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(root), (BASE + timedelta(hours=round_)).isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", (
                proc.stderr.read() if proc.stderr else ""
            )
            for _ in range(rng.randrange(1, 4)):
                if not proc.stdout.readline():
                    break
            time.sleep(rng.random() * 0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        for name, data in deck_bytes(root).items():
            assert data.count(b"Q: ") <= original[name].count(b"Q: ")
            assert data == b"" or data.startswith(b"---\n"), f"{name} torn by a kill"
    # undo every delete the journal has: the decks come back byte for byte, nothing twice
    for _ in range(200):
        done = subprocess.run(
            [sys.executable, "-m", "dlcards", "-C", str(root), "prune", "--undo-last"],
            capture_output=True,
            text=True,
            env=env(),
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        if "Nothing to undo" in done.stdout:
            break
    assert deck_bytes(root) == original
    with Store.open() as store:
        assert store.integrity_check() == []
