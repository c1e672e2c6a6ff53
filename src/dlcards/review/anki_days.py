"""Anki's day arithmetic for FSRS, exactly. Pure: the time, the calendar and the cutoff are
parameters.

dlcards counts study days on the calendar (`dlcards.core.calendar`): due dates, the daily
limits and "today" all follow the local day that starts at `day_starts_at`. Anki does the same
for due dates, but for FSRS's elapsed days (`delta_t`) it counts **24-hour blocks back from a
day cutoff**, not calendar days (rslib `scheduler/fsrs/params.rs`, `RevlogEntry::days_elapsed`,
and `scheduler/answering/mod.rs`):

- the cutoff is `next_day_at`: the next rollover after `now`, computed in the UTC offset that
  is in force *at `now`* (a fixed offset: `scheduler/timing.rs`, `sched_timing_today_v2_new`):
  today's local date at `rollover:00`, plus 86,400 s when that moment has passed;
- a review at `t` lies `(cutoff - t) // 86400` days back (whole seconds: the revlog id in
  milliseconds divided by 1000, never negative);
- answering a card: `delta_t = (next_day_at(now) - last_review) // 86400`;
- recomputing a memory state from the review log (`compute_memory_state`, "reschedule", the
  optimiser): `delta_t` between two reviews is the difference of their days back from the
  cutoff of the moment of the computation.

Away from daylight-saving changes the blocks coincide with calendar study days. Across one,
a block boundary sits an hour away from the local rollover, and a review within that hour of
it counts on the other side. Minimal case (America/New_York, rollover 4): Good on 30 June at
12:00 EDT and Good on 1 July at 04:30 EDT are one calendar study day apart, but computed in
November (cutoff 04:00 EST = 09:00 UTC) both lie in the same 24-hour block: `delta_t = 0`,
and Anki's stability is 2.31 instead of 7.32.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import Rating, require_utc

if TYPE_CHECKING:
    from dlcards.review.scheduling import Scheduler

DAY_SECONDS = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _secs(t: datetime) -> int:
    """Whole seconds since the epoch, as Anki's `revlog_id / 1000` (floor)."""
    return (require_utc(t) - _EPOCH) // timedelta(seconds=1)


def next_day_at(now: datetime, calendar: StudyCalendar) -> datetime:
    """Anki's day cutoff at `now`: the next local `day_starts_at:00`, in now's UTC offset."""
    now = require_utc(now)
    offset = now.astimezone(calendar.tz).utcoffset() or timedelta(0)
    local = datetime.fromtimestamp(_secs(now), timezone(offset))
    rollover = local.replace(hour=calendar.day_starts_at % 24, minute=0, second=0)
    if rollover <= local:
        rollover += timedelta(seconds=DAY_SECONDS)
    return rollover.astimezone(UTC)


def days_back(t: datetime, cutoff: datetime) -> int:
    """How many whole 24-hour blocks `t` lies before `cutoff` (0 for anything after it)."""
    return max(_secs(cutoff) - _secs(t), 0) // DAY_SECONDS


def answer_elapsed_days(last_review: datetime, now: datetime, calendar: StudyCalendar) -> int:
    """`delta_t` when answering at `now` a card last reviewed at `last_review` (Anki's rule)."""
    return days_back(last_review, next_day_at(now, calendar))


def elapsed_days(earlier: datetime, later: datetime, cutoff: datetime) -> int:
    """`delta_t` between two reviews of a history, counted back from `cutoff`."""
    return max(days_back(earlier, cutoff) - days_back(later, cutoff), 0)


def delta_ts(times: Sequence[datetime], cutoff: datetime) -> list[int]:
    """The `delta_t` of each review of a time-ordered history (0 for the first): the numbers
    Anki hands FSRS when it recomputes the card's memory state with this cutoff."""
    back = [days_back(t, cutoff) for t in times]
    return [0] + [max(a - b, 0) for a, b in pairwise(back)]


@dataclass(frozen=True)
class MemoryState:
    """FSRS memory state: stability (days) and difficulty (1..10)."""

    stability: float
    difficulty: float


def memory_scheduler(parameters: Sequence[float] | None = None) -> Scheduler:
    """The scheduler Anki's memory-state recomputation amounts to: FSRS with these weights (None:
    the defaults), no steps and no fuzz; the day cutoff, not its calendar, counts the days."""
    from dlcards.review.scheduling import Scheduler, SchedulerConfig

    return Scheduler(
        SchedulerConfig(
            desired_retention=0.9,
            learning_steps=(),
            relearning_steps=(),
            maximum_interval=36500,
            fuzz=False,
            parameters=tuple(parameters) if parameters is not None else None,
            day_starts_at=0,
            tz=ZoneInfo("UTC"),  # unused: the cutoff counts the days
        )
    )


def memory_states(
    histories: Mapping[str, Sequence[tuple[Any, ...]]],
    cutoff: datetime,
    parameters: Sequence[float] | None = None,
) -> dict[str, MemoryState]:
    """Each card's FSRS memory state from its history, as Anki's `compute_memory_state` gives it
    when its day cutoff is `cutoff` (`next_day_at(now, calendar)`).

    `histories`: card id -> reviews `(time, rating, ...)` (aware times; extra items ignored),
    every one a rated review that counts (1..4: no manual, reschedule or cram entries), from
    the card's first learning step on. Cards without reviews are left out. `parameters`: the
    21 FSRS-6 weights, or None for the defaults.
    """
    scheduler = memory_scheduler(parameters)
    out: dict[str, MemoryState] = {}
    for card_id, history in histories.items():
        reviews = [(require_utc(h[0]), Rating(int(h[1])), 0) for h in history]
        if not reviews:
            continue
        state, _ = scheduler.replay(card_id, reviews, cutoff=cutoff)
        assert state.stability is not None and state.difficulty is not None
        out[card_id] = MemoryState(state.stability, state.difficulty)
    return out
