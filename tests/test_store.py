"""The review database: round trips, the review log and undo, flags, sync and orphans,
relink, imports, settings, backups, integrity. Real SQLite files under tmp_path."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import StoreError
from dlcards.core.state import CardState, Rating, ReviewEntry
from dlcards.review.scheduling import Scheduler, SchedulerConfig
from dlcards.store import CardInfo, Store, default_path
from dlcards.store.migrations import LATEST

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
UTC_TZ = ZoneInfo("UTC")
CAL = StudyCalendar(UTC_TZ, 4)


def sched(fuzz: bool = True) -> Scheduler:
    return Scheduler(SchedulerConfig(0.9, (60.0, 600.0), (600.0,), 36500, fuzz, None, 4, UTC_TZ))


def info(card_id: str, line: int = 1, path: str = "decks/a.md", h: str = "h") -> CardInfo:
    note = card_id.split("/c")[0]
    return CardInfo(card_id, note, "cloze" if "/c" in card_id else "basic", path, line, h)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "db.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def answer(
    store: Store, scheduler: Scheduler, card_id: str, ratings: list[Rating], start: datetime = T0
) -> tuple[CardState, list[int]]:
    state = store.states([card_id]).get(card_id, CardState(card_id))
    t = start
    ids = []
    for rating in ratings:
        entry = scheduler.review(state, rating, t, 1500)
        ids.append(store.record_review(entry))
        state = entry.after
        t = max(t + timedelta(minutes=1), state.due or t)
    return state, ids


def test_default_path_is_under_dlcards_home(dlcards_home: Path) -> None:
    assert default_path() == dlcards_home / "dlcards.sqlite3"
    with Store.open() as s:
        assert s.path == dlcards_home / "dlcards.sqlite3"
        assert s.schema_version == LATEST
    assert (dlcards_home / "dlcards.sqlite3").is_file()


def test_pragmas_wal_foreign_keys_strict(store: Store) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    for name, sql in tables:
        assert sql.rstrip().endswith("STRICT"), name
    with pytest.raises(Exception, match="FOREIGN KEY"):
        conn.execute("INSERT INTO card_state (card_id, phase) VALUES ('nope', 'review')")


def test_record_review_round_trip_and_states(store: Store) -> None:
    store.sync_cards([info("a"), info("b"), info("n/c1")], T0)
    state, ids = answer(
        store, sched(), "a", [Rating.GOOD, Rating.GOOD, Rating.HARD, Rating.AGAIN, Rating.GOOD]
    )
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert store.states() == {"a": state}
    assert store.states(["b", "a", "zzz"]) == {"a": state}  # missing ids are simply absent
    log = store.reviews()
    assert [e.card_id for e in log] == ["a"] * 5
    # the log chains: each entry's before is the previous entry's after
    assert log[0].before == CardState("a")
    for prev, cur in itertools.pairwise(log):
        assert cur.before == prev.after
    assert log[-1].after == state
    assert all(e.time.tzinfo is not None and e.duration_ms == 1500 for e in log)
    assert store.reviews(since=log[2].time) == log[2:]
    assert store.reviews(["b"]) == []
    assert store.review(ids[0]) == log[0]


def test_many_ids_are_chunked(store: Store) -> None:
    ids = [f"card{i:05d}" for i in range(1800)]
    store.sync_cards([info(i) for i in ids], T0)
    for cid in ids[::3]:
        store.set_state(
            CardState(
                cid,
                phase="review",
                stability=3.0,
                difficulty=5.0,
                due=T0,
                last_review=T0 - timedelta(days=3),
                reps=2,
                interval_days=3,
            )
        )
    got = store.states(ids)
    assert set(got) == set(ids[::3])


def test_undo_restores_before_state_in_one_step(store: Store) -> None:
    s = sched()
    state, ids = answer(store, s, "a", [Rating.GOOD, Rating.GOOD])
    entry = store.undo_review(ids[-1])
    assert entry.after == state
    assert store.states()["a"] == entry.before
    assert len(store.reviews()) == 1
    store.undo_review(ids[0])
    assert store.states() == {}  # back to new: no state row
    assert store.reviews() == []
    with pytest.raises(StoreError, match="not in the log"):
        store.undo_review(ids[0])


def test_only_the_latest_review_of_a_card_can_be_undone(store: Store) -> None:
    _, ids = answer(store, sched(), "a", [Rating.GOOD, Rating.GOOD])
    with pytest.raises(StoreError, match="latest"):
        store.undo_review(ids[0])
    assert len(store.reviews()) == 2


def test_flags(store: Store) -> None:
    store.sync_cards([info("a"), info("b"), info("c")], T0)
    store.set_suspended(["a", "b"], True)
    store.set_flag("c", 3)
    store.set_buried(["b"], date(2026, 1, 6))
    store.set_leech("a", True)
    f = store.flags()
    assert f["a"].suspended and f["a"].leech and f["a"].flag == 0
    assert f["b"].suspended and f["b"].buried_until == date(2026, 1, 6)
    assert f["c"].flag == 3 and not f["c"].suspended
    store.set_suspended(["a", "b"], False)
    store.set_buried(["b"], None)
    store.set_flag("c", 0)
    assert set(store.flags()) == {"a"}  # rows without any flag are dropped
    assert store.flags(["b"]) == {}
    with pytest.raises(StoreError):
        store.set_flag("a", 9)


def test_sync_orphans_and_first_seen(store: Store) -> None:
    store.sync_cards([info("a"), info("b"), info("c")], T0)
    answer(store, sched(), "a", [Rating.GOOD])
    answer(store, sched(), "b", [Rating.GOOD])
    later = T0 + timedelta(days=2)
    store.sync_cards([info("b", line=7), info("c"), info("d")], later)  # a disappeared, b moved
    assert [c.card_id for c in store.orphans()] == ["a"]  # c never reviewed: not an orphan
    assert store.gone_since("a") == later
    assert {c.card_id for c in store.cards(present=True)} == {"b", "c", "d"}
    assert [c.line for c in store.cards() if c.card_id == "b"] == [7]
    first_seen = store.conn.execute("SELECT first_seen FROM cards WHERE card_id = 'b'").fetchone()[
        0
    ]
    assert first_seen.startswith("2026-01-05")
    # the orphan keeps its history
    assert len(store.reviews(["a"])) == 1 and "a" in store.states()
    # it comes back
    store.sync_cards([info("a"), info("b"), info("c"), info("d")], later)
    assert store.orphans() == [] and store.gone_since("a") is None


def test_relink_moves_history_state_and_flags(store: Store) -> None:
    store.sync_cards([info("old")], T0)
    state, _ = answer(store, sched(), "old", [Rating.GOOD, Rating.GOOD, Rating.EASY])
    store.set_flag("old", 2)
    store.sync_cards([info("new")], T0 + timedelta(days=1))
    assert [c.card_id for c in store.orphans()] == ["old"]
    moved = store.relink("old", "new")
    assert moved == 3
    assert store.reviews(["old"]) == [] and len(store.reviews(["new"])) == 3
    assert store.states()["new"].stability == state.stability
    assert "old" not in store.states() and store.flags()["new"].flag == 2
    assert store.orphans() == []
    assert store.integrity_check() == []
    with pytest.raises(StoreError):
        store.relink("ghost", "new")


def test_import_reviews_dedupes_by_anki_revlog_id(store: Store) -> None:
    s = sched(fuzz=False)
    history = [(T0 + timedelta(days=d), Rating.GOOD, 2000) for d in (0, 1, 4, 12)]
    _, entries = s.replay("a", history)
    imported = [
        ReviewEntry(
            e.card_id,
            e.time,
            e.rating,
            e.duration_ms,
            e.before,
            e.after,
            kind="import",
            source="anki",
            anki_revlog_id=int(e.time.timestamp() * 1000),
        )
        for e in entries
    ]
    assert store.import_reviews(imported[:3]) == (3, 0)
    assert store.import_reviews(imported) == (1, 3)
    assert store.import_reviews(imported + imported) == (0, 8)
    assert store.states() == {}  # the caller recomputes states
    log = store.reviews(["a"])
    assert len(log) == 4
    final, _ = s.replay("a", [(e.time, e.rating, e.duration_ms) for e in log])
    store.set_state(final)
    assert store.states()["a"] == entries[-1].after == final


def test_import_reviews_with_states_in_one_transaction(store: Store) -> None:
    s = sched(fuzz=False)
    entries = []
    finals = []
    for card in ("a", "b", "c"):
        final, es = s.replay(card, [(T0 + timedelta(days=d), Rating.GOOD, 0) for d in (0, 2, 7)])
        entries += [
            ReviewEntry(
                e.card_id,
                e.time,
                e.rating,
                0,
                e.before,
                e.after,
                source="anki",
                anki_revlog_id=1000 * "abc".index(card) + i + 1,
            )
            for i, e in enumerate(es)
        ]
        finals.append(final)
    assert store.import_reviews(entries, states=finals) == (9, 0)
    assert store.states() == {f.card_id: f for f in finals}
    assert store.set_states([CardState("a")]) == 1  # back to new
    assert "a" not in store.states()


def test_reviews_on_day(store: Store) -> None:
    # 03:58 Again, 03:59 Good (step 1), 04:09 Good: the first two belong to the previous study day
    answer(
        store,
        sched(),
        "a",
        [Rating.AGAIN, Rating.GOOD, Rating.GOOD],
        start=datetime(2026, 1, 5, 3, 58, tzinfo=UTC),
    )
    day = datetime(2026, 1, 5, 4, tzinfo=UTC)
    today = store.reviews_on_day(day, day + timedelta(days=1))
    yesterday = store.reviews_on_day(day - timedelta(days=1), day)
    assert [(e.time.hour, e.time.minute) for e in yesterday] == [(3, 58), (3, 59)]
    assert [(e.time.hour, e.time.minute) for e in today] == [(4, 9)]


def test_settings_table(store: Store) -> None:
    assert store.get_setting("fsrs_parameters") is None
    store.set_setting("fsrs_parameters", "[0.2, 1.3]")
    store.set_setting("fsrs_parameters", "[0.3]")
    assert store.get_setting("fsrs_parameters") == "[0.3]"


def test_state_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as s:
        state, _ = answer(s, sched(), "a", [Rating.GOOD, Rating.GOOD])
    with Store.open(path) as s:
        assert s.states() == {"a": state}
        assert s.integrity_check() == []


def test_backups_one_per_study_day_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    made = []
    for day in range(10):
        for hour in (9, 23, 27):  # 27h = 03:00 the next morning: still the same study day
            now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)
            with Store.open(path, backup_day=CAL.study_day(now), backups_keep=3) as s:
                if hour == 9:
                    answer(s, sched(), f"c{day}", [Rating.GOOD], start=now)
                made.append(s.path)
    with Store.open(path) as s:
        backups = s.backups()
        assert [b.day for b in backups] == [date(2026, 1, 10), date(2026, 1, 9), date(2026, 1, 8)]
        # a backup is a complete, valid database
        with Store.open(backups[0].path) as old:
            assert old.integrity_check() == []
            assert len(old.states()) == 9  # made before day 10's answer
        assert (
            s.backup(CAL.study_day(datetime(2026, 1, 10, 12, tzinfo=UTC)), keep=3) is None
        )  # already today
        assert (
            s.backup(CAL.study_day(datetime(2026, 1, 11, 12, tzinfo=UTC)), keep=0) is None
        )  # disabled
    assert not list(tmp_path.glob("backups/*.tmp"))


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as s:
        s.conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(StoreError, match="newer"):
        Store.open(path)


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match="damaged"):
        Store.open(path)


def test_integrity_check_reports_inconsistent_state(store: Store) -> None:
    store.sync_cards([info("a")], T0)
    store.conn.execute("INSERT INTO card_state (card_id, phase) VALUES ('a', 'review')")
    problems = store.integrity_check()
    assert problems and "lack stability" in problems[0]
