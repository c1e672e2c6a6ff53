"""`dlcards list`: the cards of the collection, filtered, as a table or JSON. The rows come
from `dlcards.app.listing` (through the `Collection`); this module prints them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dlcards.cli._common import root_of
from dlcards.cli.list_plain import plain_text, terminal_columns

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


# Anki's flag colours: red, orange, green, blue, pink, turquoise, purple
FLAG_STYLE: dict[int, str | tuple[int, int, int]] = {
    1: "red",
    2: (255, 140, 0),
    3: "green",
    4: "blue",
    5: (255, 105, 180),
    6: (64, 224, 208),
    7: (160, 32, 240),
}


def split_args(args: tuple[str, ...], cwd: Path) -> tuple[list[Path], str]:
    """`dlcards list [PATH]... [QUERY]...`: an argument naming an existing file or folder (or
    ending in .md) is a path; the others are words of the search query. A word with a space
    in it was quoted on the command line, so it is a phrase."""
    paths: list[Path] = []
    words: list[str] = []
    for arg in args:
        if ":" not in arg and (arg.endswith(".md") or (cwd / arg).exists()):
            paths.append(Path(arg))
        elif any(c.isspace() for c in arg) and not any(c in arg for c in '"()'):
            words.append(f'"{arg}"')
        else:
            words.append(arg)
    return paths, " ".join(words)


class _ListCommand(click.Command):
    """`-week:1` is a negated search term, not an option: only the command's own option names
    (exactly) are read as options; every other word goes to the query, in order."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):  # with the help option (-h, --help)
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not param.is_flag and param.nargs == 1
        front: list[str] = []
        words: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                words.extend(args[i + 1 :])
                break
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg
            if name in takes_value:
                front.append(arg)
                if takes_value[name] and "=" not in arg and i + 1 < len(args):
                    front.append(args[i + 1])
                    i += 1
            elif arg.startswith("--") and len(arg) > 2:
                # a mistyped option (`--wek`), not a search word (those negate with one `-`)
                raise click.NoSuchOption(name, possibilities=sorted(takes_value), ctx=ctx)
            else:
                words.append(arg)
            i += 1
        return super().parse_args(ctx, [*front, "--", *words])


