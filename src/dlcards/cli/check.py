"""`dlcards check`: every problem of every file, sorted, in one run."""

from __future__ import annotations

from pathlib import Path

import click

from dlcards.cli._common import print_problems, root_of, summary


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print problems as a JSON list.")
@click.option("--strict", is_flag=True, help="Treat 'not proved' formula checks as errors.")
@click.option("--no-exec", is_flag=True, help="Do not run code cards.")
@click.option("--no-cache", is_flag=True, help="Re-run every check, ignoring cached results.")
@click.option(
    "--coverage",
    is_flag=True,
    help="Say how much of what the cards state is proved (with --json: the coverage report).",
)
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    as_json: bool,
    strict: bool,
    no_exec: bool,
    no_cache: bool,
    coverage: bool = False,
) -> None:
    """Validate deck files: structure, stable ids, formulas, shapes and code cards.

    Exit status: 0 no errors, 1 errors found, 2 usage or configuration error.
    """
    from dlcards.core.errors import Problem
    from dlcards.system import runcache

    if coverage:
        _coverage(ctx, paths, as_json, strict, no_exec, no_cache)
        return

    key = (
        None
        if no_cache
        else runcache.check_key(root_of(ctx), list(paths), {"strict": strict, "no_exec": no_exec})
    )
    hit = runcache.load(key) if key else None
    if hit is not None:
        problems = [Problem.from_dict(d) for d in hit["problems"]]
        notes = ["nothing changed since the last check: its result is shown again"]
        files, cards = hit["files"], hit["cards"]
    else:
        from dlcards.app.collection import Collection

        col = Collection.open(
            root_of(ctx), paths=list(paths) or None, use_cache=not no_cache, lint=True
        )
        from dlcards.cli._common import TerminalProgress

        with TerminalProgress(enabled=None if not as_json else False) as bar:
            report = col.check(
                strict=strict, no_exec=no_exec, no_cache=no_cache, quiet=as_json, progress=bar
            )
        problems, notes = list(report.problems), list(report.notes)
        files, cards = report.files, report.cards
        if key and not any(p.code in ("internal", "code-not-run") for p in problems):
            runcache.save(key, dict(report.to_dict()))
    print_problems(problems, as_json)
    if not as_json:
        for note in notes:
            click.echo(note, err=True)
        click.echo(summary(problems, files, cards), err=True)
    if any(p.severity == "error" for p in problems):
        ctx.exit(1)


def _coverage(
    ctx: click.Context,
    paths: tuple[Path, ...],
    as_json: bool,
    strict: bool,
    no_exec: bool,
    no_cache: bool,
) -> None:
    """`dlcards check --coverage`: the problems (not with --json), then the coverage."""
    import json

    from dlcards.app.collection import Collection
    from dlcards.app.coverage import coverage_report

    col = Collection.open(
        root_of(ctx), paths=list(paths) or None, use_cache=not no_cache, lint=True
    )
    report, cov = coverage_report(col.decks, strict=strict, no_exec=no_exec, no_cache=no_cache)
    problems = list(report.problems)
    if as_json:
        click.echo(json.dumps(cov.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_problems(problems, False)
        for line in cov.lines():
            click.echo(line)
        click.echo(summary(problems, report.files, report.cards), err=True)
    if any(p.severity == "error" for p in problems):
        ctx.exit(1)
