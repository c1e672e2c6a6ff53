"""`dlcards info CARD_ID`: a card's full review history and its current retrievability.

The info comes from `dlcards.app.collection.Collection.card_info` (shared with the card-info screen).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.insights.cardinfo import CardInfoReport


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def _indented(label: str, text: str) -> list[str]:
    lines = text.splitlines() or [""]
    return [f"{label}{lines[0]}", *(f"   {ln}" if ln else "" for ln in lines[1:])]


def text_info(info: CardInfoReport) -> str:
    from dlcards.insights.cardinfo import flag_name, local_time, readable
    from dlcards.review.scheduling import format_interval

    w = info.where
    tz = info.timezone
    lines = [
        f"Card {info.card_id}"
        + (f"  {w.path}:{w.line}" if w else "")
        + ("" if info.in_decks else "  (orphaned: no longer in any deck file)")
        + (f"  ⚑ {flag_name(info.flag)} flag" if info.flag else "")
    ]
    if info.question:
        if not info.in_decks:
            lines.append("Last known text:")
        lines += _indented("Q: ", readable(info.question))
        if info.answer:
            lines += _indented("A: ", readable(info.answer))
    st = info.state
    r = info.retrievability
    if st:
        due = local_time(st.due, tz) if st.due else "–"
        lines.append(
            f"Phase {st.phase}, interval {st.interval_days} d, stability "
            f"{_num(st.stability)} d, difficulty {_num(st.difficulty)}, "
            f"retrievability {'–' if r is None else f'{r * 100:.1f}%'}, due {due} ({tz})"
        )
        lines.append(
            f"Reps {st.reps}, lapses {st.lapses}"
            + (", suspended" if info.suspended else "")
            + (", leech" if info.leech else "")
        )
    else:
        lines.append("New: never reviewed.")
    if info.history:
        lines.append("")
        head = f"time ({tz})"
        width = max(17, len(head))
        lines.append(
            f"{head:<{width}} {'rating':<6} {'kind':<8} {'time':>6} {'ivl':>6} {'stab':>7} {'diff':>5}"
        )
        for h in info.history:
            ivl = format_interval(h.interval_days * 86400) if h.interval_days else "–"
            lines.append(
                f"{local_time(h.time, tz):<{width}} {h.rating_name:<6} {h.kind:<8} "
                f"{h.duration_s:>5.0f}s {ivl:>6} {_num(h.stability):>7} {_num(h.difficulty):>5}"
            )
    return "\n".join(lines)


@click.command("info")
@click.argument("card_id")
@click.option("--json", "as_json", is_flag=True, help="Print the card's info and history as JSON.")
@click.option("--tui", is_flag=True, help="Show it in a terminal screen.")
@click.pass_context
def command(ctx: click.Context, card_id: str, as_json: bool, tui: bool) -> None:
    """A card's full history (every review: rating, time, interval, stability, difficulty) and
    its current retrievability."""
    from dlcards.app.collection import Collection

    with Collection.open(root_of(ctx)) as col:
        info = col.card_info(card_id)
    if as_json:
        click.echo(json.dumps(info.to_dict(), indent=2, ensure_ascii=False))
    elif tui:
        from dlcards.tui.stats_app import CardInfoApp

        CardInfoApp(info).run()
    else:
        click.echo(text_info(info))