@click.command("list", cls=_ListCommand)
@click.argument("args", nargs=-1, metavar="[PATH]... [QUERY]...")
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
    args: tuple[str, ...],
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
    """List cards: id, week, schedule (state, due in, R), flag, topic, question.

    QUERY is the browser's search language (as in Anki): free text, "a phrase", week:3,
    topic:softmax, tag:x, deck:x, is:new|learn|review|due|suspended|buried|leech|flagged,
    flag:1..7, prop:ivl>10, prop:r<0.8, rated:7, added:3, lapses:>2, -negation, or,
    (parentheses). The options filter too; a word starting with - is a negated term unless it
    is one of the options below. Questions are shown as the review screen renders
    them, one line each; a terminal gets a pager ($PAGER).

    JSON keys include state, due (ISO 8601 UTC), stability, difficulty, retrievability, reps,
    lapses, suspended, leech and flag (0 none, 1..7 red, orange, green, blue, pink, turquoise,
    purple). Times honour DLCARDS_NOW.
    """
    from dlcards.app.listing import ListQuery

    query = ListQuery(week, topic, tag, kind, file, text, due_only, leech_only, suspended_only)
    paths, search = split_args(args, Path.cwd())
    if search:
        from dlcards.core.search import parse_query

        parse_query(search)  # a query that cannot be read fails before any work (exit 2)
    # the plain table into a pipe: the printed lines from the list cache (`list_plain`)
    printed = not paths and not search and not as_json and query == ListQuery()
    printed = printed and not sys.stdout.isatty()
    if printed and _print_plain(root_of(ctx)):
        return
    hit = None
    cells: dict[str, Sequence[Any]] | None = None
    if not paths and not search:  # an unchanged collection: rows from the list cache
        from dlcards.app.list_cache import fast_rows, fast_table
        from dlcards.app.root import locate_root
        from dlcards.system.clock import now as clock_now

        found = locate_root(root_of(ctx))
        if found is not None and not as_json and not printed:
            table = fast_table(found, query, clock_now)  # the plain table: cells, no rows
            cells = table[0] if table is not None else None
        if found is not None and cells is None:
            hit = fast_rows(found, query, clock_now)
    if cells is None:
        if hit is not None:
            rows, now = hit
        else:
            from dlcards.app.collection import Collection
            from dlcards.app.list_cache import remember

            with Collection.open(root_of(ctx), paths=list(paths) or None) as col:
                now = col.now()
                rows = col.list_rows(query, now)
                if search:
                    from dlcards.app.browse import Browser

                    found_ids = {r.id for r in Browser(col, now).search(search, now)}
                    rows = [r for r in rows if r.id in found_ids]
                else:
                    remember(col, now, table=True)
        if printed and _print_plain(root_of(ctx)):  # from the cache just written
            return
        if as_json:
            click.echo(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
            return
        cells = table_cells(rows, now)
    n = len(cells["ids"])
    if not n:
        click.echo("No cards match.", err=True)
        return
    tty = sys.stdout.isatty()
    width = terminal_columns()
    lines = format_table(cells, width, color=tty)
    if tty:
        click.echo_via_pager(line + "\n" for line in lines)
    else:
        click.echo("\n".join(lines))  # one write: echo per row cost 30 ms
    click.echo(f"{n} cards", err=True)


def _print_plain(root: Path | None) -> bool:
    got = plain_text(root)
    if got is None:
        return False
    text, n = got
    click.echo(text)
    click.echo(f"{n} cards", err=True)
    return True


def _state_cell(r: ListRow) -> str:
    mark = ("S" if r.suspended else "") + ("L" if r.leech else "")
    return r.state + (f" [{mark}]" if mark else "")


def _question(r: ListRow) -> str:
    from dlcards.app.browse import text_line

    try:
        return text_line(r.question, r.kind, r.ordinal)
    except Exception:
        return r.question


def table_cells(rows: list[ListRow], now: datetime) -> dict[str, Sequence[Any]]:
    """The table's cells of each row as columns (`dlcards.app.list_cache.fast_table` makes the
    same from its cache); questions rendered as the review screen shows them, one line, as the
    lines are asked for (a pager asks for the first screenful first)."""
    return {
        "ids": [r.id for r in rows],
        "weeks": ["" if r.week is None else str(r.week) for r in rows],
        "states": [_state_cell(r) for r in rows],
        "whens": [_when(r.due, now) for r in rows],
        "rs": ["" if r.retrievability is None else f"{100 * r.retrievability:.0f}%" for r in rows],
        "flags": [r.flag for r in rows],
        "topics": [r.topic or "" for r in rows],
        "wheres": [f"{r.path}:{r.line}" for r in rows],
        "questions": _Lazy(rows),
    }


class _Lazy(Sequence[str]):
    def __init__(self, rows: list[ListRow]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        return _question(self.rows[i])


def table_lines(rows: list[ListRow], now: datetime, width: int, *, color: bool) -> Iterator[str]:
    """The table of `rows`: see `format_table`."""
    return format_table(table_cells(rows, now), width, color=color)


def format_table(cells: dict[str, Sequence[Any]], width: int, *, color: bool) -> Iterator[str]:
    """The table, no line wider than `width` (the `where` column only when there is room for
    it), one line per row of `cells` (`table_cells`); `dlcards.app.listing.plain_lines` when
    not in colour."""
    from dlcards.app.listing import plain_lines, table_layout

    layout = table_layout(cells, width)
    questions = cells["questions"]
    if not color:
        yield from plain_lines(layout, questions, width)
        return
    widths, qwidth, flags = layout.widths, layout.qwidth, cells["flags"]
    pattern = layout.pattern

    def styled(cells: tuple[str, ...], flag: int) -> str:
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=True)]
        padded[5] = click.style(padded[5], fg=FLAG_STYLE[flag], bold=True)
        return "  ".join(padded)

    yield click.style(layout.header(width), bold=True)
    cut = max(0, qwidth - 1)
    for i, row in enumerate(zip(*layout.columns, strict=True)):
        head = styled(row, flags[i]) if flags[i] else pattern % row
        if not qwidth:
            yield head[:width]
            continue
        q = questions[i]
        yield f"{head}  {q}" if len(q) <= qwidth else f"{head}  {q[:cut]}…"
