"""FSRS for many cards at once (issue 16, item 4). Pure.

`memory_states_batch`: where dlcards recomputes the FSRS memory state of every card from its
review log (the optimiser adopting new parameters: Anki's "reschedule" semantics), replaying
each history through py-fsrs costs 1-3 ms a card in Python. Here the same arithmetic (py-fsrs'
formulas and clamps, then the scheduler's, in 64-bit floats, with Anki's elapsed-day rule from
`dlcards.review.anki_days`) runs vectorised over the cards with numpy, about 150-250 times
faster, and agrees with the replay to ~1e-15 relative (tests/test_batch_fsrs.py bounds it by
1e-12; fsrs-rs' own batch, float32, was off by up to 8e-6).

`replay_batch`: `Scheduler.replay` of many cards (phases, steps, fuzz, due dates), bit for bit,
for import-anki and the sync merge.
"""

from __future__ import annotations

import gc
import hashlib
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import chain, repeat
from operator import attrgetter, itemgetter, sub
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dlcards.core.calendar import day_start
from dlcards.core.state import CardState, Phase, Rating, ReviewEntry, ReviewKind, require_utc
from dlcards.review import anki_days
from dlcards.review.anki_days import DAY_SECONDS, MemoryState
from dlcards.review.scheduling import S_MAX, S_MIN, Scheduler

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_FIRST = itemgetter(0)


