"""`dlcards stats`: progress, true retention, forecast against the study budget, weak topics.

The figures come from `dlcards.app.collection.Collection.stats_report` (shared with the stats
screen), computed by the pure `dlcards.insights.stats.compute_stats`; this module prints them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import click

from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.insights.stats import StatsReport


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def text_summary(report: StatsReport) -> str:
    """A plain-text overview (used when the output is not a terminal)."""
    t, s, tm = report.today, report.streak, report.time
    lines = [
        f"Today ({t.day.isoformat()}): {t.reviews} reviews of {t.cards} cards, {t.new_cards} new, "
        f"{t.again} again, {t.minutes:.1f} min",
        f"Streak: {s.current} days (longest {s.longest}, {s.studied_days} days studied)",
        f"Study time: {tm.week_minutes:.0f} min in the last 7 days of a {tm.weekly_budget_minutes:.0f}-min "
        f"weekly budget; {tm.total_minutes:.0f} min in all",
        "",
        "True retention   young            mature           all",
    ]
    for p in report.true_retention:
        c = p.counts
        yn = c.young_passed + c.young_failed
        mn = c.mature_passed + c.mature_failed
        lines.append(
            f"  {p.period:<14} {_pct(c.young_retention):>6} of {yn:<6} "
            f"{_pct(c.mature_retention):>6} of {mn:<6} {_pct(c.retention):>6}"
        )
    f = report.forecast
    new = sum(d.new for d in f.days)
    lines += [
        "",
        f"Forecast (next {len(f.days)} days): {f.total_due} reviews and {new} new cards, "
        f"{f.total_minutes:.0f} min; {f.days_over_budget} days over the "
        f"{f.daily_budget_minutes:.0f}-min daily budget",
    ]
    studied = [row for row in report.topics if row.reviews]
    if studied:
        lines += ["", "Weakest topics:"]
        for row in studied[:5]:
            lines.append(
                f"  {row.group or '(no topic)'}: retention {_pct(row.retention)}, "
                f"{row.lapses} lapses, {row.reviews} reviews"
            )
    return "\n".join(lines)


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON.")
@click.option("--week", type=int, help="A study week (with --markdown): the week's summary.")
@click.option(
    "--markdown", is_flag=True, help="Print a Markdown summary of --week N for a blog post."
)
@click.option(
    "--start",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First study day of --week N (default: first review of a card of that week).",
)
@click.option(
    "--text", "as_text", is_flag=True, help="Print a plain-text overview instead of the TUI."
)
@click.pass_context
def command(
    ctx: click.Context,
    as_json: bool,
    week: int | None,
    markdown: bool,
    start: datetime | None,
    as_text: bool,
) -> None:
    """Progress: today's counts, streak, study time, true retention (young/mature), the 30-day
    forecast against the weekly study budget, a review calendar, memory distributions and the
    weakest topics. Opens a terminal screen; --json prints the figures instead.

    `dlcards stats --week N --markdown` prints a short summary of study week N to paste into
    a blog post (cards added, reviews, retention, hardest cards and topics).
    """
    import sys

    from dlcards.app.collection import Collection
    from dlcards.core.errors import UsageError

    if markdown and week is None:
        raise UsageError("--markdown needs --week N", hint="e.g. dlcards stats --week 8 --markdown")
    if week is not None and week < 1:
        raise UsageError("--week must be 1 or more")
    from dlcards.app.optimize import plan_status_of, plan_week_start

    with Collection.open(root_of(ctx)) as col:
        plan = plan_status_of(col)  # None without the setting `plan_start`
        if week is not None:
            from dlcards.insights.stats import week_markdown

            first = start.date() if start is not None else plan_week_start(col, week)
            summary = col.week_summary(week, first)
            if as_json or not markdown:
                week_out: dict[str, object] = dict(summary.to_dict())
                if plan is not None:
                    week_out["plan"] = plan.to_dict()
                click.echo(json.dumps(week_out, indent=2, ensure_ascii=False))
            else:
                from dlcards.insights.plan import plan_markdown

                text = week_markdown(summary)
                click.echo(text + (plan_markdown(plan) if plan is not None else ""), nl=False)
            return
        report = col.stats_report()
        simulation = None
        if not as_json and not as_text and sys.stdout.isatty():
            from dlcards.app.optimize import simulate_plan

            simulation = simulate_plan(col, days=30)  # the Plan tab of the screen
    if as_json:
        report_out: dict[str, object] = dict(report.to_dict())
        if plan is not None:
            report_out["plan"] = plan.to_dict()
        click.echo(json.dumps(report_out, indent=2, ensure_ascii=False))
        return
    if as_text or not sys.stdout.isatty():
        click.echo((plan.sentence() + "\n" if plan is not None else "") + text_summary(report))
        return
    from dlcards.tui.stats_app import StatsApp

    StatsApp(report, simulation).run()
