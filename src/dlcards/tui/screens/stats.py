"""The statistics screen: `StatsScreen`.

Constructor:

    StatsScreen(report, simulation=None)

- `report`: a `dlcards.insights.stats.StatsReport`, as `Collection.stats_report()` returns it.
  The screen reads nothing itself.
- `simulation`: optional, `dlcards.app.optimize.simulate_plan(...)`'s dict with its retention
  table; when given, a "Plan" tab plots minutes per day and cards memorised by retention.

The review app pushes it with `S`; `dlcards stats` runs it in `dlcards.tui.stats_app.StatsApp`.
Keys: 1-6 or ←/→ switch tabs, q / escape close.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

if TYPE_CHECKING:
    from dlcards.insights.retention import GroupRow
    from dlcards.insights.stats import StatsReport

TABS = ("overview", "forecast", "calendar", "memory", "topics", "weeks")
HEAT_CHARS = " ░▒▓█"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def overview(report: StatsReport) -> Group:
    t, s, tm, c = report.today, report.streak, report.time, report.counts
    head = Text()
    head.append(f"Today {t.day.isoformat()}: ", style="bold")
    head.append(
        f"{t.reviews} reviews of {t.cards} cards, {t.new_cards} new, "
        f"{t.again} again, {t.minutes:.1f} min\n"
    )
    head.append("Streak: ", style="bold")
    head.append(
        f"{s.current} day{'s' if s.current != 1 else ''} (longest {s.longest}), "
        f"{s.studied_days} days studied\n"
    )
    head.append("Time: ", style="bold")
    head.append(
        f"{tm.week_minutes:.0f} of {tm.weekly_budget_minutes:.0f} min budget in the last 7 days, "
        f"{tm.total_minutes:.0f} min in all; {tm.avg_seconds_per_review:.1f} s per review\n"
    )
    head.append("Cards: ", style="bold")
    head.append(
        f"{c.cards}: {c.new} new, {c.learning} learning, {c.young} young, "
        f"{c.mature} mature, {c.suspended} suspended, {c.leeches} leeches"
    )
    table = Table(
        title="True retention (first review of a card each day)",
        expand=False,
        title_justify="left",
        pad_edge=False,
        box=None,
        padding=(0, 2),
    )
    table.add_column("period")
    table.add_column("young", justify="right")
    table.add_column("mature", justify="right")
    table.add_column("all", justify="right")
    for p in report.true_retention:
        pf = p.counts
        yn = pf.young_passed + pf.young_failed
        mn = pf.mature_passed + pf.mature_failed
        table.add_row(
            p.period.replace("_", " "),
            f"{_pct(pf.young_retention)} of {yn}",
            f"{_pct(pf.mature_retention)} of {mn}",
            f"{_pct(pf.retention)} of {pf.passed + pf.failed}",
        )
    return Group(head, Text(" "), table)


def heatmap_text(report: StatsReport, weeks: int = 30) -> Text:
    """Reviews per study day: one column per week (Monday first), newest on the right."""
    today = report.heatmap.last
    counts = {d.day: d.reviews for d in report.heatmap.days}
    last_monday = today - timedelta(days=today.weekday())
    first = last_monday - timedelta(weeks=weeks - 1)
    peak = max(counts.values(), default=0)

    def cell(d: date) -> tuple[str, str]:
        if d > today:
            return " ", ""
        n = counts.get(d, 0)
        if n == 0:
            return "·", "dim"
        level = min(4, 1 + int(3 * n / peak)) if peak else 1
        return HEAT_CHARS[level], "green"

    text = Text()
    months = [" "] * (weeks * 2)
    for w in range(weeks):
        d = first + timedelta(weeks=w)
        if d.day <= 7:
            label = d.strftime("%b")
            months[w * 2 : w * 2 + len(label)] = list(label)
    text.append("    " + "".join(months)[: weeks * 2] + "\n", style="dim")
    for wd, name in enumerate(("Mon", "", "Wed", "", "Fri", "", "Sun")):
        text.append(f"{name:<4}", style="dim")
        for w in range(weeks):
            ch, style = cell(first + timedelta(weeks=w, days=wd))
            text.append(ch + " ", style=style)
        text.append("\n")
    total = sum(counts.values())
    text.append(
        f"\n{total} reviews on {len(counts)} days in the last year; most in a day: {peak}. ",
        style="",
    )
    text.append("Less ", style="dim")
    for ch in "·░▒▓█":
        text.append(ch, style="dim" if ch == "·" else "green")
    text.append(" More", style="dim")
    return text


def groups_table(rows: Sequence[GroupRow], title: str, name: str, limit: int = 12) -> Table:
    table = Table(title=title, title_justify="left", box=None, padding=(0, 2), pad_edge=False)
    for col, just in (
        (name, "left"),
        ("cards", "right"),
        ("reviews", "right"),
        ("retention", "right"),
        ("lapses", "right"),
        ("difficulty", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows[:limit]:
        label = "(none)" if r.group is None else str(r.group)
        diff = "–" if r.mean_difficulty is None else f"{r.mean_difficulty:.1f}"
        table.add_row(label, str(r.cards), str(r.reviews), _pct(r.retention), str(r.lapses), diff)
    return table


def simulation_caption(sim: dict[str, Any]) -> Text:
    """One line over the retention plot: the plan simulated and the cheapest retention."""
    best = sim["decide"]["cheapest_retention"]
    return Text(
        f"Next {sim['days']} days at {sim['new_per_day']} new cards/day (`dlcards simulate`): "
        f"your retention {sim['desired_retention']:.2f} costs "
        f"{sim['forecast']['mean_minutes_per_day']:.0f} min/day of a "
        f"{sim['budget']['minutes_per_day']:.0f}-min budget; least time per card memorised "
        f"at {best:.2f}"
    )


def plot_simulation(plt: Any, sim: dict[str, Any]) -> None:
    """Minutes per day (bars) and cards memorised (line, right axis) by desired retention."""
    rows = sim["decide"]["rows"]
    xs = [round(r["retention"] * 100) for r in rows]
    plt.bar(xs, [r["minutes_per_day"] for r in rows], label="min/day")
    plt.plot(
        xs,
        [r["memorized"] for r in rows],
        label="memorised (right axis)",
        marker="braille",
        yside="right",
    )
    plt.hline(sim["budget"]["minutes_per_day"], "red")
    plt.xticks(xs, [str(x) for x in xs])
    plt.xlabel("desired retention %")
    plt.title("Workload vs knowledge retained (red: daily budget)")


class StatsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "close", "Close"),
        *[
            Binding(str(i + 1), f"tab('{name}')", name.title(), show=False)
            for i, name in enumerate(TABS)
        ],
    ]
    DEFAULT_CSS = """
    StatsScreen TabPane { padding: 0 1; }
    StatsScreen PlotextPlot { height: 1fr; min-height: 10; }
    StatsScreen #memory PlotextPlot { height: 12; }
    StatsScreen .caption { height: auto; }
    """

    def __init__(self, report: StatsReport, simulation: dict[str, Any] | None = None):
        super().__init__()
        self.report = report
        self.simulation = simulation if simulation and "decide" in simulation else None

    def compose(self) -> ComposeResult:
        r = self.report
        f = r.forecast
        with TabbedContent(initial="overview"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield Static(overview(r), id="overview-text")
            with TabPane("Forecast", id="forecast"):
                yield Static(
                    Text(
                        f"Next {len(f.days)} days: {f.total_due} reviews, {f.total_minutes:.0f} min; "
                        f"{f.days_over_budget} days over the {f.daily_budget_minutes:.0f}-min daily budget"
                    ),
                    classes="caption",
                )
                yield PlotextPlot(id="forecast-plot")
            with TabPane("Calendar", id="calendar"):
                yield Static(heatmap_text(r), id="heatmap")
            with TabPane("Memory", id="memory"), VerticalScroll():
                for name in ("retrievability", "stability", "difficulty"):
                    yield PlotextPlot(id=f"dist-{name}")
            with TabPane("Topics", id="topics"), VerticalScroll():
                yield Static(
                    Group(
                        groups_table(r.topics, "Topics, weakest first", "topic"),
                        Text(" "),
                        groups_table(r.study_weeks, "Study weeks, weakest first", "week"),
                    ),
                    id="topics-text",
                )
            with TabPane("Weeks", id="weeks"):
                yield PlotextPlot(id="weeks-plot")
            if self.simulation is not None:
                with TabPane("Plan", id="plan"):
                    yield Static(simulation_caption(self.simulation), classes="caption")
                    yield PlotextPlot(id="plan-plot")
        yield Footer()

    def on_mount(self) -> None:
        r = self.report
        f = r.forecast.days
        plot = self.query_one("#forecast-plot", PlotextPlot)
        plt = plot.plt
        plt.bar([d.offset for d in f], [d.minutes for d in f], label="minutes")
        plt.hline(r.forecast.daily_budget_minutes, "red")
        plt.title("Minutes per day (red: daily budget)")
        plt.xlabel("days from today")
        ticks: list[float] = list(range(0, len(f), 5))
        plt.xticks(
            ticks, [str(int(t)) for t in ticks]
        )  # explicit: plotext's own ticks vary run to run
        d = r.distributions
        for name, dist in (
            ("retrievability", d.retrievability),
            ("stability", d.stability),
            ("difficulty", d.difficulty),
        ):
            p = self.query_one(f"#dist-{name}", PlotextPlot).plt
            buckets = dist.buckets
            p.bar([b.label for b in buckets], [b.count for b in buckets])
            mean = dist.mean
            p.title(
                f"{name.title()} of {dist.count} cards"
                + ("" if mean is None else f" (mean {mean:.2f})")
            )
        weeks = r.weekly
        wp = self.query_one("#weeks-plot", PlotextPlot).plt
        xs: list[float] = list(range(1, len(weeks) + 1))
        wp.bar(
            xs,
            [0 if w.retention is None else round(w.retention * 100, 1) for w in weeks],
            label="retention %",
        )
        wp.plot(
            xs,
            [w.lapses for w in weeks],
            label="lapses (right axis)",
            marker="braille",
            yside="right",
        )
        wp.xticks(xs[::2], [w.last.isoformat()[5:] for w in weeks][::2])
        wp.title("True retention and lapses per week (weeks ending on the date shown)")
        if self.simulation is not None:
            plot_simulation(self.query_one("#plan-plot", PlotextPlot).plt, self.simulation)

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
