"""The card browser (`/` from the review and home screens): search every card with the shared
search language (`dlcards.core.search`, the same as `dlcards list QUERY`), a sortable table,
a preview of the rendered card, and actions on the selection.

    BrowserScreen(browser, *, query="", open_page=None, run_editor=None, focus_search=True)

- `browser`: a `dlcards.app.browse.Browser` (all reads and writes go through it).
- `open_page(path) -> bool`: opens a written page (default `app.page.open_in_browser`).
- `run_editor(argv)`: runs the editor (default: in the terminal, the app suspended).

It opens with the cursor in the search box (enter goes to the results). Keys (table focused): / search, space mark, s suspend/unsuspend, 1-7 flag (0 clears),
b bury until tomorrow, F forget (asks), u undo, e edit in $EDITOR, i card info, o open as a
web page, click a column header (or < >) to sort, q/esc close. In the search box, enter or
down goes to the table and esc leaves it. The screen dismisses with True when it changed
anything (the review screen then re-reads its session).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.rule import Rule
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from dlcards.core.search import SearchContext, SearchError

if TYPE_CHECKING:
    from dlcards.app.browse import Browser, BrowseRow

# Anki's flag colours
FLAG_COLOURS = {
    1: "#e53935",  # red
    2: "#fb8c00",  # orange
    3: "#43a047",  # green
    4: "#1e88e5",  # blue
    5: "#ec407a",  # pink
    6: "#26c6da",  # turquoise
    7: "#8e24aa",  # purple
}
COLUMNS = ("question", "wk", "topic", "state", "due", "ivl", "R", "⚑")
SHOWN = 500  # rows put in the table at once (the search itself covers every card)
STATE_WORD = {"new": "new", "learning": "learn", "review": "review", "relearning": "relearn"}
HINTS = "space mark  s susp  1-7 flag  b bury  F forget  u undo  e edit  i info  o page  q close"


def _sort_key(column: str) -> Callable[[BrowseRow], Any]:
    keys: dict[str, Callable[[BrowseRow], Any]] = {
        "question": lambda r: r.source_question.lower(),
        "wk": lambda r: (r.week is None, r.week or 0),
        "topic": lambda r: (r.topic or "~").lower(),
        "state": lambda r: ("new", "learning", "relearning", "review").index(r.state),
        "due": lambda r: (r.due is None, r.due or datetime.min),
        "ivl": lambda r: r.interval_days if r.state != "new" else -1,
        "R": lambda r: -1.0 if r.retrievability is None else r.retrievability,
        "⚑": lambda r: r.flag or 99,
    }
    return keys[column]


def due_text(row: BrowseRow, ctx: SearchContext, day_of: Callable[[datetime], Any]) -> Text:
    """When the card is due: `now`, `12m`, `3h` while learning; `today`, `4d`, `-2d` (late)
    for review cards."""
    if row.due is None:
        return Text("")
    if row.state in ("learning", "relearning"):
        seconds = (row.due - ctx.now).total_seconds()
        if seconds <= 0:
            return Text("now", style="bold")
        return Text(f"{seconds / 60:.0f}m" if seconds < 3600 else f"{seconds / 3600:.0f}h")
    days = (day_of(row.due) - ctx.today).days
    if days == 0:
        return Text("today", style="bold")
    return Text(f"{days}d", style="red" if days < 0 else "")


def state_text(row: BrowseRow, ctx: SearchContext) -> Text:
    if row.suspended:
        return Text("susp", style="yellow")
    if row.buried_until is not None and row.buried_until > ctx.today:
        return Text("buried", style="dim")
    word = STATE_WORD[row.state]
    return Text(word + ("!" if row.leech else ""), style="bold red" if row.leech else "")


def flag_text(flag: int) -> Text:
    return Text("⚑", style=f"bold {FLAG_COLOURS[flag]}") if flag else Text("")


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y / enter yes, n / esc no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape,q", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm { width: 64; height: auto; padding: 1 2; border: thick $warning; background: $surface; }
    """

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(Text(self.question))
            yield Static(Text("y yes   n no", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class BrowserScreen(Screen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("s", "suspend", "Suspend", show=False),
        *[Binding(str(n), f"flag({n})", "Flag", show=False) for n in range(8)],
        Binding("b", "bury", "Bury", show=False),
        Binding("F", "forget", "Forget", show=False),
        Binding("u", "undo", "Undo", show=False),
        Binding("e", "edit", "Edit", show=False),
        Binding("i", "card_info", "Card info", show=False),
        Binding("o", "open_page", "Open as a page", show=False),
        Binding("less_than_sign", "sort(-1)", "Sort by the previous column", show=False),
        Binding("greater_than_sign", "sort(1)", "Sort by the next column", show=False),
        Binding("escape", "back", "Back", show=False),
        Binding("q", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    BrowserScreen { layout: vertical; }
    BrowserScreen #search { height: 1; border: none; padding: 0 1; background: $panel; }
    BrowserScreen #search:focus { background: $boost; }
    BrowserScreen #results { height: 1fr; }
    BrowserScreen #preview-box { height: 8; border-top: solid $primary; padding: 0 1; }
    BrowserScreen #status { height: 1; background: $panel; }
    BrowserScreen #count { width: auto; padding: 0 1; }
    BrowserScreen #hints { width: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(
        self,
        browser: Browser,
        *,
        query: str = "",
        open_page: Callable[[Path], bool] | None = None,
        run_editor: Callable[[list[str]], object] | None = None,
        focus_search: bool = True,
    ):
        super().__init__()
        self.browser = browser
        self.focus_search = focus_search
        self.search_text = query
        self.open_page = open_page
        self.run_editor = run_editor
        self.results: list[BrowseRow] = []
        self.marked: set[str] = set()
        self.sort_column = "wk"  # deck order within the week
        self.sort_reverse = False
        self.changed = False
        self.error: str | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            value=self.search_text,
            placeholder="search: softmax  week:3  is:due  flag:1  -tag:x  (a or b)",
            id="search",
        )
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="preview-box"):
            yield Static(id="preview")
        with Horizontal(id="status"):
            yield Static(id="count")
            yield Static(Text(HINTS), id="hints")

    def on_mount(self) -> None:
        self.table = self.query_one("#results", DataTable)
        self.search_box = self.query_one("#search", Input)
        self.w_preview = self.query_one("#preview", Static)
        self.w_count = self.query_one("#count", Static)
        for name in COLUMNS:
            self.table.add_column(name, key=name)
        self.run_search()
        (self.search_box if self.focus_search else self.table).focus()

    # -- searching -------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self.search_text = event.value
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.15, self._typed_search)

    def _typed_search(self) -> None:
        self._timer = None
        self.run_search()

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        self.search_text = event.value
        self.run_search()
        self.table.focus()

    def run_search(self) -> None:
        if self._timer is not None:  # a search typed earlier must not land after this one
            self._timer.stop()
            self._timer = None
        try:
            found = self.browser.search(self.search_text)
        except SearchError as exc:
            self.error = str(exc) + (f" ({exc.hint})" if exc.hint else "")
            self.w_count.update(Text(self.error, style="bold red"))
            return
        self.error = None
        self.results = found
        self.fill()

    def fill(self, keep: str | None = None) -> None:
        """Put the sorted results in the table (the first SHOWN), the cursor on `keep`."""
        rows = sorted(self.results, key=_sort_key(self.sort_column), reverse=self.sort_reverse)
        self.results = rows
        table = self.table
        table.clear()
        ctx = self.browser.context()
        day_of = self.browser.col.calendar.study_day
        for row in rows[:SHOWN]:
            question = self.browser.question(row)
            mark = "• " if row.id in self.marked else ""
            table.add_row(
                Text(mark + question, no_wrap=True, overflow="ellipsis"),
                "" if row.week is None else str(row.week),
                Text(row.topic or "", no_wrap=True, overflow="ellipsis"),
                state_text(row, ctx),
                due_text(row, ctx, day_of),
                f"{row.interval_days}d" if row.state == "review" else "",
                "" if row.retrievability is None else f"{100 * row.retrievability:.0f}%",
                flag_text(row.flag),
                key=row.id,
            )
        self._size_columns()
        shown = min(len(rows), SHOWN)
        arrow = "↓" if self.sort_reverse else "↑"
        says = f"{len(rows)} cards" if shown == len(rows) else f"{shown} of {len(rows)} cards"
        if self.marked:
            says += f", {len(self.marked)} marked"
        self.w_count.update(Text(f"{says} · by {self.sort_column} {arrow}", style="bold"))
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self.show_preview()

    def _size_columns(self) -> None:
        """Fixed widths for the short columns; the question takes the rest of the line."""
        fixed = {"wk": 2, "topic": 12, "state": 6, "due": 5, "ivl": 4, "R": 4, "⚑": 1}
        width = max(self.size.width, 60)
        rest = width - sum(fixed.values()) - 2 * len(COLUMNS) - 2
        for key, col in self.table.columns.items():
            name = str(key.value)
            col.auto_width = False
            col.width = fixed.get(name, max(16, rest))
        self.table.refresh()

    # -- the selection and the preview -----------------------------------------------------
    def current(self) -> BrowseRow | None:
        if not self.results or self.table.row_count == 0:
            return None
        i = self.table.cursor_row
        return self.results[i] if 0 <= i < min(len(self.results), SHOWN) else None

    def selection(self) -> list[str]:
        """The marked cards, or the one under the cursor."""
        if self.marked:
            return [r.id for r in self.results if r.id in self.marked]
        row = self.current()
        return [row.id] if row else []

    @on(DataTable.RowHighlighted, "#results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_preview()

    @on(DataTable.HeaderSelected, "#results")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        name = str(event.column_key.value)
        if name == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = name, False
        self.refill()

    def show_preview(self) -> None:
        row = self.current()
        if row is None:
            self.w_preview.update(Text("No cards match." if not self.error else "", style="dim"))
            return
        card = self.browser.card(row.id)
        if card is None:
            return
        from dlcards.core.render import card_text, context_line
        from dlcards.tui.widgets.markdown import card_markdown

        dark = self.app.current_theme.dark
        text = card_text(card, revealed=True)
        where = Text(context_line(card), style="dim", no_wrap=True, overflow="ellipsis")
        parts: list[Any] = [where, card_markdown(text.front, dark=dark)]
        if text.back:
            parts += [Rule(style="dim"), card_markdown(text.back, dark=dark)]
        self.w_preview.update(Group(*parts))

    def refill(self) -> None:
        row = self.current()
        self.fill(keep=row.id if row else None)

    # -- actions ---------------------------------------------------------------------------
    def _act(self, do: Callable[[list[str]], str]) -> None:
        ids = self.selection()
        if not ids:
            return
        try:
            says = do(ids)
        except Exception as exc:  # a database that cannot be written: say so, keep browsing
            self.notify(f"Could not save: {exc}", severity="error")
            return
        self.changed = True
        self.marked.clear()
        self._refresh_rows()
        self.notify(says + " (u undoes)")

    def _refresh_rows(self) -> None:
        """The rows changed in place (same cards, same order): redraw the table."""
        by_id = {r.id: r for r in self.results}
        self.results = [self.browser.row(i) or by_id[i] for i in by_id]
        self.refill()

    def action_focus_search(self) -> None:
        self.search_box.focus()

    def action_mark(self) -> None:
        row = self.current()
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        i = self.table.cursor_row
        self.refill()
        if i + 1 < self.table.row_count:
            self.table.move_cursor(row=i + 1, animate=False)

    def action_suspend(self) -> None:
        ids = self.selection()
        rows = [self.browser.row(i) for i in ids]
        every = all(r is not None and r.suspended for r in rows)
        self._act(lambda ids: self.browser.set_suspended(ids, not every))

    def action_flag(self, flag: int) -> None:
        ids = self.selection()
        rows = [self.browser.row(i) for i in ids]
        # the same flag again takes it off, as in Anki
        if flag and all(r is not None and r.flag == flag for r in rows):
            flag = 0
        self._act(lambda ids: self.browser.set_flag(ids, flag))

    def action_bury(self) -> None:
        self._act(self.browser.bury)

    def action_forget(self) -> None:
        ids = self.selection()
        if not ids:
            return
        n = "this card" if len(ids) == 1 else f"these {len(ids)} cards"

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(self.browser.forget)

        self.app.push_screen(
            ConfirmScreen(
                f"Forget {n}: reset to new? Their review history stays in the log "
                "(a 'manual' entry marks the reset), and u undoes it."
            ),
            answered,
        )

    def action_undo(self) -> None:
        says = self.browser.undo()
        if says is None:
            self.notify("Nothing to undo.")
            return
        self.changed = True
        self._refresh_rows()
        self.notify(says)

    def action_card_info(self) -> None:
        row = self.current()
        if row is None:
            return
        from dlcards.tui.screens.card_info import CardInfoScreen

        try:
            info = self.browser.card_info(row.id)
        except Exception as exc:
            self.notify(f"Card info could not be opened: {exc}", severity="error")
            return
        self.app.push_screen(CardInfoScreen(row.id, info=info))

    def action_open_page(self) -> None:
        ids = self.selection()
        if not ids:
            return
        from dlcards.app.page import open_in_browser

        try:
            path = self.browser.write_page(ids)
        except Exception as exc:
            self.notify(f"Could not write the page: {exc}", severity="error")
            return
        opener = self.open_page or open_in_browser
        if opener(path):
            self.notify(f"Opened in the web browser: {path.name}")
        else:
            self.notify(f"No web browser could be started; the page is {path}", timeout=15)

    def action_edit(self) -> None:
        row = self.current()
        if row is None:
            return
        target = self.browser.file_of(row.id)
        if target is None:
            return
        from dlcards.tui.editor import editor_command

        argv = editor_command(*target)
        try:
            if self.run_editor is not None:
                self.run_editor(argv)
            else:
                self._run_in_terminal(argv)
        except OSError as exc:
            self.notify(
                f"Cannot start the editor {argv[0]!r}: {exc.strerror or exc}. Set $EDITOR.",
                severity="error",
            )
            return
        try:
            self.browser.col.reload_decks()
            self.browser.refresh()
        except Exception as exc:  # a file the learner broke must not end the session
            self.notify(f"Could not re-read the collection: {exc}", severity="error")
            return
        self.changed = True
        keep = row.id
        self.run_search()
        if keep in self.table.rows:
            self.table.move_cursor(row=self.table.get_row_index(keep), animate=False)
        self.notify("Reloaded after the edit.")

    def _run_in_terminal(self, argv: list[str]) -> None:
        from textual.app import SuspendNotSupported

        try:
            with self.app.suspend():
                subprocess.call(argv)
        except SuspendNotSupported:  # headless: run it without the terminal
            subprocess.call(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

    def action_sort(self, step: int) -> None:
        i = (COLUMNS.index(self.sort_column) + step) % len(COLUMNS)
        self.sort_column, self.sort_reverse = COLUMNS[i], False
        self.refill()

    def action_back(self) -> None:
        if self.search_box.has_focus:
            self.table.focus()
        elif self.marked:
            self.marked.clear()
            self.refill()
        else:
            self.dismiss(self.changed)

    def action_close(self) -> None:
        self.dismiss(self.changed)

    def on_key(self, event: Any) -> None:
        # down from the search box goes to the results
        if event.key == "down" and self.search_box.has_focus:
            self.table.focus()
            event.stop()


def browser_app(
    browser: Browser,
    *,
    query: str = "",
    light: bool = False,
    open_page: Callable[[Path], bool] | None = None,
    run_editor: Callable[[list[str]], object] | None = None,
) -> Any:
    """An app showing only the browser (the tests' factory; `q` ends it)."""
    from textual.app import App

    class BrowserApp(App[None]):
        CSS_PATH = str(Path(__file__).resolve().parent.parent / "dlcards.tcss")
        ENABLE_COMMAND_PALETTE = False

        def on_mount(self) -> None:
            self.theme = "textual-light" if light else "textual-dark"
            screen = BrowserScreen(
                browser,
                query=query,
                open_page=open_page,
                run_editor=run_editor,
                focus_search=False,
            )
            self.push_screen(screen, lambda _changed: self.exit())

    return BrowserApp()
