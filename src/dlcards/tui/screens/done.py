"""The end of a session: a summary of what was reviewed, when the next card is due, and
tomorrow's load (due reviews + learning + new cards within the day's limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

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


@dataclass(frozen=True)
class TomorrowLoad:
    reviews: int  # review cards due by the end of tomorrow's study day, within the review limit
    learning: int  # learning / relearning cards due by then
    new: int  # new cards tomorrow's limits let in (Anki v3: the review limit caps them too)

    @property
    def total(self) -> int:
        return self.reviews + self.learning + self.new


def tomorrow_load(
    session: Session, *, new_per_day: int | None = None, reviews_per_day: int | None = None
) -> TomorrowLoad:
    """What tomorrow's study day holds for this session's cards, if nothing more is studied
    today: cards due by its end (overdue ones included), and new cards up to the limits
    (the settings' daily limits; today's `--new-limit`/`--review-limit` when not given)."""
    tomorrow = session.today + timedelta(days=1)
    end = session.policy.calendar.day_start(tomorrow + timedelta(days=1))
    reviews = learning = new = 0
    for cid, card in session.cards.items():
        f, st = session.flags[cid], session.states[cid]
        if f.suspended or (f.buried_until is not None and tomorrow < f.buried_until):
            continue
        if st.phase == "new":
            waits = any(
                t in session.known_topics and t not in session.started for t in card.requires
            )
            new += 0 if waits else 1
        elif st.due is not None and st.due < end:
            if st.phase == "review":
                reviews += 1
            else:
                learning += 1
    limit = session.policy.reviews_per_day if reviews_per_day is None else reviews_per_day
    new_limit = session.policy.new_per_day if new_per_day is None else new_per_day
    reviews = min(reviews, limit)
    new = min(new, new_limit, max(0, limit - reviews))
    return TomorrowLoad(reviews, learning, new)


def first_blocking_topic(session: Session) -> str | None:
    """The earliest topic (curriculum order) that new cards of this session wait for."""
    waiting = set(session.waiting_for())
    first = min(
        (c for c in session.all_cards.values() if c.topic in waiting),
        key=lambda c: c.order,
        default=None,
    )
    return None if first is None else first.topic


def tomorrow_text(load: TomorrowLoad) -> Text:
    text = Text("Tomorrow: ")
    if not load.total:
        text.append("nothing due.", style="bold")
        return text
    parts = [
        (load.reviews, "due" if load.reviews else None),
        (load.learning, "learning" if load.learning else None),
        (load.new, "new" if load.new else None),
    ]
    shown = [(n, label) for n, label in parts if label]
    if len(shown) == 1:
        text.append(str(load.total), style="bold")
        text.append(f" {shown[0][1]} card{'s' if load.total != 1 else ''}.")
        return text
    for i, (n, label) in enumerate(shown):
        if i:
            text.append(" + ")
        text.append(str(n), style="bold")
        text.append(f" {label}")
    text.append(f" = {load.total} card{'s' if load.total != 1 else ''}.")
    return text


def summary_text(session: Session, now: datetime, settings: Any = None) -> Text:
    """The done screen's text; `settings` (the collection's) give tomorrow's daily limits."""
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
    if due is not None:
        text.append(f"Next card due {due_text(due, now, session.policy.calendar.tz)}.\n")
    elif not session.cards:
        text.append("There are no cards to review here.\n")
    elif not session.waiting_for():
        text.append("Every card is suspended.\n")
    if session.cards:
        load = tomorrow_load(
            session,
            new_per_day=getattr(settings, "new_per_day", None),
            reviews_per_day=getattr(settings, "reviews_per_day", None),
        )
        text.append(tomorrow_text(load))
        text.append("\n")
        first = first_blocking_topic(session)
        if first is not None and not load.new:
            text.append(
                f"New cards here wait for the topic {first}: "
                f"`dlcards review --topic {first}` studies it.\n",
                style="dim",
            )
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
        self.query_one("#summary", Static).update(
            summary_text(self.ctx.session, self.ctx.now(), self.ctx.settings)
        )

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