def memory_states_batch(
    histories: Mapping[str, Sequence[tuple[Any, ...]]],
    cutoff: datetime | int,
    parameters: Sequence[float] | None = None,
) -> dict[str, MemoryState]:
    """`anki_days.memory_states` for many cards at once: each card's FSRS memory state from its
    history `(time, rating, ...)` (aware times, or whole seconds since the epoch; rated reviews
    1..4), as Anki recomputes it with the day cutoff `cutoff` (an aware time or whole seconds).
    Cards without reviews are left out. `parameters`: the 21 FSRS-6 weights, or None for the
    defaults (py-fsrs validates them, as for the replay: ConfigError).

    The replay's arithmetic (py-fsrs' formulas and clamps, then the scheduler's) in 64-bit
    floats, vectorised over the cards with numpy: one numpy step per review position across
    every card with that many reviews (the cards sorted by history length, so the ones still
    going are a prefix), the last few long histories finished one review at a time in Python
    (`_Model.step`, the replay's operations exactly). The same operations in the same order as
    the replay, except that the vectorised steps take `x ** y` as `exp(y * log(x))` (numpy's
    exp and log are vectorised, its pow is not): the results agree with the replay to a few
    ulps, relative differences up to ~1e-14 (worst measured 7e-15; tests/test_batch_fsrs.py
    bounds them by 1e-12). fsrs-rs' own batch computes in float32 (off by up to 8e-6).

    The cyclic garbage collector is paused meanwhile (as in `replay_batch`): a collection of
    the oldest generation, which the lists and states made here can set off, would walk every
    object alive, more than this whole call costs.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _memory_states_batch(histories, cutoff, parameters)
    finally:
        if collecting:
            gc.enable()


def _memory_states_batch(
    histories: Mapping[str, Sequence[tuple[Any, ...]]],
    cutoff: datetime | int,
    parameters: Sequence[float] | None,
) -> dict[str, MemoryState]:
    sched = anki_days.memory_scheduler(parameters)
    ids, lengths, back, ratings = _flatten(histories, cutoff)
    if not ids:
        return {}
    stability, difficulty = _memory(_Model(sched), lengths, back, ratings)
    return {
        cid: MemoryState(s, d)
        for cid, s, d in zip(ids, stability.tolist(), difficulty.tolist(), strict=True)
    }


if TYPE_CHECKING:
    from numpy import float64, int64
    from numpy.typing import NDArray

    _Floats = NDArray[float64]
    _Ints = NDArray[int64]

_WHOLE_SECOND = timedelta(microseconds=999_999)
_DAYS = attrgetter("days")
_TZ = attrgetter("tzinfo")
_SECOND_ITEM = itemgetter(1)
# tzinfos whose datetimes compare and subtract as instants even when they share the object
# (Python compares and subtracts two times with the same tzinfo as wall times)
_FIXED_TZ = frozenset({UTC, ZoneInfo("UTC")})
_CHUNK = 1024  # reviews handled per pass: the histories' objects stay in the CPU's cache


class _Slow(Exception):
    """A chunk that needs the per-review path (times in a zone with offset changes)."""


def _flatten(
    histories: Mapping[str, Sequence[tuple[Any, ...]]], cutoff: datetime | int
) -> tuple[list[str], _Ints, _Ints, _Ints]:
    """(card ids, history lengths, days back, ratings) of the non-empty histories: each sorted
    by time (stable, as the replay sorts), then laid end to end in the order of the ids. Days
    back: `anki_days.days_back` (whole seconds, Anki's `revlog id // 1000`, counted back from
    the whole second of `cutoff`); ratings checked 1..4 (ValueError, as `Rating(5)`).

    No Python step per review where it can be helped: the histories go through in chunks of
    about `_CHUNK` reviews (their objects stay in the cache across the passes), each chunk's
    times and ratings through `map` in C. Aware UTC times: `(cut + 999999 µs - t).days`
    is `max(cut - floor(t), 0) // 86400` for t before the cutoff (and <= 0 after it), in
    integer arithmetic. Integer seconds go straight into numpy. Other zones, naive times and
    mixed kinds take `_exact_chunk`."""
    import numpy as np

    cut_s = _floor_secs(require_utc(cutoff)) if isinstance(cutoff, datetime) else int(cutoff)
    cut = _EPOCH + timedelta(seconds=cut_s) + _WHOLE_SECOND
    ids: list[str] = []
    sizes: list[int] = []
    for card_id, history in histories.items():
        if history:
            ids.append(card_id)
            sizes.append(len(history))
    lengths = np.array(sizes, np.int64)
    total = int(lengths.sum())
    back = np.empty(total, np.int64)
    ratings = np.empty(total, np.int64)
    chunk: list[Sequence[tuple[Any, ...]]] = []
    at = size = 0
    for history in histories.values():
        if not history:
            continue
        chunk.append(history)
        size += len(history)
        if size >= _CHUNK:
            _chunk(chunk, size, cut, cut_s, back[at : at + size], ratings[at : at + size])
            at += size
            chunk, size = [], 0
    if chunk:
        _chunk(chunk, size, cut, cut_s, back[at : at + size], ratings[at : at + size])
    bad = (ratings < 1) | (ratings > 4)
    if bad.any():
        Rating(int(ratings[int(np.argmax(bad))]))  # the ValueError `Rating(r)` raises
    return ids, lengths, back, ratings


def _chunk(
    chunk: list[Sequence[tuple[Any, ...]]],
    n: int,
    cut: datetime,
    cut_s: int,
    back: _Ints,
    ratings: _Ints,
) -> None:
    """`_flatten` of a few histories (`n` reviews), into `back` and `ratings`."""
    import numpy as np

    first = _FIRST
    times: Sequence[Any]
    marks: Sequence[Any]
    try:
        flat = list(chain.from_iterable([sorted(h, key=first) for h in chunk]))
        times, marks = list(map(first, flat)), list(map(_SECOND_ITEM, flat))
        if isinstance(times[0], datetime):
            if not _FIXED_TZ.issuperset(map(_TZ, times)):
                raise _Slow
            back[:] = np.fromiter(map(_DAYS, map(sub, repeat(cut), times)), np.int64, n)
            np.maximum(back, 0, out=back)
        else:
            secs = np.fromiter(times, np.int64, n)
            np.floor_divide(np.maximum(cut_s - secs, 0), DAY_SECONDS, out=back)
    except (TypeError, AttributeError, _Slow):
        # other zones (sorted as instants, as the replay sorts), naive times (its ValueError),
        # integer seconds and datetimes mixed: one review at a time
        times, marks = _exact_chunk(chunk)
        secs = np.fromiter(times, np.int64, n)
        np.floor_divide(np.maximum(cut_s - secs, 0), DAY_SECONDS, out=back)
    try:  # small integers (the Rating enum among them) pack into bytes fastest
        ratings[:] = np.frombuffer(bytes(marks), np.uint8)
    except (TypeError, ValueError):  # not 0..255 (or not integers): ValueError below
        ratings[:] = np.fromiter(map(int, marks), np.int64, n)


def _exact_chunk(chunk: list[Sequence[tuple[Any, ...]]]) -> tuple[list[int], list[Any]]:
    """(whole seconds, ratings) of the histories, each sorted by its times as instants
    (microseconds; stable), aware datetimes or whole seconds."""
    secs: list[int] = []
    marks: list[Any] = []
    for history in chunk:
        us = [
            t * 1_000_000 if isinstance(t, int) else (require_utc(t) - _EPOCH) // _MICRO
            for t, *_ in history
        ]
        order = sorted(range(len(us)), key=us.__getitem__)
        secs.extend(us[i] // 1_000_000 for i in order)
        marks.extend(history[i][1] for i in order)
    return secs, marks


_MICRO = timedelta(microseconds=1)


class _Model:
    """The replay's constants for one parameter set, evaluated as py-fsrs and the scheduler
    evaluate them (tables indexed by rating 0..4; index 0 unused)."""

    def __init__(self, sched: Scheduler):
        w = sched._fsrs.parameters
        e = math.e
        self.w = w
        self.factor, self.decay = sched._factor, sched._decay
        self.init_s = [0.0] + [
            float(min(max(max(w[x - 1], _S_MIN_PY), S_MIN), S_MAX)) for x in range(1, 5)
        ]
        self.init_d = [0.0] + [
            float(min(max(w[4] - (e ** (w[5] * (x - 1))) + 1, 1.0), 10.0)) for x in range(1, 5)
        ]
        self.init_d_easy = w[4] - (e ** (w[5] * (Rating.EASY - 1))) + 1  # unclamped
        self.e_w8 = e ** w[8]
        self.forget_short_div = e ** (w[17] * w[18])
        self.short_inc = [0.0] + [e ** (w[17] * (x - 3 + w[18])) for x in range(1, 5)]
        self.delta_d = [0.0] + [-(w[6] * (x - 3)) for x in range(1, 5)]
        self.hard = [1.0, 1.0, float(w[15]), 1.0, 1.0]
        self.easy = [1.0, 1.0, 1.0, 1.0, float(w[16])]
        self.one_w7 = 1 - w[7]

    def step(self, s: float, d: float, r: int, delta: int) -> tuple[float, float]:
        """One review from (s, d) with rating r after `delta` days: `Scheduler.memory_after`
        in Python floats (the tail of long histories; the vector step below in numpy)."""
        w, e = self.w, math.e
        if delta == 0:  # py-fsrs `_short_term_stability`
            inc = self.short_inc[r] * (s ** -w[19])
            if r >= 2 and inc < 1.0:
                inc = 1.0
            v = s * inc
        else:
            retr = (1 + self.factor * delta / s) ** self.decay
            if r == 1:  # `_next_forget_stability`
                v = w[11] * (d ** -w[12]) * (((s + 1) ** w[13]) - 1) * (e ** ((1 - retr) * w[14]))
                short = s / self.forget_short_div
                if short < v:
                    v = short
            else:  # `_next_recall_stability`
                v = s * (
                    1
                    + self.e_w8
                    * (11 - d)
                    * (s ** -w[9])
                    * ((e ** ((1 - retr) * w[10])) - 1)
                    * self.hard[r]
                    * self.easy[r]
                )
        if v < _S_MIN_PY:  # py-fsrs' clamp, then the scheduler's
            v = _S_MIN_PY
        v = min(max(v, S_MIN), S_MAX)
        arg_2 = d + (10.0 - d) * self.delta_d[r] / 9.0  # `_next_difficulty`, clamped
        nd = min(max(w[7] * self.init_d_easy + self.one_w7 * arg_2, 1.0), 10.0)
        return float(v), float(nd)


_TAIL = 8  # fewer cards still going: Python steps (1 µs a review) instead of numpy (~40 µs a step)


def _memory(model: _Model, lengths: _Ints, back: _Ints, ratings: _Ints) -> tuple[_Floats, _Floats]:
    """Final (stability, difficulty) of each history (laid end to end, `lengths` each).

    Position-major: the cards ranked by length (longest first), the k-th reviews of the cards
    that have one are a slice of the reordered arrays, and the cards with one are the first
    `active[k]` of the ranking. Each step updates those in place with the replay's formulas
    (every branch computed, the right one picked; what depends only on the rating or the
    elapsed days is computed for all reviews beforehand). Once fewer than `_TAIL` cards are
    left, they finish one review at a time in `_Model.step`."""
    import numpy as np

    w = model.w
    n_cards = len(lengths)
    starts = np.cumsum(lengths) - lengths
    # elapsed days: the drop in days back from the previous review (0 for the first)
    delta = np.empty_like(back)
    delta[0] = 0
    np.subtract(back[:-1], back[1:], out=delta[1:])
    np.maximum(delta, 0, out=delta)
    # the position-major order
    by_length = np.argsort(-lengths, kind="stable")
    rank = np.empty_like(by_length)
    rank[by_length] = np.arange(n_cards)
    longest = int(lengths[by_length[0]])
    active = n_cards - np.cumsum(np.bincount(lengths, minlength=longest + 1))[:longest]
    offsets = np.cumsum(active) - active
    card = np.repeat(np.arange(n_cards), lengths)
    where = offsets[np.arange(len(back)) - starts[card]] + rank[card]
    r_pm = np.empty_like(ratings)
    r_pm[where] = ratings
    dt_pm = np.empty(len(back), np.float64)
    dt_pm[where] = delta
    # per review: what depends on the rating or the elapsed days only
    short_inc = np.array(model.short_inc)[r_pm]
    floor = np.where(r_pm >= 2, 1.0, -np.inf)  # Hard, Good, Easy: the increase is at least 1
    delta_d = np.array(model.delta_d)[r_pm]
    bonus = (np.array(model.hard) * np.array(model.easy))[r_pm]  # one of them is 1: exact
    f_dt = model.factor * dt_pm
    same_day = dt_pm == 0
    forget = r_pm == 1
    s = np.array(model.init_s)[r_pm[:n_cards]]
    d = np.array(model.init_d)[r_pm[:n_cards]]
    decay, fsd, e_w8 = model.decay, model.forget_short_div, model.e_w8
    w7_easy, one_w7 = w[7] * model.init_d_easy, model.one_w7
    s_lo = max(_S_MIN_PY, S_MIN)  # max(max(v, a), b) == max(v, max(a, b))
    k = 1
    while k < longest and int(active[k]) >= _TAIL:
        m = int(active[k])
        o = int(offsets[k])
        sl = slice(o, o + m)
        sk, dk = s[:m], d[:m]
        # x ** y as exp(y * log(x)), e ** x as exp(x): numpy's exp and log are vectorised,
        # its pow is not (a few ulps from the replay's pow, ~1e-15 relative)
        log_s = np.log(sk)
        # same day: `_short_term_stability`
        v_short = np.exp(log_s * -w[19])
        v_short *= short_inc[sl]
        np.maximum(v_short, floor[sl], out=v_short)
        v_short *= sk  # s * inc
        # the forgetting curve, `_next_forget_stability`, `_next_recall_stability`
        one_retr = f_dt[sl] / sk
        one_retr += 1
        np.log(one_retr, out=one_retr)
        one_retr *= decay
        np.exp(one_retr, out=one_retr)
        np.subtract(1, one_retr, out=one_retr)
        v_forget = np.exp(np.log(dk) * -w[12])
        v_forget *= w[11]
        v_forget *= np.exp(np.log(sk + 1) * w[13]) - 1
        v_forget *= np.exp(one_retr * w[14])
        np.minimum(v_forget, sk / fsd, out=v_forget)
        v = (11 - dk) * e_w8
        v *= np.exp(log_s * -w[9])
        v *= np.exp(one_retr * w[10]) - 1
        v *= bonus[sl]
        v += 1
        v *= sk
        np.copyto(v, v_forget, where=forget[sl])
        np.copyto(v, v_short, where=same_day[sl])
        np.maximum(v, s_lo, out=v)  # py-fsrs' clamp, then the scheduler's
        np.minimum(v, S_MAX, out=sk)
        # `_next_difficulty`
        nd = (10.0 - dk) * delta_d[sl]
        nd /= 9.0
        nd += dk
        nd *= one_w7
        nd += w7_easy
        np.maximum(nd, 1.0, out=nd)
        np.minimum(nd, 10.0, out=dk)
        k += 1
    if k < longest:  # the few long histories left: one review at a time
        step = model.step
        for j in range(int(active[k])):
            c = int(by_length[j])
            sj, dj = float(s[j]), float(d[j])
            a = int(starts[c])
            rs = ratings[a + k : a + int(lengths[c])].tolist()
            ds = delta[a + k : a + int(lengths[c])].tolist()
            for rj, dtj in zip(rs, ds, strict=True):
                sj, dj = step(sj, dj, rj, dtj)
            s[j], d[j] = sj, dj
    out_s = np.empty_like(s)
    out_d = np.empty_like(d)
    out_s[by_length] = s
    out_d[by_length] = d
    return out_s, out_d


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
