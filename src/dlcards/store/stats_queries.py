"""The queries behind `dlcards stats`: the review log reduced to the figures the stats show
(`dlcards.insights.log_figures`), without reading it into Python objects.

One columnar pass: a single sequential scan returns three integers per review (the time in
microseconds, the card's row id, and the duration with the review's flags packed in its low
bits), streamed into numpy arrays in chunks; study days, distinct cards per day, the retained
reviews and the per-card sums are then integer numpy operations. A million reviews take about
24 MB of arrays; no review becomes an object. (SQLite's own GROUP BY over a million rows sorts
them in a temporary b-tree once per figure family, measured several times slower than this one
scan on the same machine; see docs/notes/issue-16-performance.md.)

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
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import StoreError
from dlcards.insights.log_figures import CardFigures, DayFigures, DurationFigures, LogFigures
from dlcards.insights.retention import MATURE_DAYS, PassFail
from dlcards.store.rows import _at, _dt, _ts
from dlcards.system.cache import Cache, Schema, key_of

__all__ = ["LogColumns", "first_review_time", "log_figures", "review_columns", "review_span"]

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
    """Every review as integers, in review id order. The rows read before are kept (the log
    only grows: `_scan_with_prefix`), so usually only the new ones are scanned."""
    if int(conn.execute("SELECT coalesce(max(id), 0) FROM cards").fetchone()[0]) >> _CARD_BITS:
        raise StoreError("more than 16 million card numbers: the statistics cannot pack them")
    return _columns_of(_scan_with_prefix(conn))


# -- the rows read before ----------------------------------------------------------------------
# The log is append-only but for an undo, a relink, an import that re-derives a stored
# `before`, a deleted card: those bump `log_changes.n` (triggers, migration 9). The raw scan
# of the rows up to some id is kept in a cache slot per database file, keyed by the file (path,
# inode: a restored backup is another file), the change counter and the code fingerprint;
# it is used only when the rows up to that id are still as many as when they were read.
_PREFIX = Schema("stats-log-columns", "1")
_KEEP_AT_LEAST = 50_000  # rows: below this a scan costs less than writing the slot


def _prefix_cache() -> Cache[dict[str, Any]]:
    def ok(v: Any) -> bool:
        return (
            isinstance(v, dict)
            and isinstance(v.get("data"), np.ndarray)
            and v["data"].ndim == 2
            and v["data"].shape[1] == 3
            and isinstance(v.get("last_id"), int)
        )

    return Cache(_PREFIX, ok)


def _file_key(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """(slot, key) of this database file's kept rows, or None (in memory, no counter)."""
    try:
        path = next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main")
        changes = conn.execute("SELECT n, instance FROM log_changes WHERE id = 1").fetchone()
    except (sqlite3.Error, StopIteration):
        return None
    if not path or changes is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    slot = hashlib.sha256(os.path.realpath(path).encode("utf-8")).hexdigest()[:24]
    real = os.path.realpath(path)
    return slot, key_of(_PREFIX, real, str(st.st_ino), str(changes[0]), str(changes[1]))


