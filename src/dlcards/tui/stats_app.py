"""Small apps for `dlcards stats` and `dlcards info --tui`: one screen each.

`build_stats_app` is the factory shared by the command and the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App

from dlcards.tui.screens.card_info import CardInfoScreen
from dlcards.tui.screens.stats import StatsScreen


class StatsApp(App[None]):
    TITLE = "dlcards stats"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, report: dict[str, Any]):
        super().__init__()
        self.report = report

    def on_mount(self) -> None:
        self.push_screen(StatsScreen(self.report))


class CardInfoApp(App[None]):
    TITLE = "dlcards info"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, info: dict[str, Any]):
        super().__init__()
        self.info = info

    def on_mount(self) -> None:
        self.push_screen(CardInfoScreen(self.info["card_id"], info=self.info))


def build_stats_app(root: Path | None) -> StatsApp:
    """The app `dlcards stats` runs, at `dlcards.system.clock.now()` (DLCARDS_NOW in tests)."""
    from dlcards.app.reports import load_report
    from dlcards.system.clock import now

    return StatsApp(load_report(root, now()))
