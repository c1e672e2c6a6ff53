"""The queries behind `dlcards stats`: the review log reduced to the figures the stats show
(`dlcards.insights.log_figures`), without reading it into Python objects.

`log_figures` / `log_figures_table`: one sequential scan hands SQLite's two packed integers per
review over as the text of one `group_concat` per range of ids (fewer Python objects than row
tuples: a third less CPU), decoded into small numpy columns (~23 MB for a million reviews);
study days, distinct cards per day, the state before each review (the card's previous row),
the retained reviews and the per-card sums are integer numpy operations after one stable sort
by card. No review becomes an object. (SQLite's own GROUP BY over a million rows sorts them in
a temporary b-tree once per figure family, measured several times slower than this one scan;
see docs/notes/issue-16-performance.md.)

The figures of every study day before the last one are kept between runs (a cache slot per
database file, with the per-card sums over those days and each card's state after its last
review there): a later run reads only the rows from the last kept day on, through the time
index, as long as the log only grew after them (`log_changes`, migration 9, counts every update
and delete; an appended row older than the kept days, a row under an old id, another file or
another calendar all mean a full scan). `review_columns` (every review as three integer
columns) stays for the tests and tools that want the rows themselves.

Study days: a study day starts at the calendar's local hour, and a zone with daylight saving
time has 23- and 25-hour days, so the day of a review is found by binary search among the day
starts of the log's span, computed by the calendar itself (`StudyCalendar.day_start`): every
review's day is exactly `StudyCalendar.study_day(time)`.

*Retained* reviews are the first retention review of each (card, study day) in (time, id)
order, as `dlcards.insights.retention.first_retention_reviews` defines them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import StoreError
from dlcards.insights.log_figures import CardFigures, DayFigures, DurationFigures, LogFigures
from dlcards.insights.retention import MATURE_DAYS, PassFail
from dlcards.insights.state_arrays import from_micros, micros
from dlcards.store.migrations import PACKED_DURATION_SHIFT, PACKED_LOW_SQL, PACKED_MATURE_DAYS
from dlcards.store.rows import _at, _ts
from dlcards.system.cache import Cache, Schema, key_of

__all__ = [
    "CardTable",
    "LogColumns",
    "first_review_time",
    "log_figures",
    "log_figures_table",
    "review_columns",
    "review_span",
]

# the flags packed below the duration (`duration_ms << _SHIFT | flags`)
_RATING = 7  # bits 0-2: the rating, 1..4
_LEARN, _REVIEW, _RELEARN, _MANUAL = 8, 16, 32, 64  # the review's kind ('import' has none)
_BEFORE_NEW, _BEFORE_REVIEW = 128, 256  # the card's phase before the review
_BEFORE_DAY, _BEFORE_MATURE = 512, 1024  # its interval before: >= 1 day, >= MATURE_DAYS
_SHIFT = 11

# the lean log (migration 7): integer times and card numbers, kind and rating in `info`; the
# phase and interval before a review come from the card's previous row (numpy, below) unless
# the row stores its `before` (JSON: [phase, step, ..., interval]). Three integers a row (the
# Python row tuples are most of the scan's cost): time, the card number with the state after
# (interval << 2 | phase) and the stored before (the same + 1; 0: none) packed above it, and
# duration << _SHIFT | the flags. Intervals are capped (only >= 1 and >= MATURE_DAYS matter).
_CARD_BITS, _STATE_BITS = 24, 18
_STATE = "((max(min({ivl}, 65535), 0) << 2) | ({phase}))"  # SQLite: << and | bind alike
_COLUMNS = f"""
SELECT time,
       card
       | ({_STATE.format(ivl="interval_days", phase="info >> 5")} << {_CARD_BITS})
       | (CASE WHEN before IS NULL THEN 0
               ELSE {_STATE.format(ivl="json_extract(before, '$[8]')", phase="json_extract(before, '$[0]')")} + 1
          END << {_CARD_BITS + _STATE_BITS}),
       (duration_ms << {_SHIFT}) | ((info & 3) + 1)
       | CASE (info >> 2) & 7 WHEN 1 THEN {_REVIEW} WHEN 0 THEN {_LEARN}
                              WHEN 2 THEN {_RELEARN} WHEN 3 THEN {_MANUAL} ELSE 0 END
       , id
