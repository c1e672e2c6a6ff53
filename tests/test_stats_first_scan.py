"""The first (full) scan of the review log behind `dlcards stats` (issue 16, session 4, G):
the (card, time, id) order without a two-key `lexsort`, the two `group_concat`s, the one-histogram
day and card counts. Every figure is compared with the object oracle `LogFigures.of`."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from dlcards.core.calendar import StudyCalendar
from dlcards.insights.log_figures import LogFigures
from dlcards.store import Store
from dlcards.store import stats_queries as Q
from test_stats_sql import random_history

END = datetime(2026, 4, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(40))
def test_the_card_order_is_lexsorts(seed: int) -> None:
    """`_card_order` == `np.lexsort((time, card))` (ties in id order): logs in time order,
    out of time order across cards only, and within cards (old reviews imported late), with
    equal times."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    card = rng.integers(0, int(rng.integers(1, 200)), n).astype(np.int64)
    if seed % 5 == 4:  # card numbers above 2**16 (the second radix pass), up to 2**24 - 1
        card = rng.integers(0, 1 << 24, 200)[card]
        card[0] = (1 << 24) - 1
    card = card.astype(np.int32)
    t = np.sort(rng.integers(0, 50, n)) * 1_000_000  # many equal times
    mode = seed % 4
    if mode == 1:  # out of order within cards: some rows moved back in time
        moved = rng.random(n) < 0.05
        t[moved] -= rng.integers(0, 30_000_000, int(moved.sum()))
    elif mode == 2:  # a block of old reviews appended at the end
        k = n // 3
        t = np.concatenate((t[k:], t[:k] - 10**9)) if k else t
    elif mode == 3:
        t = rng.integers(0, 10, n) * 1_000_000
    want = np.lexsort((t, card))
    got = Q._card_order(card, t.astype(np.int64))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(Q._by_card(card), np.argsort(card, kind="stable"))


def test_the_card_order_of_nothing() -> None:
    empty = np.zeros(0, np.int32)
    assert len(Q._by_card(empty)) == 0
    assert len(Q._card_order(empty, np.zeros(0, np.int64))) == 0


def test_a_log_out_of_time_order_within_cards(tmp_path: Path) -> None:
    """Reviews of the same card stored out of time order (an import of old reviews after
    newer ones): the cards concerned are sorted again by time; the figures are the oracle's."""
    entries = random_history(17, 40, 120, END)
    random.Random(3).shuffle(entries)  # ids no longer in time order, within cards too
    s = Store.open(tmp_path / "shuffled.sqlite3")
    try:
        s.import_reviews(entries)
        cols = Q.review_columns(s.conn)
        order = np.argsort(cols.card, kind="stable")
        tc, co = cols.time_us[order], cols.card[order]
        assert ((tc[1:] < tc[:-1]) & (co[1:] == co[:-1])).any()  # the case is exercised
        for zone in ("UTC", "America/New_York"):
            cal = StudyCalendar(ZoneInfo(zone), 4)
            with pytest.MonkeyPatch.context() as m:
                m.setenv("DLCARDS_CACHE_OFF", "stats-log-figures")
                got = Q.log_figures(s.conn, cal)
            oracle = LogFigures.of(s.reviews(), cal)
            assert (got.days, got.cards, got.durations) == (
                oracle.days,
                oracle.cards,
                oracle.durations,
            )
    finally:
        s.close()


