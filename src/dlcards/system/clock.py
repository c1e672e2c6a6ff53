"""The only caller of `datetime.now`. `DLCARDS_NOW` (ISO 8601) fixes the time, for tests and
simulating several study days from the command line."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from dlcards.core.errors import ConfigError


def now() -> datetime:
    raw = os.environ.get("DLCARDS_NOW")
    if raw:
        from dlcards.core.state import parse_utc

        try:
            return parse_utc(raw)
        except ValueError as exc:
            raise ConfigError(
                f"$DLCARDS_NOW: {exc}", hint="e.g. DLCARDS_NOW=2026-01-05T09:00:00Z"
            ) from None
    return datetime.now(UTC)
