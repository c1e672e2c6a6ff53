"""Small modal questions shared by screens.

- `ConfirmScreen(question)`: y yes, n / escape no (dismissed with a bool). Enter does not
  answer: a destructive question needs a deliberate `y`.
- `FlagScreen(current)`: pick one of Anki's seven flag colours with 1-7, 0 to remove the flag,
  escape to leave it as it is (dismissed with the flag, or None).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

# Rich colour names of Anki's flags 1..7
FLAG_STYLE = {
    1: "red",
    2: "dark_orange",
    3: "green",
    4: "blue",
    5: "hot_pink",
    6: "dark_turquoise",
    7: "purple",
}


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y yes, n / escape no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape,q", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen #confirm {
        width: 70; height: auto; max-height: 80%; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmScreen #confirm-keys { margin-top: 1; }
    """

    def __init__(self, question: str | Text):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(
                self.question if isinstance(self.question, Text) else Text(self.question),
                id="confirm-question",
            )
            yield Static(Text("y yes   n no", style="dim"), id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class FlagScreen(ModalScreen["int | None"]):
    """Pick a flag colour: 1-7 set it, 0 removes it, escape leaves it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"pick({n})", show=False) for n in range(8)),
        Binding("escape,q,f", "pick(-1)", "Cancel"),
    ]
    DEFAULT_CSS = """
    FlagScreen { align: center bottom; }
    FlagScreen #flag-picker {
        width: auto; height: auto; padding: 0 2; margin-bottom: 4;
        border: round $accent; background: $surface;
    }
    """

    def __init__(self, current: int = 0):
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        from dlcards.insights.cardinfo import FLAG_NAMES

        text = Text("Flag: ", style="bold")
        for n in range(1, 8):
            mark = "●" if n == self.current else "⚑"
            text.append(f"{n} ", style="bold")
            text.append(f"{mark} {FLAG_NAMES[n]}  ", style=FLAG_STYLE[n])
        text.append("0 none  esc keep", style="dim")
        yield Static(text, id="flag-picker")

    def action_pick(self, flag: int) -> None:
        self.dismiss(None if flag < 0 else flag)
