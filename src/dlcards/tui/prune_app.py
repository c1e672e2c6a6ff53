"""The app `dlcards prune` runs: the prune screen over a `PruneWorkspace`.

`build_prune_app` is the factory shared by the command and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App

from dlcards.tui.screens.prune import PruneScreen

if TYPE_CHECKING:
    from dlcards.app.collection import Collection


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
    collection: Collection, *, run_editor: Callable[[Path, int], None] | None = None
) -> PruneApp:
    """A prune app over the collection's prune workspace (made with today's backup)."""
    return PruneApp(collection.prune_workspace(), run_editor=run_editor)
