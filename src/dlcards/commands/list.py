"""`dlcards list`: the cards of the collection, filtered, as a table or JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click

from dlcards.commands._common import root_of


def card_rows(col: Any, week: int | None, topic: str | None, tag: str | None, kind: str | None,
              file: str | None, text: str | None) -> list[dict[str, Any]]:
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
            rows.append({
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
            })
    return rows


@click.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--week", type=int, help="Only cards of this study week.")
@click.option("--topic", help="Only cards of this topic.")
@click.option("--tag", help="Only cards with this tag.")
@click.option("--kind", type=click.Choice(["basic", "cloze"]), help="Only this kind of card.")
@click.option("--file", "file", help="Only cards whose file path contains this text.")
@click.option("-s", "--search", "text", help="Only cards whose text contains this (case-insensitive).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per card.")
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], week: int | None, topic: str | None,
            tag: str | None, kind: str | None, file: str | None, text: str | None, as_json: bool) -> None:
    """List cards: id, kind, week, topic, file:line and the first line of the question."""
    from dlcards.collection import open_collection

    col = open_collection(root_of(ctx), list(paths) or None, lint=False)
    rows = card_rows(col, week, topic, tag, kind, file, text)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No cards match.", err=True)
        return
    width = shutil.get_terminal_size((100, 24)).columns
    headers = ["id", "kind", "wk", "topic", "where", "question"]
    table = [[r["id"], r["kind"], "" if r["week"] is None else str(r["week"]), r["topic"] or "",
              f"{r['path']}:{r['line']}", r["question"]] for r in rows]
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
