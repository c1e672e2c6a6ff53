"""`dlcards import-anki`: bring reviews done in Anki or AnkiDroid back into dlcards."""

from __future__ import annotations

from pathlib import Path

import click

from dlcards.commands._common import root_of


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
    from dlcards import clock
    from dlcards.collection import open_collection
    from dlcards.export.anki_import import merge_into_store, plan_import, read_anki_reviews
    from dlcards.scheduling import Scheduler, SchedulerConfig

    col = open_collection(root_of(ctx), lint=False)
    rows = read_anki_reviews(path)
    plan = plan_import(rows, col.notes)
    if dry_run:
        click.echo(f"would import up to {plan.matched_rows} reviews of {len(plan.matched)} cards "
                   f"(dry run; already imported ones are not counted out)")
        _report_rest(plan)
        return

    from dlcards.days import zone
    from dlcards.store import Store

    now = clock.now()
    settings = col.settings
    with Store.open(now=now, tz=zone(settings.timezone), day_starts_at=settings.day_starts_at,
                    backups_keep=settings.backups_keep) as store:
        result = merge_into_store(store, Scheduler(SchedulerConfig.from_settings(settings)), plan)
    click.echo(f"imported {result.imported} review{'s' if result.imported != 1 else ''} "
               f"of {len(result.cards)} card{'s' if len(result.cards) != 1 else ''}"
               + (f"; {result.duplicates} already imported" if result.duplicates else ""))
    _report_rest(plan)


def _report_rest(plan: object) -> None:
    from dlcards.export.anki_import import ImportPlan

    assert isinstance(plan, ImportPlan)
    click.echo(f"skipped {len(plan.skipped)} manual or reschedule entr{'y' if len(plan.skipped) == 1 else 'ies'}")
    click.echo(f"unmatched {plan.unmatched}: {len(plan.not_dlcards)} from cards not made by dlcards, "
               f"{len(plan.gone)} from dlcards cards no longer in your decks")
