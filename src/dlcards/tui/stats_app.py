"""Small apps for `dlcards stats` and `dlcards info --tui`: one screen each.

`build_stats_app` is the factory shared by the command and the tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App

from dlcards.tui.screens.card_info import CardInfoScreen
from dlcards.tui.screens.stats import StatsScreen

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.insights.cardinfo import CardInfoReport
    from dlcards.insights.stats import StatsReport


class StatsApp(App[None]):
    TITLE = "dlcards stats"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, report: StatsReport, simulation: dict[str, Any] | None = None):
        super().__init__()
        self.report = report
        self.simulation = simulation  # `simulate_plan`'s dict: the Plan tab (optional)

    def on_mount(self) -> None:
        self.push_screen(StatsScreen(self.report, simulation=self.simulation))


class CardInfoApp(App[None]):
    TITLE = "dlcards info"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, info: CardInfoReport):
        super().__init__()
        self.info = info

    def on_mount(self) -> None:
        self.push_screen(CardInfoScreen(self.info.card_id, info=self.info))


def build_stats_app(collection: Collection) -> StatsApp:
    """The app `dlcards stats` runs: the collection's stats now (DLCARDS_NOW in tests)."""
    return StatsApp(collection.stats_report())
