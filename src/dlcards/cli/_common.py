"""Helpers shared by the command modules: the collection option, problem printing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dlcards.core.errors import Problem


def root_of(ctx: click.Context) -> Path | None:
    obj: dict[str, Any] = ctx.find_root().obj or {}
    root = obj.get("root")
    return Path(root) if root is not None else None


def print_problems(problems: list[Problem], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in problems], indent=2, ensure_ascii=False))
        return
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        head = f"{p.location}: "
        click.echo(head + click.style(f"{p.severity}:", fg=colour, bold=True) + f" {p.message}")
        if p.hint:
            click.echo(click.style("  hint: ", fg="cyan") + p.hint)


def summary(problems: list[Problem], files: int, cards: int) -> str:
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    parts = [
        f"{errors} error{'s' if errors != 1 else ''}",
        f"{warnings} warning{'s' if warnings != 1 else ''}",
    ]
    return f"{', '.join(parts)} in {files} file{'s' if files != 1 else ''} ({cards} cards)"
