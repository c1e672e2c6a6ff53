"""The session's rules (`Policy`): daily limits, learn-ahead, leeches, siblings, and the study
calendar its days are counted in. Pure; `dlcards.app.settings.policy_of` builds one from a
collection's Settings and today's command-line overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from dlcards.core.calendar import StudyCalendar

LEARN_AHEAD = timedelta(minutes=20)


@dataclass(frozen=True)
class Policy:
    """The session's rules: the collection's settings plus today's command-line overrides."""

    new_per_day: int = 20
    reviews_per_day: int = 200
    learn_ahead: timedelta = LEARN_AHEAD
    leech_threshold: int = 8
    leech_action: Literal["suspend", "tag"] = "suspend"
    bury_siblings: bool = True
    calendar: StudyCalendar = field(default_factory=StudyCalendar)

    def day(self, t: datetime) -> date:
        return self.calendar.study_day(t)

    def day_end(self, t: datetime) -> datetime:
        return self.calendar.next_day_start(t)
