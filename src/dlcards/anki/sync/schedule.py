"""One schedule, two notations: Anki's day numbers, queues and memory state against dlcards'
study days and `CardState` (`DayMap`, `state_from_anki`, `write_state_to_card`), and the
revlog interval Anki records with an answer."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dlcards.anki.sync.collection import AnkiCardRow
from dlcards.core.state import CardState

if TYPE_CHECKING:
    from dlcards.core.calendar import StudyCalendar
    from dlcards.system.config import Settings

# ---- Anki schedule <-> dlcards state --------------------------------------------------------


@dataclass(frozen=True)
class DayMap:
    """Anki's day numbers against dlcards' study days, at one instant."""

    anki_today: int
    study_today: date
    day_cutoff: int  # epoch seconds of Anki's next day start
    calendar: StudyCalendar

    def anki_day(self, due: datetime) -> int:
        return self.anki_today + (self.calendar.study_day(due) - self.study_today).days

    def dlcards_due(self, anki_day: int) -> datetime:
        return self.calendar.day_start(
            self.study_today + timedelta(days=anki_day - self.anki_today)
        )


def _steps(settings: Settings, relearning: bool) -> tuple[float, ...]:
    from dlcards.system.config import parse_step

    return tuple(
        parse_step(s)
        for s in (settings.relearning_steps if relearning else settings.learning_steps)
    )


def state_from_anki(
    card: AnkiCardRow, base: CardState, days: DayMap, settings: Settings
) -> CardState:
    """dlcards' state of a card Anki scheduled (answered only in Anki): Anki's schedule,
    memory state and counts over `base` (the replayed history, for what Anki does not say)."""
    data: dict[str, Any] = {}
    if card.data:
        with contextlib.suppress(ValueError):
            data = json.loads(card.data)
    stability = data.get("s", base.stability)
    difficulty = data.get("d", base.difficulty)
    last = base.last_review
    if data.get("lrt"):
        last = datetime.fromtimestamp(int(data["lrt"]), UTC)
    due_raw = card.due
    if card.type == 0:
        return base
    if card.type in (1, 3):
        relearning = card.type == 3
        steps = _steps(settings, relearning)
        remaining = card.left % 1000
        step = min(max(len(steps) - remaining, 0), max(len(steps) - 1, 0))
        due = (
            datetime.fromtimestamp(due_raw, UTC)
            if due_raw > 1_000_000_000
            else days.dlcards_due(due_raw)
        )
        return replace(
            base,
            phase="relearning" if relearning else "learning",
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=due,
            last_review=last,
            reps=card.reps,
            lapses=card.lapses,
            interval_days=0 if not relearning else base.interval_days,
        )
    return replace(
        base,
        phase="review",
        step=None,
        stability=stability,
        difficulty=difficulty,
        due=days.dlcards_due(due_raw),
        last_review=last,
        reps=card.reps,
        lapses=card.lapses,
        interval_days=max(card.ivl, 1),
    )


def write_state_to_card(card: Any, state: CardState, days: DayMap, settings: Settings) -> None:
    """Put dlcards' schedule of a card on an `anki.cards.Card` (not flushed)."""
    from anki.cards_pb2 import FsrsMemoryState

    if state.phase == "new" or state.due is None:
        return
    if state.phase == "review":
        ctype, queue, due = 2, 2, days.anki_day(state.due)
        ivl = max(state.interval_days, 1)
        left = 0
    else:
        ctype = 3 if state.phase == "relearning" else 1
        steps = _steps(settings, state.phase == "relearning")
        left = max(len(steps) - (state.step or 0), 1)
        secs = int(state.due.timestamp())
        if secs < days.day_cutoff:
            queue, due = 1, secs
        else:
            queue, due = 3, days.anki_day(state.due)
        ivl = state.interval_days if state.phase == "relearning" else 0
    card.type = ctype
    if card.queue >= 0:  # suspended / buried stay so (flags are synced separately)
        card.queue = queue
    if card.odid:
        card.odue = due
    else:
        card.due = due
    card.ivl = ivl
    card.left = left
    card.reps = state.reps
    card.lapses = state.lapses
    if state.stability is not None and state.difficulty is not None:
        card.memory_state = FsrsMemoryState(
            stability=float(state.stability), difficulty=float(state.difficulty)
        )
    if state.last_review is not None:
        card.last_review_time = int(state.last_review.timestamp())


def _queue_for(card: AnkiCardRow | Any) -> int:
    """The queue a card returns to when unsuspended / unburied."""
    if card.type == 0:
        return 0
    if card.type == 2:
        return 2
    return 1 if card.due > 1_000_000_000 else 3


def _revlog_ivl(state: CardState, when: datetime) -> int:
    """Anki's revlog interval: days for review cards, minus seconds while (re)learning."""
    if state.phase == "review":
        return max(state.interval_days, 1)
    if state.due is None:
        return 0
    return -max(int((state.due - when).total_seconds()), 1)
