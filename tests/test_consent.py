"""Consent: no code from a deck runs until `dlcards trust`; consent lives in the state folder."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlcards.checks.runner import consent
from dlcards.cli.main import main

HAS_TORCH = importlib.util.find_spec("torch") is not None


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def deck_writing(marker: Path, question: str = "What is the shape of torch.zeros(2, 3)?") -> str:
    """A deck whose code card leaves a file behind if it ever runs."""
    return (
        f"# Code\n\nQ: {question}\n```torch\n"
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "torch.zeros(2, 3).shape\n```\nA: `torch.Size([2, 3])`\n"
    )


@pytest.fixture
def col(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(collection)
    return collection


def test_without_consent_no_code_runs_and_one_warning_says_how(
    col: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path_factory.mktemp("outside") / "ran.txt"
    (col / "decks" / "a.md").write_text(deck_writing(marker), encoding="utf-8")
    (col / "decks" / "b.md").write_text(
        deck_writing(marker, "And what is the shape of this torch.zeros(2, 3)?"), encoding="utf-8"
    )
    code, out, _err = run(capsys, "check")
    assert code == 0
    assert out.splitlines() == [
        "decks/a.md:4: warning: 2 code cards not run: this collection has no consent to run code here",
        "  hint: run `dlcards trust` to allow it (see docs/checks.md), or pass --no-exec to skip code cards",
    ]
    assert not marker.exists()
    code, out, _ = run(capsys, "check", "--no-exec")
    assert (code, out) == (0, "")


def test_trust_and_untrust(
    col: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "trust")
    assert code == 0 and out.startswith(f"Trusted {col.resolve()}")
    assert consent.is_trusted(col)
    assert run(capsys, "trust")[1].startswith(f"{col.resolve()} is already trusted.")
    stored = json.loads((dlcards_home / "trust.json").read_text())
    assert str(col.resolve()) in stored["collections"]
    assert run(capsys, "untrust")[1].startswith(f"Untrusted {col.resolve()}")
    assert not consent.is_trusted(col)
    assert run(capsys, "untrust")[1].startswith(f"{col.resolve()} was not trusted")


def test_trust_with_C_and_outside_a_collection(
    tmp_path_factory: pytest.TempPathFactory,
    collection: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path_factory.mktemp("empty")
    monkeypatch.chdir(empty)
    code, _, err = run(capsys, "trust")
    assert code == 2 and "no dlcards collection" in err
    assert run(capsys, "-C", str(collection), "trust")[0] == 0
    assert consent.is_trusted(collection)


def test_a_collection_cannot_grant_itself_consent(col: Path, dlcards_home: Path) -> None:
    # files a cloned deck might carry do not count: consent is only read from the state folder
    (col / "trust.json").write_text(json.dumps({"collections": {str(col.resolve()): {}}}))
    (col / ".dlcards").mkdir()
    (col / ".dlcards" / "trust.json").write_text(
        json.dumps({"collections": {str(col.resolve()): {}}})
    )
    assert not consent.is_trusted(col)
    assert not (dlcards_home / "trust.json").exists()


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_with_consent_code_runs(
    col: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    # a folder the snippet can write to: as root, snippets run as `nobody`
    outside = Path(tempfile.mkdtemp(prefix="dlcards-test-outside-"))
    outside.chmod(0o777)
    marker = outside / "ran.txt"
    (col / "decks" / "a.md").write_text(deck_writing(marker), encoding="utf-8")
    run(capsys, "trust")
    code, out, err = run(capsys, "check")
    assert (code, out) == (0, ""), out
    assert marker.read_text() == "ran"
    assert "ran 1 code snippet on cpu" in err
    marker.unlink()
    run(capsys, "untrust")
    code, out, _ = run(capsys, "check", "--no-cache")
    assert "needs" not in out and "no consent" in out and not marker.exists()


def test_without_torch_code_cards_are_skipped_with_one_warning(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text("raise ImportError('no torch')\n")
    (col / "decks" / "a.md").write_text(deck_writing(tmp_path / "m"), encoding="utf-8")
    assert run(capsys, "trust")[0] == 0
    env = dict(os.environ, PYTHONPATH=str(fake))
    probe = (
        "import importlib.util, sys; import dlcards.checks.runner.client as c; c.torch_available = lambda: False; "
        "from dlcards.cli.main import main; sys.exit(main(['check']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=col, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == (
        "decks/a.md:4: warning: 1 code card not run: PyTorch is not installed"
    )


# --- consent is bound to the collection, not only to its path (issue 17 item 6) --------------


def test_a_different_collection_at_a_trusted_path_asks_again(
    col: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    assert run(capsys, "trust")[0] == 0
    assert consent.is_trusted(col)
    # replace the folder with another collection (e.g. another clone at the same path)
    saved = col.parent / "saved"
    shutil.copytree(col, saved, ignore=shutil.ignore_patterns(".dlcards-trust-id"))
    shutil.rmtree(col)
    shutil.copytree(saved, col)
    os.chdir(col)  # the old working folder is gone (the fixture's monkeypatch restores it)
    assert not consent.is_trusted(col)
    assert consent.trust_status(col) == (
        False,
        "this folder holds a different collection than the one you trusted",
    )
    # a deck that ships a marker cannot guess the id
    (col / ".dlcards-trust-id").write_text("0" * 32 + "\n")
    assert not consent.is_trusted(col)
    assert run(capsys, "trust")[0] == 0
    assert consent.is_trusted(col)


def test_another_git_repository_copied_over_the_folder_asks_again(
    col: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git = col / ".git"
    git.mkdir()
    (git / "config").write_text('[remote "origin"]\n\turl = https://example.org/mine.git\n')
    assert run(capsys, "trust")[0] == 0
    assert (git / "dlcards-trust-id").exists() and not (col / ".dlcards-trust-id").exists()
    assert consent.is_trusted(col)
    # editing and pulling keep consent; a different remote (marker copied along) does not
    (col / "decks" / "new.md").write_text("Q: q?\nA: a\n", encoding="utf-8")
    assert consent.is_trusted(col)
    (git / "config").write_text('[remote "origin"]\n\turl = https://example.org/evil.git\n')
    assert consent.trust_status(col) == (
        False,
        "this collection's git remote differs from the one you trusted",
    )


def test_consent_recorded_before_binding_asks_again(col: Path, dlcards_home: Path) -> None:
    (dlcards_home / "trust.json").write_text(
        json.dumps({"collections": {str(col.resolve()): {"trusted_at": "2026-01-01T00:00:00"}}})
    )
    assert consent.trust_status(col)[0] is False


def test_untrust_withdraws_consent_and_a_second_state_folder_keeps_its_own(
    col: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(capsys, "trust")
    marker = (col / ".dlcards-trust-id").read_text()
    # another state folder (another user, another DLCARDS_HOME) trusts the same collection:
    # the marker is reused, so the first consent still holds
    first_home = Path(str(consent.state_dir()))
    monkeypatch.setenv("DLCARDS_HOME", str(tmp_path / "other-home"))
    run(capsys, "trust")
    assert (col / ".dlcards-trust-id").read_text() == marker and consent.is_trusted(col)
    monkeypatch.setenv("DLCARDS_HOME", str(first_home))
    assert consent.is_trusted(col)
    run(capsys, "untrust")
    assert not consent.is_trusted(col)
    monkeypatch.setenv("DLCARDS_HOME", str(tmp_path / "other-home"))
    assert consent.is_trusted(col)  # untrust here withdrew only this state folder's consent
