"""`dlcards doctor`: check the review database and explain what it finds.

Runs SQLite's integrity_check and foreign_key_check plus dlcards' own consistency checks,
reports the schema version and migrations, counts, orphaned histories and the backups, and
says how to restore a backup. It never makes a backup and never changes the Markdown.
"""

from __future__ import annotations

import contextlib
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
@click.option(
    "--repair",
    is_flag=True,
    help="Replace card states that disagree with their review log by a replay of it.",
)
@click.option(
    "--restore",
    "restore_from",
    is_flag=False,
    flag_value="newest",
    default=None,
    metavar="[BACKUP]",
    help="Put a backup in place of the database (default: the newest good one); the "
    "current file is kept aside.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --repair / --restore.")
@click.pass_context
def command(
    ctx: click.Context,
    as_json: bool,
    db_path: Path | None,
    repair: bool = False,
    restore_from: str | None = None,
    yes: bool = False,
) -> None:
    """Check the review database: integrity, schema, counts, states against the log,
    orphans, backups. `--repair` and `--restore` fix what it finds (asking first).

    Exits with status 1 when the database is damaged or a state disagrees with the log.
    """
    from dlcards.app.collection import Collection
    from dlcards.app.doctor import default_scheduler, diagnose
    from dlcards.core.errors import DlcardsError
    from dlcards.store import default_path

    col = None
    with contextlib.suppress(DlcardsError):
        col = Collection.open(root_of(ctx))
    try:
        db = db_path or (col.store_file() if col is not None else default_path())
        if restore_from is not None:
            _restore(ctx, col, db, None if restore_from == "newest" else Path(restore_from), yes)
            return
        markdown_ids = col.markdown_ids() if col is not None else None
        scheduler = _scheduler(col) if db.is_file() else None
        if scheduler is None and col is None and db.is_file():
            try:
                scheduler = default_scheduler()
            except DlcardsError:
                scheduler = None
        report = diagnose(db, markdown_ids, scheduler)
        if repair and report.get("states", {}).get("wrong"):
            _repair(ctx, col, db, report, scheduler, yes)
            report = diagnose(db, markdown_ids, scheduler)
        if as_json:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            _print(report, markdown_ids is not None)
        if report["problems"]:
            ctx.exit(1)
    finally:
        if col is not None:
            col.close()


def _scheduler(col: Any) -> Any:
    from dlcards.core.errors import DlcardsError

    if col is None:
        return None
    try:
        return col.scheduler  # may open the store (adopted parameters)
    except DlcardsError:
        return None


def _lease(col: Any, db: Path, command: str) -> Any:
    from dlcards.store.lease import WriteLease
    from dlcards.system.clock import now

    if col is not None and db == col.store_file():
        return col.take_lease(command)
    return WriteLease.acquire(db, command, now())


def _repair(
    ctx: click.Context, col: Any, db: Path, report: dict[str, Any], scheduler: Any, yes: bool
) -> None:
    from dlcards.app.doctor import repair_states

    wrong = [w["card_id"] for w in report["states"]["wrong"]]
    click.echo(
        f"{len(wrong)} card state(s) disagree with their review log; --repair replaces them by a "
        "replay of the log (the log itself is not changed)."
    )
    if not yes and not click.confirm("Repair them?", default=False, err=True):
        click.echo("Nothing changed.")
        ctx.exit(1)
    lease = _lease(col, db, "doctor --repair")
    try:
        n = repair_states(db, scheduler, wrong)
    finally:
        if col is None:
            lease.release()
    click.echo(f"Repaired {n} card state(s) from their review log.")


def _restore(ctx: click.Context, col: Any, db: Path, backup: Path | None, yes: bool) -> None:
    from dlcards.app.doctor import restore
    from dlcards.system.clock import now

    what = str(backup) if backup is not None else "the newest backup that reads back whole"
    click.echo(f"--restore puts {what} in place of {db}; the current file is kept aside.")
    if not yes and not click.confirm("Restore?", default=False, err=True):
        click.echo("Nothing changed.")
        ctx.exit(1)
    if col is not None:
        col.close()  # its store must not stay open on the file being replaced
    lease = _lease(None, db, "doctor --restore")
    try:
        done = restore(db, backup, now().strftime("%Y%m%dT%H%M%S"))
    finally:
        lease.release()
    click.echo(f"Restored {done.backup} to {db}.")
    for kept in done.kept_aside:
        click.echo(f"  kept aside: {kept}")


def _mismatch(w: dict[str, Any]) -> str:
    from dlcards.app.doctor import StateMismatch

    return StateMismatch(**w).describe()


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
    states = report.get("states")
    damaged = [p for p in report["problems"] if "disagree with their review log" not in p]
    if report["problems"]:
        click.echo(f"integrity: {bad}")
        for p in report["problems"]:
            click.echo(f"  - {p}")
        if states and states["wrong"]:
            for w in states["wrong"][:10]:
                click.echo(f"    {_mismatch(w)}")
        if not damaged:
            pass
        elif report["backups"]:
            click.echo(
                "  The database is damaged. Your reviews up to the newest backup "
                f"({report['backups'][0]['day']}) are safe there: `dlcards doctor --restore` "
                "puts it back (the damaged file is kept aside)."
            )
        else:
            click.echo(
                "  The database is damaged and there is no backup. Keep a copy of the file; the sqlite3 "
                f"shell can often salvage it: sqlite3 '{db}' .recover | sqlite3 recovered.sqlite3"
            )
    elif report["exists"]:
        click.echo(f"integrity: {ok} (integrity_check, foreign_key_check, state consistency)")
        if states is not None:
            click.echo(f"states: {ok} ({states['checked']} cards agree with a replay of their log)")
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
        click.echo(
            "  to restore the newest good one: `dlcards doctor --restore`; or by hand, "
            + restore_hint(db, backups[0]["path"])
        )
    else:
        click.echo(
            "backups: none yet (one is made each study day you review; setting `backups_keep`)"
        )
