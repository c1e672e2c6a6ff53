"""`dlcards build` as a command: errors, --skip-invalid, one file per deck root, the render cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES
from dlcards.cli.main import main

GOOD = "---\nweek: 1\ntopic: basics\n---\n\nQ: What is a tensor?\nA: An n-dimensional array.\n"
BROKEN = "---\nweek: 2\ntopic: broken\n---\n\nQ: Fine?\nA: Yes.\n\nQ: Where is my answer?\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_card_with_errors_stops_the_build_unless_skip_invalid(
    collection: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "decks" / "good.md").write_text(GOOD)
    (collection / "decks" / "broken.md").write_text(BROKEN)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "-C", str(collection), "build", "-o", str(out))
    assert code == 1
    assert "decks/broken.md:9: error: card has a question but no answer" in stdout
    assert "1 card with errors; nothing written" in err
    assert not out.exists() or not list(out.iterdir())

    code, stdout, err = run(
        capsys, "-C", str(collection), "build", "-o", str(out), "--skip-invalid"
    )
    assert code == 0, err
    assert "wrote" in stdout and "dlcards.apkg: 2 notes, 2 cards" in stdout
    assert "skipped 1 card with errors" in err
    assert (out / "dlcards.apkg").is_file()


def test_one_package_per_deck_root_or_single(
    collection: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for f in EXAMPLES.glob("*.md"):
        shutil.copy(f, collection / "decks" / f.name)
    (collection / "decks" / "extra.md").write_text(
        "---\ndeck: My Extras\n---\n\nQ: One?\nA: Two.\n"
    )
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "-C", str(collection), "build", "-o", str(out))
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["Deep-Learning.apkg", "My-Extras.apkg"]
    assert "My-Extras.apkg: 1 notes, 1 cards" in stdout

    single = tmp_path / "single"
    code, stdout, _ = run(capsys, "-C", str(collection), "build", "-o", str(single), "--single")
    assert code == 0
    assert [p.name for p in single.iterdir()] == ["dlcards.apkg"]
    assert "dlcards.apkg: 19 notes, 21 cards" in stdout


def test_default_output_is_build_folder_and_rebuild_uses_the_cache(
    collection: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for f in EXAMPLES.glob("*.md"):
        shutil.copy(f, collection / "decks" / f.name)
    (collection / "decks" / "pic.png").write_bytes(b"png")
    (collection / "decks" / "pics.md").write_text(
        "---\nweek: 9\n---\n\nQ: What?\n\n![p](pic.png)\n\nA: A picture.\n"
    )
    apkg = collection / "build" / "Deep-Learning.apkg"
    code, _, err = run(capsys, "-C", str(collection), "build")
    assert code == 0
    assert apkg.is_file()
    assert "(19 rendered, 0 from cache)" in err
    apkg.unlink()

    # nothing changed: the previous build is written again (its notes keep their times)
    monkeypatch.setenv("DLCARDS_NOW", "2026-02-01T10:00:00Z")
    code, _, err = run(capsys, "-C", str(collection), "build")
    assert code == 0 and "(nothing changed since the last build)" in err
    assert "build tag" not in err
    assert apkg.is_file()

    # one card edited: only that card is rendered again
    g = collection / "decks" / "week-01-gradients.md"
    g.write_text(g.read_text().replace("steepest ascent", "steepest increase"))
    code, _, err = run(capsys, "-C", str(collection), "build")
    assert "(1 rendered, 18 from cache)" in err
    assert "1 note changed since the last build" in err

    # a media file changed, a setting changed, another option: never reused
    (collection / "decks" / "pic.png").write_bytes(b"png, but different")
    code, _, err = run(capsys, "-C", str(collection), "build")
    assert "(1 rendered, 18 from cache)" in err
    monkeypatch.setenv("DLCARDS_DECK", "Other")
    code, _, err = run(capsys, "-C", str(collection), "build")
    assert "nothing changed" not in err
    code, _, err = run(capsys, "-C", str(collection), "build", "--single")
    assert "nothing changed" not in err
    code, _, err = run(capsys, "-C", str(collection), "build", "--no-cache")
    assert "(19 rendered, 0 from cache)" in err


def test_missing_media_is_an_error_at_the_card(
    collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "decks" / "pics.md").write_text(
        "Q: What is shown?\n\n![x](nothere.png)\n\nA: Nothing.\n"
    )
    code, stdout, _ = run(capsys, "-C", str(collection), "build")
    assert code == 1
    assert "decks/pics.md:1: error: media file not found: nothere.png" in stdout


def test_help_lists_build_and_import_anki(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "--help")
    assert code == 0
    assert "build" in stdout and "import-anki" in stdout
