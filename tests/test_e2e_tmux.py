"""End to end: the real `dlcards review` in a tmux pane, driven with send-keys, read with
capture-pane; then the answer is checked in the SQLite file."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tui_collection import NOW, make_collection

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install -y tmux)"
)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    sock = str(tmp_path / "tmux.sock")
    name = f"dlc-{uuid.uuid4().hex[:8]}"
    base = ["tmux", "-S", sock]
    yield base, name
    subprocess.run([*base, "kill-server"], capture_output=True)


def wait_for(read: Callable[[], str], needle: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = read()
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; screen was:\n{screen}")


def test_review_in_tmux(tmp_path: Path, tmux: tuple[list[str], str], dlcards_home: Path) -> None:
    base, name = tmux
    col = make_collection(tmp_path / "col")
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
    cmd = f"cd {shlex.quote(str(col))} && env {exports} {shlex.quote(sys.executable)} -m dlcards review; sleep 60"
    subprocess.run(
        [*base, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", cmd], check=True
    )

    def read() -> str:
        return subprocess.run(
            [*base, "capture-pane", "-p", "-t", name], capture_output=True, text=True, check=True
        ).stdout

    def keys(*k: str) -> None:
        subprocess.run([*base, "send-keys", "-t", name, *k], check=True)

    screen = wait_for(read, "space show answer")
    assert "DL › week 1 › basics › Gradients" in screen
    assert "What does ∇f(x) represent for f:ℝⁿ → ℝ?" in screen
    assert "new 4" in screen
    keys("Space")
    screen = wait_for(read, "Good 10m")
    assert "∂f/∂xᵢ" in screen and "not checked yet" in screen  # no check ran: no "✓"
    keys("3")
    screen = wait_for(read, "[...]")
    assert "Softmax is invariant to [...] to all logits." in screen
    keys("q")
    screen = wait_for(read, "Reviewed 1 card")

    import sqlite3

    db = dlcards_home / "dlcards.sqlite3"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT card_id, rating FROM reviews").fetchall()
        state = conn.execute("SELECT phase FROM card_state WHERE card_id = 'grad1'").fetchone()
    assert rows == [("grad1", 3)]
    assert state == ("learning",)
