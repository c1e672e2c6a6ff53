"""`dlcards list`: the cards of the collection, filtered, as a table or JSON."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from dlcards.cli._common import root_of


def card_rows(
    col: Any,
    week: int | None,
    topic: str | None,
    tag: str | None,
    kind: str | None,
    file: str | None,
    text: str | None,
) -> list[dict[str, Any]]:
    rows = []
    for note in col.notes:
        if week is not None and note.meta.week != week:
            continue
        if topic and note.meta.topic != topic:
            continue
        if tag and tag not in note.tags:
            continue
        if kind and note.kind != kind:
            continue
        if file and file not in note.path and file not in col.display_path(note.path):
            continue
        if text and text.lower() not in (note.question + "\n" + note.answer).lower():
            continue
        for card in note.cards():
            rows.append(
                {
                    "id": card.id,
                    "note_id": note.id,
                    "kind": note.kind,
                    "ordinal": card.ordinal,
                    "path": col.display_path(note.path),
                    "line": note.line,
                    "deck": note.deck,
                    "week": note.meta.week,
                    "topic": note.meta.topic,
                    "tags": note.tags,
                    "question": note.first_question_line,
                    "blocks": [b.kind for b in note.blocks],
                }
            )
    return rows


def add_schedule(rows: list[dict[str, Any]], settings: Any, now: datetime) -> None:
    """Add the scheduling keys to each row, read from the review database if there is one.

    Opening is cheap: no backup is made, and a missing database is not created (all cards new).
    """
    from dlcards.store import default_path

    states: dict[str, Any] = {}
    flags: dict[str, Any] = {}
    db = default_path()
    if db.is_file():
        from dlcards.store import Store

        with Store.open(db) as store:
            ids = [r["id"] for r in rows]
            states = store.states(ids)
            flags = store.flags(ids)
    scheduler = None
    if states:
        from dlcards.review.scheduling import Scheduler, SchedulerConfig

        scheduler = Scheduler(SchedulerConfig.from_settings(settings))
    for row in rows:
        state = states.get(row["id"])
        flag = flags.get(row["id"])
        row["state"] = state.phase if state else "new"
        row["due"] = state.due.isoformat() if state and state.due else None
        row["stability"] = state.stability if state else None
        row["difficulty"] = state.difficulty if state else None
        row["retrievability"] = (
            scheduler.retrievability(state, now) if scheduler and state else None
        )
        row["reps"] = state.reps if state else 0
        row["lapses"] = state.lapses if state else 0
        row["suspended"] = bool(flag and flag.suspended)
        row["leech"] = bool(flag and flag.leech)
        row["buried_until"] = flag.buried_until.isoformat() if flag and flag.buried_until else None
        row["_due"] = state.due if state else None


def is_due(row: dict[str, Any], now: datetime, end_of_today: datetime) -> bool:
    """Due in this study day: learning cards by now, review cards by the end of today.
    Suspended cards are never due."""
    due = row["_due"]
    if due is None or row["suspended"]:
        return False
    if row["state"] == "review":
        return bool(due < end_of_today)
    return bool(due <= now)


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
    from dlcards.core.calendar import next_day_start, zone
    from dlcards.system.clock import now as clock_now
    from dlcards.system.decks import open_collection

    col = open_collection(root_of(ctx), list(paths) or None, lint=False)
    rows = card_rows(col, week, topic, tag, kind, file, text)
    now = clock_now()
    add_schedule(rows, col.settings, now)
    if due_only:
        end = next_day_start(now, zone(col.settings.timezone), col.settings.day_starts_at)
        rows = [r for r in rows if is_due(r, now, end)]
    if leech_only:
        rows = [r for r in rows if r["leech"]]
    if suspended_only:
        rows = [r for r in rows if r["suspended"]]
    if as_json:
        click.echo(
            json.dumps(
                [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not rows:
        click.echo("No cards match.", err=True)
        return
    width = shutil.get_terminal_size((100, 24)).columns
    headers = ["id", "kind", "wk", "state", "due", "R", "topic", "where", "question"]

    def state_cell(r: dict[str, Any]) -> str:
        mark = "S" if r["suspended"] else ""
        mark += "L" if r["leech"] else ""
        return r["state"] + (f" [{mark}]" if mark else "")

    table = [
        [
            r["id"],
            r["kind"],
            "" if r["week"] is None else str(r["week"]),
            state_cell(r),
            _when(r["_due"], now),
            "" if r["retrievability"] is None else f"{100 * r['retrievability']:.0f}%",
            r["topic"] or "",
            f"{r['path']}:{r['line']}",
            r["question"],
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
    for row in table:
        click.echo(fmt(row))
    click.echo(f"{len(rows)} cards", err=True)
