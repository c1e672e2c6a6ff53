"""`dlcards import-reviews FILE`: bring a review log from another app (CSV) into dlcards."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dlcards.cli._common import print_problems, root_of


@click.command("import-reviews")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and count; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts (or problems) as JSON.")
@click.pass_context
def command(ctx: click.Context, path: Path, dry_run: bool, as_json: bool) -> None:
    """Import review history from a CSV file, for people migrating to dlcards.

    Reads py-fsrs's review logs (card_id, review_rating, review_time, review_duration), the
    FSRS optimizer's revlog.csv (card_id, review_time in ms, review_rating, review_state,
    review_duration) and a CSV dump of Anki's revlog table (id, cid, ease, time, type). A row
    whose card id is a dlcards card joins that card's history (its schedule is recomputed);
    the others are kept as foreign history, which `dlcards optimize` fits on and `dlcards
    simulate` takes review times from. Bad rows are listed as FILE:LINE and nothing is
    imported; importing the same file twice adds nothing.
    """
    from dlcards.app import optimize as svc
    from dlcards.app.collection import Collection

    with Collection.open(root_of(ctx)) as col:
        try:
            out = svc.import_reviews(col, path, dry_run=dry_run)
        except svc.ImportProblems as exc:
            print_problems(exc.problems, as_json)
            raise
    if as_json:
        click.echo(json.dumps({**out.to_dict(), "dry_run": dry_run}, indent=2))
        return
    verb = "would import" if dry_run else "imported"
    click.echo(f"{path}: {out.rows} reviews ({out.layout} layout)")
    click.echo(
        f"{verb} {out.mapped} reviews of {len(out.mapped_cards)} dlcards cards and "
        f"{out.foreign} reviews of {out.foreign_cards} other cards (foreign history)"
    )
    if out.duplicates:
        click.echo(f"{out.duplicates} already imported")
    if out.skipped:
        click.echo(f"skipped {out.skipped} manual or reschedule entries")
    if dry_run:
        click.echo("dry run: nothing written")
