"""Statistics from the store (issue 16, item 1): `dlcards.store.stats_queries.log_figures`
aggregates the review log in one columnar pass; the report built from it must carry exactly the
numbers of the object-based implementation (`LogFigures.of` over `Store.reviews()`, kept as the
oracle), on real SQLite files, in several time zones and day starts (daylight saving included)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import test_stats_tui as T
from dlcards.app.collection import Collection
from dlcards.app.reports import report_of
from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardState, Rating, ReviewEntry
from dlcards.insights.log_figures import LogFigures
from dlcards.insights.stats import stats_of_figures
from dlcards.store import Store
from dlcards.store.stats_queries import log_figures, review_columns

ZONES = [("UTC", 4), ("Europe/Berlin", 4), ("America/New_York", 0), ("Asia/Kolkata", 23)]


def random_history(seed: int, cards: int, days: int, end: datetime) -> list[ReviewEntry]:
    """Reviews with every kind, phase and interval the figures distinguish, some on the same
    card and study day, some across DST changes, some with no duration, some manual/import."""
    rng = random.Random(seed)
    out = []
    for c in range(cards):
        cid = f"card-{c:03d}" if c % 7 else f"note-{c:03d}/c1"
        t = end - timedelta(days=rng.randint(1, days), minutes=rng.randint(0, 1440))
        before = CardState(cid)
        while t < end:
            kind = rng.choice(["learn", "review", "review", "relearn", "manual", "import"])
            phase_after = rng.choice(["learning", "review", "relearning"])
            after = CardState(
                cid,
                phase=phase_after,
                stability=rng.uniform(0.1, 200),
                difficulty=rng.uniform(1, 10),
                due=t + timedelta(days=1),
                last_review=t,
                reps=before.reps + 1,
                interval_days=rng.choice([0, 1, 3, 20, 21, 40]),
            )
            out.append(
                ReviewEntry(
                    cid,
                    t,
                    Rating(rng.randint(1, 4)),
                    rng.choice([0, 0, 1500, 8000, 30000]),
                    before,
                    after,
                    kind=kind,  # type: ignore[arg-type]
                )
            )
            before = after
            t += timedelta(minutes=rng.choice([1, 10, 200, 900, 3000, 20000]))
    return out


@pytest.fixture
def store(tmp_path: Path) -> Store:
    end = datetime(2026, 4, 1, 12, tzinfo=UTC)  # after the spring DST changes
    entries = random_history(7, 60, 200, end)
    s = Store.open(tmp_path / "dlcards.sqlite3")
    s.import_reviews(entries)
    yield s
    s.close()


@pytest.mark.parametrize(("zone", "day_starts_at"), ZONES)
def test_log_figures_match_the_object_oracle(store: Store, zone: str, day_starts_at: int) -> None:
    cal = StudyCalendar(ZoneInfo(zone), day_starts_at)
    sql = log_figures(store.conn, cal)
    oracle = LogFigures.of(store.reviews(), cal)
    assert len(sql.days) > 100 and len(sql.cards) == 60
    assert sum(d.retained.failed for d in sql.days.values()) > 0
    assert sql.days == oracle.days
    assert sql.cards == oracle.cards
    assert sql.durations == oracle.durations


def test_same_time_reviews_keep_the_id_order(store: Store) -> None:
    """Two retention reviews of a card at the same microsecond: the first by id is retained."""
    t = datetime(2026, 2, 1, 9, tzinfo=UTC)
    before = CardState("tie", phase="review", interval_days=30)
    fail = ReviewEntry("tie", t, Rating.AGAIN, 1000, before, before, kind="review")
    ok = ReviewEntry("tie", t, Rating.GOOD, 1000, before, before, kind="review")
    store.import_reviews([fail, ok])
    cal = StudyCalendar(ZoneInfo("UTC"), 4)
    sql, oracle = log_figures(store.conn, cal), LogFigures.of(store.reviews(), cal)
    assert sql.cards["tie"] == oracle.cards["tie"]
    assert (sql.cards["tie"].passed, sql.cards["tie"].failed) == (0, 1)


def test_empty_log(tmp_path: Path) -> None:
    with Store.open(tmp_path / "d.sqlite3") as s:
        assert log_figures(s.conn, StudyCalendar()) == LogFigures.empty()
        assert len(review_columns(s.conn)) == 0


def test_columns_decode_what_was_stored(store: Store) -> None:
    cols = review_columns(store.conn)
    reviews = store.reviews_with_ids()
    by_id = sorted(reviews, key=lambda p: p[0])
    assert len(cols) == len(reviews)
    assert cols.rating.tolist() == [int(e.rating) for _, e in by_id]
    assert cols.duration_ms.tolist() == [e.duration_ms for _, e in by_id]
    assert cols.time_us.tolist() == [round(e.time.timestamp() * 1_000_000) for _, e in by_id]


def test_collection_report_equals_the_object_report(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Collection.stats_report` (store-aggregated) == the report of the object path, block by
    block, on the stats screens' fixture collection; the second run from the kept figures of
    the older study days (`stats_queries._KEEP_AT_LEAST` lowered to keep a small log's)."""
    from dlcards.store import stats_queries

    monkeypatch.setattr(stats_queries, "_KEEP_AT_LEAST", 0)
    tails = []
    real_tail = stats_queries._tail_rows
    monkeypatch.setattr(stats_queries, "_tail_rows", lambda *a: tails.append(a[1]) or real_tail(*a))
    monkeypatch.setenv("DLCARDS_NOW", T.NOW.isoformat())
    root = T.build_collection(collection)
    with Collection.open(root) as col:
        from dlcards.app.list_cache import card_catalogue

        assert card_catalogue(col) is None
        new = col.stats_report(T.NOW)  # reads the notes, and writes the card catalogue
        old = report_of(col.stats_data(T.NOW), col.scheduler)
        assert new.today.reviews == 0 and new.counts.cards == 7
        assert old.to_dict() == new.to_dict()
    with Collection.open(root) as col:
        catalogue = card_catalogue(col)
        assert catalogue is not None and len(catalogue) == 7
        again = col.stats_report(T.NOW)  # from the catalogue: no note models
        assert "_decks" not in vars(col) or col._decks is None
        assert again.to_dict() == old.to_dict()
        assert len(tails) == 1  # the older days kept: only the last day's rows read
        assert new.period("all_time").counts.passed > 0
    import gc

    assert gc.isenabled()  # (paused while the report is built)


