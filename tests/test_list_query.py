"""`dlcards list QUERY`: the browser's search language on the command line, questions rendered
as the review screen shows them, 80 columns, a pager on a terminal, `--json` plus `flag`."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcards.app.browse import Browser
from dlcards.app.collection import Collection
from dlcards.cli.list import split_args
from dlcards.cli.main import main
from tui_collection import NOW, make_collection


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    monkeypatch.setenv("COLUMNS", "80")
    return make_collection(tmp_path / "col")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ids_of(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[1:]]


def test_a_query_filters_with_the_shared_language(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-C", str(root), "list", "week:2")
    assert code == 0 and ids_of(out) == ["attn1"] and err == "1 cards\n"
    code, out, _ = run(capsys, "-C", str(root), "list", "kind:cloze", "or", "week:2")
    assert ids_of(out) == ["soft1/c1", "soft1/c2", "attn1"]
    code, out, _ = run(capsys, "-C", str(root), "list", "shape")
    assert ids_of(out) == ["code1", "attn1"]
    # `-kind:cloze` is a negated term, not an option; `-h`-like words too
    code, out, _ = run(capsys, "-C", str(root), "list", "(week:1", "-kind:cloze)", "shape")
    assert ids_of(out) == ["code1"]
    code, out, _ = run(capsys, "-C", str(root), "list", "-week:1", "--kind", "basic")
    assert ids_of(out) == ["attn1"]
    code, out, _ = run(capsys, "-C", str(root), "list", "--kind=cloze", "-s", "logits", "-c1")
    assert code == 0
    # a quoted phrase arrives as one argument with a space in it
    code, out, _ = run(capsys, "-C", str(root), "list", "adding a constant")
    assert ids_of(out) == ["soft1/c1", "soft1/c2"]
    # options still filter, and combine with the query
    code, out, _ = run(capsys, "-C", str(root), "list", "--kind", "cloze", "-id:*c1")
    assert ids_of(out) == ["soft1/c2"]


def test_flag_is_searchable_and_in_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Collection.open(root) as col:
        Browser(col).set_flag(["attn1"], 5)
    code, out, _ = run(capsys, "-C", str(root), "list", "flag:5")
    assert ids_of(out) == ["attn1"]
    assert out.splitlines()[1].split()[3:5] == ["-", "5"]  # due, flag
    code, out, _ = run(capsys, "-C", str(root), "list", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["attn1"]["flag"] == 5 and rows["grad1"]["flag"] == 0
    # the JSON shape is the old one plus `flag`, and `question` is still the source text
    assert list(rows["attn1"])[-2:] == ["buried_until", "flag"]
    assert rows["grad1"]["question"].startswith("What does $\\nabla f(x)$")
    _code, out, _ = run(capsys, "-C", str(root), "list", "--json", "is:flagged")
    assert [r["id"] for r in json.loads(out)] == ["attn1"]


def test_questions_are_rendered_and_fit_80_columns(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "-C", str(root), "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "wk", "state", "due", "R", "⚑", "topic", "question"]
    assert max(len(line) for line in lines) <= 80
    assert "$" not in out and "\\frac" not in out and "{{c" not in out and "\\nabla" not in out
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert "What does ∇f(x) represent" in by_id["grad1"]
    assert "invariant to [...]" in by_id["soft1/c1"]
    assert "QKᵀ" in by_id["attn1"]
    assert by_id["grad1"].endswith("…") and len(by_id["grad1"]) == 80  # clipped to fit


def test_cloze_hints_show(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _code, out, _ = run(capsys, "-C", str(root), "list", "id:soft1/c2")
    assert out.splitlines()[1].endswith(
        "Softmax is invariant to adding a constant to all [inputs]."
    )


def test_wide_terminals_get_the_file_column(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    _code, out, _ = run(capsys, "-C", str(root), "list", "id:attn1")
    assert "where" in out.splitlines()[0] and "week-02.md:10" in out


def test_paths_are_still_arguments(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(root)
    code, out, _ = run(capsys, "list", "decks/week-02.md")
    assert code == 0
    assert ids_of(out) == ["attn1"]
    _code, out, _ = run(capsys, "list", "decks/week-01.md", "kind:cloze")
    assert ids_of(out) == ["soft1/c1", "soft1/c2"]
    assert split_args(("decks", "a b", "x.md", "week:3"), root) == (
        [Path("decks"), Path("x.md")],
        '"a b" week:3',
    )


def test_a_bad_query_exits_2_with_the_message_and_hint(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-C", str(root), "list", "is:deu")
    assert code == 2 and out == ""
    assert "unknown value is:deu; did you mean 'due'?" in err
    assert "hint: is: takes one of new, learn, review, due" in err
    code, _, err = run(capsys, "-C", str(root), "list", "prop:ivl>")
    assert code == 2 and "hint:" in err


def test_a_terminal_gets_the_pager(root: Path, tmp_path: Path) -> None:
    """Real pty as stdout; $PAGER is a script that copies what it is fed to a file."""
    paged = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ncat > {paged}\n", encoding="utf-8")
    pager.chmod(0o755)
    env = {**os.environ, "PAGER": str(pager), "DLCARDS_NOW": NOW, "COLUMNS": "80"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlcards.cli.main", "-C", str(root), "list", "week:1"],
        stdout=follower,
        stderr=subprocess.PIPE,
        stdin=follower,
        env=env,
    )
    os.close(follower)
    _, err = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, err
    deadline = time.monotonic() + 10
    while not paged.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = paged.read_text(encoding="utf-8")
    assert "grad1" in text and "attn1" not in text and "question" in text
    # piped (not a terminal): no pager, plain text
    piped = subprocess.run(
        [sys.executable, "-m", "dlcards.cli.main", "-C", str(root), "list", "week:1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "grad1" in piped.stdout and "\x1b[" not in piped.stdout
