"""The card info screen: `CardInfoScreen`.

Constructor:

    CardInfoScreen(card_id, *, info)

- `info`: the card's `dlcards.insights.cardinfo.CardInfoReport`, as
  `Collection.card_info(card_id)` returns it. The screen reads nothing itself.

Shows where the card lives, its whole question and answer (math as Unicode; an orphan's
last known text), its flag, current state and retrievability, and every review
(time, rating, kind, time taken, interval, stability, difficulty), times in the collection's time zone. Keys: q / escape close.
The review app pushes it with `i`; the prune screen with `i` as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from dlcards.tui.screens.confirm import FLAG_STYLE

if TYPE_CHECKING:
    from dlcards.insights.cardinfo import CardInfoReport

RATING_STYLE = {1: "bold red", 2: "bold yellow", 3: "bold green", 4: "bold blue"}


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def header_text(info: CardInfoReport) -> Text:
    from dlcards.insights.cardinfo import flag_name, local_time, readable

    text = Text()
    text.append(f"Card {info.card_id}", style="bold")
    w = info.where
    if w:
        text.append(f"  {w.path}:{w.line}", style="dim")
    if info.flag:
        style = f"bold {FLAG_STYLE.get(info.flag, 'red')}"
        text.append(f"  ⚑ {flag_name(info.flag)}", style=style)
    if not info.in_decks:
        text.append("  orphaned: no longer in any deck file", style="bold yellow")
    text.append("\n")
    if info.question:
        if not info.in_decks:
            text.append("last known text\n", style="italic dim")
        text.append("Q: ", style="bold")
        text.append(readable(info.question))
        text.append("\n")
        if info.answer:
            text.append("A: ", style="bold")
            text.append(readable(info.answer))
            text.append("\n")
    st = info.state
    r = info.retrievability
    if st is None:
        text.append("New: never reviewed.")
        return text
    text.append(f"{st.phase}", style="bold")
    text.append("  retrievability ")
    text.append("–" if r is None else f"{r * 100:.1f}%", style="bold")
    text.append(f"  stability {_num(st.stability)} d  difficulty {_num(st.difficulty)}\n")
    due = local_time(st.due, info.timezone) if st.due else "–"
    text.append(
        f"interval {st.interval_days} d  due {due} ({info.timezone})  reps {st.reps}  lapses {st.lapses}  "
        f"{info.reviews} reviews in {info.total_minutes:.1f} min"
    )
    if info.suspended:
        text.append("  suspended", style="bold yellow")
    if info.leech:
        text.append("  leech", style="bold red")
    return text


class CardInfoScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,escape,i", "close", "Close")]
    DEFAULT_CSS = """
    CardInfoScreen #info-head { height: auto; max-height: 60%; overflow-y: auto; padding: 0 1;
        margin-bottom: 1; }
    CardInfoScreen DataTable { height: 1fr; }
    """

    def __init__(self, card_id: str, *, info: CardInfoReport):
        super().__init__()
        self.card_id = card_id
        self.info = info

    def compose(self) -> ComposeResult:
        yield Static(header_text(self.info), id="info-head")
        table: DataTable[Any] = DataTable(zebra_stripes=True, cursor_type="row", id="history")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        from dlcards.insights.cardinfo import local_time

        table.add_columns(
            f"time ({self.info.timezone})",
            "rating",
            "kind",
            "took",
            "gap",
            "interval",
            "stability",
            "diff.",
        )
        for h in self.info.history:
            table.add_row(
                local_time(h.time, self.info.timezone),
                Text(h.rating_name, style=RATING_STYLE.get(int(h.rating), "")),
                h.kind,
                f"{h.duration_s:.0f}s",
                "–" if h.elapsed_days is None else f"{h.elapsed_days:.1f}d",
                f"{h.interval_days}d",
                _num(h.stability),
                _num(h.difficulty),
            )
        if not self.info.history:
            table.add_row("no reviews yet", "", "", "", "", "", "", "")
        table.move_cursor(row=max(0, table.row_count - 1))

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