@pytest.mark.parametrize(("zone", "day_starts_at"), ZONES[:2])
def test_full_report_same_numbers_on_a_random_history(
    store: Store, zone: str, day_starts_at: int
) -> None:
    """Every block of the report, store-aggregated vs objects, on a random history with orphan
    reviews (cards that are in no note)."""
    cal = StudyCalendar(ZoneInfo(zone), day_starts_at)
    now = datetime(2026, 3, 30, 10, tzinfo=UTC)
    states, flags = store.states(), store.flags()
    args = {"now": now, "calendar": cal, "weekly_hours": 3.0, "new_per_day": 5}
    new = stats_of_figures({}, log_figures(store.conn, cal), states, flags, **args)
    old = stats_of_figures({}, LogFigures.of(store.reviews(), cal), states, flags, **args)
    assert new.to_dict() == old.to_dict()
    assert new.heatmap.days and any(w.reviews for w in new.weekly)


@pytest.mark.parametrize("week", [1, 2, 3])
def test_week_summary_from_the_weeks_reviews_equals_the_object_summary(
    collection: Path, monkeypatch: pytest.MonkeyPatch, week: int
) -> None:
    """`Collection.week_summary` reads only the week's reviews; the same summary as the object
    path over the whole log (week 3 has no cards: its start is derived from the first review)."""
    from datetime import date

    from dlcards.app.reports import week_summary_of
    from dlcards.store.stats_queries import first_review_time

    monkeypatch.setenv("DLCARDS_NOW", T.NOW.isoformat())
    root = T.build_collection(collection)
    with Collection.open(root) as col:
        new = col.week_summary(week, now=T.NOW)
        old = week_summary_of(col.stats_data(T.NOW), week)
        assert new.to_dict() == old.to_dict()
        assert new.reviews > 0 or week == 3
        start = date(2026, 2, 25)
        assert (
            col.week_summary(week, start, T.NOW).to_dict()
            == week_summary_of(col.stats_data(T.NOW), week, start).to_dict()
        )
        first = min(e.time for e in col.store.reviews())
        assert first_review_time(col.store.conn, None) == first
        assert first_review_time(col.store.conn, ["nope"]) is None
        sm = min(e.time for e in col.store.reviews(["sm-out", "sm-max"]))
        assert first_review_time(col.store.conn, ["nope", "sm-out", "sm-max"]) == sm
