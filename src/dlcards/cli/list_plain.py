"""`dlcards list` with no argument into a pipe or a file: the printed table from the list cache
(`dlcards.app.list_cache.table_text`) without click (issue 16, item 6: `dlcards list` starts
in ≤ 8× `python -c pass`). `dlcards.__main__` calls `run` before importing the CLI; anything
unusual (a terminal, another encoding, no collection, a cache miss the light path cannot
serve, no card) answers None and the click command runs as always, printing the same bytes.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # no `typing` import: this module runs first (mypy reads this idiom)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO


def terminal_columns() -> int:
    """`shutil.get_terminal_size((80, 24)).columns` (without importing shutil)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    try:
        lines = int(os.environ["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if columns <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        if columns <= 0:
            columns = size.columns or 80
    return columns


def plain_text(root: Path | None, known: tuple[str, str] | None = None) -> tuple[str, int] | None:
    """The table `dlcards list` prints to a pipe (no colour) and its number of cards, from
    the list cache; None when the full path must run. Raises what `locate_root` raises.
    `known`: what `list_lines.cached` read before it found no entry."""
    from dlcards.app.list_cache import table_text
    from dlcards.app.root import locate_root
    from dlcards.system.clock import now

    found = locate_root(root)
    if found is None:
        return None
    return table_text(found, terminal_columns(), now, known)


def run(argv: list[str]) -> int | None:
    """`dlcards list` or `dlcards -C PATH list` printed without click: the exit status, or
    None when the click command must run (it prints the same, or the error)."""
    try:
        got = _table(argv)
    except Exception:  # the click command reports it
        return None
    if got is None:
        return None
    table, n = got
    out = sys.stdout
    try:
        if isinstance(table, str):
            out.write(table + "\n")  # click.echo: the text, a newline, a flush
            out.flush()
        else:  # the stored bytes click.echo would write (the text and a newline)
            from dlcards.app.list_lines import copy_out

            copy_out(table, out.buffer)
        err = sys.stderr
        err.write(f"{n} cards\n")
        err.flush()
    except BrokenPipeError:  # as `dlcards.cli.main.main`
        sys.stderr.close()
    except OSError as exc:  # as `dlcards.cli.main.main`
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        print("  hint: check that the path exists and that you may write there", file=sys.stderr)
        return 1
    return 0


def _table(argv: list[str]) -> tuple[BinaryIO | str, int] | None:
    """The table to print and its number of cards: the stored lines (an open file), or the
    text from the light path; None when the click command must run."""
    from dlcards.app import list_lines

    if argv == ["list"]:
        root = list_lines.locate(None)
    elif len(argv) == 3 and argv[0] == "-C" and argv[2] == "list" and argv[1]:
        root = list_lines.locate(argv[1])
    else:
        return None
    out = sys.stdout
    if (
        root is None
        or out is None
        or out.isatty()
        or (getattr(out, "encoding", "") or "").lower() not in ("utf-8", "utf8")
        or os.linesep != "\n"
        or getattr(out, "buffer", None) is None
    ):
        return None  # a pager, click's own encoding rules, or its error message
    now_us = list_lines.now_micros()
    if now_us is None:
        return None
    width = terminal_columns()
    stored = list_lines.cached(root, width, now_us)
    known: tuple[str, str] | None = None
    if stored is not None:
        if not isinstance(stored[1], str):
            return stored
        known = stored
    from pathlib import Path

    text = plain_text(Path(root), known)
    if text is None or "\x1b" in text[0]:  # click strips escape sequences from a pipe
        return None
    return text
