"""Long work shows a progress bar with counts and an ETA when stderr is a terminal, and
nothing when it is piped or under --json (issue 14, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlcards.cli._common import TerminalProgress

DECK = """---
week: 1
topic: sums
---

# Sums

""" + "\n".join(
    f"Q: What is {i} + {i}?\nA: ${2 * i}$\n\n```check\n{i} + {i} == {2 * i}\n```\n"
    for i in range(1, 13)
)


def _check(root: Path, *args: str, tty: bool) -> str:
    env = dict(os.environ, COLUMNS="100")
    if not tty:
        done = subprocess.run(
            [sys.executable, "-m", "dlcards", "check", "--no-exec", "--no-cache", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.stderr
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlcards", "check", "--no-exec", "--no-cache", *args],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=300)
    finally:
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def deck_root(collection: Path) -> Path:
    (collection / "decks" / "sums.md").write_text(DECK, encoding="utf-8")
    return collection


def test_a_terminal_gets_a_bar_with_counts(deck_root: Path) -> None:
    err = _check(deck_root, tty=True)
    assert "Checking" in err and "12/12" in err, err


def test_piped_or_json_gets_no_bar(deck_root: Path) -> None:
    assert "Checking" not in _check(deck_root, tty=False)
    assert "Checking" not in _check(deck_root, "--json", tty=True)


def test_the_bar_is_not_drawn_for_work_that_never_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with TerminalProgress(enabled=True) as bar:
        bar.advance()  # no start(): nothing to show
    assert capsys.readouterr().err == ""