def _scan_with_prefix(conn: sqlite3.Connection) -> np.ndarray:
    cache = _prefix_cache()
    where = _file_key(conn) if cache.enabled else None
    kept: np.ndarray | None = None
    last_id = 0
    if where is not None:
        slot, key = where
        got = cache.get(key, slot=slot)
        if got is not None and len(got["data"]):
            # still the same rows: as many up to the last one, and the last one the same (a
            # copy of this database that went on elsewhere has other rows under these ids)
            n_up_to = conn.execute(
                "SELECT count(*) FROM review_log WHERE id <= ?", (got["last_id"],)
            ).fetchone()[0]
            last = conn.execute(
                "SELECT time, card FROM review_log WHERE id = ?", (got["last_id"],)
            ).fetchone()
            mask = (1 << _CARD_BITS) - 1
            if (
                int(n_up_to) == len(got["data"])
                and last is not None
                and (last[0], last[1]) == (int(got["data"][-1, 0]), int(got["data"][-1, 1]) & mask)
            ):
                kept, last_id = got["data"], got["last_id"]
    new, new_last = _scan(conn, last_id)
    data = new if kept is None else np.concatenate((kept, new))
    if (
        where is not None
        and len(data) >= _KEEP_AT_LEAST
        and (kept is None or len(new) > len(kept) // 10)
    ):
        slot, key = where
        cache.put(key, {"data": data, "last_id": new_last or last_id}, slot=slot)
    return data


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
    # float64 sums of integers are exact below 2**53 ms (285,000 years of reviewing)
    return np.rint(np.bincount(index, weights=values, minlength=n)).astype(np.int64)


def _unique(values: np.ndarray) -> np.ndarray:
    """Distinct values (sorting: numpy's hash-based `unique` is slower on a million ints)."""
    s = np.sort(values)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def _distinct_per(day: np.ndarray, card: np.ndarray, n_days: int, width: int) -> np.ndarray:
    pairs = _unique(day * width + card)
    return np.bincount(pairs // width, minlength=n_days).astype(np.int64)


def log_figures(conn: sqlite3.Connection, cal: StudyCalendar) -> LogFigures:
    """The review log's figures per study day and per card, and the duration sums."""
    span = review_span(conn)
    if span is None:
        return LogFigures.empty()
    first_t, last_t = _dt(span[0]), _dt(span[1])
    assert first_t is not None and last_t is not None
    first, last = cal.study_day(first_t), cal.study_day(last_t)
    cols = review_columns(conn)
    n_days = (last - first).days + 1
    day = _day_index(cal, cols.time_us, first, last)
    card = cols.card
    width = int(card.max()) + 1
    rating = cols.rating
    again = rating == 1
    duration = cols.duration_ms
    learn, review, relearn = cols.flag(_LEARN), cols.flag(_REVIEW), cols.flag(_RELEARN)
    lapse = again & cols.flag(_BEFORE_REVIEW)

    # the retained reviews: first retention review of each (card, day) in (time, id) order
    ret = np.nonzero(~cols.flag(_MANUAL) & (review | cols.flag(_BEFORE_DAY)))[0]
    if _in_time_order(cols.time_us):  # the usual log: (time, id) order is id order
        order = ret[np.argsort(card[ret] * n_days + day[ret], kind="stable")]
    else:
        order = ret[np.lexsort((ret, cols.time_us[ret], day[ret], card[ret]))]
    keys = card[order] * n_days + day[order]
    first_of = order[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(order) else order
    f_fail = again[first_of]
    f_mature = cols.flag(_BEFORE_MATURE)[first_of]
    f_day = day[first_of]
    yp = _count(f_day, n_days, ~f_fail & ~f_mature)
    yf = _count(f_day, n_days, f_fail & ~f_mature)
    mp = _count(f_day, n_days, ~f_fail & f_mature)
    mf = _count(f_day, n_days, f_fail & f_mature)

    per_day = {
        "reviews": _count(day, n_days),
        "cards": _distinct_per(day, card, n_days, width),
        "new": _distinct_per(
            day[learn & cols.flag(_BEFORE_NEW)], card[learn & cols.flag(_BEFORE_NEW)], n_days, width
        ),
        "again": _count(day, n_days, again),
        "learn": _count(day, n_days, learn),
        "review": _count(day, n_days, review),
        "relearn": _count(day, n_days, relearn),
        "ms": _sum(day, duration, n_days),
        "lapses": _count(day, n_days, lapse),
    }
    days: dict[date, DayFigures] = {}
    columns = [
        per_day[k].tolist()
        for k in ("reviews", "cards", "new", "again", "learn", "review", "relearn", "ms", "lapses")
    ]
    for i in np.nonzero(per_day["reviews"])[0].tolist():
        d = first + timedelta(days=i)
        n, cards_, new, again_, learn_, review_, relearn_, ms, lapses = (c[i] for c in columns)
        days[d] = DayFigures(
            d,
            n,
            cards_,
            new,
            again_,
            learn_,
            review_,
            relearn_,
            ms,
            lapses,
            PassFail(int(yp[i]), int(yf[i]), int(mp[i]), int(mf[i])),
        )

    # per card, and the duration sums
    n_reviews = _count(card, width)
    n_lapses = _count(card, width, lapse)
    passed = _count(card[first_of], width, ~f_fail)
    failed = _count(card[first_of], width, f_fail)
    ids = dict(conn.execute("SELECT rowid, card_id FROM cards"))
    cards: dict[str, CardFigures] = {}
    for rowid in np.nonzero(n_reviews)[0].tolist():
        cards[ids[rowid]] = CardFigures(
            int(n_reviews[rowid]), int(n_lapses[rowid]), int(passed[rowid]), int(failed[rowid])
        )
    timed = duration > 0
    timed_review = timed & review
    durations = DurationFigures(
        review_ms=int(duration[timed_review].sum()),
        review_n=int(timed_review.sum()),
        any_ms=int(duration[timed].sum()),
        any_n=int(timed.sum()),
        learn_ms=int(duration[learn].sum()),
        learn_cards=int(_unique(card[learn]).shape[0]),
    )
    return LogFigures(days, cards, durations)


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
