"""`dlcards doctor`: check the review database and explain what it finds.

Runs SQLite's integrity_check and foreign_key_check plus dlcards' own consistency checks,
reports the schema version and migrations, counts, orphaned histories and the backups, and
says how to restore a backup. It never makes a backup and never changes the Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dlcards.cli._common import root_of


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def restore_hint(db: Path, backup: Path | str) -> str:
    return (
        f"close every dlcards window, then:\n"
        f"    cp '{backup}' '{db}' && rm -f '{db}-wal' '{db}-shm'"
    )


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this database instead of the default one.",
)
@click.pass_context
def command(ctx: click.Context, as_json: bool, db_path: Path | None) -> None:
    """Check the review database: integrity, schema, counts, orphans, backups.

    Exits with status 1 when the database is damaged.
    """
    from dlcards.app.doctor import diagnose
    from dlcards.store import default_path

    db = db_path or default_path()
    markdown_ids = _markdown_ids(ctx)
    report = diagnose(db, markdown_ids)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(report, markdown_ids is not None)
    if report["problems"]:
        ctx.exit(1)


def _markdown_ids(ctx: click.Context) -> set[str] | None:
    """Card ids in the collection's Markdown, or None outside a collection."""
    from dlcards.app.collection import Collection
    from dlcards.core.errors import DlcardsError

    try:
        with Collection.open(root_of(ctx)) as col:
            return col.markdown_ids()
    except DlcardsError:
        return None


def _print(report: dict[str, Any], with_markdown: bool) -> None:
    ok = click.style("ok", fg="green", bold=True)
    bad = click.style("PROBLEM", fg="red", bold=True)
    db = Path(report["database"])
    click.echo(f"database: {db}")
    if not report["exists"]:
        click.echo(
            "  no review database yet: it is created by the first review (nothing to check)."
        )
    else:
        version = report["schema_version"]
        latest = report["latest_schema_version"]
        size = _size(report.get("size", 0))
        if version is None:
            click.echo(f"  {size}; cannot be opened")
        else:
            click.echo(f"  {size}; schema version {version} (this dlcards: {latest})")
            for m in report["migrations"]:
                click.echo(f"    migration {m['version']} {m['name']}, applied {m['applied_at']}")
            if report.get("migrated_from") is not None:
                click.echo(
                    f"  migrated just now from version {report['migrated_from']}; the old database "
                    f"was saved in {db.parent / 'backups'}"
                )
    if report["problems"]:
        click.echo(f"integrity: {bad}")
        for p in report["problems"]:
            click.echo(f"  - {p}")
        if report["backups"]:
            click.echo(
                "  The database is damaged. Your reviews up to the newest backup "
                f"({report['backups'][0]['day']}) are safe there; restore it as shown below."
            )
        else:
            click.echo(
                "  The database is damaged and there is no backup. Keep a copy of the file; the sqlite3 "
                f"shell can often salvage it: sqlite3 '{db}' .recover | sqlite3 recovered.sqlite3"
            )
    elif report["exists"]:
        click.echo(f"integrity: {ok} (integrity_check, foreign_key_check, state consistency)")
    c = report["counts"]
    if c:
        click.echo(
            f"cards: {c['cards']} known to the database, {c['present']} in the Markdown"
            + ("" if with_markdown else " (as of the last review session)")
            + f"; {c['states']} scheduled; {c['reviews']} reviews"
            + (f" ({c['imported_reviews']} imported from Anki)" if c["imported_reviews"] else "")
            + f"; {c['suspended']} suspended; {c['leeches']} leeches"
        )
    orphans = report["orphans"]
    if orphans:
        click.echo(
            f"orphans: {len(orphans)} card(s) have history but their id is no longer in the Markdown:"
        )
        for o in orphans[:20]:
            where = f"{o['path']}:{o['line']}" if o["path"] else "unknown file"
            since = f", gone since {o['gone_since'][:10]}" if o["gone_since"] else ""
            click.echo(f"  {o['id']}  (was {where}; {o['reviews']} reviews{since})")
        if len(orphans) > 20:
            click.echo(f"  ... and {len(orphans) - 20} more (see --json)")
        click.echo(
            "  Their history is kept until you decide. If you edited a card and its id changed, move the "
            "history to the new id (relink); if you deleted the card on purpose, prune it. Nothing is "
            "lost by leaving them."
        )
    elif report["exists"] and report["schema_version"] is not None:
        click.echo("orphans: none")
    backups = report["backups"]
    if backups:
        click.echo(
            f"backups: {len(backups)} in {db.parent / 'backups'} (one per study day, made when you "
            f"review; newest {backups[0]['day']}, oldest {backups[-1]['day']})"
        )
        click.echo("  to restore one, " + restore_hint(db, backups[0]["path"]))
    else:
        click.echo(
            "backups: none yet (one is made each study day you review; setting `backups_keep`)"
        )
