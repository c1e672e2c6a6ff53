"""The review screen: one card at a time, reveal, grade, and the card actions."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from dlcards.core.render import CardText, card_text, context_line
from dlcards.core.state import Rating
from dlcards.tui.widgets.bars import (
    ContextBar,
    CountsBar,
    GradeBar,
    HintBar,
    counts_text,
    grades_text,
)
from dlcards.tui.widgets.markdown import card_markdown

if TYPE_CHECKING:
    from dlcards.app.review import ReviewService
    from dlcards.review.session import Outcome

DURATION_CAP_MS = 60_000  # like Anki: a card left on screen counts at most a minute
# Anki's flag colours as Rich colour names ("orange", "pink", "turquoise" are not Rich colours)
FLAG_COLOURS = {
    1: "red",
    2: "dark_orange",
    3: "green",
    4: "blue",
    5: "hot_pink",
    6: "dark_turquoise",
    7: "purple",
}
HINTS = "u undo  s suspend  b bury  f flag  e edit  ? help  q quit"


def fitted_context(card: Any, width: int) -> str:
    """The context line in `width` characters: the whole `deck › week › topic › headings`
    when it fits; else the nearest heading first, then `week N › topic` if there is room (the
    deck and the middle headings dropped), so that the sub-heading is never the part cut."""
    full = context_line(card)
    if len(full) <= width:
        return full
    note = card.note
    heads: list[str] = [str(h) for h in note.context if h]
    fixed = " › ".join(
        ([f"week {note.meta.week}"] if note.meta.week is not None else [])
        + ([note.meta.topic] if note.meta.topic else [])
    )
    if not heads:
        return fixed if len(fixed) <= width else fixed[: max(0, width - 1)] + "…"
    text: str = heads[-1]
    for extra in (f" · {fixed}" if fixed else "", f" · {heads[-2]}" if len(heads) > 1 else ""):
        if extra and len(text) + len(extra) <= width:
            text += extra
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def interval_labels(ctx: ReviewService) -> dict[Rating, str]:
    from dlcards.review.scheduling import format_interval

    now = ctx.now()
    out = {}
    for rating, state in ctx.session.preview(now).items():
        if state.phase == "review":
            seconds = state.interval_days * 86400.0
        elif state.due is not None:
            seconds = (state.due - now).total_seconds()
        else:
            seconds = 0.0
        out[rating] = format_interval(seconds)
    return out


def likely_next(session: Any, current: str | None, n: int = 3) -> list[str]:
    """The cards most likely shown after `current` is answered: the heads of today's due
    reviews, learning and new cards (read only; the session picks the real one)."""
    out: list[str] = []

    def add(cid: str | None) -> None:
        if cid and cid != current and cid not in out:
            out.append(cid)

    for _, cid in getattr(session, "review_q", ())[:2]:
        add(cid)
    learning = getattr(session, "learning", None) or {}
    if learning:
        add(min(learning, key=lambda c: (learning[c], c)))
    for _, cid in getattr(session, "new_ready", ())[:2]:
        add(cid)
    return out[:n]


# what the review screen says about a card's checks (dlcards.app.verify.binding_status):
# "✓" only when the formula on the card itself was proved (issue 12)
_CHECK_SAYS: dict[str, tuple[str, str]] = {
    "proved": ("✓ formula proved", "bold green"),
    "numeric": ("≈ formula holds numerically (not proved)", "yellow"),
    "unbound": ("check block passed (card text not bound)", "dim"),
    "code": ("code block passed (no formula on the card)", "green"),
    "false": ("✗ check fails: run dlcards check", "bold red"),
    "unchecked": ("not checked yet: run dlcards check", "dim"),
    "none": ("", "dim"),
}


class ReviewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,enter", "reveal", "Show / Good", show=False),
        Binding("1", "grade(1)", "Again", show=False),
        Binding("2", "grade(2)", "Hard", show=False),
        Binding("3", "grade(3)", "Good", show=False),
        Binding("4", "grade(4)", "Easy", show=False),
        Binding("u", "undo", "Undo", show=False),
        Binding("s", "suspend", "Suspend", show=False),
        Binding("b", "bury", "Bury", show=False),
        Binding("f", "flag", "Flag", show=False),
        *(Binding(f"ctrl+{n}", f"set_flag({n})", show=False) for n in range(1, 8)),
        Binding("e", "edit", "Edit", show=False),
        Binding("v", "toggle_checks", "Checks", show=False),
        Binding("r", "run_code", "Run code", show=False),
        Binding("S", "stats", "Stats", show=False),
        Binding("i", "card_info", "Card info", show=False),
        Binding("m", "study_more", "Study more", show=False),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("question_mark", "help", "Help", show=False),
        Binding("slash", "browse", "Browse", show=False),
        Binding("j,down", "scroll(1)", "Scroll down", show=False),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_page(1)", "Page down", show=False),
        Binding("pageup", "scroll_page(-1)", "Page up", show=False),
        Binding("o", "open_page", "Open as a web page", show=False),
        Binding("q,escape", "quit_session", "Quit", show=False),
    ]

    # toasts sit above the grade bar and the hints (3 lines), never over them
    DEFAULT_CSS = """
    ReviewScreen #textual-toastrack { margin-bottom: 3; }
    """

    def __init__(self, ctx: ReviewService):
        super().__init__()
        self.ctx = ctx
        self.card_id: str | None = None
        self.revealed = False
        self.show_checks = False
        self.shown_at = time.monotonic()
        self.run_output: Text | None = None
        # what each pane shows now (`_put` skips an update that would change nothing), the
        # current card's text and check status (computed once per card shown, not per redraw)
        self._shown: dict[str, object] = {}
        self._texts: dict[tuple[str, bool, bool], tuple[Any, CardText]] = {}
        self._status: tuple[Any, str] | None = None
        self.redraws: list[str] = []  # the panes updated by the last render_card (tests)
        self._ahead: list[tuple[str, int]] = []  # (card text, width) still to render ahead
        self.prepared_next_for: str | None = None  # the card whose likely successors are queued

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield ContextBar(id="context")
            yield CountsBar(id="counts")
        with VerticalScroll(id="card"):
            yield Static(id="question")
            yield Static(id="answer")
            yield Static(id="checks")
            yield Static(id="output")
        yield GradeBar(id="grades")
        yield HintBar(Text(HINTS, no_wrap=True, overflow="ellipsis"), id="hints")

    def on_mount(self) -> None:
        self.w_context = self.query_one("#context", ContextBar)
        self.w_counts = self.query_one("#counts", CountsBar)
        self.w_question = self.query_one("#question", Static)
        self.w_answer = self.query_one("#answer", Static)
        self.w_checks = self.query_one("#checks", Static)
        self.w_output = self.query_one("#output", Static)
        self.w_grades = self.query_one("#grades", GradeBar)
        self.w_scroll = self.query_one("#card", VerticalScroll)

    def on_screen_resume(self) -> None:
        if self.ctx.read_only is not None and not getattr(self, "_told_read_only", False):
            self._told_read_only = True
            self.notify(self.ctx.read_only, severity="warning", timeout=30)
        if self.card_id is None or self.ctx.session.current != self.card_id:
            self.show_next()
        else:  # back from help / stats / card info: same card, fresh counts
            self.render_card()

    # -- showing ---------------------------------------------------------------------------
    def show_next(self) -> None:
        self._ahead.clear()
        session = self.ctx.session
        cid = session.next_card(self.ctx.now())
        if cid is None or self.ctx.card(cid) is None:
            self.card_id = None
            self.app.call_later(self.app.show_done)  # type: ignore[attr-defined]
            return
        self.card_id = cid
        self.revealed = False
        self.run_output = None
        self._status = None  # the check results are read again for each card shown
        self.render_card()
        self.shown_at = time.monotonic()
        self.call_after_refresh(self.prepare_answer)

    def render_card(self) -> None:
        """Show the current card: only the panes whose content changed are updated (the
        question is not redrawn when the answer is revealed; the hints never), and the
        Markdown of a card already rendered at this width comes from the render cache."""
        card = self.ctx.card(self.card_id)
        if card is None:
            return
        self.redraws = []
        dark = self.app.current_theme.dark
        text = self.card_text(card, self.revealed)
        flags = self.ctx.session.flags.get(card.id)
        ctx_line = Text(no_wrap=True, overflow="ellipsis")
        if flags is not None and flags.flag:
            ctx_line.append("⚑ ", style=f"bold {FLAG_COLOURS.get(flags.flag, 'red')}")
        if flags is not None and flags.leech:
            ctx_line.append("leech ", style="bold red")
        counts_width = self.w_counts.size.width or 26
        room = max(16, self.size.width - counts_width - 2 - len(ctx_line.plain))
        ctx_line.append(fitted_context(card, room), style="bold")
        self._put(self.w_context, ctx_line, ctx_line, layout=False)  # one fixed line: no reflow
        self.update_counts()
        key = ("md", text.front, dark)
        if self._shown.get("question") != key:
            # as tall as the question it replaces (a cloze revealed, the next one-line card):
            # repainted in place, no layout of the screen (nor the resize frame after it)
            same = self._fits(self.w_question, text.front, dark)
            self._put(self.w_question, key, card_markdown(text.front, dark=dark), layout=not same)
        if self.revealed and text.back:
            self._put(self.w_answer, ("md", text.back, dark), card_markdown(text.back, dark=dark))
            self.w_answer.display = True
        else:
            self.w_answer.display = False
        line = Text()
        if text.checks and (self.revealed or any(b.side == "question" for b in text.checks)):
            kinds = sorted({b.kind for b in text.checks})
            said, style = _CHECK_SAYS[self.check_status(card)]
            line.append(said, style=style)
            line.append(f" ({', '.join(kinds)})  ", style="dim")
            line.append("v " + ("hides" if self.show_checks else "shows"), style="dim italic")
        if text.has_torch:
            if line:
                line.append("   ")
            line.append("r", style="bold")
            says = (
                " runs the snippet" if self.revealed else " shows the answer and runs the snippet"
            )
            line.append(says, style="dim italic")
        if line:
            self._put(self.w_checks, line, line)
        self.w_checks.display = bool(line)
        if self.run_output is not None:
            self._put(self.w_output, self.run_output, self.run_output)
            self.w_output.display = True
        else:
            self.w_output.display = False
        grades = grades_text(interval_labels(self.ctx) if self.revealed else None)
        self._put(self.w_grades, grades, grades, layout=False)
        if self.w_scroll.scroll_y:
            self.w_scroll.scroll_home(animate=False)

    def _put(self, widget: Static, key: object, content: Any, *, layout: bool = True) -> None:
        """Update `widget` unless it shows `key` already."""
        name = widget.id or ""
        if self._shown.get(name) == key:
            return
        self._shown[name] = key
        self.redraws.append(name)
        widget.update(content, layout=layout)

    def _fits(self, pane: Static, text: str, dark: bool) -> bool:
        """Whether `text` takes exactly the lines `pane` has now (measured as Textual does)."""
        from dlcards.tui.widgets.markdown import height

        width, lines = pane.content_region.width, pane.content_region.height
        if not pane.display or width <= 0 or lines <= 0:
            return False
        options = self.app.console_options.update_width(width).update(highlight=False)
        return height(self.app.console, options, text, dark=dark) == lines

    def card_text(self, card: Any, revealed: bool) -> CardText:
        """`card_text` of a card, kept while the same card object is shown (an edit reloads
        the card: a new object)."""
        key = (card.id, revealed, self.show_checks)
        got = self._texts.get(key)
        if got is not None and got[0] is card:
            return got[1]
        text = card_text(card, revealed=revealed, show_checks=self.show_checks)
        if len(self._texts) > 64:
            self._texts.clear()
        self._texts[key] = (card, text)
        return text

    def check_status(self, card: Any) -> str:
        """What the result cache says of the card's checks, read once per card shown."""
        if self._status is not None and self._status[0] is card:
            return self._status[1]
        from dlcards.app.verify import binding_status  # reads the result cache only

        status = binding_status(card.note)
        self._status = (card, status)
        return status

    # -- rendering ahead (while the learner reads) -----------------------------------------
    def _content_widths(self) -> list[int]:
        """The widths the card panes are rendered at: now, and without a scrollbar."""
        widths = [self.w_question.size.width]
        full = self.w_scroll.content_region.width  # the scrollbar is not part of it
        if full not in widths:
            widths.append(full)
        return [w for w in widths if w > 0]

    def _render_ahead(self, texts: list[str]) -> None:
        """Render these card texts into the Markdown cache, one per turn of the event loop
        (a key pressed meanwhile is handled between two renders, not after all of them)."""
        self._ahead = [(text, width) for text in texts for width in self._content_widths()]
        self._ahead_step()

    def _ahead_step(self) -> None:
        from dlcards.tui.widgets.markdown import prerender

        if not self._ahead or not self.is_current:
            return
        text, width = self._ahead.pop(0)
        app = self.app
        options = app.console_options.update(highlight=False).update_width(width)
        prerender(app.console, options, [text], dark=app.current_theme.dark)
        if self._ahead:
            self.set_timer(0.001, self._ahead_step)

    def prepare_answer(self) -> None:
        """After the question is painted: render the current card's answer, so that space
        shows it at once."""
        card = self.ctx.card(self.card_id)
        if card is None or self.revealed or not self.is_current:
            return
        back = self.card_text(card, True)
        self._render_ahead([t for t in (back.front, back.back) if t])

    def prepare_next(self) -> None:
        """After the answer is painted: render the questions of the cards likely to come
        next (a guess from the queue's heads; a wrong guess only costs its render)."""
        if self.card_id is None or not self.revealed or not self.is_current:
            return
        texts = []
        for cid in likely_next(self.ctx.session, self.card_id):
            card = self.ctx.card(cid)
            if card is not None:
                texts.append(self.card_text(card, False).front)
        if texts:
            self._render_ahead(texts)
        self.prepared_next_for = self.card_id  # (tests wait for this, then for `_ahead`)

    def update_counts(self) -> None:
        session = self.ctx.session
        queue = session.queue_of(self.card_id) if self.card_id else None
        text = counts_text(session.counts(self.ctx.now()), queue)
        old = self._shown.get("counts")
        # the bar is as wide as its text: a layout only when the width changes
        same_width = isinstance(old, Text) and old.cell_len == text.cell_len
        self._put(self.w_counts, text, text, layout=not same_width)

    def notice(self, outcome: Outcome) -> None:
        if outcome.notice:
            self.notify(
                outcome.notice,
                severity="warning"
                if "Leech" in outcome.notice or outcome.notice.startswith("Cannot")
                else "information",
            )

    # -- answering -------------------------------------------------------------------------
    def action_reveal(self) -> None:
        if self.card_id is None:
            return
        if self.revealed:
            self.action_grade(int(Rating.GOOD))
            return
        self.revealed = True
        self.render_card()
        # a long card: bring the answer into view (the grade bar shows under it)
        self.call_after_refresh(self._answer_into_view)

    def _answer_into_view(self) -> None:
        if self.revealed and self.w_answer.display:
            self.w_scroll.scroll_to_widget(self.w_answer, animate=False)
        self.call_after_refresh(self.prepare_next)

    def action_scroll(self, lines: int) -> None:
        self.w_scroll.scroll_relative(y=lines * 2, animate=False)

    def action_scroll_page(self, pages: int) -> None:
        if pages > 0:
            self.w_scroll.scroll_page_down(animate=False)
        else:
            self.w_scroll.scroll_page_up(animate=False)

    def action_grade(self, rating: int) -> None:
        self._ahead.clear()  # renders still queued for a guess: not on this answer's path
        if self.card_id is None:
            return
        if not self.revealed:
            self.action_reveal()
            return
        duration = min(DURATION_CAP_MS, int((time.monotonic() - self.shown_at) * 1000))
        outcome = self.ctx.apply(self.ctx.session.answer(Rating(rating), self.ctx.now(), duration))
        pending = self.ctx.pending
        if pending is not None and pending.card_id == self.card_id:
            # never dropped: the card stays, revealed, until the answer is saved or q
            self.notify(
                pending.describe() + "\nAnswer again to retry, or q to quit without it.",
                severity="error",
                timeout=30,
            )
            self.render_card()
            return
        self.notice(outcome)
        self.show_next()

    def action_undo(self) -> None:
        outcome = self.ctx.undo()
        self.notice(outcome)
        self.show_next()

    def action_suspend(self) -> None:
        if self.card_id is None:
            return
        self.ctx.apply(self.ctx.session.suspend(self.ctx.now()))
        self.notify("Card suspended (u undoes).")
        self.show_next()

    def action_bury(self) -> None:
        if self.card_id is None:
            return
        self.ctx.apply(self.ctx.session.bury(self.ctx.now()))
        self.notify("Card buried until tomorrow (u undoes).")
        self.show_next()

    def action_flag(self) -> None:
        """`f` then 1-7 sets one of Anki's flag colours, 0 removes it (Ctrl+1..7 directly)."""
        if self.card_id is None:
            return
        from dlcards.tui.screens.confirm import FlagScreen

        current = self.ctx.session.flags[self.card_id].flag
        self.app.push_screen(
            FlagScreen(current), lambda flag: None if flag is None else self.action_set_flag(flag)
        )

    def action_set_flag(self, flag: int) -> None:
        if self.card_id is None:
            return
        from dlcards.insights.cardinfo import flag_name

        current = self.ctx.session.flags[self.card_id].flag
        if flag == current:
            return
        self.ctx.apply(self.ctx.session.set_flag(flag, self.card_id))
        self.notify(f"Flagged {flag_name(flag)}." if flag else "Flag removed.")
        self.render_card()

    def action_study_more(self) -> None:
        self.notice(self.ctx.apply(self.ctx.session.study_more()))
        self.update_counts()

    def action_toggle_checks(self) -> None:
        self.show_checks = not self.show_checks
        self.render_card()

    def action_toggle_theme(self) -> None:
        self.app.theme = "textual-light" if self.app.current_theme.dark else "textual-dark"
        self.render_card()

    def action_help(self) -> None:
        from dlcards.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_quit_session(self) -> None:
        self.app.exit()

    # -- editing ---------------------------------------------------------------------------
    def action_edit(self) -> None:
        if self.card_id is None:
            return
        from textual.app import SuspendNotSupported

        from dlcards.tui.editor import editor_command

        target = self.ctx.file_of(self.card_id)
        if target is None:
            return
        argv = editor_command(*target)
        try:
            try:
                with self.app.suspend():
                    subprocess.call(argv)
            except SuspendNotSupported:  # headless (tests): run it without the terminal
                subprocess.call(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        except OSError as exc:
            self.notify(
                f"Cannot start the editor {argv[0]!r}: {exc.strerror or exc}. Set $EDITOR.",
                severity="error",
            )
            return
        self.reload_after_edit()

    def reload_after_edit(self) -> None:
        cid = self.card_id
        try:
            self.ctx.reload()
        except Exception as exc:  # a file the learner broke must not end the session
            self.notify(f"Could not re-read the collection: {exc}", severity="error")
            return
        if cid is not None and cid in self.ctx.session.cards:
            self.ctx.session.current = cid
            self.render_card()
            self.notify("Card reloaded.")
        else:
            self.notify(
                "The edited card has a new id (its text changed and the id was not pinned "
                "by `dlcards fix`); it is now a new card.",
                severity="warning",
            )
            self.show_next()

    # -- other screens and code ------------------------------------------------------------
    def action_browse(self) -> None:
        """The card browser (`/`); what it changed is re-read into the session on return."""
        from dlcards.app.browse import Browser
        from dlcards.tui.screens.browser import BrowserScreen

        ctx = self.ctx

        def back(changed: bool | None) -> None:
            if not changed:
                return
            try:
                ctx.reread_store()
            except Exception as exc:
                self.notify(f"Could not re-read the collection: {exc}", severity="error")
            self.show_next()  # the card may be suspended, buried or reset now

        try:
            browser = Browser(ctx.collection)
        except Exception as exc:
            self.notify(f"The browser could not be opened: {exc}", severity="error")
            return
        self.app.push_screen(BrowserScreen(browser), back)

    def action_open_page(self) -> None:
        """`o`: the card as a web page with real math. The page shows the answer, so only
        once the answer is shown."""
        card = self.ctx.card(self.card_id)
        if card is None:
            return
        if not self.revealed:
            self.notify("Show the answer first (space): the page shows it too.")
            return
        from dlcards.app.browse import write_card_page
        from dlcards.app.page import open_in_browser

        opener = getattr(self.app, "open_page", None) or open_in_browser
        try:
            path = write_card_page(self.ctx.collection, [card])
        except Exception as exc:
            self.notify(f"Could not write the page: {exc}", severity="error")
            return
        if opener(path):
            self.notify(f"Opened in the web browser: {path.name}")
        else:
            self.notify(f"No web browser could be started; the page is {path}", timeout=15)

    def _push(self, make: Callable[[], Screen[None]], what: str) -> None:
        try:
            screen = make()
        except Exception as exc:  # e.g. a damaged database: say so, keep reviewing
            self.notify(f"{what} could not be opened: {exc}", severity="error")
            return
        self.app.push_screen(screen)

    def action_stats(self) -> None:
        from dlcards.tui.screens.stats import StatsScreen

        ctx = self.ctx
        self._push(lambda: StatsScreen(ctx.stats_report()), "Statistics")

    def action_card_info(self) -> None:
        if self.card_id is None:
            return
        from dlcards.tui.screens.card_info import CardInfoScreen

        ctx, card_id = self.ctx, self.card_id
        self._push(lambda: CardInfoScreen(card_id, info=ctx.card_info(card_id)), "Card info")

    def action_run_code(self) -> None:
        card = self.ctx.card(self.card_id)
        if card is None:
            return
        blocks = [b for b in card.note.blocks if b.kind == "torch"]
        if not blocks:
            self.notify("This card has no `torch` block to run.")
            return
        from dlcards.checks.runner.client import torch_available
        from dlcards.checks.runner.consent import is_trusted

        if not torch_available():
            self.notify("Running code cards needs PyTorch: pip install torch", severity="warning")
            return
        try:
            trusted = bool(is_trusted(self.ctx.root))
        except Exception:
            trusted = False
        if not trusted:
            self.notify(
                "This collection is not trusted to run code; run `dlcards trust` first.",
                severity="warning",
            )
            return
        block = next((b for b in blocks if b.side == "question"), blocks[0])
        if not self.revealed:  # the output gives the answer away: show them together
            self.revealed = True
        self.run_output = Text("▶ running…", style="dim")
        self.render_card()
        self.run_worker(
            lambda: self._run_block(card.id, block.text),
            thread=True,
            group="runner",
            exclusive=True,
        )

    def _run_block(self, card_id: str, code: str) -> None:
        runner = self.app.runner()  # type: ignore[attr-defined]
        try:
            result = runner.run(code, timeout=30)
        except Exception as exc:
            text = Text(f"✗ could not run: {exc}", style="bold red")
        else:
            text = run_result_text(result)
        self.app.call_from_thread(self._show_output, card_id, text)

    def _show_output(self, card_id: str, text: Text) -> None:
        if card_id == self.card_id:
            self.run_output = text
            self.render_card()


def run_result_text(result: Any) -> Text:
    ok = bool(getattr(result, "ok", False))
    head = Text("✓ ran" if ok else "✗ failed", style="bold green" if ok else "bold red")
    head.append(
        f"  on {getattr(result, 'device', '?')} in {getattr(result, 'elapsed_ms', 0):.0f} ms",
        style="dim",
    )
    parts = [head]
    for label, value in (
        ("value", getattr(result, "value", None)),
        ("stdout", getattr(result, "stdout", "")),
        ("stderr", getattr(result, "stderr", "")),
        ("error", getattr(result, "error", None)),
    ):
        if value not in (None, ""):
            parts.append(Text(f"{label}: ", style="bold").append(str(value).rstrip()))
    return Text("\n").join(parts)
