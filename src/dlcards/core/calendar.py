"""Anki's study days: a day starts at `day_starts_at` local time, not at UTC midnight. Pure.

`StudyCalendar` is the one value that carries a collection's time zone and day start; it is
built once at the edge (`dlcards.app`, from the settings and, when no zone is set, the
system's zone read by `dlcards.system.clock.local_zone`) and handed to whoever counts days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def zone(name: str) -> ZoneInfo:
    """The named IANA time zone (no environment lookup: see `dlcards.system.clock.local_zone`)."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class StudyCalendar:
    """A collection's study days: time zone + the local hour at which a new day starts."""

    tz: ZoneInfo = ZoneInfo("UTC")  # noqa: RUF009 (immutable, hashable, cached by ZoneInfo)
    day_starts_at: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.day_starts_at <= 23:
            raise ValueError(f"day_starts_at must be 0..23, not {self.day_starts_at}")

    def study_day(self, t: datetime) -> date:
        """The study day that `t` (aware) falls in."""
        return study_day(t, self.tz, self.day_starts_at)

    def day_start(self, day: date) -> datetime:
        """The UTC instant at which study day `day` begins."""
        return day_start(day, self.tz, self.day_starts_at)

    def next_day_start(self, t: datetime) -> datetime:
        """The UTC instant at which the study day after the one `t` falls in begins."""
        return next_day_start(t, self.tz, self.day_starts_at)

    def elapsed_days(self, earlier: datetime, later: datetime) -> int:
        """Whole study days between two times, as Anki counts them for FSRS."""
        return elapsed_days(earlier, later, self.tz, self.day_starts_at)


def study_day(t: datetime, tz: ZoneInfo, day_starts_at: int) -> date:
    """The study day that `t` (aware) falls in."""
    if t.tzinfo is None:
        raise ValueError("naive datetime")
    local = t.astimezone(tz)
    return (local - timedelta(hours=day_starts_at)).date()


def day_start(day: date, tz: ZoneInfo, day_starts_at: int) -> datetime:
    """The UTC instant at which study day `day` begins."""
    local = datetime.combine(day, time(hour=day_starts_at), tzinfo=tz)
    return local.astimezone(UTC)


def next_day_start(t: datetime, tz: ZoneInfo, day_starts_at: int) -> datetime:
    return day_start(study_day(t, tz, day_starts_at) + timedelta(days=1), tz, day_starts_at)


def elapsed_days(earlier: datetime, later: datetime, tz: ZoneInfo, day_starts_at: int) -> int:
    """Whole study days between two reviews, as Anki counts them for FSRS."""
    return (study_day(later, tz, day_starts_at) - study_day(earlier, tz, day_starts_at)).days
