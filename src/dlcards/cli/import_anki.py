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
    from dlcards.anki.reader import (
        MergeResult,
        merge_into_store,
        plan_import,
        read_anki_reviews,
    )
    from dlcards.review.scheduling import Scheduler, SchedulerConfig
    from dlcards.system import clock
    from dlcards.system.decks import open_collection

    col = open_collection(root_of(ctx), lint=False)
    rows = read_anki_reviews(path)
    plan = plan_import(rows, col.notes)
    scheduler = Scheduler(SchedulerConfig.from_settings(col.settings))

    from dlcards.core.calendar import zone
    from dlcards.store import Store, card_infos, default_path

    settings = col.settings
    if dry_run:
        if default_path().is_file():
            with Store.open(
                tz=zone(settings.timezone), day_starts_at=settings.day_starts_at
            ) as store:
                result = merge_into_store(store, scheduler, plan, dry_run=True)
        else:
            result = MergeResult(imported=plan.matched_rows, cards=sorted(plan.matched))
        click.echo("dry run: nothing written")
        _report(result, plan, "would import")
        return

    now = clock.now()
    with Store.open(
        now=now,
        tz=zone(settings.timezone),
        day_starts_at=settings.day_starts_at,
        backups_keep=settings.backups_keep,
    ) as store:
        # the store learns the cards as the review does (so imported ones are not orphans)
        store.sync_cards(card_infos(col.notes), now)
        result = merge_into_store(store, scheduler, plan)
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
