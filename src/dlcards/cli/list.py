"""`dlcards list`: the cards of the collection, filtered, as a table or JSON. The rows come
from `dlcards.app.listing` (through the `Collection`); this module prints them."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.insights.listing import ListRow


def _when(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "-"
    from dlcards.review.scheduling import format_interval

    seconds = (due - now).total_seconds()
    if seconds <= 0:
        return "now" if seconds > -60 else f"-{format_interval(-seconds)}"
    return format_interval(seconds)


@click.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--week", type=int, help="Only cards of this study week.")
@click.option("--topic", help="Only cards of this topic.")
@click.option("--tag", help="Only cards with this tag.")
@click.option("--kind", type=click.Choice(["basic", "cloze"]), help="Only this kind of card.")
@click.option("--file", "file", help="Only cards whose file path contains this text.")
@click.option(
    "-s", "--search", "text", help="Only cards whose text contains this (case-insensitive)."
)
@click.option(
    "--due", "due_only", is_flag=True, help="Only cards due in this study day (not suspended)."
)
@click.option("--leech", "leech_only", is_flag=True, help="Only leeches.")
@click.option("--suspended", "suspended_only", is_flag=True, help="Only suspended cards.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per card.")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    week: int | None,
    topic: str | None,
    tag: str | None,
    kind: str | None,
    file: str | None,
    text: str | None,
    due_only: bool,
    leech_only: bool,
    suspended_only: bool,
    as_json: bool,
) -> None:
    """List cards: id, kind, week, schedule (state, due in), topic, file:line, question.

    JSON keys include state, due (ISO 8601 UTC), stability, difficulty, retrievability, reps,
    lapses, suspended and leech. Times honour DLCARDS_NOW.
    """
    from dlcards.app.listing import ListQuery

    query = ListQuery(week, topic, tag, kind, file, text, due_only, leech_only, suspended_only)
    hit = None
    if not paths:  # an unchanged collection: rows from the list cache, no pydantic, no parser
        from dlcards.app.list_cache import fast_rows
        from dlcards.app.root import locate_root
        from dlcards.system.clock import now as clock_now

        found = locate_root(root_of(ctx))
        hit = fast_rows(found, query, clock_now) if found is not None else None
    if hit is not None:
        rows, now = hit
    else:
        from dlcards.app.collection import Collection
        from dlcards.app.list_cache import remember

        with Collection.open(root_of(ctx), paths=list(paths) or None) as col:
            now = col.now()
            rows = col.list_rows(query, now)
            remember(col, now)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No cards match.", err=True)
        return
    width = shutil.get_terminal_size((100, 24)).columns
    headers = ["id", "kind", "wk", "state", "due", "R", "topic", "where", "question"]

    def state_cell(r: ListRow) -> str:
        mark = "S" if r.suspended else ""
        mark += "L" if r.leech else ""
        return r.state + (f" [{mark}]" if mark else "")

    table = [
        [
            r.id,
            r.kind,
            "" if r.week is None else str(r.week),
            state_cell(r),
            _when(r.due, now),
            "" if r.retrievability is None else f"{100 * r.retrievability:.0f}%",
            r.topic or "",
            f"{r.path}:{r.line}",
            r.question,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers[:-1])]
    used = sum(widths) + 2 * len(widths)
    qwidth = max(20, width - used)

    def fmt(cells: list[str]) -> str:
        head = "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True))
        q = cells[-1]
        if len(q) > qwidth:
            q = q[: qwidth - 1] + "…"
        return f"{head}  {q}"

    click.echo(click.style(fmt(headers), bold=True))
    click.echo("\n".join(fmt(row) for row in table))  # one write: echo per row cost 30 ms
    click.echo(f"{len(rows)} cards", err=True)
