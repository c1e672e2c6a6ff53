"""The end of a session: a summary of what was reviewed, and when the next card is due."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Static

if TYPE_CHECKING:
    from dlcards.app.review import ReviewService
    from dlcards.review.session import Session

RECHECK_SECONDS = 15.0  # learning cards come due while this screen is up


def duration_text(ms: int) -> str:
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def due_text(due: datetime, now: datetime, tz: object) -> str:
    from dlcards.review.scheduling import format_interval

    local = due.astimezone(tz)  # type: ignore[arg-type]
    when = (
        local.strftime("%H:%M")
        if (due - now).total_seconds() < 86400
        else local.strftime("%a %d %b, %H:%M")
    )
    return f"in {format_interval((due - now).total_seconds())} ({when})"


def summary_text(session: Session, now: datetime) -> Text:
    stats = session.stats
    text = Text(justify="center")
    if stats.answered:
        text.append("Session done\n\n", style="bold")
        rate = stats.again_rate or 0.0
        text.append(f"{stats.answered} card{'s' if stats.answered != 1 else ''}", style="bold")
        text.append(f" in {duration_text(stats.duration_ms)}")
        text.append("  ·  again ")
        text.append(f"{rate:.0%}", style="bold red" if rate > 0.2 else "bold green")
        text.append("\n\n")
    text.append("Nothing is due now.", style="bold green")
    filt = session.filters.describe()
    if filt:
        text.append(f"  ({filt})", style="dim")
    text.append("\n")
    due = session.next_due(now)
    waiting = session.waiting_for()
    if due is not None:
        text.append(f"Next card due {due_text(due, now, session.policy.calendar.tz)}.\n")
    elif not session.cards:
        text.append("There are no cards to review here.\n")
    elif not waiting:
        text.append("Every card is suspended.\n")
    if waiting:
        shown = ", ".join(waiting[:4]) + (", …" if len(waiting) > 4 else "")
        text.append(f"New cards here wait until you start: {shown}.\n", style="dim")
    if session.limits_reached():
        text.append("\nToday's limit is reached. Press ", style="")
        text.append(" m ", style="bold reverse")
        text.append(" to study more.\n")
    text.append("\nq quit   u undo   S stats", style="dim")
    return text


class DoneScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "quit_app", "Quit"),
        Binding("m", "study_more", "Study more"),
        Binding("u", "undo", "Undo"),
        Binding("S", "stats", "Stats"),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, ctx: ReviewService):
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(id="summary")

    def on_mount(self) -> None:
        self.refresh_summary()
        self.set_interval(RECHECK_SECONDS, self.recheck)

    def refresh_summary(self) -> None:
        self.query_one("#summary", Static).update(summary_text(self.ctx.session, self.ctx.now()))

    def recheck(self) -> None:
        if self.ctx.session.next_card(self.ctx.now()) is not None:
            self.back_to_review()
        else:
            self.refresh_summary()

    def back_to_review(self) -> None:
        self.app.show_review()  # type: ignore[attr-defined]

    def action_quit_app(self) -> None:
        self.app.exit()

    def action_study_more(self) -> None:
        outcome = self.ctx.apply(self.ctx.session.study_more())
        if self.ctx.session.next_card(self.ctx.now()) is not None:
            if outcome.notice:
                self.notify(outcome.notice)
            self.back_to_review()
        else:
            self.notify("No more cards to study today.")
            self.refresh_summary()

    def action_undo(self) -> None:
        if not self.ctx.session.can_undo:
            self.notify("Nothing to undo.")
            return
        outcome = self.ctx.apply(self.ctx.session.undo())
        if outcome.notice:
            self.notify(outcome.notice)
        self.back_to_review()

    def action_stats(self) -> None:
        review = self.app.review_screen  # type: ignore[attr-defined]
        review.action_stats()

    def action_toggle_theme(self) -> None:
        self.app.theme = "textual-light" if self.app.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        from dlcards.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())
