"""`dlcards suspend` / `dlcards unsuspend`: take cards out of review, or bring them back.

In the review, `s` suspends the current card; this is how a suspended card (or a leech) comes
back, and how to suspend cards in bulk (`dlcards list --suspended` shows them). A note id
means all of its cards (a cloze note's `id/c1`, `id/c2`, ...).
"""

from __future__ import annotations

import click

from dlcards.cli._common import root_of


def _set(ctx: click.Context, ids: tuple[str, ...], suspended: bool) -> None:
    from dlcards.app.collection import Collection

    with Collection.open(root_of(ctx)) as col:
        done = col.set_suspended(ids, suspended)
    cards, changed = done.cards, done.changed
    verb = "Suspended" if suspended else "Unsuspended"
    click.echo(
        f"{verb} {len(changed)} card{'s' if len(changed) != 1 else ''}"
        + (
            f" ({len(cards) - len(changed)} already {'suspended' if suspended else 'active'})"
            if len(changed) != len(cards)
            else ""
        )
        + "."
    )


@click.command("suspend")
@click.argument("ids", nargs=-1, required=True)
@click.pass_context
def suspend(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Suspend cards (card or note ids): they are not shown in review until unsuspended."""
    _set(ctx, ids, True)


@click.command("unsuspend")
@click.argument("ids", nargs=-1, required=True)
@click.pass_context
def unsuspend(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Unsuspend cards (card or note ids), leeches included; they return to review."""
    _set(ctx, ids, False)
