"""Anki's study days: a day starts at `day_starts_at` local time, not at UTC midnight. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def zone(name: str | None) -> ZoneInfo:
    """The study time zone: the named one, else the system's local zone."""
    if name:
        return ZoneInfo(name)
    import os

    tzname = os.environ.get("TZ")
    if tzname:
        try:
            return ZoneInfo(tzname.lstrip(":"))
        except Exception:
            pass
    try:
        from pathlib import Path

        link = Path("/etc/localtime").resolve()
        if "zoneinfo/" in str(link):
            return ZoneInfo(str(link).split("zoneinfo/", 1)[1])
    except Exception:
        pass
    return ZoneInfo("UTC")


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
