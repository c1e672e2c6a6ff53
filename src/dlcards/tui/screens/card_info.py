"""The card info screen: `CardInfoScreen`.

Constructor:

    CardInfoScreen(card_id, *, info=None, store=None, collection=None, now=None, root=None,
                   store_path=None)

- `info`: a ready `dlcards.app.reports.card_info` dict (as `dlcards info ID --json` prints); else
- it is read for `card_id` from `collection` (else read from `root`) and `store` (an open
  `dlcards.store.Store`, else opened at `store_path`) at `now` (default `dlcards.system.clock.now()`).

Shows where the card lives, its question, current state and retrievability, and every review
(time, rating, kind, time taken, interval, stability, difficulty). Keys: q / escape close.
The review app pushes it with `i`; the prune screen with `i` as well.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

RATING_STYLE = {1: "bold red", 2: "bold yellow", 3: "bold green", 4: "bold blue"}


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def header_text(info: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"Card {info['card_id']}", style="bold")
    w = info["where"]
    if w:
        text.append(f"  {w['path']}:{w['line']}", style="dim")
    if not info["in_decks"]:
        text.append("  orphaned: no longer in any deck file", style="bold yellow")
    text.append("\n")
    if info["question"]:
        q = info["question"].splitlines()[0]
        text.append("Q: ", style="bold")
        text.append((q[:150] + "…") if len(q) > 150 else q)
        text.append("\n")
    st = info["state"]
    r = info["retrievability"]
    if st is None:
        text.append("New: never reviewed.")
        return text
    text.append(f"{st['phase']}", style="bold")
    text.append("  retrievability ")
    text.append("–" if r is None else f"{r * 100:.1f}%", style="bold")
    text.append(f"  stability {_num(st['stability'])} d  difficulty {_num(st['difficulty'])}\n")
    due = (st["due"] or "–")[:16].replace("T", " ")
    text.append(
        f"interval {st['interval_days']} d  due {due}  reps {st['reps']}  lapses {st['lapses']}  "
        f"{info['reviews']} reviews in {info['total_minutes']:.1f} min"
    )
    if info["suspended"]:
        text.append("  suspended", style="bold yellow")
    if info["leech"]:
        text.append("  leech", style="bold red")
    return text


class CardInfoScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,escape,i", "close", "Close")]
    DEFAULT_CSS = """
    CardInfoScreen #info-head { height: auto; padding: 0 1; margin-bottom: 1; }
    CardInfoScreen DataTable { height: 1fr; }
    """

    def __init__(
        self,
        card_id: str,
        *,
        info: dict[str, Any] | None = None,
        store: Any = None,
        collection: Any = None,
        now: datetime | None = None,
        root: Path | None = None,
        store_path: Path | None = None,
    ):
        super().__init__()
        if info is None:
            from dlcards.app.reports import card_info

            if now is None:
                from dlcards.system.clock import now as clock_now

                now = clock_now()
            info = card_info(
                root, card_id, now, store_path=store_path, collection=collection, store=store
            )
        self.card_id = card_id
        self.info = info

    def compose(self) -> ComposeResult:
        yield Static(header_text(self.info), id="info-head")
        table: DataTable[Any] = DataTable(zebra_stripes=True, cursor_type="row", id="history")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            "time (UTC)", "rating", "kind", "took", "gap", "interval", "stability", "diff."
        )
        for h in self.info["history"]:
            table.add_row(
                h["time"][:16].replace("T", " "),
                Text(h["rating_name"], style=RATING_STYLE.get(h["rating"], "")),
                h["kind"],
                f"{h['duration_s']:.0f}s",
                "–" if h["elapsed_days"] is None else f"{h['elapsed_days']:.1f}d",
                f"{h['interval_days']}d",
                _num(h["stability"]),
                _num(h["difficulty"]),
            )
        if not self.info["history"]:
            table.add_row("no reviews yet", "", "", "", "", "", "", "")
        table.move_cursor(row=max(0, table.row_count - 1))

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
