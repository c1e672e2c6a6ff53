"""Which argv opens a card's file at its line, per editor family (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.tui.app import terminal_is_light
from dlcards.tui.editor import editor_command

P = Path("/c/decks/w1.md")


@pytest.mark.parametrize(
    ("editor", "argv"),
    [
        ("vim", ["vim", "+12", str(P)]),
        ("nvim", ["nvim", "+12", str(P)]),
        ("nano", ["nano", "+12", str(P)]),
        ("emacs -nw", ["emacs", "-nw", "+12", str(P)]),
        ("/usr/bin/vi", ["/usr/bin/vi", "+12", str(P)]),
        ("code", ["code", "--wait", "--goto", f"{P}:12"]),
        ("code --wait", ["code", "--wait", "--goto", f"{P}:12"]),
        ("codium", ["codium", "--wait", "--goto", f"{P}:12"]),
        ("subl", ["subl", "--wait", f"{P}:12"]),
        ("hx", ["hx", f"{P}:12"]),
    ],
)
def test_editor_command(editor: str, argv: list[str]) -> None:
    assert editor_command(P, 12, editor) == argv


def test_editor_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "micro")
    assert editor_command(P, 3) == ["micro", "+3", str(P)]
    monkeypatch.setenv("VISUAL", "code")
    assert editor_command(P, 3)[:2] == ["code", "--wait"]
    monkeypatch.delenv("VISUAL")
    monkeypatch.delenv("EDITOR")
    assert editor_command(P, 3) == ["vi", "+3", str(P)]


@pytest.mark.parametrize(
    ("value", "light"),
    [("15;0", False), ("0;15", True), ("0;7", True), ("0;default;15", True), ("", False)],
)
def test_light_terminal_detection(value: str, light: bool) -> None:
    assert terminal_is_light({"COLORFGBG": value}) is light
