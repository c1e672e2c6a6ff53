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


class TerminalProgress:
    """A progress bar with counts and an ETA on stderr, drawn only when stderr is a terminal
    (never when piped or under --json). Long work calls `start(total, label)` once it knows how
    much there is, then `advance()`; nothing is drawn for work that never starts."""

    def __init__(self, enabled: bool | None = None) -> None:
        import sys

        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None

    def start(self, total: int, label: str) -> None:
        import sys

        if not self.enabled or total <= 0:
            return
        self.close()
        self._bar = click.progressbar(
            length=total, label=label, file=sys.stderr, show_eta=True, show_pos=True
        )
        self._bar.__enter__()

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.__exit__(None, None, None)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
