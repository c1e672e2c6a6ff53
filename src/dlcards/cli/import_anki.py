"""`dlcards import-anki`: bring reviews done in Anki or AnkiDroid back into dlcards."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.anki.reader import ImportPlan, MergeResult


@click.command("import-anki")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Report what would be imported; change nothing.")
@click.pass_context
def command(ctx: click.Context, path: Path, dry_run: bool) -> None:
    """Merge the review history of an Anki collection into dlcards.

    PATH is Anki's collection.anki2 (close Anki first), a .colpkg backup (File > Export >
    Anki Collection Package), or an .apkg exported with "Include scheduling information".
    Each Anki review is matched to its dlcards card through the note's GUID (and the cloze
    number); manual and reschedule entries are skipped, reviews already imported are not
    imported twice, and the affected cards' FSRS state is recomputed from the merged history.
    """
    from dlcards.app.collection import Collection
    from dlcards.cli._common import TerminalProgress

    with Collection.open(root_of(ctx)) as col, TerminalProgress() as bar:
        result, plan = col.import_anki(path, dry_run=dry_run, progress=bar)
    if dry_run:
        click.echo("dry run: nothing written")
        _report(result, plan, "would import")
        return
    _report(result, plan, "imported")


def _report(result: MergeResult, plan: ImportPlan, verb: str) -> None:
    n, cards = result.imported, len(result.cards)
    click.echo(
        f"{verb} {n} review{'s' if n != 1 else ''} of {cards} card{'s' if cards != 1 else ''}"
        + (f"; {result.duplicates} already imported" if result.duplicates else "")
    )
    skipped = len(plan.skipped)
    click.echo(f"skipped {skipped} manual or reschedule entr{'y' if skipped == 1 else 'ies'}")
    click.echo(
        f"unmatched {plan.unmatched}: {len(plan.not_dlcards)} from cards not made by dlcards, "
        f"{len(plan.gone)} from dlcards cards no longer in your decks"
    )
