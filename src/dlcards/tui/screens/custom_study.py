"""Custom study (`c` on the home screen): choose what to study beyond today's queue.

    CustomStudyScreen(browser, label, query)  ->  dismisses with a StudyPlan or None

`label`/`query` name the home screen's node (a week, topic, tag or flag; "" for all cards).
The options, each with what it holds now:

    1  study <node> now (prerequisites overridden; the line says which are skipped)
    2  review ahead N days
    3  today's forgotten cards (answered Again today)
    4  preview the new cards of <node> (nothing is scheduled or saved)
    5  flagged cards
    6  raise today's limits by N new cards and N reviews

N is typed in the box (default 1 day for review ahead, 10 cards for the limits). Keys: up /
down or the digit chooses, enter starts, esc closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from dlcards.app.browse import Browser
    from dlcards.app.custom_study import StudyPlan


class CustomStudyScreen(ModalScreen["StudyPlan | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=False),
        *[Binding(str(n), f"pick({n})", show=False) for n in range(1, 7)],
    ]
    DEFAULT_CSS = """
    CustomStudyScreen { align: center middle; }
    #custom { width: 76; height: auto; max-height: 22; border: thick $primary; background: $surface; padding: 0 1; }
    #custom-title { height: 1; text-style: bold; }
    #custom-options { height: auto; max-height: 14; border: none; padding: 0; }
    #custom-n { height: 1; border: none; padding: 0 1; background: $panel; width: 30; }
    #custom-foot { height: 1; color: $text-muted; }
    """

    def __init__(self, browser: Browser, label: str = "all cards", query: str = ""):
        super().__init__()
        self.browser = browser
        self.label = label
        self.node_query = query
        self.plans: list[StudyPlan] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="custom"):
            yield Static(Text(f"Custom study: {self.label}"), id="custom-title")
            yield OptionList(id="custom-options")
            yield Input(
                value="", placeholder="N (days / extra cards)", id="custom-n", type="integer"
            )
            yield Static(
                Text("1-6 or enter starts · type N below · esc closes", style="dim"),
                id="custom-foot",
            )

    def on_mount(self) -> None:
        self.options = self.query_one("#custom-options", OptionList)
        self.make_plans()
        self.options.focus()

    def number(self, default: int) -> int:
        raw = self.query_one("#custom-n", Input).value.strip()
        try:
            n = int(raw)
        except ValueError:
            return default
        return max(1, min(n, 3650))

    def make_plans(self) -> None:
        from dlcards.app import custom_study as cs

        b = self.browser
        days = self.number(1)
        extra = self.number(10)
        node = self.node_query
        self.plans = [
            cs.study_now(b, node, self.label) if node else cs.raise_limits(b, 0, 0),
            cs.review_ahead(b, days),
            cs.forgotten_today(b),
            cs.preview_new(b, node, f"new cards of {self.label}" if node else "new cards"),
            cs.study_now(b, "is:flagged", "flagged cards"),
            cs.raise_limits(b, extra, extra),
        ]
        highlighted = self.options.highlighted or 0
        self.options.clear_options()
        for i, plan in enumerate(self.plans, start=1):
            text = Text(f"{i}  ", style="bold")
            text.append(plan.says())
            if plan.counts.total == 0 and not plan.preview:
                text.stylize("dim")
            self.options.add_option(Option(text, id=str(i)))
        self.options.highlighted = highlighted

    @on(Input.Changed, "#custom-n")
    def _n_changed(self) -> None:
        self.make_plans()

    @on(Input.Submitted, "#custom-n")
    def _n_submitted(self) -> None:
        self.options.focus()

    @on(OptionList.OptionSelected, "#custom-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_pick(event.option_index + 1)

    def action_pick(self, n: int) -> None:
        if self.query_one("#custom-n", Input).has_focus:
            return
        plan = self.plans[n - 1]
        if plan.counts.total == 0:
            self.notify("Nothing to study there now.")
            return
        self.dismiss(plan)

    def action_close(self) -> None:
        self.dismiss(None)
