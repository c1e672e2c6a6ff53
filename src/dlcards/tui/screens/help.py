"""The key reference (`?`)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("space / enter", "show the answer; once shown, grade Good"),
    ("1 2 3 4", "grade Again / Hard / Good / Easy"),
    ("u", "undo the last answer or action (again: further)"),
    ("s", "suspend the card (until unsuspended)"),
    ("b", "bury the card until tomorrow"),
    ("f 1-7", "flag: 1 red, 2 orange … 7 purple; f 0 unflags"),
    ("e", "edit the card in $EDITOR, then reload it"),
    ("v", "show / hide the card's check and shapes blocks"),
    ("r", "run the card's torch snippet live"),
    ("j k PgUp PgDn", "scroll a long card"),
    ("i", "card info: history and schedule"),
    ("/", "browse and search all cards"),
    ("o", "the card as a web page (answer side)"),
    ("S", "statistics"),
    ("m", "study more: raise today's new-card limit"),
    ("t", "switch light / dark colours"),
    ("q / esc", "quit (every answer is already saved)"),
]


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,enter,space", "dismiss", "Close")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield Static(help_table())
            yield Static(Text("esc closes", style="dim"), id="help-foot")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
