"""Memory states of many histories in one fsrs-rs call (issue 16, item 4). Pure.

Where dlcards recomputes the FSRS memory state of every card from its review log (the
optimiser adopting new parameters, Anki's "reschedule" semantics), replaying each history
through py-fsrs costs about 2 ms a card in Python. fsrs-rs (`fsrs_rs_python`, the Rust FSRS
that Anki itself runs) computes them all in one `memory_state_batch` call; what is left in
Python is turning each history into (rating, delta_t) pairs, with Anki's elapsed-day rule
(`dlcards.review.anki_days`: 24-hour blocks counted back from the day cutoff).

The numbers are the replay's (`Scheduler.replay(..., cutoff=...)`, what
`anki_days.memory_states` computes): the same initial state, short-term (same-day) and
long-term stability formulas and the same clamps, evaluated by fsrs-rs in 32-bit floats, so
they agree with the replay to float32 precision (relative error measured below 1e-6 on random
histories with the default parameters; tests/test_batch_fsrs.py bounds it, and the parity
tests compare both with Anki).
"""

from __future__ import annotations

import gc
import hashlib
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from dlcards.core.calendar import day_start
from dlcards.core.state import CardState, Phase, Rating, ReviewEntry, ReviewKind, require_utc
from dlcards.review import anki_days
from dlcards.review.anki_days import DAY_SECONDS, MemoryState
from dlcards.review.scheduling import (
    S_MAX,
    S_MIN,
    Scheduler,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_FIRST = itemgetter(0)


def _deltas(times: Sequence[datetime], cutoff_s: int) -> list[int]:
    """`anki_days.delta_ts` with the cutoff in whole seconds (the same integer arithmetic)."""
    epoch, second, day = _EPOCH, _SECOND, DAY_SECONDS
    out = []
    prev = 0
    for i, t in enumerate(times):
        back = max(cutoff_s - (t - epoch) // second, 0) // day
        out.append(0 if i == 0 else max(prev - back, 0))
        prev = back
    return out


def fsrs_items(
    histories: Mapping[str, Sequence[tuple[Any, ...]]], cutoff: datetime | int
) -> tuple[list[str], list[Any]]:
    """(card ids, fsrs-rs items) of the non-empty histories, each in time order. Times (and
    `cutoff`) are aware datetimes or whole seconds since the epoch (Anki's `revlog id // 1000`,
    an integer time stamp): integers skip the one datetime subtraction per review that is most
    of the cost here. Elapsed days: `_deltas`' arithmetic, written out."""
    import fsrs_rs_python as rs  # deferred: only the review package loads fsrs-rs

    cut = _floor_secs(require_utc(cutoff)) if isinstance(cutoff, datetime) else int(cutoff)
    review = rs.FSRSReview
    item = rs.FSRSItem
    first = _FIRST
    epoch, second, day = _EPOCH, _SECOND, DAY_SECONDS
    ids: list[str] = []
    items: list[Any] = []
    for card_id, history in histories.items():
        if not history:
            continue
        ordered = sorted(history, key=first)
        reviews = []
        prev = -1
        if isinstance(ordered[0][0], datetime):
            for h in ordered:
                secs = (h[0] - epoch) // second
                back = (cut - secs) // day if secs < cut else 0
                reviews.append(review(int(h[1]), prev - back if prev > back else 0))
                prev = back
        else:
            for h in ordered:
                secs = h[0]
                back = (cut - secs) // day if secs < cut else 0
                reviews.append(review(int(h[1]), prev - back if prev > back else 0))
                prev = back
        items.append(item(reviews))
        ids.append(card_id)
    return ids, items


def memory_states_batch(
    histories: Mapping[str, Sequence[tuple[Any, ...]]],
    cutoff: datetime | int,
    parameters: Sequence[float] | None = None,
) -> dict[str, MemoryState]:
    """`anki_days.memory_states` in one fsrs-rs call: each card's FSRS memory state from its
    history `(time, rating, ...)` (aware times, or whole seconds since the epoch; rated reviews
    1..4) as Anki recomputes it with the day cutoff `cutoff` (the same kind of time). Cards
    without reviews are left out. `parameters`: the 21 FSRS-6 weights, or None for the
    defaults."""
    import fsrs_rs_python as rs

    ids, items = fsrs_items(histories, cutoff)
    if not items:
        return {}
    model = rs.FSRS(list(parameters) if parameters is not None else list(rs.DEFAULT_PARAMETERS))
    states = model.memory_state_batch(items)
    return {
        cid: MemoryState(float(s.stability), float(s.difficulty))
        for cid, s in zip(ids, states, strict=True)
    }


# ---- many histories replayed at once (import-anki, the sync merge) ---------------------------

_S_MIN_PY = 0.001  # py-fsrs' STABILITY_MIN (its own clamp, before the scheduler's)
_RATINGS = (Rating.AGAIN, Rating.AGAIN, Rating.HARD, Rating.GOOD, Rating.EASY)
_ORDINAL_1970 = 719_163  # date(1970, 1, 1).toordinal()
_KINDS: dict[str, ReviewKind] = {
    "new": "learn",
    "learning": "learn",
    "review": "review",
    "relearning": "relearn",
}


class _Days:
    """Study days and due dates of one calendar, from integer seconds, with caches: the UTC
    offset per UTC day (exact: a day whose offset differs at its two ends is computed review
    by review) and each due day's start."""

    def __init__(self, tz: ZoneInfo, day_starts_at: int):
        self.tz, self.h = tz, day_starts_at
        self._offsets: dict[int, int | None] = {}
        self._starts: dict[int, datetime] = {}

    def _offset_at(self, secs: int) -> int:
        off = datetime.fromtimestamp(secs, self.tz).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def today(self, secs: int) -> int:
        """`study_day(t).toordinal()` for a time `secs` whole seconds after the epoch:
        the date of the local wall time minus `day_starts_at` hours."""
        bucket = secs // DAY_SECONDS
        off = self._offsets.get(bucket, 0)
        if off == 0 and bucket not in self._offsets:
            lo = self._offset_at(bucket * DAY_SECONDS)
            hi = self._offset_at(bucket * DAY_SECONDS + DAY_SECONDS - 1)
            off = self._offsets[bucket] = lo if lo == hi else None
        if off is None:  # a UTC day with an offset change: this review's own offset
            off = self._offset_at(secs)
        return (secs + off - self.h * 3600) // DAY_SECONDS + _ORDINAL_1970

    def start(self, ordinal: int) -> datetime:
        """`day_start(date.fromordinal(ordinal))`, cached."""
        got = self._starts.get(ordinal)
        if got is None:
            got = self._starts[ordinal] = day_start(date.fromordinal(ordinal), self.tz, self.h)
        return got


def _floor_secs(t: datetime) -> int:
    """Whole seconds since the epoch (floor), as `anki_days._secs`."""
    return (t - _EPOCH) // _SECOND


def _sorted_history(history: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """In time order, stable (as `replay` sorts: a naive time raises its ValueError)."""
    try:
        return sorted(history, key=_FIRST)
    except TypeError:  # naive and aware times mixed
        return sorted(history, key=lambda r: require_utc(r[0]))


def replay_batch(
    scheduler: Scheduler,
    histories: Mapping[str, Iterable[tuple[datetime, Rating | int, int]]],
    *,
    cutoff: datetime | None = None,
    wanted: Mapping[str, Collection[int]] | None = None,
) -> dict[str, tuple[CardState, list[ReviewEntry | None]]]:
    """`Scheduler.replay` of many cards at once, with the same results.

    For each card id: (final state, entries), the entries aligned with the card's history
    sorted by time (stable, as `replay` sorts it). `wanted`: card id -> the indices (in that
    order) whose `ReviewEntry` the caller needs (the other places hold None; a card missing
    from `wanted` gets none); None builds every entry. `cutoff`: as `replay`'s.

    The arithmetic is `Scheduler.review`'s, operation for operation in 64-bit floats (py-fsrs'
    formulas with their clamps, the scheduler's clamps, fuzz, steps and day rules), so phases,
    steps, due dates, intervals and memory states equal the sequential replay's bit for bit
    (tests/test_batch_replay.py). What is saved is the per-review overhead: integer seconds
    and integer elapsed days, the other ratings' stabilities computed only where an interval
    needs them (`preview` computes all four), the fuzz seed only where an interval is fuzzed,
    cached study days and due-day starts, state objects only for the entries asked for, and
    intervals and due dates (fuzz seed, fuzz range) only where they can be seen: in those
    entries and the final state (no later answer reads them). What is left per review is
    Python; where intervals are needed, mostly the SHA-256 fuzz seed and the fuzz range.

    The cyclic garbage collector is paused meanwhile: tens of thousands of new objects, none
    of them cyclic, made it walk everything alive several times per batch (~30% of the time).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _replay_batch(scheduler, histories, cutoff=cutoff, wanted=wanted)
    finally:
        if collecting:
            gc.enable()


def _replay_batch(
    scheduler: Scheduler,
    histories: Mapping[str, Iterable[tuple[datetime, Rating | int, int]]],
    *,
    cutoff: datetime | None = None,
    wanted: Mapping[str, Collection[int]] | None = None,
) -> dict[str, tuple[CardState, list[ReviewEntry | None]]]:
    c = scheduler.config
    w = scheduler._fsrs.parameters
    e = math.e
    factor, decay = scheduler._factor, scheduler._decay
    k_ivl = c.desired_retention ** (1 / decay) - 1
    max_ivl = c.maximum_interval
    f_max = float(max_ivl)
    fuzz = c.fuzz
    lsteps, rsteps = c.learning_steps, c.relearning_steps
    days = _Days(c.tz, c.day_starts_at)
    cut_s = _floor_secs(require_utc(cutoff)) if cutoff is not None else None
    calendar = c.calendar
    # py-fsrs' constants, evaluated as it evaluates them
    init_d_easy = w[4] - (e ** (w[5] * (Rating.EASY - 1))) + 1  # unclamped: mean reversion
    e_w8 = e ** w[8]
    forget_short_div = e ** (w[17] * w[18])
    w6, w7, w9, w10, w11, w12, w13, w14, w15, w16, w19 = (
        w[6], w[7], w[9], w[10], w[11], w[12], w[13], w[14], w[15], w[16], w[19],
    )  # fmt: skip
    init_s = (0.0, *(float(min(max(max(w[x - 1], _S_MIN_PY), S_MIN), S_MAX)) for x in range(1, 5)))
    init_d = (
        0.0,
        *(float(min(max(w[4] - (e ** (w[5] * (x - 1))) + 1, 1.0), 10.0)) for x in range(1, 5)),
    )
    short_inc = (0.0, *(e ** (w[17] * (x - 3 + w[18])) for x in range(1, 5)))
    one_w7 = 1 - w7
    step_deltas: dict[float, timedelta] = {}

    # (the min/max calls of the originals are written as comparisons: the same values, faster)
    def stability(x: int, s: float, d: float, delta: int, retr: float) -> float:
        """`Scheduler.memory_after`'s stability for rating x from a state with memory."""
        if delta == 0:  # `_short_term_stability`
            inc = short_inc[x] * (s**-w19)
            if x >= 2 and inc < 1.0:
                inc = 1.0
            v = s * inc
        elif x == 1:  # `_next_forget_stability`
            v = w11 * (d**-w12) * (((s + 1) ** w13) - 1) * (e ** ((1 - retr) * w14))
            short = s / forget_short_div
            if short < v:
                v = short
        else:  # `_next_recall_stability`
            v = s * (
                1
                + e_w8
                * (11 - d)
                * (s**-w9)
                * ((e ** ((1 - retr) * w10)) - 1)
                * (w15 if x == 2 else 1)
                * (w16 if x == 4 else 1)
            )
        if v < _S_MIN_PY:  # py-fsrs' clamp, then the scheduler's
            v = _S_MIN_PY
        if v < S_MIN:
            v = S_MIN
        return float(v if v < S_MAX else S_MAX)

    def fuzzed(interval: float, minimum: int, f: float | None) -> int:
        """`preview`'s `fuzzed`, with `fuzz_bounds` inlined (the same operations)."""
        if f is None:  # min(max(round(interval), minimum, 1), maximum)
            v = math.floor(interval + 0.5)
            if v < minimum:
                v = minimum
            if v < 1:
                v = 1
            return v if v < max_ivl else max_ivl
        if minimum < 1:
            minimum = 1
        if minimum > max_ivl:
            minimum = max_ivl
        if interval < minimum:
            interval = float(minimum)
        if interval > f_max:
            interval = f_max
        if interval < 2.5:
            delta = 0.0
        else:  # `1.0 + sum(...)` over the three ranges, summed in the same order
            a = (interval if interval < 7.0 else 7.0) - 2.5
            b = (interval if interval < 20.0 else 20.0) - 7.0
            c = interval - 20.0
            delta = 1.0 + (
                0.15 * (a if a > 0.0 else 0.0)
                + 0.1 * (b if b > 0.0 else 0.0)
                + 0.05 * (c if c > 0.0 else 0.0)
            )
        lower = math.floor(interval - delta + 0.5)
        if lower < minimum:
            lower = minimum
        if lower > max_ivl:
            lower = max_ivl
        upper = math.floor(interval + delta + 0.5)
        if upper < minimum:
            upper = minimum
        if upper > max_ivl:
            upper = max_ivl
        if upper == lower and 2 < upper < max_ivl:
            upper = lower + 1
        v = math.floor(lower + f * (1 + upper - lower))
        return v if v < upper else upper

    out: dict[str, tuple[CardState, list[ReviewEntry | None]]] = {}
    for card_id, history in histories.items():
        reviews = _sorted_history(history)
        want = None if wanted is None else wanted.get(card_id, ())
        entries: list[ReviewEntry | None] = []
        seed = f"{card_id}\0"
        # the state, as plain values; `obj` is its CardState while built
        phase: Phase = "new"
        step: int | None = None
        s = d = 0.0
        has_memory = False
        due: datetime | None = None
        last: datetime | None = None
        last_s = 0
        reps = lapses = ivl = 0
        obj: CardState | None = CardState(card_id=card_id)
        final = len(reviews) - 1
        for index, (when, rating, duration) in enumerate(reviews):
            if when.tzinfo is not UTC:
                when = require_utc(when).astimezone(UTC)
            r = int(rating)
            if not 1 <= r <= 4:
                Rating(r)  # the ValueError `review` raises
            now_s = (when - _EPOCH) // _SECOND
            # -- what the answer does (phases and steps: integers only) --
            new_phase: Phase = "review"
            new_step: int | None = None
            lapse = False
            step_seconds = 0.0
            # the ratings whose intervals decide this answer's (None: a step, no interval)
            need: tuple[int, ...] | None = None
            kind: ReviewKind
            if phase == "review":
                kind = "review"
                if r == 1:
                    lapse = True
                    if rsteps:
                        new_phase, new_step, step_seconds = "relearning", 0, rsteps[0]
                    else:
                        need = _AGAIN
                else:
                    need = _HARD_GOOD if r != 4 else _HARD_GOOD_EASY
            else:
                if phase == "relearning":
                    new_phase, steps, kind = "relearning", rsteps, "relearn"
                else:
                    new_phase, steps, kind = "learning", lsteps, "learn"
                at = step if step is not None and phase != "new" else 0
                n_steps = len(steps)
                if r == 1:
                    if steps:
                        new_step, step_seconds = 0, steps[0]
                    else:
                        need = _AGAIN
                elif r == 3 and at + 1 < n_steps:
                    new_step, step_seconds = at + 1, steps[at + 1]
                elif r == 2 and at < n_steps:
                    if at == 0 and n_steps == 1:
                        step_seconds = min(steps[0] * 1.5, steps[0] + 86400.0)
                    elif at == 0:
                        step_seconds = (steps[0] + steps[1]) / 2.0
                    else:
                        step_seconds = steps[at]
                    new_step = at
                elif at >= n_steps:  # past the last step: Hard and Good graduate like reviews
                    need = _HARD_GOOD if r != 4 else _HARD_GOOD_EASY
                elif r == 4 and at + 1 < n_steps:
                    need = _EASY
                else:  # Good graduating from the last step, or Easy after its days
                    need = _GOOD if r == 3 else _GOOD_EASY
            # -- memory: (stability, difficulty) after the rating, as `memory_after` --
            if not has_memory:
                new_s = init_s[r]
                new_d = init_d[r]
                delta = 0
                retr = 0.0
            else:
                if cut_s is not None:
                    delta = max(
                        max(cut_s - last_s, 0) // DAY_SECONDS
                        - max(cut_s - now_s, 0) // DAY_SECONDS,
                        0,
                    )
                else:
                    assert last is not None
                    delta = max(anki_days.answer_elapsed_days(last, when, calendar), 0)
                retr = (1 + factor * delta / s) ** decay if delta else 0.0
                new_s = stability(r, s, d, delta, retr)
                # py-fsrs `_next_difficulty`, then `_clamp_difficulty`
                arg_2 = d + (10.0 - d) * -(w6 * (r - 3)) / 9.0
                new_d = float(min(max(w7 * init_d_easy + one_w7 * arg_2, 1.0), 10.0))
            # -- the interval: from the needed ratings' stabilities, fuzzed. Only where it is
            # seen: in an entry asked for (its after state, or the next one's before state) or
            # in the final state; nothing later depends on it (the next answer reads the
            # phase, step, memory, last review and counts, never the due date or interval) --
            graduate_days: int | None = None
            seen = want is None or index == final or index in want or index + 1 in want
            if need is not None and not seen:
                new_phase, new_step, new_due, new_ivl = "review", None, None, 0
            elif need is not None:
                raw = [0.0, 0.0, 0.0, 0.0, 0.0]
                for x in need:
                    sx = (
                        new_s
                        if x == r
                        else (init_s[x] if not has_memory else stability(x, s, d, delta, retr))
                    )
                    raw[x] = float(sx / factor * k_ivl)
                f = None
                if fuzz:  # `fuzz_factor(card_id, reps)`
                    digest = hashlib.sha256(f"{seed}{reps}".encode()).digest()
                    f = int.from_bytes(digest[:8], "big") / 2.0**64
                if need is _AGAIN:
                    graduate_days = fuzzed(raw[1], 1, f)
                elif need is _EASY:
                    graduate_days = fuzzed(raw[4], 1, f)
                elif need is _GOOD or need is _GOOD_EASY:
                    good = fuzzed(raw[3], 1, f)
                    graduate_days = good if r == 3 else fuzzed(raw[4], good + 1, f)
                else:  # hard <= good <= easy
                    hard = fuzzed(min(raw[2], raw[3]), 1, f)
                    if r == 2:
                        graduate_days = hard
                    else:
                        good = fuzzed(raw[3], hard + 1, f)
                        graduate_days = good if r == 3 else fuzzed(raw[4], good + 1, f)
            if graduate_days is not None:
                new_phase, new_step = "review", None
                new_due = days.start(days.today(now_s) + graduate_days)
                new_ivl = graduate_days
            elif need is None:
                step_delta = step_deltas.get(step_seconds)
                if step_delta is None:
                    step_delta = step_deltas[step_seconds] = timedelta(seconds=step_seconds)
                new_due = when + step_delta
                new_ivl = 0
            new_lapses = lapses + 1 if lapse else lapses
            if want is None or index in want:
                before = obj
                if before is None:
                    before = CardState(card_id, phase, step, s, d, due, last, reps, lapses, ivl)
                obj = CardState(
                    card_id, new_phase, new_step, new_s, new_d, new_due, when, reps + 1,
                    new_lapses, new_ivl,
                )  # fmt: skip
                entries.append(
                    ReviewEntry(card_id, when, _RATINGS[r], int(duration), before, obj, kind)
                )
            else:
                obj = None
                entries.append(None)
            phase, step, s, d, due, last, last_s = (
                new_phase, new_step, new_s, new_d, new_due, when, now_s,
            )  # fmt: skip
            has_memory = True
            reps += 1
            lapses = new_lapses
            ivl = new_ivl
        if obj is None:
            obj = CardState(card_id, phase, step, s, d, due, last, reps, lapses, ivl)
        out[card_id] = (obj, entries)
    return out


_AGAIN, _EASY, _GOOD = (1,), (4,), (3,)
_GOOD_EASY, _HARD_GOOD, _HARD_GOOD_EASY = (3, 4), (2, 3), (2, 3, 4)
