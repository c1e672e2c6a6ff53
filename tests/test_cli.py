"""The CLI as a user meets it: exit codes, message format, --json, init/fix/list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES
from dlcards.cli.main import main

GOOD = "---\nweek: 1\ntopic: basics\n---\n\n# Basics\n\nQ: What is a scalar?\nA: A single number.\n\nC: A vector has {{c1::one}} axis.\n"
BAD = (
    "---\nweek: zero\ncolour: red\n---\n\n"
    "Q: No answer here?\n\n"
    "C: Nothing hidden.\n\n"
    "Q: Empty?\nA:\n\n"
    "C: Broken {{c1::\\frac{a}{b}\n\n"
    "Q: Dup one? <!-- id: dup -->\nA: 1\n\n"
    "Q: Dup two? <!-- id: dup -->\nA: 2\n\n"
    "```python\nnever closed\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(collection: Path, name: str, text: str) -> Path:
    path = collection / "decks" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_clean_collection_exits_0(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(collection, "a.md", GOOD)
    code, out, err = run(capsys, "-C", str(collection), "check")
    assert code == 0, out + err
    assert "0 errors" in err and "(3 cards)" not in err and "(2 cards)" in err


def test_check_reports_every_problem_sorted_with_hints(
    collection: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(collection, "b.md", BAD)
    write(collection, "a.md", "Q: Fine?\nA: Yes.\n\nQ: Missing?\n")
    monkeypatch.chdir(collection)
    code, out, _ = run(capsys, "check")
    assert code == 1
    heads = [line for line in out.splitlines() if not line.startswith("  ")]
    expected = [
        "decks/a.md:4: error: card has a question but no answer",
        "decks/b.md:2: error: front matter `week`: must be a positive integer, not 'zero'",
        "decks/b.md:3: error: unknown front matter key `colour`",
        "decks/b.md:6: error: card has a question but no answer",
        "decks/b.md:8: error: cloze card has no deletions",
        "decks/b.md:11: error: the answer is empty",
        "decks/b.md:13: error: cloze deletion c1 is never closed (unbalanced braces)",
        "decks/b.md:18: error: duplicate id `dup`: also used by the card at decks/b.md:15",
        "decks/b.md:21: error: code fence opened here is never closed (it swallows the rest of the file)",
    ]
    assert heads == expected
    assert "  hint: start the answer on its own line with `A:`" in out


def test_check_json(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(collection, "b.md", BAD)
    code, out, _ = run(capsys, "-C", str(collection), "check", "--json")
    assert code == 1
    data = json.loads(out)
    assert {tuple(sorted(d)) for d in data} == {
        ("code", "hint", "line", "message", "path", "severity")
    }
    assert [d["line"] for d in data] == sorted(d["line"] for d in data)
    assert {"missing-answer", "duplicate-id", "unterminated-fence", "front-matter-unknown-key"} <= {
        d["code"] for d in data
    }


def test_lint_warnings(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = " ".join(["word"] * 45)
    write(
        collection,
        "w.md",
        f"Q: Long?\nA: {long}\n\nQ: Is the answer yes, the answer?\nA: yes, the answer\n\n"
        "C: {{c1::Paris}} is in France. {{c1::Berlin}} is in Germany.\n\n"
        "Q: What is $x^2 costs \\$5 and `$`?\nA: $2x$ and $$y$$\n",
    )
    code, out, _ = run(capsys, "-C", str(collection), "check", "--json")
    assert code == 0
    codes = [(d["line"], d["code"]) for d in json.loads(out)]
    assert codes == [
        (2, "long-answer"),
        (4, "answer-in-question"),
        (7, "cloze-same-number"),
        (9, "unclosed-math"),
    ]


def test_answer_word_limit_is_a_setting(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "dlcards.toml").write_text("[dlcards]\nanswer_word_limit = 3\n")
    write(collection, "w.md", "Q: Q?\nA: one two three four\n")
    _code, out, _ = run(capsys, "-C", str(collection), "check", "--json")
    assert [d["code"] for d in json.loads(out)] == ["long-answer"]


def test_bad_config_exits_2(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (collection / "dlcards.toml").write_text("[dlcards]\nnew_per_dy = 3\n")
    code, _, err = run(capsys, "-C", str(collection), "check")
    assert code == 2 and "unknown setting `new_per_dy`" in err and "Traceback" not in err


def test_bad_env_setting_exits_2(
    collection: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLCARDS_NEW_PER_DAY", "lots")
    code, _, err = run(capsys, "-C", str(collection), "check")
    assert code == 2 and "$DLCARDS_NEW_PER_DAY" in err


def test_no_collection_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check")
    assert code == 2 and "no dlcards collection" in err and "dlcards init" in err


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--frobnicate")
    assert code == 2 and "No such option" in err


def test_non_utf8_file_is_reported_not_raised(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "decks" / "latin1.md").write_bytes(b"Q: caf\xe9?\nA: yes\n")
    code, out, _ = run(capsys, "-C", str(collection), "check")
    assert code == 1 and "latin1.md:1: error: file is not valid UTF-8" in out


def test_init_creates_a_collection_that_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mycards"
    code, _out, _ = run(capsys, "init", str(target))
    assert code == 0 and (target / "dlcards.toml").is_file()
    code, _, err = run(capsys, "init", str(target))
    assert code == 2 and "already holds a collection" in err
    code, _, _ = run(capsys, "-C", str(target), "check", "--no-exec")
    assert code == 0
    import tomllib

    assert tomllib.loads((target / "dlcards.toml").read_text())["dlcards"] == {}


def test_fix_pins_ids_and_list_shows_them(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(collection, "a.md", GOOD)
    code, out, _ = run(capsys, "-C", str(collection), "list", "--json")
    before = json.loads(out)
    code, out, _ = run(capsys, "-C", str(collection), "fix")
    assert code == 0 and "Pinned 2 ids in 1 files." in out
    text = path.read_text()
    assert text.count("<!-- id: ") == 2
    code, out, _ = run(capsys, "-C", str(collection), "fix")
    assert "nothing to do" in out and path.read_text() == text
    code, out, _ = run(capsys, "-C", str(collection), "list", "--json")
    after = json.loads(out)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    # editing the question after pinning keeps the id
    path.write_text(text.replace("What is a scalar?", "What is a scalar, really?"))
    code, out, _ = run(capsys, "-C", str(collection), "list", "--json")
    assert [r["id"] for r in json.loads(out)] == [r["id"] for r in before]


def test_fix_gives_a_copied_card_a_new_id(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        collection,
        "a.md",
        "Q: One? <!-- id: abc -->\nA: 1\n\nQ: One copy? <!-- id: abc -->\nA: 1\n",
    )
    run(capsys, "-C", str(collection), "fix")
    code, _out, _ = run(capsys, "-C", str(collection), "check")
    assert code == 0
    lines = path.read_text().splitlines()
    assert (
        lines[0].endswith("<!-- id: abc -->") and "abc" not in lines[3] and "<!-- id: " in lines[3]
    )


def test_fix_refuses_a_file_changed_since_read(
    collection: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(collection, "a.md", GOOD)
    from dlcards.system import fsutil

    real = fsutil.write_atomic

    def racing(snapshot, data):  # type: ignore[no-untyped-def]
        snapshot.path.write_text(GOOD + "\nQ: Added meanwhile?\nA: yes\n")
        return real(snapshot, data)

    monkeypatch.setattr(fsutil, "write_atomic", racing)
    code, _, err = run(capsys, "-C", str(collection), "fix")
    assert code == 1 and "changed on disk" in err
    assert "<!-- id:" not in path.read_text() and "Added meanwhile" in path.read_text()


def test_list_filters_and_json_keys(
    collection: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "140")  # the file:line column needs a wide terminal
    write(collection, "a.md", GOOD)
    write(
        collection,
        "b.md",
        "---\nweek: 2\ntopic: numpy\ntags: [code]\n---\n\nQ: What does np.sum do?\nA: Adds.\n",
    )
    code, out, _ = run(capsys, "-C", str(collection), "list", "--json")
    rows = json.loads(out)
    assert len(rows) == 3
    assert {"id", "kind", "path", "line", "week", "topic", "tags", "question", "note_id"} <= set(
        rows[0]
    )
    cloze = next(r for r in rows if r["kind"] == "cloze")
    assert cloze["id"] == cloze["note_id"] + "/c1"
    for args, n in [
        (["--week", "2"], 1),
        (["--topic", "basics"], 2),
        (["--tag", "code"], 1),
        (["--kind", "cloze"], 1),
        (["--file", "b.md"], 1),
        (["-s", "SCALAR"], 1),
    ]:
        code, out, _ = run(capsys, "-C", str(collection), "list", "--json", *args)
        assert code == 0 and len(json.loads(out)) == n, args
    code, out, _ = run(capsys, "-C", str(collection), "list")
    assert code == 0 and "decks/a.md:8" in out


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples not present")
def test_check_named_files_outside_a_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "--no-exec", str(EXAMPLES))
    assert code == 0, out + err
    assert "3 files (20 cards)" in err


def _subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "dlcards", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_process_exit_codes(collection: Path) -> None:
    write(collection, "a.md", GOOD)
    assert _subprocess(["check"], collection).returncode == 0
    write(collection, "b.md", BAD)
    proc = _subprocess(["check"], collection)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert _subprocess(["check", "--nope"], collection).returncode == 2
    assert _subprocess(["--help"], collection).returncode == 0


def test_os_errors_are_messages_not_tracebacks(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(collection, "a.md", GOOD)
    blocker = collection / "file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "-C", str(collection), "build", "-o", str(blocker / "out"))
    assert code == 1 and "error: " in err and "internal error" not in err
