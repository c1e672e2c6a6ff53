"""`dlcards suspend` / `dlcards unsuspend`: take cards out of review, or bring them back.

In the review, `s` suspends the current card; this is how a suspended card (or a leech) comes
back, and how to suspend cards in bulk (`dlcards list --suspended` shows them). A note id
means all of its cards (a cloze note's `id/c1`, `id/c2`, ...).
"""

from __future__ import annotations

import click

from dlcards.cli._common import root_of
from dlcards.core.errors import UsageError


def _resolve(col: object, ids: tuple[str, ...]) -> list[str]:
    by_note: dict[str, list[str]] = {}
    known: set[str] = set()
    for note in col.notes:  # type: ignore[attr-defined]
        cards = note.card_ids()
        by_note[note.id] = cards
        known.update(cards)
    out: list[str] = []
    unknown = []
    for given in ids:
        if given in known:
            out.append(given)
        elif given in by_note:
            out.extend(by_note[given])
        else:
            unknown.append(given)
    if unknown:
        raise UsageError(
            f"no card with id {', '.join(repr(u) for u in unknown)} in the decks",
            hint="`dlcards list` shows card ids (a cloze card's id ends in /c1, /c2, ...)",
        )
    return list(dict.fromkeys(out))


def _set(ctx: click.Context, ids: tuple[str, ...], suspended: bool) -> None:
    from dlcards.core.calendar import zone
    from dlcards.store import Store, card_infos
    from dlcards.system.clock import now
    from dlcards.system.decks import open_collection

    col = open_collection(root_of(ctx), lint=False)
    cards = _resolve(col, ids)
    s = col.settings
    with Store.open(tz=zone(s.timezone), day_starts_at=s.day_starts_at) as store:
        store.sync_cards(card_infos(col.notes), now())
        before = store.flags(cards)
        store.set_suspended(cards, suspended)
    changed = [c for c in cards if bool(before.get(c) and before[c].suspended) != suspended]
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
