"""Many histories replayed at once (issue 16, item 4): `dlcards.review.batch.replay_batch`
gives exactly what `Scheduler.replay` gives card by card (phases, steps, due dates, intervals,
counts and memory states, bit for bit: it evaluates the same 64-bit formulas), on random
histories with learning, lapses and relearning, same-day reviews, several zones with
daylight-saving changes (a 30-minute one included) and rollover hours, with and without
fuzz, steps and a cutoff; and `dlcards import-anki`, which now replays through it, stores
the schedule the sequential replay computes. Speed is measured by scripts (see
docs/notes/issue-16-batch-replay-s3.md), not asserted here."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import test_parity_anki_days as D
from dlcards.core.state import Rating
from dlcards.review import anki_days
from dlcards.review.batch import _Days, replay_batch
from dlcards.review.scheduling import Scheduler, SchedulerConfig

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)

History = list[tuple[datetime, Rating, int]]


def burst_history(rng: random.Random, start: datetime, latest: datetime) -> History:
    """Reviews in bursts: several the same day (short-term stability), lapses followed by
    relearning steps, long pauses (clamps, long intervals)."""
    t, out = start, []
    for _ in range(rng.randint(1, 30)):
        rating = Rating(rng.choices([1, 2, 3, 4], [25, 15, 45, 15])[0])
        out.append((t, rating, rng.randint(0, 60_000)))
        gap = rng.choice([30, 300, 900, 4 * 3600, 86400, 5 * 86400, 90 * 86400, 700 * 86400])
        t = t + timedelta(seconds=gap * rng.uniform(0.5, 1.5))
        if t >= latest:
            break
    return out


def histories(seed: int, tz: str, rollover: int, n: int) -> dict[str, History]:
    rng = random.Random(seed)
    found: list[History] = []
    while len(found) < n:
        found += D.histories_for(rng, ZoneInfo(tz), rollover, NOW)
        latest = NOW - timedelta(days=1)
        for _ in range(n // 3):
            start = latest - timedelta(days=rng.uniform(1, 3 * 365))
            found.append(burst_history(rng, start, latest))
    rng.shuffle(found)
    return {f"c{i}-{tz}": h for i, h in enumerate(found[:n])}


CONFIGS = [
    # tz, rollover, fuzz, learning steps, relearning steps, maximum interval, retention, cutoff
    ("America/New_York", 4, True, (60.0, 600.0), (600.0,), 36500, 0.9, True),
    ("Europe/Berlin", 0, True, (), (), 36500, 0.9, True),
    ("Asia/Kolkata", 23, False, (60.0,), (600.0, 3600.0), 36500, 0.85, False),
    ("Australia/Lord_Howe", 2, True, (60.0, 600.0, 2 * 86400.0), (600.0,), 60, 0.95, True),
    ("UTC", 0, True, (1800.0,), (), 36500, 0.8, False),
    ("America/Sao_Paulo", 0, True, (60.0, 600.0), (600.0,), 36500, 0.9, True),
]


def scheduler(tz: str, rollover: int, fuzz: bool, steps: Any, relearn: Any, maximum: int,
              retention: float, parameters: tuple[float, ...] | None = None) -> Scheduler:  # fmt: skip
    return Scheduler(
        SchedulerConfig(
            retention, steps, relearn, maximum, fuzz, parameters, rollover, ZoneInfo(tz)
        )
    )


@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_batch_replay_is_the_sequential_replay(config: tuple[Any, ...]) -> None:
    tz, rollover, fuzz, steps, relearn, maximum, retention, with_cutoff = config
    hist = histories(rollover + len(tz), tz, rollover, 150)
    sched = scheduler(tz, rollover, fuzz, steps, relearn, maximum, retention)
    cutoff = anki_days.next_day_at(NOW, sched.config.calendar) if with_cutoff else None
    batch = replay_batch(sched, hist, cutoff=cutoff)
    assert set(batch) == set(hist)
    phases = set()
    for card_id, history in hist.items():
        state, entries = sched.replay(card_id, history, cutoff=cutoff)
        got_state, got_entries = batch[card_id]
        assert got_entries == entries  # every before/after state, equal floats included
        assert got_state == state
        phases |= {(e.before.phase, e.after.phase) for e in entries}
    # the histories went through every transition the steps allow
    assert ("review", "review") in phases and ("new", "review") in phases
    if relearn:
        assert ("review", "relearning") in phases and ("relearning", "review") in phases
    if steps:
        assert ("new", "learning") in phases and ("learning", "review") in phases


def test_wanted_entries_and_custom_parameters() -> None:
    """Only the entries asked for are built; the final state is the same either way."""
    params = list(D.scheduler("UTC", 4).parameters)
    params[0], params[2], params[20] = 0.9, 5.0, 0.3  # other initial stabilities and decay
    sched = scheduler("Europe/London", 4, True, (60.0, 600.0), (600.0,), 36500, 0.9, tuple(params))
    hist = histories(11, "Europe/London", 4, 120)
    cutoff = anki_days.next_day_at(NOW, sched.config.calendar)
    rng = random.Random(5)
    wanted = {c: {i for i in range(len(h)) if rng.random() < 0.3} for c, h in hist.items()}
    del wanted[next(iter(wanted))]  # a card not in `wanted` gets no entries
    batch = replay_batch(sched, hist, cutoff=cutoff, wanted=wanted)
    for card_id, history in hist.items():
        state, entries = sched.replay(card_id, history, cutoff=cutoff)
        got_state, got_entries = batch[card_id]
        assert got_state == state
        want = wanted.get(card_id, set())
        assert got_entries == [e if i in want else None for i, e in enumerate(entries)]


def test_order_ties_empty_and_errors() -> None:
    sched = D.scheduler("UTC", 4)
    t = datetime(2025, 3, 1, 10, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    history: History = [
        (t + timedelta(days=3), Rating.GOOD, 10),
        (t, Rating.GOOD, 1),
        (t.astimezone(berlin), Rating.AGAIN, 2),  # the same instant, another zone: stays second
        (t + timedelta(minutes=5), Rating.HARD, 3),
    ]
    got = replay_batch(sched, {"a": history, "empty": []})
    assert got["a"] == sched.replay("a", history)
    assert [e.duration_ms for e in got["a"][1]] == [1, 2, 3, 10]
    assert all(e.time.tzinfo is UTC for e in got["a"][1])
    assert got["empty"] == sched.replay("empty", [])
    naive = [(datetime(2025, 3, 1, 10), Rating.GOOD, 0)]
    with pytest.raises(ValueError):
        sched.replay("n", naive)
    with pytest.raises(ValueError):
        replay_batch(sched, {"n": naive})
    with pytest.raises(ValueError):
        replay_batch(sched, {"r": [(t, 5, 0)]})  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("tz", "rollover"),
    [("America/New_York", 4), ("Australia/Lord_Howe", 0), ("Asia/Kolkata", 23), ("UTC", 0)],
)
def test_study_days_from_integer_seconds(tz: str, rollover: int) -> None:
    """The cached study day of a time is `study_day`'s, around every DST change too."""
    from dlcards.core.calendar import day_start, study_day

    zone = ZoneInfo(tz)
    days = _Days(zone, rollover)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    changes = D.dst_changes(zone, start, start + timedelta(days=3 * 365))
    moments = [start + timedelta(minutes=37 * i) for i in range(0, 3 * 365 * 24 * 60 // 37, 11)]
    for change in changes:
        moments += [change + timedelta(minutes=m) for m in range(-26 * 60, 26 * 60, 7)]
    for t in moments:
        secs = int(t.timestamp())
        want = study_day(t, zone, rollover)
        assert days.today(secs) == want.toordinal(), t
        assert days.start(want.toordinal()) == day_start(want, zone, rollover)


# -- import-anki of a real Anki collection -----------------------------------------------------


def _anki_collection(tmp_path: Path, examples: Path, rows_per_card: int) -> tuple[Path, int]:
    """The examples built and imported into a real Anki collection, then a synthetic review
    log for every card (learning, lapses, relearning, reviews days to months apart)."""
    pytest.importorskip("anki.collection", reason="the `anki` package is not installed")
    from dlcards.cli.main import main
    from test_export_anki import import_apkg, new_anki

    out = tmp_path / "out"
    assert main(["-C", str(examples), "build", "-o", str(out)]) == 0
    col = new_anki(tmp_path)
    import_apkg(col, out / "Deep-Learning.apkg")
    cids = col.db.list("select id from cards order by id")
    path = Path(col.path)
    col.close()
    rng = random.Random(3)
    latest = int(NOW.timestamp()) - 3600
    rows, seen = [], set()
    for cid in cids:
        t = latest - rng.randint(20, 600) * 86400 + rng.randint(0, 86400)
        for _ in range(rng.randint(1, rows_per_card)):
            if t >= latest:
                break
            ease = rng.choices([1, 2, 3, 4], [15, 10, 60, 15])[0]
            rid = t * 1000 + rng.randint(0, 999)
            while rid in seen:
                rid += 1
            seen.add(rid)
            rows.append((rid, cid, -1, ease, 1, 0, 2500, 4000, 1))
            t += int(rng.choice([60, 600, 7200, 86400, 3 * 86400, 20 * 86400]) * rng.uniform(1, 2))
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
            "values (?,?,?,?,?,?,?,?,?)",
            rows,
        )
    db.close()
    return path, len(rows)


def test_import_anki_stores_the_sequential_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two imports of a growing Anki history (the second merges new rows into histories the
    store already holds) store, for every card, the entries and the state that
    `Scheduler.replay` computes from the whole history with the import's cutoff."""
    import shutil

    from conftest import EXAMPLES
    from dlcards.app.collection import Collection
    from dlcards.cli.main import main
    from dlcards.store import Store

    examples = tmp_path / "cards"
    shutil.copytree(EXAMPLES, examples / "decks")
    monkeypatch.setenv("DLCARDS_NOW", NOW.isoformat())
    path, total = _anki_collection(tmp_path, examples, 12)
    # the first import sees the older half of the log
    first = tmp_path / "first.anki2"
    shutil.copy(path, first)
    db = sqlite3.connect(first)
    with db:
        (median,) = db.execute(
            "select id from revlog order by id limit 1 offset ?", (total // 2,)
        ).fetchone()
        db.execute("delete from revlog where id >= ?", (median,))
    db.close()
    assert main(["-C", str(examples), "import-anki", str(first)]) == 0
    assert f"imported {total // 2} reviews" in capsys.readouterr().out
    assert main(["-C", str(examples), "import-anki", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would import {total - total // 2} reviews" in out
    assert f"{total // 2} already imported" in out
    assert main(["-C", str(examples), "import-anki", str(path)]) == 0
    assert f"imported {total - total // 2} reviews" in capsys.readouterr().out

    col = Collection.open(examples)
    sched = col.scheduler
    cutoff = anki_days.next_day_at(NOW, sched.config.calendar)
    with Store.open() as store:
        log, states = store.reviews(), store.states()
    assert len(log) == total
    by_card: dict[str, list[Any]] = {}
    for entry in log:
        by_card.setdefault(entry.card_id, []).append(entry)
    assert len(by_card) >= 20  # every card of the examples
    for card_id, entries in by_card.items():
        history = [(e.time, e.rating, e.duration_ms) for e in entries]
        state, replayed = sched.replay(card_id, history, cutoff=cutoff)
        assert states[card_id] == state
        for stored, want in zip(entries, replayed, strict=True):
            assert (stored.before, stored.after, stored.kind) == (
                want.before,
                want.after,
                want.kind,
            )
            assert stored.source == "anki" and stored.anki_revlog_id is not None
