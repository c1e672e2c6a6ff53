"""The statistics keep the columns of the review rows they have read and scan only new rows
(issue 16, item 1): after appends, undos, relinks, imports into the middle of a history, a
deleted card and raw SQL, the figures must equal a full scan's (and the object oracle's)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    monkeypatch.setattr(Q, "_KEEP_AT_LEAST", 0)  # keep even a small log
    s = Store.open(tmp_path / "dlcards.sqlite3")
    s.import_reviews(random_history(11, 40, 120, END))
    yield s
    s.close()


def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `after_id` of every scan from now on."""
    seen: list[int] = []
    real = Q._scan

    def spy(conn: object, after_id: int) -> object:
        seen.append(after_id)
        return real(conn, after_id)  # type: ignore[arg-type]

    monkeypatch.setattr(Q, "_scan", spy)
    return seen


def assert_figures_right(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    got = Q.log_figures(store.conn, CAL)
    with monkeypatch.context() as m:
        m.setenv("DLCARDS_CACHE_OFF", "stats-log-columns")
        full = Q.log_figures(store.conn, CAL)
    oracle = LogFigures.of(store.reviews(), CAL)
    assert got == full
    assert (got.days, got.cards, got.durations) == (oracle.days, oracle.cards, oracle.durations)


def answer(store: Store, cid: str, t: datetime, rating: Rating) -> int:
    before = store.states([cid]).get(cid) or CardState(cid)
    after = CardState(cid, phase="review", stability=5.0, difficulty=5.0, due=t + timedelta(days=3),
                      last_review=t, reps=before.reps + 1, interval_days=3)  # fmt: skip
    return store.record_review(ReviewEntry(cid, t, rating, 4000, before, after, kind="review"))


def test_appends_scan_only_the_new_rows(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = scans(monkeypatch)
    assert_figures_right(store, monkeypatch)
    assert seen[0] == 0  # the first scan reads everything (and keeps it)
    seen.clear()
    t = END + timedelta(hours=1)
    for i in range(5):
        answer(store, f"card-{i + 1:03d}", t + timedelta(minutes=i), Rating.GOOD)
    assert_figures_right(store, monkeypatch)
    assert seen[0] > 0  # only the rows after the kept ones


@pytest.mark.parametrize("change", ["undo", "relink", "import-mid", "delete", "raw-update"])
def test_any_other_change_is_seen(
    store: Store, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    assert_figures_right(store, monkeypatch)  # keeps the columns
    t = END + timedelta(hours=2)
    rid = answer(store, "card-002", t, Rating.AGAIN)
    assert_figures_right(store, monkeypatch)
    seen = scans(monkeypatch)
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
    assert_figures_right(store, monkeypatch)
    if change != "import-mid":  # (an import may only append new rows)
        assert seen and seen[0] == 0  # a full scan: the kept rows were not trusted


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
    assert_figures_right(store, monkeypatch)  # keeps this database's columns
    seen = scans(monkeypatch)
    replaced = replace_file(store, tmp_path / "other.sqlite3")
    try:
        assert_figures_right(replaced, monkeypatch)
        assert seen and seen[0] == 0
    finally:
        replaced.close()


def test_a_copy_that_went_on_elsewhere(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same database copied to another machine, both answered on, then that copy put
    back: the same row ids hold other reviews, so the kept columns are not used."""
    away = Store.open(snapshot(store, tmp_path / "away.sqlite3"))
    answer(away, "card-007", END + timedelta(hours=5), Rating.HARD)
    away.close()
    answer(store, "card-001", END + timedelta(hours=3), Rating.GOOD)
    assert_figures_right(store, monkeypatch)  # keeps the columns up to that answer's row
    seen = scans(monkeypatch)
    replaced = replace_file(store, tmp_path / "away.sqlite3")
    try:
        assert_figures_right(replaced, monkeypatch)
        assert seen and seen[0] == 0
    finally:
        replaced.close()


def test_a_restored_backup_of_this_database_keeps_what_it_shares(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_figures_right(store, monkeypatch)
    backup = snapshot(store, tmp_path / "backup.sqlite3")
    answer(store, "card-001", END + timedelta(hours=3), Rating.GOOD)
    assert_figures_right(store, monkeypatch)
    replaced = replace_file(store, backup)
    try:
        assert_figures_right(replaced, monkeypatch)  # right numbers, whatever was scanned
    finally:
        replaced.close()


def test_random_mix(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    t = END
    ours: list[int] = []  # this test's answers, newest last (each undoable in turn)
    undone = 0
    for _ in range(30):
        t += timedelta(minutes=rng.randint(1, 600))
        op = rng.choice(["answer", "answer", "answer", "undo", "stats"])
        if op == "answer":
            ours.append(
                answer(store, f"card-{rng.randint(1, 39):03d}", t, Rating(rng.randint(1, 4)))
            )
        elif op == "undo" and ours:
            store.undo_review(ours.pop())
            undone += 1
        assert_figures_right(store, monkeypatch)
    assert undone > 0


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_a_log_written_in_time_order_takes_the_one_key_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """A log whose ids run in time order (the usual one: answers appended as given) is
    sorted by one stable key instead of four; the figures are the oracle's either way."""
    s = Store.open(tmp_path / "timed.sqlite3")
    try:
        s.import_reviews(sorted(random_history(13, 50, 150, END), key=lambda e: e.time))
        cols = Q.review_columns(s.conn)
        assert Q._in_time_order(cols.time_us)
        cal = StudyCalendar(ZoneInfo(zone), 4)
        got = Q.log_figures(s.conn, cal)
        oracle = LogFigures.of(s.reviews(), cal)
        assert (got.days, got.cards, got.durations) == (oracle.days, oracle.cards, oracle.durations)
        assert sum(d.retained.failed for d in got.days.values()) > 0
    finally:
        s.close()


def test_the_usual_stats_fixture_is_not_in_time_order(store: Store) -> None:
    """(so test_stats_sql exercises the four-key sort)"""
    assert not Q._in_time_order(Q.review_columns(store.conn).time_us)
