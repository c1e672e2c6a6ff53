"""The one-line bars of the review screen: context + counts, answer buttons, key hints."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from dlcards.core.state import Rating
from dlcards.review.session import Counts, QueueName

GRADE_STYLE = {
    Rating.AGAIN: "bold red",
    Rating.HARD: "bold yellow",
    Rating.GOOD: "bold green",
    Rating.EASY: "bold blue",
}
GRADE_NAME = {Rating.AGAIN: "Again", Rating.HARD: "Hard", Rating.GOOD: "Good", Rating.EASY: "Easy"}


def counts_text(counts: Counts, current: QueueName | None) -> Text:
    text = Text()
    for name, label, value, style in (
        ("new", "new", counts.new, "bold blue"),
        ("learning", "learn", counts.learning, "bold red"),
        ("review", "due", counts.review, "bold green"),
    ):
        if text:
            text.append("  ")
        text.append(f"{label} ", style="dim")
        text.append(f"{value}", style=style + (" underline" if name == current else ""))
    return text


def grades_text(intervals: dict[Rating, str] | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if intervals is None:
        text.append(" space", style="bold reverse")
        text.append(" show answer", style="bold")
        return text
    for rating in Rating:
        if rating != Rating.AGAIN:
            text.append("  ")
        text.append(f" {int(rating)} ", style="reverse " + GRADE_STYLE[rating])
        text.append(f" {GRADE_NAME[rating]} ", style=GRADE_STYLE[rating])
        text.append(intervals.get(rating, "?"))
    return text


class ContextBar(Static):
    """deck › week › topic › heading, with the new / learning / review counts at the right."""


class CountsBar(Static):
    pass


class GradeBar(Static):
    pass


class HintBar(Static):
    pass
