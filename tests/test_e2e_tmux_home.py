"""End to end: bare `dlcards` in an 80x24 tmux pane on a fresh copy of the shipped decks.
The home screen shows the curriculum with counts; week 7 (whose topics wait for earlier
weeks' `requires`) is studied at once; a card is answered; back home; the browser finds it
and flags it; then the answer and the flag are checked in the SQLite file."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install -y tmux)"
)

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-01-05T09:00:00Z"


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    sock = str(tmp_path / "tmux.sock")
    name = f"dlc-{uuid.uuid4().hex[:8]}"
    base = ["tmux", "-S", sock]
    yield base, name
    subprocess.run([*base, "kill-server"], capture_output=True)


def wait_for(read: Callable[[], str], needle: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = read()
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; screen was:\n{screen}")


def test_study_week_7_from_home_in_tmux(
    tmp_path: Path, tmux: tuple[list[str], str], dlcards_home: Path
) -> None:
    base, name = tmux
    col = tmp_path / "col"
    shutil.copytree(ROOT / "decks", col / "decks")
    shutil.copy(ROOT / "dlcards.toml", col / "dlcards.toml")
    with (col / "dlcards.toml").open("a", encoding="utf-8") as f:
        f.write('timezone = "UTC"\nfuzz = false\n')
    env = {
        "DLCARDS_HOME": str(dlcards_home),
        "DLCARDS_NOW": NOW,
        "TZ": "UTC",
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    cmd = (
        f"cd {shlex.quote(str(col))} && env {exports} {shlex.quote(sys.executable)} -m dlcards; "
        "echo EXITED $?; sleep 60"
    )
    subprocess.run(
        [*base, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", cmd], check=True
    )

    def read() -> str:
        return subprocess.run(
            [*base, "capture-pane", "-p", "-t", name], capture_output=True, text=True, check=True
        ).stdout

    def keys(*k: str) -> None:
        subprocess.run([*base, "send-keys", "-t", name, *k], check=True)

    screen = wait_for(read, "streak 0 days", timeout=120)
    screen = wait_for(read, "enter study now")
    assert "All cards" in screen and "Week 7" in screen and "streak 0 days" in screen
    week7 = next(line for line in screen.splitlines() if "Week 7" in line)
    new7 = int(week7.split()[-3])
    assert new7 > 100  # a fresh collection: every card of week 7 is new
    keys(*["Down"] * 7, "Enter")
    screen = wait_for(read, "space show answer")
    assert "Deep Learning › week 7" in screen or "week 7 ›" in screen
    keys("Space")
    screen = wait_for(read, "Good")
    keys("3")
    time.sleep(0.5)
    keys("q")  # back home, the counts read again
    screen = wait_for(read, "Answered today: 1.")
    week7 = next(line for line in screen.splitlines() if "Week 7" in line)
    assert int(week7.split()[-3]) == new7 - 1 and int(week7.split()[-2]) == 1
    keys("/")  # the browser: the card just studied, flagged purple
    screen = wait_for(read, "cards · by")
    keys(*"rated:1", "Enter")  # the search box has the cursor
    screen = wait_for(read, "1 cards · by")
    keys("7")
    screen = wait_for(read, "purple")
    keys("q")
    screen = wait_for(read, "streak 1 day")
    assert "Answered today: 1." in screen
    keys("q")
    wait_for(read, "EXITED 0")
    assert "Reviewed 1 card in" in read()

    with sqlite3.connect(dlcards_home / "dlcards.sqlite3") as conn:
        reviews = conn.execute("SELECT card_id, rating FROM reviews").fetchall()
        flags = conn.execute("SELECT card_id, flag FROM card_flags").fetchall()
        week = conn.execute("SELECT path FROM cards WHERE card_id = ?", (reviews[0][0],)).fetchone()
    assert len(reviews) == 1 and reviews[0][1] == 3
    assert flags == [(reviews[0][0], 7)]
    assert week is not None and "week-07" in week[0]
