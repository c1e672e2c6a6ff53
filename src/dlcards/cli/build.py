"""`dlcards build`: write Anki packages (.apkg) that update in place when imported again."""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import click

from dlcards.cli._common import print_problems, root_of

PROGRESS_MIN_NOTES = 300


@click.command("build")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the .apkg files (default: build/ in the collection).",
    metavar="DIR",
)
@click.option(
    "--single",
    is_flag=True,
    help="One dlcards.apkg for all deck roots instead of one file per root.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Build the valid cards and leave out those with errors (exit 0).",
)
@click.option("--no-cache", is_flag=True, help="Render every card again, ignoring cached HTML.")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out_dir: Path | None,
    single: bool,
    skip_invalid: bool,
    no_cache: bool,
) -> None:
    """Build Anki packages: one .apkg per deck root, sub-decks by week and topic.

    Import the files in Anki or AnkiDroid with the default options. Building again and
    re-importing updates the notes in place and keeps their scheduling. A card with errors
    (see `dlcards check`) is not exported: the build stops with exit status 1 unless
    --skip-invalid is given.
    """
    from dlcards.app.anki_io import reuse_previous_build
    from dlcards.app.collection import Collection
    from dlcards.system import clock

    started = time.perf_counter()
    when = clock.now()
    # A build allocates many small objects and frees nothing cyclic until it ends: the cyclic
    # garbage collector would only rescan them again and again (a third of a large build).
    gc.disable()
    try:
        result = (
            None
            if no_cache
            else reuse_previous_build(
                root_of(ctx), list(paths) or None, out_dir, single=single, when=when
            )
        )
        if result is None:
            # lint only warns (see `dlcards check`); skipping it keeps large builds fast
            with Collection.open(
                root_of(ctx), paths=list(paths) or None, use_cache=not no_cache, lint=False
            ) as col:
                n_notes = len(col.notes)
                options = {
                    "when": when,
                    "single": single,
                    "skip_invalid": skip_invalid,
                    "no_cache": no_cache,
                }
                if n_notes >= PROGRESS_MIN_NOTES and sys.stderr.isatty():
                    with click.progressbar(
                        length=n_notes, label="Rendering cards", file=sys.stderr
                    ) as bar:
                        result = col.build(out_dir, progress=bar.update, **options)
                else:
                    result = col.build(out_dir, **options)
    finally:
        gc.enable()

    if result.problems:
        print_problems(result.problems, as_json=False)
    skipped_cards = sum(len(n.card_ids()) for n in result.skipped)
    if not result.written:
        click.echo(
            click.style("error:", fg="red", bold=True)
            + f" {skipped_cards} card{'s' if skipped_cards != 1 else ''} with errors; nothing written",
            err=True,
        )
        click.echo(
            click.style("  hint: ", fg="cyan")
            + "fix them (see above), or pass --skip-invalid to build the rest",
            err=True,
        )
        ctx.exit(1)
    for pkg in result.packages:
        media = f", {pkg.media} media file{'s' if pkg.media != 1 else ''}" if pkg.media else ""
        click.echo(f"wrote {_shown(pkg.path)}: {pkg.notes} notes, {pkg.cards} cards{media}")
    if not result.packages:
        click.echo("No cards to build.", err=True)
    elapsed = time.perf_counter() - started
    if skipped_cards:
        click.echo(
            f"skipped {skipped_cards} card{'s' if skipped_cards != 1 else ''} with errors", err=True
        )
    how = (
        "nothing changed since the last build"
        if result.reused
        else f"{result.rendered} rendered, {result.cached} from cache"
    )
    click.echo(f"{result.cards} cards in {elapsed:.2f} s ({how})", err=True)
    if not result.reused:
        orphaned = f"; {result.orphaned} deleted (tag dlcards::deleted)" if result.orphaned else ""
        n = result.changed
        click.echo(
            f"{n} note{'s' if n != 1 else ''} changed since the last build{orphaned}", err=True
        )


def _shown(path: Path) -> str:
    from dlcards.system.decks import display_path

    return display_path(path.resolve(), Path.cwd())
