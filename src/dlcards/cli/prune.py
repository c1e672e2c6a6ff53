"""`dlcards prune`: the ranked list of cards worth attention (`--json`, `--text`), the TUI
that walks it, and `--undo-last`. The work is done by `dlcards.app.prune_workspace`."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import click

from dlcards.app.prune_workspace import describe
from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.insights.prune import PruneItem


def _wrapped(label: str, text: str, width: int) -> list[str]:
    import textwrap

    indent = " " * 7
    out: list[str] = []
    for i, para in enumerate(text.splitlines() or [""]):
        first = indent + (label if i == 0 else " " * len(label))
        out += textwrap.wrap(
            para,
            width=max(20, width),
            initial_indent=first,
            subsequent_indent=indent + " " * len(label),
        ) or [first.rstrip()]
    return out


def text_report(items: list[PruneItem], limit: int | None, width: int) -> str:
    from dlcards.insights.cardinfo import flag_name, readable

    if not items:
        return "Nothing to prune: no card has a reason to be looked at."
    lines = []
    for rank, it in enumerate(items[:limit] if limit else items, 1):
        where = f"{it.path}:{it.line}" if it.path else "(no file)"
        if it.orphan and it.path:
            where = f"was at {where}, in no deck file now"
        flag = f"  ⚑ {flag_name(it.flag)}" if it.flag else ""
        lines.append(f"{rank:>3}. [{it.score:4.1f}] {it.card_id}  {where}{flag}")
        lines += _wrapped("Q: " if not it.orphan else "was: ", readable(it.question), width)
        if it.orphan and it.relink_to:
            lines += _wrapped(
                f"now {it.relink_to}: ", readable(it.relink_question or "(no text)"), width
            )
        for r in it.reasons:
            lines.append(f"       - {r.code}: {r.message}")
    return "\n".join(lines)


def json_text(data: Any) -> str:
    """`json.dumps(data, indent=2, ensure_ascii=False)`, byte for byte, faster: with an
    indent the standard library encodes in Python, one generator step per value, and a
    50k-card list is ~90 MB of JSON (every card lists all its near-duplicates). Plain JSON
    values only (dicts with str keys, lists, tuples, str, int, float, bool, None); anything
    else is left to `json.dumps`."""
    from json.encoder import encode_basestring  # the C encoder's string escaping

    inf = float("inf")

    def encode(o: Any, newline: str) -> str:
        t = type(o)
        if t is str:
            return encode_basestring(o)
        inner = newline + "  "
        if t is dict:
            if not o:
                return "{}"
            parts = []
            for k, v in o.items():
                if type(k) is not str:
                    raise _Unplain
                parts.append(
                    encode_basestring(k)
                    + ": "
                    + (encode_basestring(v) if type(v) is str else encode(v, inner))
                )
            return "{" + inner + ("," + inner).join(parts) + newline + "}"
        if t is list or t is tuple:
            if not o:
                return "[]"
            sep = "," + inner
            if type(o[0]) is str:
                try:  # a list of strings (a card's near-duplicates): escaped in one pass
                    return "[" + inner + sep.join(map(encode_basestring, o)) + newline + "]"
                except TypeError:  # not only strings (the escaping refuses anything else)
                    pass
            return "[" + inner + sep.join([encode(v, inner) for v in o]) + newline + "]"
        if o is None:
            return "null"
        if o is True:
            return "true"
        if o is False:
            return "false"
        if t is int:
            return int.__repr__(o)
        if t is float:
            if o != o:
                return "NaN"
            if o == inf or o == -inf:
                return "Infinity" if o > 0 else "-Infinity"
            return float.__repr__(o)
        raise _Unplain

    try:
        return encode(data, "\n")
    except _Unplain:
        return json.dumps(data, indent=2, ensure_ascii=False)


class _Unplain(Exception):
    """A value `json_text` does not write (`json.dumps` does, or explains why not)."""


@click.command("prune")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the ranked list as JSON; change nothing."
)
@click.option(
    "--undo-last",
    is_flag=True,
    help="Undo the most recent prune action (delete, edit, suspend, relink, keep).",
)
@click.option("--text", "as_text", is_flag=True, help="Print the list instead of opening the TUI.")
@click.option("--limit", type=int, help="Show at most this many cards (text output).")
@click.pass_context
def command(
    ctx: click.Context, as_json: bool, undo_last: bool, as_text: bool, limit: int | None
) -> None:
    """Cards worth attention for a lean deck, ranked, with the reasons and numbers behind them:
    leeches, high difficulty or low retention, long answers or several facts, near-duplicates,
    cards never reviewed or long suspended, and orphaned history (with a card to relink it to).

    The TUI walks the list: e edit in $EDITOR, s suspend, d delete from the Markdown file
    (asks y/n first), r relink an orphan, k keep, u undo, i card info. Every change is
    journalled and can be undone later with `dlcards prune --undo-last`.
    """
    import sys

    from dlcards.app.collection import Collection

    with Collection.open(root_of(ctx)) as col:
        if undo_last:
            entry = col.prune_workspace().undo_last()
            if entry is None:
                click.echo("Nothing to undo.")
            else:
                click.echo(f"Undid: {describe(entry)}")
            return
        if as_json or as_text or not sys.stdout.isatty():
            ws = col.prune_workspace(backup=False)
            if as_json:
                click.echo(json_text(ws.report().to_dict()))
            else:
                click.echo(
                    text_report(ws.items, limit, shutil.get_terminal_size((100, 24)).columns)
                )
            return
        from dlcards.tui.prune_app import build_prune_app

        build_prune_app(col).run()
