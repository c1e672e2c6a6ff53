"""The lean review log (issue 16, item 5; migration 7 `lean_review_log`).

- The migration from schema 6 is exact: a v6 database written with raw SQL in the old format
  (odd time texts, befores that are not the previous after, reviews inserted out of time
  order, a review whose card row is missing, sync links, Anki ids, other sources) reads back
  through the public API exactly as the old columns said (an oracle decoding them the old
  way), ids and links kept; a migration that fails leaves the old database as it was.
- Writes keep every `before` exact: random appends, imports into the middle of histories,
  relinks that merge histories, undos and deletions, checked after every step against an
  in-memory log, and the stored `before` column is NULL exactly where it is derivable.
- The statistics' columnar scan derives the before-phase / interval from the previous row
  and agrees with the object oracle on such a log.
- The `reviews` view shows the old columns.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import StoreError
from dlcards.core.state import CardState, Rating, ReviewEntry
from dlcards.insights.log_figures import LogFigures
from dlcards.store import Store
from dlcards.store import sync as store_sync
from dlcards.store.migrations import LATEST, MIGRATIONS
from dlcards.store.rows import _state_key
from dlcards.store.stats_queries import log_figures

T0 = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
V6 = 6
_STATE = (
    "phase",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "interval_days",
)


# -- a schema-6 database written the old way -----------------------------------------------------


def old_text(t: datetime | None, form: int = 0) -> str | None:
    """A time as the old store wrote it (form 0), or in another valid ISO form."""
    if t is None:
        return None
    if form == 1:
        return t.isoformat(timespec="microseconds").replace("+00:00", "Z")
    if form == 2 and t.microsecond == 0:
        return t.isoformat(timespec="seconds")
    if form == 3:
        return t.astimezone(ZoneInfo("Europe/Berlin")).isoformat(timespec="microseconds")
    return t.isoformat(timespec="microseconds")


def v6_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    for m in MIGRATIONS[:V6]:
        conn.executescript(m.sql)
        conn.execute(
            "INSERT INTO migrations VALUES (?, ?, '2025-01-01T00:00:00+00:00')", (m.version, m.name)
        )
    conn.execute(f"PRAGMA user_version = {V6}")
    conn.commit()
    conn.close()


def random_state(rng: random.Random, cid: str, t: datetime, reps: int) -> CardState:
    phase = rng.choice(["learning", "review", "relearning", "review"])
    return CardState(
        cid,
        phase=phase,  # type: ignore[arg-type]
        step=rng.choice([None, 0, 1]) if phase != "review" else None,
        stability=rng.choice([None, rng.uniform(0.01, 400), 1 / 3, 1e-17]),
        difficulty=rng.choice([rng.uniform(1, 10), 10.0]),
        due=rng.choice(
            [None, t + timedelta(days=rng.randint(0, 400), microseconds=rng.randint(0, 999999))]
        ),
        last_review=rng.choice([t, t, None, t - timedelta(seconds=1)]),
        reps=reps,
        lapses=rng.randint(0, 3),
        interval_days=rng.choice([0, 1, 7, 21, 400]),
    )


def random_log(seed: int, cards: int) -> list[ReviewEntry]:
    """Histories whose befores are mostly the previous after, sometimes not."""
    rng = random.Random(seed)
    out: list[ReviewEntry] = []
    for c in range(cards):
        cid = f"n{c:03d}/c{1 + c % 2}" if c % 3 else f"n{c:03d}"
        t = T0 + timedelta(days=rng.randint(0, 30), microseconds=rng.randint(0, 10**9))
        before = CardState(cid)
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.15:  # changed outside the log (optimiser, reschedule)
                before = random_state(rng, cid, t, before.reps)
            after = random_state(rng, cid, t, before.reps + 1)
            kind = rng.choice(["learn", "review", "review", "relearn", "manual", "import"])
            source = rng.choice(["dlcards", "dlcards", "anki", "other app"])
            anki = rng.randint(10**12, 2 * 10**12) if source == "anki" else None
            out.append(
                ReviewEntry(
                    cid,
                    t,
                    Rating(rng.randint(1, 4)),
                    rng.choice([0, 1, 1500, 65000, 2**31 + 5]),
                    before,
                    after,
                    kind=kind,  # type: ignore[arg-type]
                    source=source,
                    anki_revlog_id=anki,
                )
            )
            before = after
            t += timedelta(
                seconds=rng.choice([0, 1, 600, 86400 * 3]), microseconds=rng.randint(0, 5)
            )
    return out


def write_v6(path: Path, log: list[ReviewEntry], seed: int) -> dict[int, ReviewEntry]:
    """The log in a v6 database, inserted in shuffled order (ids not in time order), times in
    mixed ISO forms; one review's card row left out. Returns id -> entry."""
    rng = random.Random(seed)
    v6_database(path)
    conn = sqlite3.connect(path)
    cards = sorted({e.card_id for e in log})
    missing = cards[-1]
    conn.executemany(
        "INSERT INTO cards (card_id, note_id, kind, path, line, content_hash, first_seen, present) "
        "VALUES (?, ?, 'basic', 'a.md', 1, 'h', '2025-01-01T00:00:00.000000+00:00', 1)",
        [(cid, cid.split("/")[0]) for cid in cards if cid != missing],
    )
    order = list(log)
    rng.shuffle(order)
    out: dict[int, ReviewEntry] = {}
    cols = ", ".join(f"{p}_{f}" for p in ("before", "after") for f in _STATE)
    for e in order:

        def values(s: CardState) -> list[object]:
            return [
                s.phase,
                s.step,
                s.stability,
                s.difficulty,
                old_text(s.due, rng.randint(0, 3)),
                old_text(s.last_review, rng.randint(0, 3)),
                s.reps,
                s.lapses,
                s.interval_days,
            ]

        cur = conn.execute(
            "INSERT INTO reviews (card_id, time, rating, duration_ms, kind, source, anki_revlog_id, "
            f"{cols}) VALUES ({', '.join('?' * 25)})",
            [
                e.card_id,
                old_text(e.time, rng.choice([0, 0, 0, 1, 3])),
                int(e.rating),
                e.duration_ms,
                e.kind,
                e.source,
                e.anki_revlog_id,
                *values(e.before),
                *values(e.after),
            ],
        )
        out[int(cur.lastrowid)] = e  # type: ignore[arg-type]
    links = sorted(out)[::5]
    conn.executemany(
        "INSERT INTO sync_review_ids (review_id, revlog_id) VALUES (?, ?)",
        [(rid, 3 * 10**12 + rid) for rid in links],
    )
    conn.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')")
    conn.commit()
    conn.close()
    return out


