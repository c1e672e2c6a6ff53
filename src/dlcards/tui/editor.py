"""Opening a card's file in the learner's editor at the card's line. Pure command building
here; the screen runs it inside `App.suspend()`."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

# Editors that take `--goto FILE:LINE` (VS Code and its forks); they also need `--wait` so
# that dlcards reloads the card after the file is closed, not at once.
GOTO_EDITORS = {"code", "code-insiders", "codium", "vscodium", "cursor", "windsurf"}
# Editors that take `FILE:LINE` directly.
COLON_EDITORS = {"subl", "sublime_text", "zed", "hx", "helix", "kak"}


def editor_command(path: Path, line: int, editor: str | None = None) -> list[str]:
    """The argv that opens `path` at `line`: `+LINE FILE` for vi/vim/nvim/nano/emacs/micro and
    most terminal editors, `--goto FILE:LINE` for VS Code style editors."""
    raw = (
        editor
        if editor is not None
        else (os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    )
    argv = shlex.split(raw) or ["vi"]
    name = Path(argv[0]).name.lower().removesuffix(".exe")
    if name in GOTO_EDITORS:
        extra = [] if "--wait" in argv or "-w" in argv else ["--wait"]
        return [*argv, *extra, "--goto", f"{path}:{line}"]
    if name in ("subl", "sublime_text", "zed"):
        extra = [] if "--wait" in argv or "-w" in argv else ["--wait"]
        return [*argv, *extra, f"{path}:{line}"]
    if name in COLON_EDITORS:
        return [*argv, f"{path}:{line}"]
    return [*argv, f"+{line}", str(path)]
