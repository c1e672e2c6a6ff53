"""The command line: the only place that prints errors and picks exit codes.

Commands live in `dlcards.cli.<name>` and are imported only when run, so `dlcards --help`
stays fast and imports none of sympy, torch, textual or genanki.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from dlcards import __version__

# name -> (module:attribute, one-line help shown by `dlcards --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("dlcards.cli.init:command", "Create a collection with a first deck to edit."),
    "check": (
        "dlcards.cli.check:command",
        "Validate deck files: structure, ids, formulas, shapes, code.",
    ),
    "fix": ("dlcards.cli.fix:command", "Pin derived card ids into the Markdown files."),
    "list": ("dlcards.cli.list:command", "List the cards of the collection."),
    "trust": ("dlcards.cli.trust:trust_command", "Allow this collection's code cards to run here."),
    "untrust": (
        "dlcards.cli.trust:untrust_command",
        "Withdraw consent to run this collection's code cards.",
    ),
    "review": (
        "dlcards.cli.review:command",
        "Review the cards due today in the terminal (`dlcards` alone: the home screen).",
    ),
    "doctor": (
        "dlcards.cli.doctor:command",
        "Check the review database and its backups; explain how to restore.",
    ),
    "build": ("dlcards.cli.build:command", "Write Anki packages (.apkg) that update in place."),
    "optimize": ("dlcards.cli.optimize:command", "Fit FSRS parameters to your own reviews."),
    "simulate": (
        "dlcards.cli.simulate:command",
        "Forecast minutes and cards per day; choose a retention.",
    ),
    "import-reviews": (
        "dlcards.cli.import_reviews:command",
        "Import a review log (CSV) from Anki, py-fsrs or the FSRS optimizer.",
    ),
    "import-anki": (
        "dlcards.cli.import_anki:command",
        "Bring reviews done in Anki/AnkiDroid back into dlcards.",
    ),
    "sync": (
        "dlcards.cli.sync:command",
        "Sync with Anki (collection file or sync server), both ways.",
    ),
    "stats": (
        "dlcards.cli.stats:command",
        "Progress: retention, forecast vs. study budget, weak topics.",
    ),
    "prune": (
        "dlcards.cli.prune:command",
        "Rank cards worth fixing, deleting or relinking (week-8 prune).",
    ),
    "info": (
        "dlcards.cli.info:command",
        "A card's full review history and current retrievability.",
    ),
    "suspend": ("dlcards.cli.suspend:suspend", "Suspend cards (by card or note id)."),
    "unsuspend": (
        "dlcards.cli.suspend:unsuspend",
        "Bring suspended cards (and leeches) back into review.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            target, _ = COMMANDS[cmd_name]
            module_name, attr = target.split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-C",
    "collection",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run as if started in PATH (the collection folder).",
    metavar="PATH",
)
@click.version_option(__version__, "-V", "--version", prog_name="dlcards")
@click.pass_context
def app(ctx: click.Context, collection: Path | None) -> None:
    """dlcards: spaced-repetition flashcards for learning deep learning.

    Cards live in Markdown files under decks/. Run `dlcards` alone for the home screen
    (today's counts per week and topic; study any of them), `dlcards review` for today's cards.
    """
    ctx.obj = {"root": collection}
    if ctx.invoked_subcommand is None:  # the home screen (issue 14); `review` goes to cards
        from dlcards.cli.review import home

        home(ctx)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and turns every failure into a message and an exit code."""
    from dlcards.core.errors import DlcardsError

    try:
        result = app.main(args=argv, prog_name="dlcards", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except DlcardsError as exc:
        click.echo(exc.render(), err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except OSError as exc:  # the world said no (permissions, a missing folder, a full disk)
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or exc}", err=True)
        click.echo("  hint: check that the path exists and that you may write there", err=True)
        return 1
    except Exception as exc:
        if os.environ.get("DLCARDS_DEBUG"):
            raise
        click.echo(f"dlcards: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo(
            "  hint: this is a bug in dlcards; rerun with DLCARDS_DEBUG=1 for the traceback",
            err=True,
        )
        return 3
    return result if isinstance(result, int) else 0


def obj(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    return root.obj or {}


if __name__ == "__main__":
    sys.exit(main())
