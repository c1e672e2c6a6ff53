"""Memory states agree with Anki's FSRS (fsrs-rs, and Anki itself) on random histories.

Histories have random times of day, same-day learning steps, long gaps and lapses; elapsed
days are study days with rollover 0 and 4. Tolerance: 1e-4 relative (fsrs-rs computes in f32).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.state import Rating
from dlcards.review.scheduling import Scheduler, SchedulerConfig

TOL = 1e-4


def scheduler(rollover: int, tz: str = "UTC") -> Scheduler:
    return Scheduler(
        SchedulerConfig(0.9, (60.0, 600.0), (600.0,), 36500, False, None, rollover, ZoneInfo(tz))
    )


def random_history(rng: random.Random, start: datetime) -> list[tuple[datetime, Rating, int]]:
    """Times: a first review at a random moment, then gaps of minutes (same day), hours
    (often across midnight / the rollover) or days to months."""
    t = start + timedelta(seconds=rng.randrange(86400 * 60))
    out = [(t, Rating(rng.choices([1, 2, 3, 4], [20, 10, 60, 10])[0]), 0)]
    for _ in range(rng.randint(1, 30)):
        kind = rng.random()
        if kind < 0.3:
            gap = rng.uniform(20, 3600)  # a learning step
        elif kind < 0.5:
            gap = rng.uniform(3600, 30 * 3600)  # hours: lands on either side of a day boundary
        else:
            gap = 86400 * rng.choice([1, 2, 3, 7, 15, 40, 120]) * rng.uniform(0.6, 1.4)
        t = t + timedelta(seconds=gap)
        out.append((t, Rating(rng.choices([1, 2, 3, 4], [15, 10, 65, 10])[0]), 0))
    return out


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("rollover", [0, 4])
def test_memory_states_match_fsrs_rs_on_random_histories(rollover: int) -> None:
    fsrs_rs = pytest.importorskip(
        "fsrs_rs_python", reason="fsrs-rs-python (Anki's FSRS) not installed"
    )
    model = fsrs_rs.FSRS(fsrs_rs.DEFAULT_PARAMETERS)
    sched = scheduler(rollover, "Europe/Berlin")
    rng = random.Random(1000 + rollover)
    worst = 0.0
    same_day_seen = 0
    for n in range(320):
        history = random_history(rng, datetime(2025, 1, 1, tzinfo=UTC))
        state, entries = sched.replay(f"card{n}", history)
        assert len(entries) == len(history)
        reviews = []
        previous = None
        for when, rating, _ in history:
            delta = 0 if previous is None else sched.elapsed_days(previous, when)
            same_day_seen += previous is not None and delta == 0
            reviews.append(fsrs_rs.FSRSReview(int(rating), delta))
            previous = when
        expected = model.memory_state(fsrs_rs.FSRSItem(reviews))
        assert state.stability is not None and state.difficulty is not None
        err = max(
            relative_error(state.stability, expected.stability),
            relative_error(state.difficulty, expected.difficulty),
        )
        worst = max(worst, err)
        assert err < TOL, (n, history, state, expected)
    assert same_day_seen > 300  # the short-term formula was exercised
    print(f"rollover {rollover}: max relative error {worst:.2e}")


def test_plain_24h_blocks_would_disagree() -> None:
    """Why the study-day counting matters: 23:00 -> next day 08:00 is 1 day for Anki."""
    fsrs_rs = pytest.importorskip("fsrs_rs_python", reason="fsrs-rs-python not installed")
    model = fsrs_rs.FSRS(fsrs_rs.DEFAULT_PARAMETERS)
    sched = scheduler(4)
    t0 = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    history = [(t0, Rating.GOOD, 0), (t0 + timedelta(hours=9), Rating.GOOD, 0)]
    state, _ = sched.replay("c", history)
    anki = model.memory_state(
        fsrs_rs.FSRSItem([fsrs_rs.FSRSReview(3, 0), fsrs_rs.FSRSReview(3, 1)])
    )
    blocks = model.memory_state(
        fsrs_rs.FSRSItem([fsrs_rs.FSRSReview(3, 0), fsrs_rs.FSRSReview(3, 0)])
    )
    assert state.stability == pytest.approx(anki.stability, rel=TOL)
    assert relative_error(blocks.stability, anki.stability) > 0.1


def _anki_memory_state(tmp_path, rollover: int, history, kinds):  # type: ignore[no-untyped-def]
    from anki.collection import Collection

    col = Collection(str(tmp_path / f"anki-{rollover}-{random.random()}.anki2"))
    try:
        col.set_config("rollover", rollover)
        col.set_config("fsrs", True)
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"] = "q"
        col.add_note(note, col.decks.id("Default"))
        cid = note.cards()[0].id
        revlog_type = {"learn": 0, "review": 1, "relearn": 2}
        for (when, rating, _), kind in zip(history, kinds, strict=True):
            col.db.execute(
                "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) values (?,?,?,?,?,?,?,?,?)",
                int(when.timestamp() * 1000),
                cid,
                -1,
                int(rating),
                1,
                0,
                2500,
                5000,
                revlog_type[kind],
            )
        cutoff = col.sched.day_cutoff
        result = col.compute_memory_state(cid)
    finally:
        col.close()
    return result, cutoff


@pytest.mark.parametrize("rollover", [0, 4])
def test_memory_states_match_real_anki(tmp_path, rollover: int) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("anki", reason="the anki package is not installed")
    rng = random.Random(77 + rollover)
    sched = scheduler(rollover, "UTC")
    checked = 0
    for n in range(12):
        # Anki counts days back from today's cutoff, so the history lies in the past.
        start = datetime.now(UTC) - timedelta(days=900)
        history = random_history(rng, start)
        history = [h for h in history if h[0] < datetime.now(UTC) - timedelta(days=2)]
        state, entries = sched.replay(f"c{n}", history)
        result, cutoff = _anki_memory_state(tmp_path, rollover, history, [e.kind for e in entries])
        if cutoff % 86400 != rollover * 3600:
            pytest.skip("Anki's day cutoff is not in UTC on this machine (TZ is not UTC)")
        assert result.stability is not None
        assert state.stability == pytest.approx(result.stability, rel=TOL), (n, history)
        assert state.difficulty == pytest.approx(result.difficulty, rel=TOL), (n, history)
        checked += 1
    assert checked == 12