FROM review_log
WHERE id > ?
ORDER BY id"""
_CHUNK = 16384
# first and last review time through the whole-second time index (`time / 1000000`)
_SPAN = (
    "SELECT (SELECT min(time) FROM review_log WHERE time / 1000000 = "
    "(SELECT min(time / 1000000) FROM review_log)), "
    "(SELECT max(time) FROM review_log WHERE time / 1000000 = "
    "(SELECT max(time / 1000000) FROM review_log))"
)


def review_span(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """The first and last review times (stored text), or None for an empty log."""
    row = conn.execute(_SPAN).fetchone()
    if row is None or row[0] is None:
        return None
    return str(_ts(_at(row[0]))), str(_ts(_at(row[1])))


class LogColumns:
    """The review log as three integer columns, in review id order: `time_us` (microseconds
    since the epoch), `card` (the card's row id in `cards`) and `packed` (see `_COLUMNS`)."""

    def __init__(self, time_us: np.ndarray, card: np.ndarray, packed: np.ndarray):
        self.time_us, self.card, self.packed = time_us, card, packed

    def __len__(self) -> int:
        return int(self.time_us.shape[0])

    def flag(self, bit: int) -> np.ndarray:
        out: np.ndarray = (self.packed & bit) != 0
        return out

    @property
    def rating(self) -> np.ndarray:
        return self.packed & _RATING

    @property
    def duration_ms(self) -> np.ndarray:
        return self.packed >> _SHIFT


def review_columns(conn: sqlite3.Connection) -> LogColumns:
    """Every review as integers, in review id order (one scan; `log_figures` reads less)."""
    _check_card_numbers(conn)
    return _columns_of(_scan(conn, 0)[0])


def _check_card_numbers(conn: sqlite3.Connection) -> None:
    if int(conn.execute("SELECT coalesce(max(id), 0) FROM cards").fetchone()[0]) >> _CARD_BITS:
        raise StoreError("more than 16 million card numbers: the statistics cannot pack them")


def _scan(conn: sqlite3.Connection, after_id: int) -> tuple[np.ndarray, int]:
    """The raw columns of the rows with id > `after_id` (and the last id read), read in
    chunks into arrays sized by a count first (no row outlives its chunk). No transaction is
    opened on the caller's connection: rows added between the count and the scan grow them."""
    n = int(conn.execute("SELECT count(*) FROM review_log WHERE id > ?", (after_id,)).fetchone()[0])
    data = np.empty((n, 3), dtype=np.int64)
    at = 0
    last = 0
    cur = conn.execute(_COLUMNS, (after_id,))
    while rows := cur.fetchmany(_CHUNK):
        chunk = np.fromiter(itertools.chain.from_iterable(rows), np.int64, 4 * len(rows))
        chunk = chunk.reshape(-1, 4)
        last = int(chunk[-1, 3])  # the id
        if at + len(rows) > len(data):
            data = np.concatenate((data[:at], np.empty((len(rows), 3), np.int64)))
        data[at : at + len(rows)] = chunk[:, :3]
        at += len(rows)
    return data[:at], last


def _columns_of(data: np.ndarray) -> LogColumns:
    data = data.copy()  # the kept rows stay as read
    time_us, both, packed = data[:, 0], data[:, 1], data[:, 2]
    state_mask = (1 << _STATE_BITS) - 1
    after = (both >> _CARD_BITS) & state_mask
    stored = (both >> (_CARD_BITS + _STATE_BITS)) - 1
    both &= (1 << _CARD_BITS) - 1  # now the card number alone
    packed |= _before_flags(time_us, both, after, stored)
    return LogColumns(time_us, both, packed)  # views: no second copy


def _before_flags(
    time_us: np.ndarray, card: np.ndarray, after: np.ndarray, stored: np.ndarray
) -> np.ndarray:
    """The before-phase and before-interval flags of every review: the state before a review
    is its card's previous review's state after (in (time, id) order: the sort is stable and
    the rows come in id order), a new card's for its first, or the one the row stores.
    `after` / `stored`: interval_days << 2 | phase code (-1: none stored)."""
    before = np.zeros(len(card), dtype=np.int64)  # new: phase 0, interval 0
    if len(card) > 1:
        # (card, time, id) order; a stable sort by card alone when ids already run in time order
        if _in_time_order(time_us):
            order = np.argsort(card, kind="stable")
        else:
            order = np.lexsort((time_us, card))
        same = card[order[1:]] == card[order[:-1]]
        before[order[1:][same]] = after[order[:-1][same]]
    has = stored >= 0
    before[has] = stored[has]
    phase, interval = before & 3, before >> 2
    flags = np.where(phase == 0, _BEFORE_NEW, 0) | np.where(phase == 2, _BEFORE_REVIEW, 0)
    flags |= np.where(
        interval >= MATURE_DAYS,
        _BEFORE_DAY | _BEFORE_MATURE,
        np.where(interval >= 1, _BEFORE_DAY, 0),
    )
    return flags.astype(np.int64)


def _in_time_order(time_us: np.ndarray) -> bool:
    """Whether the rows (in id order) are also in time order: then (time, id) order is id
    order and one stable sort by another key keeps it (imports of old reviews break it)."""
    return bool(len(time_us) < 2 or (time_us[1:] >= time_us[:-1]).all())


def _day_index(cal: StudyCalendar, time_us: np.ndarray, first: date, last: date) -> np.ndarray:
    """The study day of every time, as an offset from `first` (binary search among the day
    starts the calendar computes)."""
    n = (last - first).days + 1
    starts = np.array(
        [
            int(cal.day_start(first + timedelta(days=i)).timestamp()) * 1_000_000
            for i in range(n + 1)
        ],
        dtype=np.int64,
    )
    return np.searchsorted(starts, time_us, side="right") - 1


def _count(index: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    if mask is not None:
        index = index[mask]
    return np.bincount(index, minlength=n).astype(np.int64)


def _sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    # float64 sums of integers are exact below 2**53 ms (285,000 years of reviewing), so also
    # in parts: a quarter million rows at a time (their intp / float64 copies are the peak)
    out = np.zeros(n, np.float64)
    for i in range(0, len(index), _HISTOGRAM_ROWS):
        at = slice(i, i + _HISTOGRAM_ROWS)
        out += np.bincount(index[at], weights=values[at], minlength=n)
    return np.rint(out).astype(np.int64)


def _unique(values: np.ndarray) -> np.ndarray:
    """Distinct values (sorting: numpy's hash-based `unique` is slower on a million ints)."""
    s = np.sort(values)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def _distinct_per(day: np.ndarray, card: np.ndarray, n_days: int, width: int) -> np.ndarray:
    pairs = _unique(day * width + card)
    return np.bincount(pairs // width, minlength=n_days).astype(np.int64)


# -- log_figures: the figures in two parts, the older days kept ----------------------------------
# Two integers a review, built by SQLite and handed over as the text of one `group_concat` per
# chunk of ids (measured: a third less CPU than the sqlite3 row tuples of the same integers):
#   v1 = (time - base) << 12 | info (rating, kind, phase after: bits 0-6)
#        | the interval after as a class (0: < 1 day, 1: >= 1, 2: >= MATURE_DAYS) << 7
#   v2 = card | stored before (1 | phase << 1 | class << 3) << 24 | duration_ms << 29
# The figures of every study day before the last one (and the per-card sums over them, each
# card's state after its last review there) are kept in a cache slot per database file; a later
# run reads only the rows of the last kept day onwards through the time index, as long as the
# log only grew after them (`log_changes` counts every other change: migration 9).
# The rows come from `review_log.packed` (migration 11: card, stored before, info and interval
# class in bits 0-37, the duration above) and `time - base`: two integers a row, no per-row
# expression. A range whose rows lack `packed` (a duration outside +-2**24 ms) is read with
# the same low bits computed from the columns (`PACKED_LOW_SQL`) and the duration apart.
_LOW_MASK = (1 << PACKED_DURATION_SHIFT) - 1
_PACKED_CHUNK = 131_072  # ids per `group_concat`
_COUNT_FROM = 1 << 22  # spans of ids above this are counted before the arrays are sized
# two `group_concat`s (one per value) rather than one of `a || ',' || b`: the per-row
# concatenation costs more than a second aggregate; the rows come in rowid order in both
_TEXT_ROWS = (
    "SELECT group_concat(time - ?, ','), group_concat(packed, ','), count(*) FROM review_log "
    "WHERE id > ? AND id <= ?"
)
_PLAIN_ROWS = (
    f"SELECT time - ?, {PACKED_LOW_SQL}, duration_ms FROM review_log WHERE id > ? AND id <= ? "
    "ORDER BY id"
)
_TAIL_ROWS = (
    f"SELECT id, time - ?, {PACKED_LOW_SQL}, duration_ms FROM review_log "
    "WHERE time / 1000000 >= ? AND time >= ?"
)
_MIN_TIME = (
    "SELECT min(time) FROM review_log WHERE time / 1000000 = "
    "(SELECT min(time / 1000000) FROM review_log)"
)
_FIGURES = Schema("stats-log-figures", "1")
_KEEP_AT_LEAST = 20_000  # rows before the last day: below this a scan costs less than the slot
_CARD_MASK = (1 << _CARD_BITS) - 1
_DAY_COLUMNS = 13  # reviews cards new again learn review relearn ms lapses yp yf mp mf
_SUMS = 5  # review_ms review_n any_ms any_n learn_ms


class _Rows:
    """Decoded rows in id order."""

    def __init__(self, t: np.ndarray, low: np.ndarray, duration: np.ndarray, base: int):
        """`t`: time - base; `low`: bits 0-37 of `review_log.packed`."""
        # small integer types: a million reviews are ~23 MB here
        self.time_us = t + base
        info = ((low >> 29) & 127).astype(np.int8)
        self.info = info
        self.after = (((low >> 36) & 3).astype(np.int8) << 2) | (info >> 5)  # class << 2 | phase
        self.card = (low & _CARD_MASK).astype(np.int32)
        sb = ((low >> 24) & 31).astype(np.int8)
        self.stored = np.where(sb & 1, ((sb >> 3) << 2) | ((sb >> 1) & 3), -1).astype(np.int8)
        self.duration = duration

    def split(self, first: np.ndarray) -> tuple[_Rows, _Rows]:
        """(the rows where `first` holds, the others), each in id order; views when the
        first ones come first (the usual log: the last day's rows are the last rows)."""
        k = int(np.count_nonzero(first))
        if first[:k].all():
            return self.take(slice(0, k)), self.take(slice(k, None))
        return self.take(np.nonzero(first)[0]), self.take(np.nonzero(~first)[0])

    def __len__(self) -> int:
        return int(self.card.shape[0])

    def take(self, index: np.ndarray | slice) -> _Rows:
        out = object.__new__(_Rows)
        for k in ("time_us", "info", "after", "card", "stored", "duration"):
            setattr(out, k, getattr(self, k)[index])
        return out


def _all_rows(conn: sqlite3.Connection, base: int) -> _Rows:
    """Every review, in id order (ranges of ids: each `group_concat` runs in rowid order)."""
    lo, hi = conn.execute("SELECT min(id) - 1, max(id) FROM review_log").fetchone()
    if hi is None:
        e = np.zeros(0, np.int64)
        return _Rows(e, e, e, base)
    if MATURE_DAYS != PACKED_MATURE_DAYS:  # `packed` classes intervals by the old threshold
        return _plain_rows(conn, base, lo, hi)
    n = hi - lo  # ids are unique integers: at most this many rows, known without a scan
    if n > _COUNT_FROM:  # a wide span of ids: count the rows (a pass over the log's index)
        count = conn.execute("SELECT count(*) FROM review_log").fetchone()[0]
        if n > 4 * count + _PACKED_CHUNK:  # ids far apart (many rows gone): by rows instead
            return _plain_rows(conn, base, lo, hi)
        n = count
    step = _PACKED_CHUNK
    # filled in place (no list of parts next to their concatenation); np.empty leaves the
    # pages of rows that never come (ids of deleted reviews) untouched
    t, packed = np.empty(n, np.int64), np.empty(n, np.int64)
    duration: np.ndarray | None = None  # only when some range had no `packed`
    filled = 0
    at = lo
    while at < hi:
        text1, text2, count = conn.execute(_TEXT_ROWS, (base, at, at + step)).fetchone()
        if count:
            values1 = np.fromstring(text1 or "", dtype=np.int64, sep=",")
            values2 = np.fromstring(text2 or "", dtype=np.int64, sep=",")
            if len(values1) != count:  # rows changed between the two aggregates
                return _plain_rows(conn, base, lo, hi)
            if filled + count > len(t):  # rows put under old ids meanwhile
                t = np.concatenate((t[:filled], np.empty(count, np.int64)))
                packed = np.concatenate((packed[:filled], np.empty(count, np.int64)))
                if duration is not None:
                    duration = np.concatenate((duration[:filled], np.empty(count, np.int64)))
            t[filled : filled + count] = values1
            if len(values2) == count:
                packed[filled : filled + count] = values2
                if duration is not None:
                    duration[filled : filled + count] = values2 >> PACKED_DURATION_SHIFT
            else:  # a duration too long to pack: this range column by column
                part = _raw_rows(conn, base, at, at + step)
                if len(part) != count:
                    return _plain_rows(conn, base, lo, hi)
                if duration is None:
                    duration = np.empty(len(t), np.int64)
                    duration[:filled] = packed[:filled] >> PACKED_DURATION_SHIFT
                packed[filled : filled + count] = part.low
                duration[filled : filled + count] = part.duration
            filled += count
            del values1, values2
        at += step
    t, packed = t[:filled], packed[:filled]
    if duration is None:
        return _Rows(t, packed & _LOW_MASK, packed >> PACKED_DURATION_SHIFT, base)
    return _Rows(t, packed & _LOW_MASK, duration[:filled], base)


class _Raw:
    """Rows as read by `_PLAIN_ROWS`: time - base, the low bits, the duration."""

    def __init__(self, data: np.ndarray):
        self.t, self.low, self.duration = data[:, 0], data[:, 1], data[:, 2]

    def __len__(self) -> int:
        return int(self.t.shape[0])


def _raw_rows(conn: sqlite3.Connection, base: int, lo: int, hi: int) -> _Raw:
    cur = conn.execute(_PLAIN_ROWS, (base, lo, hi))
    chunks = []
    while rows := cur.fetchmany(_CHUNK):
        chunks.append(np.fromiter(itertools.chain.from_iterable(rows), np.int64, 3 * len(rows)))
    return _Raw(np.concatenate(chunks).reshape(-1, 3) if chunks else np.zeros((0, 3), np.int64))


def _plain_rows(conn: sqlite3.Connection, base: int, lo: int, hi: int) -> _Rows:
    raw = _raw_rows(conn, base, lo, hi)
    return _Rows(raw.t, raw.low, raw.duration, base)


def _tail_rows(conn: sqlite3.Connection, cut_us: int) -> _Rows:
    """The reviews at or after `cut_us` (through the time index), in id order."""
    rows = conn.execute(_TAIL_ROWS, (cut_us, cut_us // 1_000_000, cut_us)).fetchall()
    data = np.array(rows, dtype=np.int64).reshape(-1, 4)
    data = data[np.argsort(data[:, 0], kind="stable")]
    return _Rows(data[:, 1], data[:, 2], data[:, 3], cut_us)


def _part(rows: _Rows, cal: StudyCalendar, init: np.ndarray | None) -> dict[str, Any]:
    """The figures of `rows` (whole study days, in id order), every card's state before its
    first row here being `init[card]` (-1 or beyond: new)."""
    card, t = rows.card, rows.time_us
    n = len(rows)
    width = int(card.max()) + 1 if n else 0
    if init is not None:
        width = max(width, len(init))
    out: dict[str, Any] = {
        "ordinals": np.zeros(0, np.int64),
        "days": np.zeros((0, _DAY_COLUMNS), np.int64),
        "cards": np.zeros((width, 4), np.int64),
        "learned": np.zeros(width, bool),
        "last": np.full(width, -1, np.int64) if init is None else _pad(init, width, -1),
        "sums": np.zeros(_SUMS, np.int64),
        "rows": n,
    }
    if not n:
        return out
    first = cal.study_day(from_micros(int(t.min())))
    last = cal.study_day(from_micros(int(t.max())))
    n_days = (last - first).days + 1
    day = _day_index(cal, t, first, last).astype(np.int32)
    # (card, time, id) order: the rows come in id order
    order = _card_order(card, t)
    co = card[order]
    new_card = np.empty(n, bool)
    new_card[0] = True
    np.not_equal(co[1:], co[:-1], out=new_card[1:])
    # the state before each review: the card's previous review's after, else `init`, else new
    after = rows.after
    before = np.empty(n, np.int8)
    before[order[1:]] = after[order[:-1]]
    firsts = order[new_card]
    if init is None:
        before[firsts] = 0
    else:
        fc = card[firsts]
        known = np.full(len(fc), -1, np.int64)
        inside = fc < len(init)
        known[inside] = init[fc[inside]]
        before[firsts] = np.maximum(known, 0)
    del firsts
    has = rows.stored >= 0
    before[has] = rows.stored[has]
    del has
    info = rows.info
    again = (info & 3) == 0
    kind = (info >> 2) & 7
    learn, review, manual = kind == 0, kind == 1, kind == 3
    del kind
    b_phase, b_class = before & 3, before >> 2
    del before
    lapse = again & (b_phase == 2)
    duration = rows.duration
    # distinct (card, day) pairs along the sorted order (days never decrease within a card)
    do = day[order]
    pair = new_card.copy()
    pair[1:] |= do[1:] != do[:-1]

    def starts(mask_o: np.ndarray) -> np.ndarray:
        """Of the sorted positions where mask_o holds: those that begin a (card, day) pair."""
        pos = np.nonzero(mask_o)[0]
        if not len(pos):
            return pos
        c, d = co[pos], do[pos]
        keep = np.empty(len(pos), bool)
        keep[0] = True
        keep[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
        return pos[keep]

    new_pairs = starts((learn & (b_phase == 0))[order])
    first_of = order[starts((~manual & (review | (b_class >= 1)))[order])]
    del manual, b_phase
    f_fail = again[first_of]
    f_mature = b_class[first_of] == 2
    del b_class
    f_day = day[first_of]

    def count(index: np.ndarray) -> np.ndarray:
        return _count(index, n_days)

    # the per-day counts by kind, rating and lapse from one histogram of (day, kind, again,
    # lapse) (8 * 2 * 2 cells a day), the retained ones from one of (day, fail, mature)
    def cells(at: slice) -> np.ndarray:
        cell = day[at].astype(np.int64)
        cell <<= 3
        cell |= (info[at] >> 2) & 7
        cell <<= 1
        cell |= again[at]
        cell <<= 1
        cell |= lapse[at]
        return cell

    h = _histogram(n, cells, n_days << 5).reshape(n_days, 8, 2, 2)
    per_kind = h.sum(axis=(2, 3))
    rf = (f_day.astype(np.int64) << 2) | (f_fail.astype(np.int64) << 1) | f_mature
    r = np.bincount(rf, minlength=n_days << 2).reshape(n_days, 2, 2)  # [day, fail, mature]
    del rf
    table = np.stack(
        [
            per_kind.sum(axis=1),
            count(do[pair]),
            count(do[new_pairs]),
            h[:, :, 1, :].sum(axis=(1, 2)),
            per_kind[:, 0],
            per_kind[:, 1],
            per_kind[:, 2],
            _sum(day, duration, n_days),
            h[:, :, :, 1].sum(axis=(1, 2)),
            r[:, 0, 0],
            r[:, 1, 0],
            r[:, 0, 1],
            r[:, 1, 1],
        ],
        axis=1,
    ).astype(np.int64)
    del pair, new_pairs, h, r
    studied = np.nonzero(table[:, 0])[0]
    out["ordinals"] = studied + first.toordinal()
    out["days"] = table[studied]
    fc = card[first_of]

    def card_lapse(at: slice) -> np.ndarray:
        key = card[at].astype(np.int64)
        key <<= 1
        key |= lapse[at]
        return key

    by_card = _histogram(n, card_lapse, width << 1).reshape(width, 2)
    kept = np.bincount((fc.astype(np.int64) << 1) | f_fail, minlength=width << 1)
    kept = kept.reshape(width, 2)  # [card, fail]
    out["cards"] = np.stack(
        [by_card.sum(axis=1), by_card[:, 1], kept[:, 0], kept[:, 1]], axis=1
    ).astype(np.int64)
    out["learned"][card[learn]] = True
    ends = np.empty(n, bool)
    ends[-1] = True
    ends[:-1] = new_card[1:]
    out["last"][co[ends]] = after[order[ends]]
    timed = duration > 0
    timed_review = timed & review
    out["sums"] = np.array(
        [
            int(duration[timed_review].sum()),
            int(np.count_nonzero(timed_review)),
            int(duration[timed].sum()),
            int(np.count_nonzero(timed)),
            int(duration[learn].sum()),
        ],
        dtype=np.int64,
    )
    return out


def _by_card(card: np.ndarray) -> np.ndarray:
    """`np.argsort(card, kind="stable")` of card numbers (0 <= card < 2**24) as two stable
    radix passes (numpy sorts 8- and 16-bit keys by radix): the low 16 bits, then the high
    ones (skipped when every card number is below 2**16). A fifth of the CPU of the stable
    argsort of a million int32 (a merge sort)."""
    if not len(card):
        return np.zeros(0, np.int64)
    order = np.argsort((card & 0xFFFF).astype(np.uint16), kind="stable")  # intp
    if int(card.max()) >> 16:
        high = (card >> 16).astype(np.uint8)[order]
        order = order[np.argsort(high, kind="stable")]
    return order


def _card_order(card: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The (card, time, id) order of rows given in id order: a stable sort by card, then the
    cards whose reviews are not in time order by id (an import of old reviews; a log whose
    ids are out of time order only across cards needs none) sorted again by (card, time),
    ties kept in id order. The same as `np.lexsort((t, card))` at a third of its CPU."""
    order = _by_card(card)
    if _in_time_order(t):
        return order
    co, tc = card[order], t[order]
    bad = (tc[1:] < tc[:-1]) & (co[1:] == co[:-1])
    if bad.any():
        pos = np.nonzero(np.isin(co, np.unique(co[1:][bad])))[0]
        order[pos] = order[pos][np.lexsort((tc[pos], co[pos]))]
    return order


_HISTOGRAM_ROWS = 1 << 18


def _histogram(n: int, keys: Callable[[slice], np.ndarray], bins: int) -> np.ndarray:
    """`np.bincount` of the keys of rows 0..n, made a quarter million rows at a time (the
    keys are int64: a million of them at once would raise the peak memory by 8 MB)."""
    out = np.zeros(bins, np.int64)
    for i in range(0, n, _HISTOGRAM_ROWS):
        out += np.bincount(keys(slice(i, i + _HISTOGRAM_ROWS)), minlength=bins)
    return out


def _pad(a: np.ndarray, width: int, fill: int | bool) -> np.ndarray:
    if len(a) >= width:
        return a.copy()
    out = np.full((width, *a.shape[1:]), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """`a`'s days, then `b`'s later ones (b computed with `a["last"]` as its start)."""
    width = max(len(a["last"]), len(b["last"]))
    return {
        "ordinals": np.concatenate((a["ordinals"], b["ordinals"])),
        "days": np.concatenate((a["days"], b["days"])),
        "cards": _pad(a["cards"], width, 0) + _pad(b["cards"], width, 0),
        "learned": _pad(a["learned"], width, False) | _pad(b["learned"], width, False),
        "last": _pad(b["last"], width, -1),  # b started from a's
        "sums": a["sums"] + b["sums"],
        "rows": a["rows"] + b["rows"],
    }


def _figures_cache() -> Cache[dict[str, Any]]:
    def ok(v: Any) -> bool:
        return (
            isinstance(v, dict)
            and isinstance(v.get("prefix"), dict)
            and isinstance(v["prefix"].get("last"), np.ndarray)
            and all(isinstance(v.get(k), int) for k in ("cut_us", "last_id", "count"))
        )

    return Cache(_FIGURES, ok)


def _file_key(conn: sqlite3.Connection, cal: StudyCalendar) -> tuple[str, str] | None:
    """(slot, key) of this database file's kept figures, or None (in memory, no counter)."""
    try:
        path = next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main")
        changes = conn.execute("SELECT n, instance FROM log_changes WHERE id = 1").fetchone()
    except (sqlite3.Error, StopIteration):
        return None
    if not path or changes is None:
        return None
    real = os.path.realpath(path)
    try:
        inode = _inode(real)
    except OSError:
        return None
    slot = hashlib.sha256(real.encode("utf-8")).hexdigest()[:24]
    zone = getattr(cal.tz, "key", None) or str(cal.tz)
    parts = (real, str(inode), str(changes[0]), str(changes[1]), zone, str(cal.day_starts_at))
    return slot, key_of(_FIGURES, *parts)


def _snapshot(conn: sqlite3.Connection) -> tuple[int, int, tuple[int, int] | None]:
    """(row count, last id, that row's (time, card)): what a kept entry is checked against."""
    n, last_id = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM review_log").fetchone()
    row = conn.execute("SELECT time, card FROM review_log WHERE id = ?", (last_id,)).fetchone()
    return int(n), int(last_id), None if row is None else (int(row[0]), int(row[1]))


def _forget_old_slots() -> None:
    """The raw rows the statistics kept before (schema `stats-log-columns`, ~24 MB a million
    reviews) are read by nothing now."""
    import shutil

    from dlcards.system.cache import cache_root

    old = cache_root() / "stats-log-columns"
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)


def _inode(path: str) -> int:
    """The file's inode (a file put in its place is another file; inodes may be reused)."""
    return os.stat(path).st_ino


def _kept(conn: sqlite3.Connection, entry: dict[str, Any]) -> bool:
    """Whether the kept days are still the log's: since they were kept, rows were only
    appended (no row changed or went: `log_changes`, in the key), none before the cut, none
    under an id below the last one kept, and the last kept row is the same row."""
    last_id, cut_us = entry["last_id"], entry["cut_us"]
    total, newer, early = conn.execute(
        "SELECT (SELECT count(*) FROM review_log), count(*), coalesce(sum(time < ?), 0) "
        "FROM review_log WHERE id > ?",
        (cut_us, last_id),
    ).fetchone()
    if early or total - newer != entry["count"]:
        return False
    row = conn.execute("SELECT time, card FROM review_log WHERE id = ?", (last_id,)).fetchone()
    got = None if row is None else [int(row[0]), int(row[1])]
    return bool(got == entry["last_row"])


def log_figures(conn: sqlite3.Connection, cal: StudyCalendar) -> LogFigures:
    """The review log's figures per study day and per card, and the duration sums: the days
    before the last one from the kept figures when they are still the log's (then only the
    rows from that day on are read), else from one scan of every row."""
    figures, table = log_figures_table(conn, cal)
    cards: dict[str, CardFigures] = {}
    ids = {rowid: cid for cid, rowid in table.rowids.items()}
    reviewed = np.nonzero(table.table[:, 0])[0]
    for rowid, r in zip(reviewed.tolist(), table.table[reviewed].tolist(), strict=True):
        cards[ids[rowid]] = CardFigures(*r)
    return LogFigures(figures.days, cards, figures.durations)


class CardTable:
    """The per-card figures as one table: row `cards.id` holds that card's (reviews, lapses,
    retained passes, retained fails); `rowids` maps card ids to those rows."""

    def __init__(self, rowids: dict[str, int], table: np.ndarray):
        self.rowids, self.table = rowids, table

    def columns(self, card_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(reviews, lapses, passed, failed) of each of `card_ids` (0: no reviews), as
        `dlcards.insights.stats_columns.card_figure_columns` gives them."""
        get = self.rowids.get
        width = len(self.table)
        rows = np.fromiter(map(get, card_ids, itertools.repeat(width)), np.int64, len(card_ids))
        padded = np.concatenate((self.table, np.zeros((1, 4), np.int64)))
        t = padded[np.minimum(rows, width)]
        return t[:, 0], t[:, 1], t[:, 2], t[:, 3]


def log_figures_table(conn: sqlite3.Connection, cal: StudyCalendar) -> tuple[LogFigures, CardTable]:
    """`log_figures` with the per-card figures as a `CardTable` (its `cards` left empty): no
    object per card."""
    _check_card_numbers(conn)
    cache = _figures_cache()
    where = _file_key(conn, cal) if cache.enabled else None
    entry = cache.get(where[1], slot=where[0]) if where is not None else None
    if entry is not None and not _kept(conn, entry):
        entry = None
    snap = _snapshot(conn) if where is not None else None  # before reading: rows may be added
    prefix: dict[str, Any] | None
    if entry is not None:
        prefix = entry["prefix"]
        rows = _tail_rows(conn, entry["cut_us"])
    else:
        prefix = None
        row = conn.execute(_MIN_TIME).fetchone()
        if row is None or row[0] is None:
            return LogFigures.empty(), CardTable({}, np.zeros((0, 4), np.int64))
        rows = _all_rows(conn, int(row[0]))
        if where is None:  # nothing is kept: the figures of all rows at once (no split)
            return _assemble(conn, _part(rows, cal, None))
    if prefix is not None and not len(rows):
        tail = _part(rows, cal, prefix["last"])
    else:
        # the cut: the start of the last study day; the days before it are kept
        last = cal.study_day(from_micros(int(rows.time_us.max())))
        cut_us = micros(cal.day_start(last))
        older = rows.time_us < cut_us
        if prefix is None or older.any():
            older_rows, rows = rows.split(older)
            del older
            part = _part(older_rows, cal, None if prefix is None else prefix["last"])
            del older_rows
            prefix = part if prefix is None else _merge(prefix, part)
            if where is not None and snap is not None and prefix["rows"] >= _KEEP_AT_LEAST:
                count, last_id, last_row = snap
                kept = {
                    "cut_us": cut_us,
                    "count": count,
                    "last_id": last_id,
                    "last_row": None if last_row is None else list(last_row),
                    "prefix": prefix,
                }
                cache.put(where[1], kept, slot=where[0])
                _forget_old_slots()
        tail = _part(rows, cal, prefix["last"])
    return _assemble(conn, _merge(prefix, tail))


def _assemble(conn: sqlite3.Connection, f: dict[str, Any]) -> tuple[LogFigures, CardTable]:
    days: dict[date, DayFigures] = {}
    for o, r in zip(f["ordinals"].tolist(), f["days"].tolist(), strict=True):
        d = date.fromordinal(o)
        n, cards_, new, again, learn, review, relearn, ms, lapses, yp, yf, mp, mf = r
        retained = PassFail(yp, yf, mp, mf)
        days[d] = DayFigures(d, n, cards_, new, again, learn, review, relearn, ms, lapses, retained)
    review_ms, review_n, any_ms, any_n, learn_ms = f["sums"].tolist()
    durations = DurationFigures(
        review_ms=review_ms,
        review_n=review_n,
        any_ms=any_ms,
        any_n=any_n,
        learn_ms=learn_ms,
        learn_cards=int(np.count_nonzero(f["learned"])),
    )
    rowids = dict(conn.execute("SELECT card_id, id FROM cards"))
    return LogFigures(days, {}, durations), CardTable(rowids, f["cards"])


def first_review_time(conn: sqlite3.Connection, card_ids: list[str] | None) -> datetime | None:
    """The time of the first review of any of these cards (None: of any card), or None.
    Uses the card index per card and the time index overall."""
    if card_ids is None:
        row = conn.execute(_SPAN).fetchone()
        return _at(row[0]) if row else None
    best: int | None = None
    for i in range(0, len(card_ids), 500):
        chunk = card_ids[i : i + 500]
        row = conn.execute(
            "SELECT min(l.time) FROM review_log AS l JOIN cards AS c ON c.id = l.card "
            "WHERE c.card_id IN (SELECT value FROM json_each(?))",
            (json.dumps(chunk),),
        ).fetchone()
        if row and row[0] is not None and (best is None or row[0] < best):
            best = row[0]
    return _at(best)