def test_the_packed_scan_reads_every_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few ids (so several `group_concat` pairs, one of them empty): the same
    figures as the plain-row scan and the oracle."""
    s = Store.open(tmp_path / "chunks.sqlite3")
    try:
        s.import_reviews(random_history(5, 30, 90, END))
        with s.conn:
            s.conn.execute("DELETE FROM review_log WHERE id BETWEEN 40 AND 60")  # an empty chunk
        cal = StudyCalendar(ZoneInfo("Europe/Berlin"), 4)
        monkeypatch.setenv("DLCARDS_CACHE_OFF", "stats-log-figures")
        monkeypatch.setattr(Q, "_PACKED_CHUNK", 16)
        plain: list[Any] = []
        real = Q._plain_rows

        def counted(*args: Any) -> Any:
            plain.append(1)
            return real(*args)

        monkeypatch.setattr(Q, "_plain_rows", counted)
        got = Q.log_figures(s.conn, cal)
        assert not plain  # the packed path was taken
        base = int(s.conn.execute(Q._MIN_TIME).fetchone()[0])
        lo, hi = s.conn.execute("SELECT min(id) - 1, max(id) FROM review_log").fetchone()
        packed, rows = Q._all_rows(s.conn, base), real(s.conn, base, lo, hi)
        for k in ("time_us", "info", "after", "card", "stored", "duration"):
            np.testing.assert_array_equal(getattr(packed, k), getattr(rows, k))
        oracle = LogFigures.of(s.reviews(), cal)
        assert (got.days, got.cards, got.durations) == (
            oracle.days,
            oracle.cards,
            oracle.durations,
        )
    finally:
        s.close()


class _Undercount:
    """A connection whose row count comes out short (rows added under old ids between the
    count and the scan): the columns grow as the rows come."""

    def __init__(self, conn: Any):
        self.conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        cur = self.conn.execute(sql, *args)
        if sql.startswith("SELECT count(*) FROM review_log"):
            (n,) = cur.fetchone()

            class Row:
                def fetchone(self) -> tuple[int]:
                    return (n - 5,)

            return Row()
        return cur


def test_more_rows_than_counted_and_histograms_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More rows than the count said: every row is still read; the per-day and per-card
    histograms and sums made a few rows at a time: the oracle's figures."""
    s = Store.open(tmp_path / "grow.sqlite3")
    try:
        s.import_reviews(random_history(23, 30, 90, END))
        monkeypatch.setattr(Q, "_PACKED_CHUNK", 16)
        monkeypatch.setattr(Q, "_COUNT_FROM", 0)  # the rows are counted (a wide id span)
        base = int(s.conn.execute(Q._MIN_TIME).fetchone()[0])
        lo, hi = s.conn.execute("SELECT min(id) - 1, max(id) FROM review_log").fetchone()
        got, want = Q._all_rows(_Undercount(s.conn), base), Q._plain_rows(s.conn, base, lo, hi)
        for k in ("time_us", "info", "after", "card", "stored", "duration"):
            np.testing.assert_array_equal(getattr(got, k), getattr(want, k))
        monkeypatch.setattr(Q, "_HISTOGRAM_ROWS", 7)
        monkeypatch.setenv("DLCARDS_CACHE_OFF", "stats-log-figures")
        cal = StudyCalendar(ZoneInfo("America/New_York"), 4)
        figures = Q.log_figures(s.conn, cal)
        oracle = LogFigures.of(s.reviews(), cal)
        assert (figures.days, figures.cards, figures.durations) == (
            oracle.days,
            oracle.cards,
            oracle.durations,
        )
    finally:
        s.close()


def test_the_scan_sizes_its_columns_by_the_id_span_without_counting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids are unique integers, so `max(id) - min(id)` bounds the rows: a log whose ids span
    little is read without `count(*)` (a pass over the log), ids freed by deleted reviews
    included, with the plain scan's rows."""
    s = Store.open(tmp_path / "span.sqlite3")
    try:
        s.import_reviews(random_history(29, 30, 90, END))
        with s.conn:
            s.conn.execute("DELETE FROM review_log WHERE id % 7 = 3")
        monkeypatch.setattr(Q, "_PACKED_CHUNK", 16)
        base = int(s.conn.execute(Q._MIN_TIME).fetchone()[0])
        lo, hi = s.conn.execute("SELECT min(id) - 1, max(id) FROM review_log").fetchone()
        seen: list[str] = []

        class Spy:
            def execute(self, sql: str, *args: Any) -> Any:
                seen.append(sql)
                return s.conn.execute(sql, *args)

        got, want = Q._all_rows(Spy(), base), Q._plain_rows(s.conn, base, lo, hi)  # type: ignore[arg-type]
        for k in ("time_us", "info", "after", "card", "stored", "duration"):
            np.testing.assert_array_equal(getattr(got, k), getattr(want, k))
        assert len(got) == s.conn.execute("SELECT count(*) FROM review_log").fetchone()[0]
        assert "SELECT count(*) FROM review_log" not in seen  # no pass to count the rows
    finally:
        s.close()
