"""The machine's clock and time zone.

`now` is the only caller of `datetime.now`. `DLCARDS_NOW` (ISO 8601) fixes the time, for tests
and simulating several study days from the command line. `local_zone` is the only place that
reads the system's time zone ($TZ, /etc/localtime).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dlcards.core.errors import ConfigError

NOW_YEARS = (1971, 9000)  # the years DLCARDS_NOW may name


def now() -> datetime:
    raw = os.environ.get("DLCARDS_NOW")
    if raw:
        from dlcards.core.state import parse_utc

        try:
            value = parse_utc(raw)
        except (ValueError, OverflowError) as exc:
            raise ConfigError(
                f"$DLCARDS_NOW: {exc}", hint="e.g. DLCARDS_NOW=2026-01-05T09:00:00Z"
            ) from None
        # intervals of years are added to and subtracted from now: keep well inside datetime's
        # range (years 1..9999), else a review ends in an OverflowError
        if not NOW_YEARS[0] <= value.year <= NOW_YEARS[1]:
            raise ConfigError(
                f"$DLCARDS_NOW: year {value.year} is out of range "
                f"({NOW_YEARS[0]} to {NOW_YEARS[1]})",
                hint="e.g. DLCARDS_NOW=2026-01-05T09:00:00Z",
            )
        return value
    return datetime.now(UTC)


def local_zone(environ: dict[str, str] | None = None, localtime: Path | None = None) -> ZoneInfo:
    """The system's time zone: $TZ if it names a known zone, else /etc/localtime's, else UTC."""
    env = os.environ if environ is None else environ
    tzname = env.get("TZ")
    if tzname:
        try:
            return ZoneInfo(tzname.lstrip(":"))
        except Exception:
            pass
    try:
        link = (localtime or Path("/etc/localtime")).resolve()
        if "zoneinfo/" in str(link):
            return ZoneInfo(str(link).split("zoneinfo/", 1)[1])
    except Exception:
        pass
    return ZoneInfo("UTC")