def in_order(by_id: dict[int, ReviewEntry]) -> list[tuple[int, ReviewEntry]]:
    return sorted(by_id.items(), key=lambda p: (p[1].time, p[0]))


# -- the migration ------------------------------------------------------------------------------


def test_migration_from_v6_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "dlcards.sqlite3"
    log = random_log(1, 40)
    by_id = write_v6(path, log, 2)
    assert sum(e.before != CardState(e.card_id) for e in log) > 0
    with Store.open(path) as store:
        assert store.migrated_from == V6 and store.schema_version == LATEST
        assert store.integrity_check() == []
        assert store.reviews_with_ids() == in_order(by_id)
        some = sorted({e.card_id for e in log})[::3]
        assert store.reviews_with_ids(some) == [p for p in in_order(by_id) if p[1].card_id in some]
        since = sorted(e.time for e in log)[len(log) // 2]
        assert store.reviews_with_ids(since=since) == [
            p for p in in_order(by_id) if p[1].time >= since
        ]
        for rid, entry in by_id.items():
            assert store.review(rid) == entry
        links = store_sync.review_links(store)
        assert links == {rid: 3 * 10**12 + rid for rid in sorted(by_id)[::5]}
        known = {e.anki_revlog_id for e in log if e.anki_revlog_id} | set(links.values())
        assert store_sync.known_revlog_ids(store) == known
        assert store.get_setting("k") == "v"
        # the card whose row was missing got a placeholder: nothing was dropped
        missing = sorted({e.card_id for e in log})[-1]
        assert missing in {c.card_id for c in store.orphans()}
        # stored befores only where they cannot be derived
        stored = store.conn.execute(
            "SELECT count(*) FROM review_log WHERE before IS NOT NULL"
        ).fetchone()[0]
        derivable = _derivable(list(by_id.items()))
        assert stored == len(log) - derivable and 0 < stored < len(log)
        # Anki dedupe still holds
        dup = next(e for e in log if e.anki_revlog_id is not None)
        assert store.import_reviews([dup]) == (0, 1)
    # the old database was kept before migrating
    saved = tmp_path / "backups" / f"dlcards-before-v{LATEST}.sqlite3"
    conn = sqlite3.connect(saved)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == V6
    assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == len(log)
    conn.close()


def _derivable(pairs: list[tuple[int, ReviewEntry]]) -> int:
    """How many reviews' before is their card's previous after (or new for the first)."""
    last: dict[str, CardState] = {}
    n = 0
    for _, e in sorted(pairs, key=lambda p: (p[1].card_id, p[1].time, p[0])):
        previous = last.get(e.card_id, CardState(e.card_id))
        n += _state_key(previous) == _state_key(e.before)
        last[e.card_id] = e.after
    return n


def test_view_shows_the_old_columns(tmp_path: Path) -> None:
    path = tmp_path / "dlcards.sqlite3"
    log = random_log(3, 10)
    by_id = write_v6(path, log, 4)
    with Store.open(path) as store:
        rows = store.conn.execute(
            "SELECT id, card_id, time, rating, duration_ms, kind, source, anki_revlog_id, "
            "after_phase, after_step, after_stability, after_difficulty, after_due, "
            "after_last_review, after_reps, after_lapses, after_interval_days FROM reviews"
        ).fetchall()
    assert len(rows) == len(log)
    iso = old_text
    for rid, cid, t, rating, ms, kind, source, anki, *after in rows:
        e = by_id[rid]
        assert (cid, t, rating, ms, kind, source, anki) == (
            e.card_id,
            iso(e.time),
            int(e.rating),
            e.duration_ms,
            e.kind,
            e.source,
            e.anki_revlog_id,
        )
        a = e.after
        assert after == [
            a.phase,
            a.step,
            a.stability,
            a.difficulty,
            iso(a.due),
            iso(a.last_review),
            a.reps,
            a.lapses,
            a.interval_days,
        ]


def test_a_failed_migration_leaves_the_old_database(tmp_path: Path) -> None:
    path = tmp_path / "dlcards.sqlite3"
    log = random_log(5, 8)
    write_v6(path, log, 6)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE reviews SET after_due = 'not a time' WHERE id = 3")
    conn.commit()
    before = conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    conn.close()
    with pytest.raises(StoreError, match=r"migration 7 .*schema version 6"):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == V6
    assert conn.execute("SELECT * FROM reviews ORDER BY id").fetchall() == before
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "review_log" not in names and "cards_v7" not in names
    conn.close()


def test_migrated_file_is_smaller(tmp_path: Path) -> None:
    path = tmp_path / "dlcards.sqlite3"
    write_v6(path, random_log(8, 300), 9)
    old = path.stat().st_size
    Store.open(path).close()
    assert path.stat().st_size < old / 2


# -- writes keep the befores exact ----------------------------------------------------------------


def _check(store: Store, oracle: dict[int, ReviewEntry]) -> None:
    assert store.reviews_with_ids() == in_order(oracle)
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # `before` stored exactly where the previous after (or new) is not it
    stored = {
        rid for (rid,) in store.conn.execute("SELECT id FROM review_log WHERE before IS NOT NULL")
    }
    last: dict[str, CardState] = {}
    for rid, e in sorted(oracle.items(), key=lambda p: (p[1].card_id, p[1].time, p[0])):
        previous = last.get(e.card_id, CardState(e.card_id))
        assert (rid in stored) == (_state_key(previous) != _state_key(e.before)), rid
        last[e.card_id] = e.after


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_writes_keep_every_before(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    pool = random_log(seed, 12)
    oracle: dict[int, ReviewEntry] = {}
    done: dict[str, int] = {}
    with Store.open(tmp_path / "dlcards.sqlite3") as store:
        for step in range(80):
            op = rng.choice(["append", "append", "import", "middle", "relink", "undo", "delete"])
            before = len(oracle), sorted(oracle.items(), key=lambda p: p[0])[:1]
            if op == "append" and pool:
                e = pool.pop(0)
                oracle[store.record_review(e)] = e
            elif op == "import" and pool:
                batch = [pool.pop(0) for _ in range(min(len(pool), rng.randint(1, 6)))]
                batch = [replace(e, anki_revlog_id=None) for e in batch]
                assert store.import_reviews(batch) == (len(batch), 0)
                ids = [r for (r,) in store.conn.execute("SELECT id FROM review_log ORDER BY id")]
                for rid, e in zip(ids[-len(batch) :], batch, strict=True):
                    oracle[rid] = e
            elif op == "middle" and oracle:  # an answer dated inside a card's history
                rid, e = rng.choice(sorted(oracle.items()))
                t = e.time - timedelta(microseconds=rng.randint(0, 3))
                new = ReviewEntry(
                    e.card_id,
                    t,
                    Rating.HARD,
                    7,
                    random_state(rng, e.card_id, t, 1),
                    random_state(rng, e.card_id, t, 2),
                    kind="review",
                )
                oracle[store.record_review(new)] = new
            elif op == "relink" and len({e.card_id for e in oracle.values()}) > 1:
                a, b = rng.sample(sorted({e.card_id for e in oracle.values()}), 2)
                moved = store.relink(a, b)
                assert moved == sum(e.card_id == a for e in oracle.values())
                for rid, e in list(oracle.items()):
                    if e.card_id == a:
                        oracle[rid] = replace(
                            e,
                            card_id=b,
                            before=replace(e.before, card_id=b),
                            after=replace(e.after, card_id=b),
                        )
            elif op == "undo" and oracle:
                cid = rng.choice(sorted({e.card_id for e in oracle.values()}))
                rid, e = max(
                    ((r, x) for r, x in oracle.items() if x.card_id == cid),
                    key=lambda p: (p[1].time, p[0]),
                )
                store.set_state(e.after)
                assert store.undo_review(rid) == e
                del oracle[rid]
            elif op == "delete" and oracle and step % 4 == 0:
                cid = rng.choice(sorted({e.card_id for e in oracle.values()}))
                n = store.delete_card(cid)
                assert n == sum(e.card_id == cid for e in oracle.values())
                oracle = {r: e for r, e in oracle.items() if e.card_id != cid}
            if (len(oracle), sorted(oracle.items(), key=lambda p: p[0])[:1]) != before:
                done[op] = done.get(op, 0) + 1
            _check(store, oracle)
    assert set(done) >= {"append", "import", "middle", "undo"}, done


def test_sync_inserts_keep_befores_and_dedupe(tmp_path: Path) -> None:
    log = random_log(21, 6)
    with Store.open(tmp_path / "dlcards.sqlite3") as store:
        oracle = {store.record_review(e): e for e in log[::2]}
        late = [
            replace(e, source="anki", anki_revlog_id=5 * 10**12 + i)
            for i, e in enumerate(log[1::2])
        ]
        write = store_sync.SyncWrite("t", T0, reviews=[*late, late[0]])
        assert store_sync.commit_sync(store, write) == len(late)
        ids = [r for (r,) in store.conn.execute("SELECT id FROM review_log ORDER BY id")]
        oracle.update(zip(ids[-len(late) :], late, strict=True))
        _check(store, oracle)
        assert store_sync.commit_sync(store, store_sync.SyncWrite("t", T0, reviews=late)) == 0


def test_on_day_and_single_reads_find_the_previous_row(tmp_path: Path) -> None:
    log = random_log(31, 8)
    with Store.open(tmp_path / "dlcards.sqlite3") as store:
        oracle = {store.record_review(e): e for e in log}
        ordered = in_order(oracle)
        mid = ordered[len(ordered) // 2][1].time
        day = store.reviews_on_day(mid, mid + timedelta(days=2))
        assert day == [e for _, e in ordered if mid <= e.time < mid + timedelta(days=2)]
        for rid, e in oracle.items():
            assert store.review(rid) == e
        assert store.rated_answers() == [
            (e.card_id, e.time.isoformat(timespec="microseconds"), int(e.rating))
            for _, e in ordered
            if e.kind != "manual"
        ]


@pytest.mark.parametrize(("zone", "hour"), [("UTC", 4), ("Europe/Berlin", 0)])
def test_stats_columns_derive_the_before_flags(tmp_path: Path, zone: str, hour: int) -> None:
    log = random_log(41, 50)
    with Store.open(tmp_path / "dlcards.sqlite3") as store:
        for e in log[::3]:  # some rows first, the rest imported around them (ids out of order)
            store.record_review(e)
        store.import_reviews([replace(e, anki_revlog_id=None) for i, e in enumerate(log) if i % 3])
        cal = StudyCalendar(ZoneInfo(zone), hour)
        got = log_figures(store.conn, cal)
        want = LogFigures.of(store.reviews(), cal)
        assert got.days == want.days and got.cards == want.cards
        assert got.durations == want.durations
        explicit = store.conn.execute(
            "SELECT before FROM review_log WHERE before IS NOT NULL LIMIT 1"
        ).fetchone()[0]
        assert len(json.loads(explicit)) == 9
