"""`dlcards sync`: keep Anki (desktop, phone) and dlcards in step, both ways."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.anki.sync import SyncReport
    from dlcards.app.sync import SyncService

PASSWORD_ENV = "DLCARDS_SYNC_PASSWORD"


def _service(ctx: click.Context) -> tuple[Any, SyncService]:
    from dlcards.app.collection import Collection
    from dlcards.app.sync import sync_service

    col = Collection.open(root_of(ctx), lint=False)
    return col, sync_service(col)


@click.group("sync", invoke_without_command=True)
@click.option(
    "--collection",
    "collection_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Anki's collection.anki2 (close Anki first). Remembered for the next sync.",
)
@click.option(
    "--prefer",
    type=click.Choice(["markdown"]),
    help="Settle conflicts: `--prefer markdown` overwrites fields edited in Anki.",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option(
    "--full",
    is_flag=True,
    help="Compare the whole of both sides, not only what changed since the last sync.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def command(
    ctx: click.Context,
    collection_path: Path | None,
    prefer: str | None,
    dry_run: bool,
    full: bool,
    as_json: bool,
) -> None:
    """Sync with Anki: cards from Markdown, reviews both ways, one schedule.

    With --collection, the Anki collection file (Anki closed); otherwise the sync server you
    logged in to (`dlcards sync login`), else the collection file used last time. Fields you
    edited in Anki are never overwritten silently: they are reported as conflicts.

    After the first sync, a sync reads only what changed since the last one (incremental);
    whenever that cannot be trusted it compares everything, and says why (--full forces it).
    """
    if ctx.invoked_subcommand is not None:
        return
    from dlcards.cli._common import TerminalProgress

    col, service = _service(ctx)
    with col, TerminalProgress(enabled=None if not as_json else False) as bar:
        report = service.sync(
            collection_path,
            prefer_markdown=prefer == "markdown",
            dry_run=dry_run,
            progress=bar,
            full=full,
        )
    _print_report(report, as_json)


def _print_report(report: SyncReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    head = "dry run: nothing written; would sync" if report.dry_run else "synced"
    target = report.target.split("#")[0]
    click.echo(f"{head} with {target} in {report.seconds:.2f} s ({_mode(report)})")
    click.echo(
        f"notes: {report.added} added, {report.updated} updated, {report.orphaned} orphaned"
        + (f", {report.restored} restored" if report.restored else "")
        + (f", {report.moved} cards moved deck" if report.moved else "")
        + (f", {report.deleted} deleted" if report.deleted else "")
    )
    click.echo(
        f"reviews: {report.reviews_in} in, {report.reviews_out} out"
        + (f", {report.merged} cards merged from both sides" if report.merged else "")
        + (f", {report.relinked} relinked" if report.relinked else "")
    )
    if report.flags_in or report.flags_out:
        click.echo(f"suspend/bury/flags: {report.flags_in} in, {report.flags_out} out")
    for line in report.server:
        click.echo(f"server: {line}")
    open_conflicts = [c for c in report.conflicts if c.resolved is None]
    for c in report.conflicts:
        if c.resolved is not None:
            click.echo(f"{c.location}: field {c.field}: Anki's edit replaced by the Markdown")
    click.echo(f"conflicts: {len(open_conflicts)}")
    for c in open_conflicts:
        click.echo(
            f"{c.location}: "
            + click.style("conflict:", fg="yellow", bold=True)
            + f" field {c.field} was edited in Anki; Anki's version is kept"
        )
        for line in c.diff().splitlines():
            click.echo("    " + line)
    if open_conflicts:
        click.echo(
            click.style("  hint: ", fg="cyan")
            + "copy the Anki edit into the Markdown (or edit the card there) and sync, "
            "or run `dlcards sync --prefer markdown` to overwrite Anki's version"
        )
    for w in report.warnings:
        click.echo(click.style("warning: ", fg="yellow") + w, err=True)


def _mode(report: SyncReport) -> str:
    if report.mode == "incremental":
        return "incremental: only what changed since the last sync"
    if report.mode == "unchanged":
        return "nothing changed since the last sync"
    return f"full: {report.why}" if report.why else "full"


@command.command("login")
@click.option("--server", required=True, help="The sync server, e.g. https://sync.example.org/")
@click.option("--user", required=True, help="Your user name (AnkiWeb: your e-mail).")
@click.pass_context
def login(ctx: click.Context, server: str, user: str) -> None:
    """Log in to an Anki sync server (AnkiWeb or self-hosted); the password is never stored.

    The password is read from the terminal, or from DLCARDS_SYNC_PASSWORD.
    """
    from dlcards.app.sync import insecure_warning, normal_server

    server = normal_server(server)  # a bad address fails before the password is asked
    warning = insecure_warning(server)
    if warning:
        click.echo(click.style("warning: ", fg="yellow") + warning, err=True)
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        password = click.prompt(f"password for {user}", hide_input=True, err=True)
    col, service = _service(ctx)
    with col:
        found, _ = service.login(server, user, password)
    click.echo(f"logged in to {found.server} as {found.user}; run `dlcards sync`")


@command.command("logout")
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Forget the sync server's token."""
    col, service = _service(ctx)
    with col:
        had = service.logout()
    click.echo("logged out" if had else "not logged in")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Where dlcards syncs to and when it last did."""
    col, service = _service(ctx)
    with col:
        info = service.status()
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    login = info["login"]
    click.echo(
        f"server: {login['server']} as {login['user']}" if login else "server: not logged in"
    )
    click.echo(f"collection file: {info['collection'] or 'none'}")
    for t in info["targets"]:
        s = t["summary"]
        click.echo(
            f"{t['target'].split('#')[0]}: last sync {t['last_sync']}, "
            f"{len(s.get('conflicts', []))} open conflicts"
        )
