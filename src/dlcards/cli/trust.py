"""`dlcards trust` / `dlcards untrust`: give or take back consent to run a collection's code.

Like `direnv allow`: consent is stored in dlcards' state folder, never in the collection.
"""

from __future__ import annotations

from pathlib import Path

import click

from dlcards.cli._common import root_of


def _collection_root(ctx: click.Context) -> Path:
    from dlcards.app.collection import locate_root

    root = locate_root(root_of(ctx), files_allowed=False)
    assert root is not None  # without deck files named, locate_root finds one or raises
    return root


@click.command("trust")
@click.pass_context
def trust_command(ctx: click.Context) -> None:
    """Allow this collection's code cards (`torch` blocks) to run on this machine.

    Code runs in a sandbox that guards against accidents (timeouts, memory and output limits,
    no network), not against a hostile author: trust only decks whose code you would run
    yourself. Consent is remembered outside the collection; `dlcards untrust` takes it back.
    """
    from dlcards.checks.runner.consent import trust
    from dlcards.system.clock import now

    root = _collection_root(ctx)
    try:
        added = trust(root, now())
    except OSError as exc:
        from dlcards.core.errors import DlcardsError

        raise DlcardsError(
            f"cannot record consent in {root}: {exc.strerror or exc}",
            hint="consent writes a private id into the collection (.git/dlcards-trust-id or "
            ".dlcards-trust-id); make the folder writable",
        ) from None
    if added:
        click.echo(f"Trusted {root}: `dlcards check` and review may now run its code cards.")
    else:
        click.echo(f"{root} is already trusted.")
    click.echo("Take it back with `dlcards untrust`.")


@click.command("untrust")
@click.pass_context
def untrust_command(ctx: click.Context) -> None:
    """Withdraw consent to run this collection's code cards."""
    from dlcards.checks.runner.consent import untrust

    root = _collection_root(ctx)
    if untrust(root):
        click.echo(f"Untrusted {root}: its code cards will not run until `dlcards trust`.")
    else:
        click.echo(f"{root} was not trusted; nothing changed.")
