"""The study calendar (`dlcards.core.calendar.StudyCalendar`) and the system zone lookup
(`dlcards.system.clock.local_zone`): rollover, daylight-saving days, edges."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.calendar import StudyCalendar, study_day
from dlcards.system.clock import local_zone

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def test_rollover_at_day_start_local_time() -> None:
    cal = StudyCalendar(BERLIN, 4)
    # 03:59 Berlin (winter, UTC+1) still belongs to the previous study day; 04:00 starts one
    assert cal.study_day(datetime(2026, 1, 6, 2, 59, tzinfo=UTC)) == date(2026, 1, 5)
    assert cal.study_day(datetime(2026, 1, 6, 3, 0, tzinfo=UTC)) == date(2026, 1, 6)
    assert cal.day_start(date(2026, 1, 6)) == datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    t = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
    assert cal.next_day_start(t) == datetime(2026, 1, 7, 3, 0, tzinfo=UTC)


def test_spring_forward_study_day_is_23_hours() -> None:
    cal = StudyCalendar(NY, 4)  # 2026-03-08 02:00 EST -> 03:00 EDT
    start = cal.day_start(date(2026, 3, 8))
    assert start == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 04:00 EDT
    assert start - cal.day_start(date(2026, 3, 7)) == timedelta(hours=23)
    assert cal.next_day_start(start) - start == timedelta(hours=24)


def test_fall_back_study_day_is_25_hours() -> None:
    cal = StudyCalendar(NY, 4)  # 2026-11-01 02:00 EDT -> 01:00 EST
    before = cal.day_start(date(2026, 10, 31))
    after = cal.day_start(date(2026, 11, 1))
    assert before == datetime(2026, 10, 31, 8, 0, tzinfo=UTC)  # 04:00 EDT
    assert after == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # 04:00 EST
    assert after - before == timedelta(hours=25)
    # 25 hours after the day started is still the same study day; one second later is not
    assert cal.study_day(after - timedelta(seconds=1)) == date(2026, 10, 31)
    assert cal.study_day(after) == date(2026, 11, 1)


def test_elapsed_days_counts_study_days_not_24_hour_blocks() -> None:
    cal = StudyCalendar(BERLIN, 4)
    late = datetime(2026, 1, 5, 22, 59, tzinfo=UTC)  # 23:59 Berlin
    early = datetime(2026, 1, 6, 3, 1, tzinfo=UTC)  # 04:01 Berlin, next study day
    assert cal.elapsed_days(late, early) == 1
    assert cal.elapsed_days(early, early + timedelta(hours=20)) == 0
    assert cal.elapsed_days(late, late + timedelta(days=10)) == 10


@pytest.mark.parametrize(
    ("hour", "day"),
    [(0, date(2026, 1, 5)), (23, date(2026, 1, 4))],
)
def test_day_start_edges(hour: int, day: date) -> None:
    cal = StudyCalendar(ZoneInfo("UTC"), hour)
    assert cal.study_day(datetime(2026, 1, 5, 12, 0, tzinfo=UTC)) == day


def test_invalid_day_start_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        StudyCalendar(ZoneInfo("UTC"), 24)
    with pytest.raises(ValueError):
        StudyCalendar().study_day(datetime(2026, 1, 5, 12, 0))


def test_calendar_is_a_frozen_value() -> None:
    a, b = StudyCalendar(NY, 4), StudyCalendar(ZoneInfo("America/New_York"), 4)
    assert a == b and hash(a) == hash(b) and a != StudyCalendar(NY, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.day_starts_at = 3  # type: ignore[misc]
    # the methods agree with the module functions the insights use
    t = datetime(2026, 7, 1, 3, 30, tzinfo=UTC)
    assert a.study_day(t) == study_day(t, NY, 4)


def test_local_zone_reads_tz_then_localtime_then_utc(tmp_path: Path) -> None:
    assert local_zone({"TZ": "Asia/Tokyo"}) == ZoneInfo("Asia/Tokyo")
    assert local_zone({"TZ": ":Europe/Berlin"}) == BERLIN
    zones = tmp_path / "usr" / "share" / "zoneinfo" / "America"
    zones.mkdir(parents=True)
    (zones / "New_York").write_bytes(b"")  # only the link's target name matters
    link = tmp_path / "localtime"
    link.symlink_to(zones / "New_York")
    assert local_zone({"TZ": "Not/AZone"}, localtime=link) == NY
    assert local_zone({}, localtime=tmp_path / "missing") == ZoneInfo("UTC")
