"""`dlcards simulate`: what a retention and a new-cards-per-day setting will cost you."""

from __future__ import annotations

import json
from typing import Any

import click

from dlcards.cli._common import root_of


@click.command("simulate")
@click.option(
    "--retention",
    type=click.FloatRange(0.7, 0.99),
    help="Desired retention (default: the setting).",
)
@click.option(
    "--new",
    "new_per_day",
    type=click.IntRange(0, 9999),
    help="New cards per day (default: the setting).",
)
@click.option(
    "--review-limit",
    type=click.IntRange(0, 99999),
    help="Reviews per day at most (default: the setting).",
)
@click.option(
    "--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Days to forecast."
)
@click.option("--no-table", is_flag=True, help="Skip the retention table (faster).")
@click.option("--optimal", is_flag=True, help="Also run fsrs-rs's optimal-retention search (slow).")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@click.pass_context
def command(
    ctx: click.Context,
    retention: float | None,
    new_per_day: int | None,
    review_limit: int | None,
    days: int,
    no_table: bool,
    optimal: bool,
    as_json: bool,
) -> None:
    """Forecast minutes and cards per day with the FSRS simulator, against your weekly budget.

    Starts from your cards' real memory states, uses your recorded answer times (the FSRS
    defaults until 100 reviews are timed) and the parameters in force. The table ("help me
    decide") runs the same forecast for desired retentions 0.70-0.97: workload against cards
    memorised at the end; the retention with the fewest minutes per memorised card is marked.
    e.g. `dlcards simulate --new 10` vs `dlcards simulate --new 20`.
    """
    from dlcards.app.collection import Collection
    from dlcards.app.optimize import simulate_plan

    with Collection.open(root_of(ctx)) as col:
        report = simulate_plan(
            col,
            retention=retention,
            new_per_day=new_per_day,
            review_limit=review_limit,
            days=days,
            table=not no_table,
            optimal=optimal,
        )
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(text_report(report))


def text_report(r: dict[str, Any]) -> str:
    f, b = r["forecast"], r["budget"]
    rt = r["review_time"]
    lines = [
        f"Forecast for {r['days']} days: retention {r['desired_retention']:.2f}, "
        f"{r['new_per_day']} new cards/day ({r['new_cards_available']} unstarted), "
        f"at most {r['review_limit']} reviews/day; {r['cards_in_review']} cards in review",
        f"Parameters: {r['parameters_source']}. Review time: "
        + (
            f"yours ({rt['timed_reviews']} timed reviews, Good {rt['seconds_per_review']['good']:.0f} s)"
            if rt["from_your_reviews"]
            else f"FSRS defaults (only {rt['timed_reviews']} of 100 timed reviews yet)"
        ),
        "",
        f"  {f['mean_minutes_per_day']:.1f} min/day on average, {f['mean_reviews_per_day']:.0f} reviews/day; "
        f"budget {b['minutes_per_day']:.0f} min/day ({b['weekly_hours']:g} h/week): "
        f"{b['share_of_budget'] * 100:.0f}% of it, {b['days_over']} days over",
        "",
        "  week   hours  budget",
    ]
    for w in r["weeks"]:
        budget_h = b["weekly_hours"] * w["days"] / 7
        mark = "  OVER" if w["over_budget"] else ""
        lines.append(f"  {w['week']:>4}  {w['hours']:6.2f}  {budget_h:6.2f}{mark}")
    days = f["days"]
    lines += ["", "  day  reviews  new  minutes"]
    for d in days[: min(len(days), 14)]:
        lines.append(f"  {d['day']:>3}  {d['reviews']:>7}  {d['new']:>3}  {d['minutes']:7.1f}")
    if len(days) > 14:
        lines.append(f"  ... ({len(days) - 14} more days in --json)")
    if "decide" in r:
        lines += [
            "",
            "Help me decide (same plan, other retentions):",
            "  retention  min/day  reviews/day  memorised  min per memorised card",
        ]
        for row in r["decide"]["rows"]:
            mark = "  <- least time per card memorised" if row["cheapest"] else ""
            current = " *" if abs(row["retention"] - r["desired_retention"]) < 1e-9 else "  "
            lines.append(
                f"  {row['retention']:.2f}{current}    {row['minutes_per_day']:7.1f}  "
                f"{row['reviews_per_day']:11.1f}  {row['memorized']:9.0f}  "
                f"{row['minutes_per_memorized']:8.3f}{mark}"
            )
        lines.append("  (* = your retention)")
    if r.get("optimal_retention") is not None:
        lines.append(f"fsrs-rs optimal retention: {r['optimal_retention']:.3f}")
    return "\n".join(lines)
