"""The statistics keep the figures of the older study days and read only the rows of the last
kept day onwards (issue 16, item 1): after appends, a new study day, undos, relinks, imports into
the middle of a history, a deleted card, raw SQL, another database at the same path, a copy put
back, a restored backup, another calendar, the figures must equal a full scan's and the object
oracle's. Also the packed scan's fallbacks (a duration too long to pack, ids far apart)."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardState, Rating, ReviewEntry
from dlcards.insights.log_figures import LogFigures
from dlcards.store import Store
from dlcards.store import stats_queries as Q
from test_stats_sql import random_history

CAL = StudyCalendar(ZoneInfo("Europe/Berlin"), 4)
END = datetime(2026, 4, 1, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(Q, "_KEEP_AT_LEAST", 0)  # keep even a small log's days
    s = Store.open(tmp_path / "dlcards.sqlite3")
    s.import_reviews(random_history(11, 40, 120, END))
    yield s
    s.close()


class Reads:
    """Which reads `log_figures` made with its cache on: full scans and tail reads (their
    cut). (`assert_figures_right`'s run with the cache off is not counted.)"""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.full = 0
        self.tails: list[int] = []
        real_all, real_tail = Q._all_rows, Q._tail_rows

        def all_rows(conn: Any, base: int) -> Any:
            self.full += "DLCARDS_CACHE_OFF" not in os.environ
            return real_all(conn, base)

        def tail_rows(conn: Any, cut_us: int) -> Any:
            if "DLCARDS_CACHE_OFF" not in os.environ:
                self.tails.append(cut_us)
            return real_tail(conn, cut_us)

        monkeypatch.setattr(Q, "_all_rows", all_rows)
        monkeypatch.setattr(Q, "_tail_rows", tail_rows)

    def clear(self) -> None:
        self.full = 0
        self.tails.clear()


def assert_figures_right(
    store: Store, monkeypatch: pytest.MonkeyPatch, cal: StudyCalendar = CAL
) -> LogFigures:
    got = Q.log_figures(store.conn, cal)
    with monkeypatch.context() as m:
        m.setenv("DLCARDS_CACHE_OFF", "stats-log-figures")
        full = Q.log_figures(store.conn, cal)
    oracle = LogFigures.of(store.reviews(), cal)
    assert got == full
    assert (got.days, got.cards, got.durations) == (oracle.days, oracle.cards, oracle.durations)
    return got


def spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of `stats_queries.<name>`."""
    calls: list[int] = []
    real = getattr(Q, name)

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(Q, name, counted)
    return calls


def answer(store: Store, cid: str, t: datetime, rating: Rating, kind: str = "review") -> int:
    before = store.states([cid]).get(cid) or CardState(cid)
    after = CardState(cid, phase="review", stability=5.0, difficulty=5.0, due=t + timedelta(days=3),
                      last_review=t, reps=before.reps + 1, interval_days=3)  # fmt: skip
    entry = ReviewEntry(cid, t, rating, 4000, before, after, kind=kind)  # type: ignore[arg-type,unused-ignore]
    return int(store.record_review(entry))


def test_appends_read_only_the_last_day(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(monkeypatch)
    assert_figures_right(store, monkeypatch)
    assert reads.full == 1 and not reads.tails  # the first run scans everything (and keeps)
    reads.clear()
    t = END + timedelta(hours=1)  # the same study day as the last review
    for i in range(5):
        answer(store, f"card-{i + 1:03d}", t + timedelta(minutes=i), Rating.GOOD)
    got = assert_figures_right(store, monkeypatch)
    assert reads.full == 0 and len(reads.tails) == 1
    # the cut is the start of the last study day: only its rows were read
    assert reads.tails[0] == int(CAL.day_start(CAL.study_day(END)).timestamp()) * 1_000_000
    assert got.days[CAL.study_day(END)].reviews >= 5


def test_a_new_study_day_moves_the_cut(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviews of a new day: the days before join the kept days (the kept entry is written
    again), a card's first review of the new day starts from its state in the kept days (a
    lapse needs the phase before), and the next run reads from the new day only."""
    reads = Reads(monkeypatch)
    cards = sorted({e.card_id for e in store.reviews()})[:6]
    day1, day2 = END + timedelta(days=1), END + timedelta(days=2)
    for i, cid in enumerate(cards):
        answer(store, cid, day1 + timedelta(minutes=i), Rating.GOOD)  # now in the review phase
    assert_figures_right(store, monkeypatch)
    assert reads.full == 1
    for i, cid in enumerate(cards):
        answer(store, cid, day2 + timedelta(minutes=i), Rating.AGAIN)  # lapses
    reads.clear()
    got = assert_figures_right(store, monkeypatch)
    cut1 = CAL.day_start(CAL.study_day(day1))
    assert reads.full == 0 and reads.tails == [int(cut1.timestamp()) * 1_000_000]
    assert got.days[CAL.study_day(day2)].lapses == len(cards)
    for i, cid in enumerate(cards):
        answer(store, cid, day2 + timedelta(hours=1, minutes=i), Rating.GOOD, kind="relearn")
    reads.clear()
    assert_figures_right(store, monkeypatch)
    cut2 = CAL.day_start(CAL.study_day(day2))
    assert reads.full == 0 and reads.tails == [int(cut2.timestamp()) * 1_000_000]


@pytest.mark.parametrize("change", ["undo", "relink", "import-mid", "delete", "raw-update"])
def test_any_other_change_is_seen(
    store: Store, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    assert_figures_right(store, monkeypatch)  # keeps the older days
    t = END + timedelta(days=1, hours=2)
    rid = answer(store, "card-002", t, Rating.AGAIN)
    assert_figures_right(store, monkeypatch)
    reads = Reads(monkeypatch)
    if change == "undo":
        store.undo_review(rid)
    elif change == "relink":
        store.relink("card-003", "card-new")
    elif change == "import-mid":  # an older review into the middle of card-004's history
        first = min(e.time for e in store.reviews() if e.card_id == "card-004")
        mid = first + timedelta(minutes=1)
        before = CardState("card-004")
        after = CardState("card-004", phase="learning", due=mid, last_review=mid, reps=1)
        store.import_reviews(
            [ReviewEntry("card-004", mid, Rating.HARD, 100, before, after, kind="learn")]
        )
    elif change == "delete":
        store.delete_card("card-005")
    else:  # someone's own SQL
        with store.conn:
            store.conn.execute("UPDATE review_log SET duration_ms = duration_ms + 7 WHERE id = 3")
    got = assert_figures_right(store, monkeypatch)
    if change != "relink":  # (a relink may keep the rows: the card ids are read every time)
        assert reads.full >= 1  # a full scan: the kept days were not trusted
    if change == "relink":
        assert "card-new" in got.cards and "card-003" not in got.cards


def replace_file(store: Store, source: Path) -> Store:
    """Close `store`, put `source` where its database was, open that."""
    path = store.path
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.unlink()
    shutil.copy(source, path)
    return Store.open(path)


def snapshot(store: Store, to: Path) -> Path:
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(store.path, to)
    return to


def test_another_collections_database_at_the_same_path(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Store.open(tmp_path / "other.sqlite3")
    other.import_reviews(random_history(12, 45, 120, END))  # more rows, other history
    other.close()
    assert_figures_right(store, monkeypatch)  # keeps this database's days
    reads = Reads(monkeypatch)
    replaced = replace_file(store, tmp_path / "other.sqlite3")
    try:
        assert_figures_right(replaced, monkeypatch)
        assert reads.full >= 1
    finally:
        replaced.close()


def test_a_copy_that_went_on_elsewhere(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same database copied to another machine, both answered on, then that copy put
    back: the same row ids hold other reviews, so the kept days are not used."""
    away = Store.open(snapshot(store, tmp_path / "away.sqlite3"))
    answer(away, "card-007", END + timedelta(days=3, hours=5), Rating.HARD)
    away.close()
    answer(store, "card-001", END + timedelta(days=3, hours=3), Rating.GOOD)
    assert_figures_right(store, monkeypatch)  # keeps the days before that answer's
    reads = Reads(monkeypatch)
    replaced = replace_file(store, tmp_path / "away.sqlite3")
    try:
        assert_figures_right(replaced, monkeypatch)
        assert reads.full >= 1
    finally:
        replaced.close()


def test_a_copy_put_back_under_a_reused_inode(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, the file system giving the copy the old file's inode: the last kept row
    (its time and card) is another one, so the kept days are not used."""
    monkeypatch.setattr(Q, "_inode", lambda path: 7)
    away = Store.open(snapshot(store, tmp_path / "away.sqlite3"))
    answer(away, "card-007", END + timedelta(days=3, hours=5), Rating.HARD)
    away.close()
    answer(store, "card-001", END + timedelta(days=3, hours=3), Rating.GOOD)
    assert_figures_right(store, monkeypatch)
    reads = Reads(monkeypatch)
    replaced = replace_file(store, tmp_path / "away.sqlite3")
    try:
        assert_figures_right(replaced, monkeypatch)
        assert reads.full >= 1
    finally:
        replaced.close()


def test_a_row_put_under_an_old_id(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row written into a gap of the ids (raw SQL) with an old time: no `log_changes`
    count moves, but the rows up to the last kept id are more than were kept."""
    with store.conn:
        store.conn.execute("DELETE FROM review_log WHERE id = 10")
    assert_figures_right(store, monkeypatch)  # keeps the days of the log without row 10
    reads = Reads(monkeypatch)
    with store.conn:
        store.conn.execute(
            "INSERT INTO review_log (id, card, time, info, duration_ms, reps, lapses, "
            "interval_days) SELECT 10, card, time + 1, info, 5, reps, lapses, interval_days "
            "FROM review_log WHERE id = 11"
        )
    assert_figures_right(store, monkeypatch)
    assert reads.full == 1


def test_a_restored_backup_of_this_database_keeps_what_it_shares(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_figures_right(store, monkeypatch)
    backup = snapshot(store, tmp_path / "backup.sqlite3")
    answer(store, "card-001", END + timedelta(days=2), Rating.GOOD)
    assert_figures_right(store, monkeypatch)
    replaced = replace_file(store, backup)
    try:
        assert_figures_right(replaced, monkeypatch)  # right numbers, whatever was read
    finally:
        replaced.close()


def test_each_calendar_keeps_its_own_days(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The study days depend on the zone and the hour a day starts: another calendar's kept
    days are never used."""
    other = StudyCalendar(ZoneInfo("America/New_York"), 0)
    assert_figures_right(store, monkeypatch)
    reads = Reads(monkeypatch)
    assert_figures_right(store, monkeypatch, other)
    assert reads.full >= 1
    answer(store, "card-009", END + timedelta(hours=2), Rating.GOOD)
    assert_figures_right(store, monkeypatch)
    assert_figures_right(store, monkeypatch, other)


def test_random_mix(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    t = END
    ours: list[int] = []  # this test's answers, newest last (each undoable in turn)
    undone = 0
    for _ in range(30):
        t += timedelta(minutes=rng.randint(1, 900))
        op = rng.choice(["answer", "answer", "answer", "undo", "stats"])
        if op == "answer":
            kind = rng.choice(["learn", "review", "relearn", "manual"])
            cid = f"card-{rng.randint(1, 39):03d}"
            ours.append(answer(store, cid, t, Rating(rng.randint(1, 4)), kind))
        elif op == "undo" and ours:
            store.undo_review(ours.pop())
            undone += 1
        assert_figures_right(store, monkeypatch)
    assert undone > 0


def test_the_cache_off_reads_everything(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy(monkeypatch, "_all_rows")
    monkeypatch.setattr(Q, "_tail_rows", lambda *a: pytest.fail("a tail read"))
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "all")
    Q.log_figures(store.conn, CAL)
    Q.log_figures(store.conn, CAL)
    assert len(seen) == 2


@pytest.mark.parametrize("long", [1 << 24, 1 << 35, -(1 << 24) - 1])
def test_a_duration_too_long_to_pack(
    store: Store, monkeypatch: pytest.MonkeyPatch, long: int
) -> None:
    """A duration outside -2**24 <= ms < 2**24 does not fit `review_log.packed` (NULL there):
    the ids around it are read column by column, the rest packed, with the same figures."""
    with store.conn:
        store.conn.execute("UPDATE review_log SET duration_ms = ? WHERE id = 5", (long,))
        store.conn.execute("UPDATE review_log SET duration_ms = -7 WHERE id = 6")
    assert store.conn.execute("SELECT packed FROM review_log WHERE id = 5").fetchone()[0] is None
    assert store.conn.execute("SELECT packed FROM review_log WHERE id = 6").fetchone()[0] < 0
    monkeypatch.setattr(Q, "_PACKED_CHUNK", 4)  # ids 5-8 by columns, every other range packed
    used, whole = spy(monkeypatch, "_raw_rows"), spy(monkeypatch, "_plain_rows")
    got = assert_figures_right(store, monkeypatch)
    assert used and not whole
    if long > 0:
        assert got.durations.any_ms >= long


def test_ids_far_apart(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids with large gaps (rows moved or deleted): the scan goes by rows, not id ranges."""
    with store.conn:
        store.conn.execute("UPDATE review_log SET id = id + 10000000 WHERE id > 50")
    used = spy(monkeypatch, "_plain_rows")
    assert_figures_right(store, monkeypatch)
    assert used


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_a_log_written_in_time_order_takes_the_one_key_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """A log whose ids run in time order (the usual one: answers appended as given) is
    sorted by one stable key instead of two; the figures are the oracle's either way."""
    monkeypatch.setattr(Q, "_KEEP_AT_LEAST", 0)
    s = Store.open(tmp_path / "timed.sqlite3")
    try:
        s.import_reviews(sorted(random_history(13, 50, 150, END), key=lambda e: e.time))
        cols = Q.review_columns(s.conn)
        assert Q._in_time_order(cols.time_us)
        cal = StudyCalendar(ZoneInfo(zone), 4)
        got = assert_figures_right(s, monkeypatch, cal)
        assert sum(d.retained.failed for d in got.days.values()) > 0
        answer(s, "card-001", END + timedelta(days=1), Rating.AGAIN)
        assert_figures_right(s, monkeypatch, cal)
    finally:
        s.close()


def test_the_usual_stats_fixture_is_not_in_time_order(store: Store) -> None:
    """(so test_stats_sql exercises the two-key sort)"""
    assert not Q._in_time_order(Q.review_columns(store.conn).time_us)


def test_the_card_table_gives_the_card_figures(store: Store) -> None:
    """`log_figures_table` (what the stats use: no object per card) == `log_figures`' cards,
    for cards with reviews, without, and unknown to the store."""
    with store.conn:
        store._ensure_cards(store.conn, ["never-reviewed"])
    figures, table = Q.log_figures_table(store.conn, CAL)
    full = Q.log_figures(store.conn, CAL)
    assert figures.cards == {} and figures.days == full.days
    assert "never-reviewed" in table.rowids
    ids = [*sorted(full.cards), "never-reviewed", "not-in-the-store"]
    cols = table.columns(ids)
    for i, cid in enumerate(ids):
        f = full.cards.get(cid)
        want = (0, 0, 0, 0) if f is None else (f.reviews, f.lapses, f.passed, f.failed)
        assert tuple(int(c[i]) for c in cols) == want


def test_the_raw_rows_kept_before_are_removed(store: Store) -> None:
    """The slots of the previous design (every row's columns, ~24 MB a million reviews) are
    deleted once the figures are kept."""
    from dlcards.system.cache import cache_root

    old = cache_root() / "stats-log-columns"
    old.mkdir(parents=True)
    (old / "slot.pickle").write_bytes(b"x" * 100)
    Q.log_figures(store.conn, CAL)
    assert not old.exists()
