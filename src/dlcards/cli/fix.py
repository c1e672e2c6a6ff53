"""`dlcards fix`: write derived ids into the files (and new ids for duplicates)."""

from __future__ import annotations

from collections import defaultdict
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
    from dlcards.core.errors import FileChangedError
    from dlcards.core.identity import IdWrite, apply_id_writes
    from dlcards.system.fsutil import remove_stale_temps, write_atomic

    col = Collection.open(root_of(ctx), paths=list(paths) or None, use_cache=False).decks
    by_file: dict[str, list[IdWrite]] = defaultdict(list)
    for w in col.writes:
        by_file[w.path].append(w)
    if not dry_run:
        for deck_file in col.files:  # what a killed `fix` left behind
            remove_stale_temps(deck_file.path)
    if not by_file:
        click.echo(f"All {len(col.notes)} cards already have ids; nothing to do.")
        return
    failed = 0
    written = 0
    for rel, writes in sorted(by_file.items()):
        deck_file = col.file(rel)
        for w in writes:
            verb = "new id for duplicate" if w.replace else "id"
            click.echo(f"{deck_file.display}:{w.line}: {verb} {w.new_id}")
        if dry_run:
            continue
        text = deck_file.snapshot.data.decode("utf-8")
        new = apply_id_writes(text, writes).encode("utf-8")
        try:
            write_atomic(deck_file.snapshot, new)
            written += len(writes)
        except FileChangedError as exc:
            failed += 1
            click.echo(exc.render(), err=True)
    if dry_run:
        click.echo(f"Would pin {len(col.writes)} ids in {len(by_file)} files (dry run).")
        return
    click.echo(f"Pinned {written} ids in {len(by_file) - failed} files.")
    if failed:
        ctx.exit(1)
