"""The app `dlcards prune` runs: the prune screen over a `PruneWorkspace`.

`build_prune_app` is the factory shared by tests (the command opens the workspace itself).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from dlcards.tui.screens.prune import PruneScreen


class PruneApp(App[None]):
    TITLE = "dlcards prune"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, workspace: Any, *, run_editor: Callable[[Path, int], None] | None = None):
        super().__init__()
        self.workspace = workspace
        self.run_editor = run_editor

    def on_mount(self) -> None:
        self.push_screen(PruneScreen(self.workspace, run_editor=self.run_editor))


def build_prune_app(
    root: Path | None, *, run_editor: Callable[[Path, int], None] | None = None
) -> PruneApp:
    """A prune app over the collection at `root`, at `dlcards.system.clock.now()` (DLCARDS_NOW in tests).
    The caller closes `app.workspace` when done."""
    from dlcards.app.prune_workspace import PruneWorkspace
    from dlcards.system.clock import now

    return PruneApp(PruneWorkspace(root, now), run_editor=run_editor)
