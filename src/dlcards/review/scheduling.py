"""FSRS-6 scheduling with Anki's day semantics. Pure: time is always a parameter (aware UTC).

The only module that imports `fsrs`. py-fsrs supplies the FSRS-6 formulas (initial stability
and difficulty, difficulty update, recall / forget / short-term stability); this module decides
*which* formula applies and with how many elapsed days, the way Anki (fsrs-rs) does:

* Elapsed days (`delta_t`) follow Anki's rule exactly (`dlcards.review.anki_days`): 24-hour
  blocks counted back from the day cutoff (the next "next day starts at" moment in the user's
  time zone), which are the study days of the calendar except within an hour of a rollover
  across a daylight-saving change. Answering counts back from the cutoff after `now`; `replay`
  with a `cutoff` counts the whole history back from it, as Anki's `compute_memory_state`
  does. Two reviews in the same block have `delta_t = 0` and use FSRS-6's short-term stability
  formula; otherwise the forgetting curve is evaluated at the integer number of days. (py-fsrs
  counts 24-hour blocks between the reviews themselves: 23:59 -> 00:01 is one day for Anki,
  zero blocks for py-fsrs.) Due dates stay on calendar study days.
* Learning and relearning steps are Anki's v3 steps: Again -> first step, Hard -> average of
  the first two steps (or 1.5 x a single step, at most one day more), Good -> next step or
  graduate, Easy -> graduate.
* Review intervals come from each rating's new stability and the desired retention, rounded,
  clamped to [1, maximum_interval], fuzzed deterministically (seed: card id + reps, so the
  preview is what the answer gives) and constrained so that hard <= good <= easy, strictly
  increasing where the maximum interval allows.
* A review-phase card is due at the *start* of its due study day (Anki stores a day number).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dlcards.core.calendar import StudyCalendar, day_start, study_day
from dlcards.core.state import CardState, Phase, Rating, ReviewEntry, ReviewKind, require_utc
from dlcards.review import anki_days

S_MIN = 0.001
S_MAX = 36500.0
# Anki's fuzz ranges: (start, end, factor) in days.
_FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, math.inf, 0.05))


@dataclass(frozen=True)
class SchedulerConfig:
    """Everything the scheduler needs, as plain values (`dlcards.app.settings.scheduler_config`
    maps a collection's Settings to one)."""

    desired_retention: float
    learning_steps: tuple[float, ...]  # seconds
    relearning_steps: tuple[float, ...]  # seconds
    maximum_interval: int
    fuzz: bool
    parameters: tuple[float, ...] | None
    day_starts_at: int
    tz: ZoneInfo

    @property
    def calendar(self) -> StudyCalendar:
        """The study calendar these days are counted in."""
        return StudyCalendar(self.tz, self.day_starts_at)


def _round_half_up(x: float) -> int:
    """Rust's `f32::round` (half away from zero) for positive x; Python's round() is banker's."""
    return math.floor(x + 0.5)


def fuzz_factor(card_id: str, reps: int) -> float:
    """A number in [0, 1) fixed by the card and how often it was reviewed (Anki's fuzz seed)."""
    digest = hashlib.sha256(f"{card_id}\0{reps}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def fuzz_bounds(interval: float, minimum: int, maximum: int) -> tuple[int, int]:
    """Anki's constrained fuzz range for an interval of `interval` days."""
    minimum = min(minimum, maximum)
    interval = min(max(interval, float(minimum)), float(maximum))
    if interval < 2.5:
        delta = 0.0
    else:
        delta = 1.0 + sum(
            f * max(min(interval, end) - start, 0.0) for start, end, f in _FUZZ_RANGES
        )
    lower = min(max(_round_half_up(interval - delta), minimum), maximum)
    upper = min(max(_round_half_up(interval + delta), minimum), maximum)
    if upper == lower and 2 < upper < maximum:
        upper = lower + 1
    return lower, upper


class Scheduler:
    """FSRS-6 with Anki's study days, deterministic fuzz and learning steps."""

    def __init__(self, config: SchedulerConfig):
        import fsrs  # deferred: only scheduling imports fsrs

        self.config = config
        params = (
            config.parameters
            if config.parameters is not None
            else fsrs.scheduler.DEFAULT_PARAMETERS
        )
        try:
            self._fsrs = fsrs.Scheduler(
                parameters=params,
                desired_retention=config.desired_retention,
                maximum_interval=config.maximum_interval,
                enable_fuzzing=False,
            )
        except ValueError as exc:
            from dlcards.core.errors import ConfigError

            raise ConfigError(
                f"setting `fsrs_parameters`: {exc}",
                hint="give the 21 FSRS-6 parameters from Anki or the optimizer, or remove the setting",
            ) from None
        self._Rating = fsrs.Rating
        self.parameters: tuple[float, ...] = tuple(params)
        self._decay = -self.parameters[20]
        self._factor = 0.9 ** (1 / self._decay) - 1

    # ---- memory model -------------------------------------------------------------------

    def elapsed_days(
        self, earlier: datetime, later: datetime, cutoff: datetime | None = None
    ) -> int:
        """Anki's delta_t between two reviews: counted back from `cutoff` when given (a
        recomputation), else from the day cutoff after `later` (answering at `later`)."""
        if cutoff is not None:
            return anki_days.elapsed_days(earlier, later, cutoff)
        return anki_days.answer_elapsed_days(earlier, later, self.config.calendar)

    @property
    def curve(self) -> tuple[float, float]:
        """(factor, decay) of the forgetting curve: what `forgetting_curve` depends on."""
        return self._factor, self._decay

    def forgetting_curve(self, elapsed_days: float, stability: float) -> float:
        """FSRS-6 power forgetting curve R(t, S)."""
        return float((1 + self._factor * elapsed_days / stability) ** self._decay)

    def memory_after(
        self, state: CardState, rating: Rating, now: datetime, cutoff: datetime | None = None
    ) -> tuple[float, float]:
        """(stability, difficulty) after answering `rating` at `now`, as fsrs-rs / Anki compute it
        (elapsed days counted back from `cutoff` when given: see `elapsed_days`)."""
        f = self._fsrs
        r = self._Rating(int(rating))
        if state.stability is None or state.difficulty is None or state.last_review is None:
            s = f._initial_stability(rating=r)
            d = f._initial_difficulty(rating=r, clamp=True)
            return float(min(max(s, S_MIN), S_MAX)), float(d)
        delta = max(self.elapsed_days(state.last_review, now, cutoff), 0)
        if delta == 0:
            s = f._short_term_stability(stability=state.stability, rating=r)
        else:
            retr = self.forgetting_curve(delta, state.stability)
            s = f._next_stability(
                difficulty=state.difficulty,
                stability=state.stability,
                retrievability=retr,
                rating=r,
            )
        d = f._next_difficulty(difficulty=state.difficulty, rating=r)
        return float(min(max(s, S_MIN), S_MAX)), float(d)

    def interval_for(self, stability: float) -> float:
        """Unrounded interval in days at which recall falls to the desired retention."""
        return float(
            stability / self._factor * (self.config.desired_retention ** (1 / self._decay) - 1)
        )

    def retrievability(self, state: CardState, now: datetime) -> float | None:
        """Probability of recall at `now` (fractional days elapsed); None for a new card."""
        if state.stability is None or state.last_review is None:
            return None
        now = require_utc(now)
        days = max((now - state.last_review).total_seconds() / 86400.0, 0.0)
        return self.forgetting_curve(days, state.stability)

    # ---- answers --------------------------------------------------------------------------

    def preview(
        self, state: CardState, now: datetime, cutoff: datetime | None = None
    ) -> dict[Rating, CardState]:
        """The state each rating would give at `now`; identical to `review` (same fuzz)."""
        now = require_utc(now)
        c = self.config
        memory = {rating: self.memory_after(state, rating, now, cutoff) for rating in Rating}
        factor = fuzz_factor(state.card_id, state.reps) if c.fuzz else None
        today = study_day(now, c.tz, c.day_starts_at)

        def fuzzed(days: float, minimum: int) -> int:
            maximum = c.maximum_interval
            if factor is None:
                return min(max(_round_half_up(days), minimum, 1), maximum)
            lower, upper = fuzz_bounds(days, max(minimum, 1), maximum)
            return min(math.floor(lower + factor * (1 + upper - lower)), upper)

        def graduated(rating: Rating, days: int, *, lapse: bool = False) -> CardState:
            s, d = memory[rating]
            return state.with_(
                phase="review",
                step=None,
                stability=s,
                difficulty=d,
                due=day_start(today + timedelta(days=days), c.tz, c.day_starts_at),
                last_review=now,
                reps=state.reps + 1,
                lapses=state.lapses + (1 if lapse else 0),
                interval_days=days,
            )

        def stepped(
            rating: Rating, phase: Phase, step: int, seconds: float, *, lapse: bool = False
        ) -> CardState:
            s, d = memory[rating]
            return state.with_(
                phase=phase,
                step=step,
                stability=s,
                difficulty=d,
                due=now + timedelta(seconds=seconds),
                last_review=now,
                reps=state.reps + 1,
                lapses=state.lapses + (1 if lapse else 0),
                interval_days=0,
            )

        raw = {rating: self.interval_for(memory[rating][0]) for rating in Rating}
        out: dict[Rating, CardState] = {}
        if state.phase == "review":
            # Passing answers: hard <= good <= easy, strictly increasing where possible.
            hard = fuzzed(min(raw[Rating.HARD], raw[Rating.GOOD]), 1)
            good = fuzzed(raw[Rating.GOOD], hard + 1)
            easy = fuzzed(raw[Rating.EASY], good + 1)
            out[Rating.HARD] = graduated(Rating.HARD, hard)
            out[Rating.GOOD] = graduated(Rating.GOOD, good)
            out[Rating.EASY] = graduated(Rating.EASY, easy)
            if c.relearning_steps:
                out[Rating.AGAIN] = stepped(
                    Rating.AGAIN, "relearning", 0, c.relearning_steps[0], lapse=True
                )
            else:
                out[Rating.AGAIN] = graduated(
                    Rating.AGAIN, fuzzed(raw[Rating.AGAIN], 1), lapse=True
                )
            return out

        # new, learning, relearning: step through the (re)learning steps
        phase: Phase = "relearning" if state.phase == "relearning" else "learning"
        steps = c.relearning_steps if phase == "relearning" else c.learning_steps
        step = state.step if state.step is not None and state.phase != "new" else 0
        # Again: back to the first step
        if steps:
            out[Rating.AGAIN] = stepped(Rating.AGAIN, phase, 0, steps[0])
        else:
            out[Rating.AGAIN] = graduated(Rating.AGAIN, fuzzed(raw[Rating.AGAIN], 1))
        # Good: next step, or graduate
        good_days: int | None = None
        if step + 1 < len(steps):
            out[Rating.GOOD] = stepped(Rating.GOOD, phase, step + 1, steps[step + 1])
        else:
            good_days = fuzzed(raw[Rating.GOOD], 1)
            out[Rating.GOOD] = graduated(Rating.GOOD, good_days)
        # Hard: repeat the step (Anki's delays); past the last step it graduates like Good
        if step < len(steps):
            if step == 0 and len(steps) == 1:
                delay = min(steps[0] * 1.5, steps[0] + 86400.0)
            elif step == 0:
                delay = (steps[0] + steps[1]) / 2.0
            else:
                delay = steps[step]
            out[Rating.HARD] = stepped(Rating.HARD, phase, step, delay)
        else:
            hard_days = fuzzed(min(raw[Rating.HARD], raw[Rating.GOOD]), 1)
            out[Rating.HARD] = graduated(Rating.HARD, hard_days)
            good_days = fuzzed(raw[Rating.GOOD], hard_days + 1)
            out[Rating.GOOD] = graduated(Rating.GOOD, good_days)
        # Easy: graduate, at least a day later than Good would
        easy_min = good_days + 1 if good_days is not None else 1
        out[Rating.EASY] = graduated(Rating.EASY, fuzzed(raw[Rating.EASY], easy_min))
        return out

    def review(
        self,
        state: CardState,
        rating: Rating,
        now: datetime,
        duration_ms: int = 0,
        cutoff: datetime | None = None,
    ) -> ReviewEntry:
        """Answer a card at `now` (aware): the log entry with the state before and after."""
        now = require_utc(now)
        rating = Rating(int(rating))
        after = self.preview(state, now, cutoff)[rating]
        kind: ReviewKind = {
            "new": "learn",
            "learning": "learn",
            "review": "review",
            "relearning": "relearn",
        }[state.phase]  # type: ignore[assignment]
        return ReviewEntry(
            card_id=state.card_id,
            time=now,
            rating=rating,
            duration_ms=int(duration_ms),
            before=state,
            after=after,
            kind=kind,
        )

    def replay(
        self,
        card_id: str,
        reviews: Iterable[tuple[datetime, Rating, int]],
        *,
        cutoff: datetime | None = None,
    ) -> tuple[CardState, list[ReviewEntry]]:
        """Recompute a card's state from its (time, rating, duration_ms) history, in time order.

        Without `cutoff`, each answer is replayed as it was given (elapsed days counted back from
        the cutoff after it). With `cutoff` (`anki_days.next_day_at(now, calendar)`), the memory
        states are Anki's recomputation at `now`: every elapsed day counted back from it."""
        state = CardState(card_id=card_id)
        entries: list[ReviewEntry] = []
        for when, rating, duration in sorted(reviews, key=lambda r: require_utc(r[0])):
            entry = self.review(state, rating, when, duration, cutoff)
            entries.append(entry)
            state = entry.after
        return state, entries


def format_interval(seconds: float) -> str:
    """A short human interval like Anki's answer buttons: "<1m", "10m", "3h", "4d", "1.5mo", "2.1y"."""
    if seconds < 60:
        return "<1m"
    minutes = seconds / 60
    if minutes < 59.5:
        return f"{_round_half_up(minutes)}m"
    hours = minutes / 60
    if hours < 23.5:
        return f"{_round_half_up(hours)}h"
    days = hours / 24
    if days < 29.5:
        return f"{_round_half_up(days)}d"
    months = days / 30.0
    if months < 11.95:
        return f"{_trim(months)}mo"
    return f"{_trim(days / 365.0)}y"


def _trim(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def utc(value: datetime) -> datetime:
    """`value` as aware UTC (naive raises)."""
    return require_utc(value).astimezone(UTC)
