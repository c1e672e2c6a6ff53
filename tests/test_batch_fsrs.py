"""Batched FSRS memory states (issue 16, item 4): `dlcards.review.batch.memory_states_batch`
gives, in one fsrs-rs call, the memory states `anki_days.memory_states` gets by replaying each
history through py-fsrs, with Anki's elapsed-day rule (DST-spanning histories included), the
same as real Anki's `compute_memory_state`, and the optimiser's recompute uses it. Speed is
measured by scripts/bench.py (`fsrs_batch`), not asserted here."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import test_parity_anki_days as D
from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import Rating
from dlcards.review import anki_days
from dlcards.review.batch import _deltas, fsrs_items, memory_states_batch

pytest.importorskip("fsrs_rs_python", reason="fsrs-rs-python is not installed")

# fsrs-rs evaluates in 32-bit floats, py-fsrs in 64-bit: the bound on their disagreement
# (measured: median 3e-7, worst 5e-6 over thousands of random histories)
F32 = 1e-5
NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def histories(seed: int, tz: str, rollover: int, n: int = 200) -> dict[str, list]:  # type: ignore[type-arg]
    rng = random.Random(seed)
    return {f"c{i}": h for i, h in enumerate(D.histories_for(rng, ZoneInfo(tz), rollover, NOW)[:n])}


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize(("tz", "rollover"), [("America/New_York", 4), ("Europe/London", 0)])
def test_batch_equals_the_replay(tz: str, rollover: int) -> None:
    hist = histories(7 + rollover, tz, rollover)
    cutoff = anki_days.next_day_at(NOW, StudyCalendar(ZoneInfo(tz), rollover))
    replayed = anki_days.memory_states(hist, cutoff)
    batched = memory_states_batch(hist, cutoff)
    assert set(batched) == set(replayed) and len(batched) == len(hist)
    errors = [
        max(rel(batched[c].stability, m.stability), rel(batched[c].difficulty, m.difficulty))
        for c, m in replayed.items()
    ]
    assert max(errors) < F32
    assert sorted(errors)[len(errors) // 2] < 1e-6


def test_elapsed_days_are_ankis() -> None:
    """The integer day arithmetic equals `anki_days.delta_ts` (DST and rollover edges)."""
    hist = histories(3, "America/New_York", 4, n=300)
    cutoff = anki_days.next_day_at(NOW, StudyCalendar(ZoneInfo("America/New_York"), 4))
    cutoff_s = int(cutoff.timestamp())
    for h in hist.values():
        times = sorted(t for t, _, _ in h)
        assert _deltas(times, cutoff_s) == anki_days.delta_ts(times, cutoff)


def test_parameters_empty_histories_and_order() -> None:
    t = datetime(2025, 3, 1, 10, tzinfo=UTC)
    good = [(t, Rating.GOOD), (t + timedelta(days=3), Rating.GOOD), (t + timedelta(days=9), 2)]
    shuffled = {"a": list(reversed(good)), "empty": []}
    params = list(D.scheduler("UTC", 4).parameters)
    params[0] = 0.9  # another initial stability for Again
    params[2] = 5.0  # ... and for Good
    default = memory_states_batch(shuffled, NOW)
    custom = memory_states_batch(shuffled, NOW, params)
    assert set(default) == {"a"}  # the empty history is left out; order does not matter
    assert default["a"] == memory_states_batch({"a": good}, NOW)["a"]
    assert custom["a"].stability != pytest.approx(default["a"].stability, rel=1e-3)
    replayed = anki_days.memory_states({"a": good}, NOW, params)["a"]
    assert rel(custom["a"].stability, replayed.stability) < F32
    ids, items = fsrs_items(shuffled, NOW)
    assert ids == ["a"] and len(items) == 1


def test_batch_equals_real_anki(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Anki's own compute_memory_state on the same revlog (one collection per rollover)."""
    pytest.importorskip("anki", reason="the anki package is not installed")
    tz = "Europe/Berlin"
    now = datetime.now(UTC)
    rng = random.Random("batch-anki")
    hist = {r: D.histories_for(rng, ZoneInfo(tz), r, now)[:60] for r in D.ROLLOVERS}
    rows = {
        r: [D.revlog_rows(D.scheduler(tz, r), f"c{i}", h) for i, h in enumerate(hist[r])]
        for r in D.ROLLOVERS
    }
    anki = D.run_anki(tz, rows)
    for r in D.ROLLOVERS:
        before, after = anki[str(r)]["cutoffs"]
        if before != after:
            pytest.skip("Anki's day rolled over during the test; run it again")
        cutoff = datetime.fromtimestamp(before, UTC)
        batched = memory_states_batch({f"c{i}": h for i, h in enumerate(hist[r])}, cutoff)
        for i, expected in enumerate(anki[str(r)]["states"]):
            got = batched[f"c{i}"]
            assert rel(got.stability, expected[0]) < D.TOL, (r, i)
            assert rel(got.difficulty, expected[1]) < D.TOL, (r, i)


def test_optimizer_recompute_uses_the_batch(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Adopting parameters recomputes every card's memory state with one batched call."""
    import test_stats_tui as T
    from dlcards.app import optimize
    from dlcards.app.collection import Collection
    from dlcards.review import batch

    (tmp_path / "decks").mkdir()
    monkeypatch.setenv("DLCARDS_NOW", T.NOW.isoformat())
    root = T.build_collection(tmp_path)
    calls: list[int] = []
    real = batch.memory_states_batch

    def counting(histories, cutoff, parameters=None):  # type: ignore[no-untyped-def]
        calls.append(len(histories))
        return real(histories, cutoff, parameters)

    monkeypatch.setattr(batch, "memory_states_batch", counting)
    with Collection.open(root) as col:
        params = list(col.scheduler.parameters)
        params[2] = 5.0
        optimize.adopt_parameters(col, params)
        states = col.store.states()
        history = [(e.time, e.rating) for e in col.store.reviews(["gr-dir"])]
    assert calls == [6]  # the six reviewed cards, in one call
    cutoff = anki_days.next_day_at(T.NOW, col.calendar)
    expected = anki_days.memory_states({"gr-dir": history}, cutoff, params)["gr-dir"]
    assert rel(states["gr-dir"].stability, expected.stability) < F32
