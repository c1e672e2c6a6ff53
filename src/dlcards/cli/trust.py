"""`dlcards trust` / `dlcards untrust`: give or take back consent to run a collection's code.

Like `direnv allow`: consent is stored in dlcards' state folder, never in the collection.
"""

from __future__ import annotations

from pathlib import Path

import click

from dlcards.cli._common import root_of


def _collection_root(ctx: click.Context) -> Path:
    from dlcards.core.errors import CollectionError
    from dlcards.system.paths import CONFIG_FILE, DECKS_DIR, find_root

    given = root_of(ctx)
    if given is not None:
        root = given.resolve()
        if not ((root / DECKS_DIR).is_dir() or (root / CONFIG_FILE).is_file()):
            raise CollectionError(
                f"{root} is not a dlcards collection (no decks/ folder)",
                hint="pass a collection with -C PATH",
            )
        return root
    found = find_root(Path.cwd())
    if found is None:
        raise CollectionError(
            f"no dlcards collection in {Path.cwd()} or its parents",
            hint="run this inside a collection, or pass -C PATH",
        )
    return found


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
    if trust(root, now()):
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
