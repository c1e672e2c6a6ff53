"""`dlcards fix`: write derived ids into the files (and new ids for duplicates)."""

from __future__ import annotations

from pathlib import Path

import click

from dlcards.cli._common import root_of


@click.command("fix")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be written; change nothing.")
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], dry_run: bool) -> None:
    """Pin every card's id into its Markdown file as `<!-- id: ... -->`.

    Only the id comments are inserted; every other byte stays as it was. A card that reuses
    another card's id gets a fresh one. Running it twice changes nothing the second time.
    """
    from dlcards.app.collection import Collection
    from dlcards.app.fix import pin_ids

    decks = Collection.open(root_of(ctx), paths=list(paths) or None, use_cache=False).decks
    report = pin_ids(decks, dry_run=dry_run)
    if not report.ids:
        click.echo(f"All {report.cards} cards already have ids; nothing to do.")
        return
    for pin in report.ids:
        verb = "new id for duplicate" if pin.duplicate else "id"
        click.echo(f"{pin.display}:{pin.line}: {verb} {pin.new_id}")
    for exc in report.failed:
        click.echo(exc.render(), err=True)
    if dry_run:
        click.echo(f"Would pin {len(report.ids)} ids in {report.files} files (dry run).")
        return
    click.echo(f"Pinned {report.written} ids in {report.files - len(report.failed)} files.")
    if report.failed:
        ctx.exit(1)
