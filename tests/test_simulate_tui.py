"""The stats screen's Plan tab (`dlcards stats` in a terminal): the retention table plotted
with textual-plotext, driven by a real Textual pilot. Without a simulation there is no tab."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("fsrs_rs_python")


def _apps(root: Path) -> tuple[object, object, dict[str, object]]:
    from dlcards.app.collection import Collection
    from dlcards.app.optimize import simulate_plan
    from dlcards.tui.stats_app import StatsApp

    with Collection.open(root) as col:
        report = col.stats_report()
        sim = simulate_plan(col, days=14)
    return StatsApp(report, sim), StatsApp(report), sim


def test_plan_tab_plots_the_retention_table(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import Static, TabbedContent
    from textual_plotext import PlotextPlot

    monkeypatch.setenv("DLCARDS_NOW", "2026-02-03T12:00:00Z")
    (collection / "decks" / "a.md").write_text(
        "\n".join(f"Q: q{i}? <!-- id: c{i} -->\nA: a\n" for i in range(20))
    )
    with_plan, without, sim = _apps(collection)

    async def check() -> None:
        async with with_plan.run_test(size=(100, 30)) as pilot:  # type: ignore[attr-defined]
            await pilot.pause()
            screen = with_plan.screen  # type: ignore[attr-defined]
            tabs = screen.query_one(TabbedContent)
            tabs.active = "plan"
            await pilot.pause()
            plot = screen.query_one("#plan-plot", PlotextPlot)
            assert plot.display
            caption = str(screen.query_one("#plan Static", Static).render())
            best = sim["decide"]["cheapest_retention"]  # type: ignore[index]
            assert f"least time per card memorised at {best:.2f}" in caption
            assert "Next 14 days at 20 new cards/day" in caption
        async with without.run_test(size=(100, 30)) as pilot:  # type: ignore[attr-defined]
            await pilot.pause()
            assert not without.screen.query("#plan-plot")  # type: ignore[attr-defined]

    asyncio.run(check())
