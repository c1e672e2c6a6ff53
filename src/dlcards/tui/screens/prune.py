"""The prune screen: walk the ranked list of cards worth attention and act on each.

Constructor: `PruneScreen(workspace, *, run_editor=None)` where `workspace` is a
`dlcards.app.prune_workspace.PruneWorkspace` (collection + store + journal) and `run_editor(path,
line)` opens the editor (default: `$VISUAL`/`$EDITOR` at the card's line, inside
`App.suspend()`; tests pass their own).

Keys: e edit in $EDITOR (the card is re-read afterwards), s suspend/unsuspend, d delete the card
from its Markdown file (asks first: y/n; u undoes it too), r relink an orphan's history to the suggested card, k keep (the reasons
are not listed again), u undo the last action, i card info, R reload, q quit.
Every change is journalled; `dlcards prune --undo-last` undoes it later too.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from dlcards.core.errors import DlcardsError
from dlcards.tui.screens.confirm import FLAG_STYLE, ConfirmScreen

if TYPE_CHECKING:
    from dlcards.insights.prune import PruneItem

REASON_STYLE = {
    "leech": "bold red",
    "low-retention": "red",
    "difficult": "yellow",
    "duplicate": "magenta",
    "long-answer": "cyan",
    "several-facts": "cyan",
    "orphan": "bold yellow",
    "never-reviewed": "dim",
    "long-suspended": "dim",
}


def default_editor(app: Any) -> Callable[[Path, int], None]:
    def run(path: Path, line: int) -> None:
        from dlcards.tui.editor import editor_command

        with app.suspend():
            subprocess.run(editor_command(path, line), check=False)

    return run


def detail_text(item: PruneItem) -> Text:
    from dlcards.insights.cardinfo import flag_name, readable

    text = Text()
    where = f"{item.path}:{item.line}" if item.path else "(no file)"
    if item.orphan and item.path:
        where = f"was at {where}"
    text.append(f"{item.card_id}", style="bold")
    text.append(f"  {where}  score {item.score:.1f}  {item.reviews} reviews", style="dim")
    if item.flag:
        text.append(f"  ⚑ {flag_name(item.flag)}", style=f"bold {FLAG_STYLE.get(item.flag, 'red')}")
    text.append("\n")
    if item.orphan:
        text.append("was: ", style="bold")
    text.append(readable(item.question) + "\n")
    if item.orphan and item.relink_to:
        text.append(f"now {item.relink_to}: ", style="bold")
        text.append(readable(item.relink_question or "(no text)") + "\n")
    for r in item.reasons:
        text.append(f"• {r.code}: ", style=REASON_STYLE.get(r.code, "bold"))
        text.append(r.message)
        nums = ", ".join(
            f"{k}={v}"
            for k, v in r.numbers.items()
            if v is not None and k not in ("other_where", "others")
        )
        if nums:
            text.append(f"  [{nums}]", style="dim")
        text.append("\n")
    if item.orphan:
        text.append(
            "r relinks its history to " + (item.relink_to or "(no candidate)") + "\n",
            style="italic",
        )
    return text


class PruneScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit"),
        Binding("s", "suspend", "Suspend"),
        Binding("d", "delete", "Delete"),
        Binding("r", "relink", "Relink"),
        Binding("k", "keep", "Keep"),
        Binding("u", "undo", "Undo"),
        Binding("i", "info", "Info"),
        Binding("R", "reload", "Reload", show=False),
        Binding("q,escape", "quit_prune", "Quit"),
    ]
    DEFAULT_CSS = """
    PruneScreen #prune-title { height: 1; padding: 0 1; background: $boost; }
    PruneScreen DataTable { height: 1fr; }
    PruneScreen #prune-detail {
        height: 10; padding: 0 1; border-top: solid $primary; overflow-y: auto;
    }
    """

    def __init__(self, workspace: Any, *, run_editor: Callable[[Path, int], None] | None = None):
        super().__init__()
        self.ws = workspace
        self._run_editor = run_editor

    def compose(self) -> ComposeResult:
        yield Static(id="prune-title")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True, id="prune-table")
        yield table
        yield Static(id="prune-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "score", "card", "reasons", "where")
        self.refresh_list()
        table.focus()

    # -- display ----------------------------------------------------------------------------
    @property
    def current(self) -> Any:
        table = self.query_one(DataTable)
        if not self.ws.items or table.cursor_row is None or table.cursor_row >= len(self.ws.items):
            return None
        return self.ws.items[table.cursor_row]

    def refresh_list(self, keep_row: int | None = None) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row if keep_row is None else keep_row
        table.clear()
        for rank, it in enumerate(self.ws.items, 1):
            reasons = Text()
            for i, code in enumerate(it.codes):
                if i:
                    reasons.append(" ")
                reasons.append(code, style=REASON_STYLE.get(code, ""))
            where = f"{it.path}:{it.line}" if it.path else ""
            card = Text(it.card_id)
            if it.flag:
                card.append(" ⚑", style=f"bold {FLAG_STYLE.get(it.flag, 'red')}")
            table.add_row(str(rank), f"{it.score:.1f}", card, reasons, where, key=it.card_id)
        if self.ws.items:
            table.move_cursor(row=min(max(0, row or 0), len(self.ws.items) - 1))
        n = len(self.ws.items)
        title = (
            f"Prune: {n} card{'s' if n != 1 else ''} worth attention"
            if n
            else "Prune: nothing left to look at (u undoes the last action)"
        )
        self.query_one("#prune-title", Static).update(Text(title, style="bold"))
        self.show_detail()

    def show_detail(self) -> None:
        item = self.current
        self.query_one("#prune-detail", Static).update(detail_text(item) if item else Text(""))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def _act(self, fn: Callable[[], Any], done: Callable[[Any], str]) -> None:
        row = self.query_one(DataTable).cursor_row
        try:
            result = fn()
        except DlcardsError as exc:
            self.notify(
                exc.message + (f"\n{exc.hint}" if exc.hint else ""), severity="error", timeout=6
            )
            with contextlib.suppress(DlcardsError):
                self.ws.reload()
            self.refresh_list(row)
            return
        self.refresh_list(row)
        message = done(result)
        if message:
            self.notify(message)

    # -- actions ----------------------------------------------------------------------------
    def action_delete(self) -> None:
        item = self.current
        if item is None:
            return
        if item.orphan:
            self.notify("An orphan is in no file: relink (r) or keep (k) it.", severity="warning")
            return

        def done(e: dict[str, Any]) -> str:
            n = len(e.get("card_ids", []))
            what = f"note {item.note_id} ({n} cards)" if n > 1 else item.card_id
            return f"Deleted {what} from {e['path']} (u to undo)"

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(lambda: self.ws.delete(item.card_id), done)
            else:
                self.notify("Nothing deleted.")

        note = self.ws.note_of(item.card_id)
        n = len(note.card_ids()) if note is not None else 1
        what = f"the note of {item.card_id} ({n} cards)" if n > 1 else f"card {item.card_id}"
        question = Text()
        question.append(f"Delete {what} from {item.path}?\n\n", style="bold")
        from dlcards.insights.cardinfo import readable

        question.append(readable(item.question)[:400] + "\n\n")
        question.append("The text leaves the Markdown file; u undoes it.", style="dim")
        self.app.push_screen(ConfirmScreen(question), answered)

    def action_suspend(self) -> None:
        item = self.current
        if item is None:
            return
        self._act(
            lambda: self.ws.suspend(item.card_id),
            lambda e: (
                f"{'Suspended' if e['suspended'] else 'Unsuspended'} {item.card_id} (u to undo)"
            ),
        )

    def action_relink(self) -> None:
        item = self.current
        if item is None:
            return
        if not item.orphan:
            self.notify("Only orphaned history can be relinked.", severity="warning")
            return
        self._act(
            lambda: self.ws.relink(item.card_id),
            lambda e: f"Moved {e['moved']} reviews to {e['new_id']} (u to undo)",
        )

    def action_keep(self) -> None:
        item = self.current
        if item is None:
            return
        self._act(lambda: self.ws.keep(item.card_id), lambda e: f"Kept {item.card_id} (u to undo)")

    def action_undo(self) -> None:
        from dlcards.app.prune_workspace import describe

        self._act(
            self.ws.undo_last,
            lambda e: "Nothing to undo." if e is None else f"Undid: {describe(e)}",
        )

    def action_reload(self) -> None:
        self._act(self.ws.reload, lambda _: "Reloaded.")

    def action_edit(self) -> None:
        item = self.current
        if item is None:
            return
        note = self.ws.note_of(item.card_id)
        if note is not None:
            deck = self.ws.collection.file(note.path)
            if deck.path.is_file() and deck.path.read_bytes() != deck.snapshot.data:
                self.ws.reload()  # changed elsewhere: find the card's current line first
        where = self.ws.file_and_line(item.card_id)
        if where is None:
            self.notify("This card is in no deck file.", severity="warning")
            return
        path, line = where
        run = self._run_editor or default_editor(self.app)

        def edit() -> Any:
            before = path.read_bytes()
            run(path, line)
            return self.ws.record_edit(item.card_id, path, before)

        self._act(
            edit,
            lambda e: "No change." if e is None else f"Re-read {e['path']} (u to undo the edit)",
        )

    def action_info(self) -> None:
        item = self.current
        if item is None:
            return
        from dlcards.tui.screens.card_info import CardInfoScreen

        try:
            screen = CardInfoScreen(item.card_id, info=self.ws.card_info(item.card_id))
        except DlcardsError as exc:
            self.notify(exc.message, severity="error")
            return
        self.app.push_screen(screen)

    def action_quit_prune(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
