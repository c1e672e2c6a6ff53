"""Batched FSRS memory states (issue 16, item 4): `dlcards.review.batch.memory_states_batch`
gives the memory states `anki_days.memory_states` gets by replaying each history through
py-fsrs (the same float64 arithmetic, vectorised over the cards with numpy), with Anki's
elapsed-day rule (DST-spanning histories included), the same as real Anki's
`compute_memory_state`, and the optimiser's recompute uses it. Speed is measured by
scripts/bench.py (`fsrs_batch`), not asserted here."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import test_parity_anki_days as D
from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import ConfigError
from dlcards.core.state import Rating
from dlcards.review import anki_days, batch
from dlcards.review.batch import memory_states_batch

# numpy's vectorised pow may round differently from the C library's in the last bit; nothing
# else differs from the replay (measured: worst 7e-15 on the bench's histories)
TOL = 1e-12
NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY = 86_400
# _TAIL values: every step vectorised, the default switch, every step in Python
TAILS = (1, batch._TAIL, 10**9)
# UTC instants of daylight-saving changes (a 30-minute one at Lord Howe; New York at 2:00)
DST = {
    "America/New_York": (datetime(2025, 3, 9, 7, tzinfo=UTC), datetime(2025, 11, 2, 6, tzinfo=UTC)),
    "Australia/Lord_Howe": (datetime(2025, 4, 5, 15, tzinfo=UTC), datetime(2025, 10, 4, 15, 30, tzinfo=UTC)),
    "Europe/Berlin": (datetime(2025, 3, 30, 1, tzinfo=UTC), datetime(2025, 10, 26, 1, tzinfo=UTC)),
}  # fmt: skip


def parity_histories(seed: int, tz: str, rollover: int, n: int = 200) -> dict[str, list[Any]]:
    rng = random.Random(seed)
    return {f"c{i}": h for i, h in enumerate(D.histories_for(rng, ZoneInfo(tz), rollover, NOW)[:n])}


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def worst(got: dict[str, anki_days.MemoryState], want: dict[str, anki_days.MemoryState]) -> float:
    assert set(got) == set(want)
    return max(
        (
            max(rel(got[c].stability, m.stability), rel(got[c].difficulty, m.difficulty))
            for c, m in want.items()
        ),
        default=0.0,
    )


def with_tail(tail: int, *args: Any) -> dict[str, anki_days.MemoryState]:
    saved = batch._TAIL
    batch._TAIL = tail
    try:
        got: dict[str, anki_days.MemoryState] = memory_states_batch(*args)
        return got
    finally:
        batch._TAIL = saved


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize(("tz", "rollover"), [("America/New_York", 4), ("Europe/London", 0)])
def test_batch_equals_the_replay(tz: str, rollover: int, tail: int) -> None:
    hist = parity_histories(7 + rollover, tz, rollover)
    cutoff = anki_days.next_day_at(NOW, StudyCalendar(ZoneInfo(tz), rollover))
    replayed = anki_days.memory_states(hist, cutoff)
    batched = with_tail(tail, hist, cutoff)
    assert len(batched) == len(hist)
    assert worst(batched, replayed) < TOL
    if tail == TAILS[-1]:  # one review at a time: the replay's operations, bit for bit
        assert batched == replayed


# ---- random histories (hypothesis) --------------------------------------------------------

# gaps between reviews: the same minute, learning steps, across a rollover or not, days to
# months, years
GAPS = st.one_of(
    st.just(0),
    st.integers(1, 3_600),
    st.integers(3_600, 30 * 3_600),
    st.integers(1, 120).map(lambda d: d * DAY),
    st.integers(0, 200 * DAY),
    st.integers(300 * DAY, 3 * 365 * DAY),
)
RATINGS = st.sampled_from([1, 2, 3, 4])


@st.composite
def histories(draw: st.DrawFn, around: datetime) -> dict[str, list[tuple[datetime, int]]]:
    """Up to 40 cards, each with 0..25 reviews in time order (some cards with more than the
    others: the tail), starting up to a year before `around`, times to the microsecond."""
    out: dict[str, list[tuple[datetime, int]]] = {}
    for i in range(draw(st.integers(0, 40))):
        n = draw(st.integers(0, 25)) if i % 7 else draw(st.integers(0, 60))
        t = around - timedelta(seconds=draw(st.integers(0, 365 * DAY)))
        h = []
        for _ in range(n):
            t += timedelta(seconds=draw(GAPS), microseconds=draw(st.sampled_from([0, 1, 999_999])))
            h.append((t, draw(RATINGS)))
        out[f"c{i}"] = h
    return out


def parameters() -> st.SearchStrategy[list[float] | None]:
    """None (the defaults) or 21 weights anywhere within py-fsrs' bounds."""
    import fsrs.scheduler as f

    bounds = zip(f.LOWER_BOUNDS_PARAMETERS, f.UPPER_BOUNDS_PARAMETERS, strict=True)
    custom = st.tuples(*(st.floats(lo, hi) for lo, hi in bounds)).map(list)
    return st.one_of(st.none(), custom)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    zone=st.sampled_from(sorted(DST)),
    rollover=st.sampled_from([0, 4, 23]),
    params=parameters(),
    tail=st.sampled_from(TAILS),
)
def test_random_histories_equal_the_replay(
    data: st.DataObject, zone: str, rollover: int, params: list[float] | None, tail: int
) -> None:
    """Same-day reviews, long gaps, all four ratings, custom parameters, reviews around a
    daylight-saving change and after the cutoff: the replay's memory states; integer seconds
    and times in the zone give exactly the same ones as UTC datetimes."""
    tz = ZoneInfo(zone)
    change = data.draw(st.sampled_from(DST[zone]))
    hist = data.draw(histories(change))
    now = change + timedelta(seconds=data.draw(st.integers(-3 * DAY, 400 * DAY)))
    cutoff = anki_days.next_day_at(now, StudyCalendar(tz, rollover))
    replayed = anki_days.memory_states(hist, cutoff, params)
    batched = with_tail(tail, hist, cutoff, params)
    assert set(batched) == {c for c, h in hist.items() if h}
    assert worst(batched, replayed) < TOL
    assert batched == replayed or tail != TAILS[-1]  # one at a time: bit for bit
    # the same instants as whole seconds (Anki's revlog id // 1000), and as local times
    seconds = {c: [(anki_days._secs(t), r) for t, r in h] for c, h in hist.items()}
    assert with_tail(tail, seconds, int(cutoff.timestamp()), params) == batched
    local = {c: [(t.astimezone(tz), Rating(r)) for t, r in h] for c, h in hist.items()}
    assert with_tail(tail, local, cutoff.astimezone(tz), params) == batched


@settings(max_examples=40, deadline=None)
@given(hist=histories(NOW), seed=st.integers(0, 2**32))
def test_order_of_the_input_does_not_matter(hist: dict[str, list[Any]], seed: int) -> None:
    """Each history is sorted by time, stably (equal instants keep their order), as the replay
    sorts it; the order of the cards does not matter either."""
    rng = random.Random(seed)
    shuffled = {c: rng.sample(h, len(h)) for c, h in rng.sample(list(hist.items()), len(hist))}
    cutoff = NOW + timedelta(days=1)
    got = memory_states_batch(shuffled, cutoff)
    assert got == memory_states_batch(hist, cutoff) or any(
        len({t for t, _ in h}) < len(h)
        for h in hist.values()  # ties: order of the input
    )
    assert worst(got, anki_days.memory_states(shuffled, cutoff)) < TOL


def test_days_back_are_ankis() -> None:
    """The elapsed-day arithmetic is `anki_days.days_back`: DST and rollover edges, whole
    seconds and microseconds next to a 24-hour boundary of the cutoff, times after it, in UTC,
    in another zone and as integer seconds."""
    hist = parity_histories(3, "America/New_York", 4, n=300)
    cutoff = anki_days.next_day_at(NOW, StudyCalendar(ZoneInfo("America/New_York"), 4))
    edge = [
        cutoff + timedelta(days=-k, seconds=s, microseconds=us)
        for k in (0, 1, 2, 400)
        for s in (-2, -1, 0, 1)
        for us in (0, 1, 999_999)
    ]
    hist["edges"] = [(t, 3) for t in sorted(edge)]
    ny = ZoneInfo("America/New_York")
    variants = [
        hist,
        {c: [(t.astimezone(ny), r) for t, r, *_ in h] for c, h in hist.items()},
        {c: [(anki_days._secs(t), r) for t, r, *_ in h] for c, h in hist.items()},
    ]
    expected = [
        anki_days.days_back(t, cutoff) for h in hist.values() for t in sorted(x[0] for x in h)
    ]
    for variant in variants:
        ids, lengths, back, _ = batch._flatten(variant, cutoff)
        assert ids == list(hist)
        assert lengths.tolist() == [len(h) for h in hist.values()]
        assert back.tolist() == expected
    assert min(expected) == 0 and expected.count(0) >= 12  # the edges after the cutoff


def test_kinds_of_times_mixed() -> None:
    """Cards with datetimes and cards with integer seconds in one call, and both in one
    history: each review counts where its instant is."""
    t = datetime(2025, 3, 1, 10, 30, 15, 500_000, tzinfo=UTC)
    history = [(t + timedelta(days=d, hours=h), r) for d, h, r in [(0, 0, 3), (0, 1, 1), (2, 0, 3), (9, 5, 2), (30, 0, 4)]]  # fmt: skip
    as_secs = [(anki_days._secs(when), r) for when, r in history]
    mixed = [x if i % 2 else y for i, (x, y) in enumerate(zip(history, as_secs, strict=True))]
    got = memory_states_batch({"dt": history, "secs": as_secs, "mixed": mixed}, NOW)
    assert got["dt"] == got["secs"] == got["mixed"]
    assert worst({"dt": got["dt"]}, anki_days.memory_states({"dt": history}, NOW)) < TOL


def test_times_in_a_zone_sort_as_instants() -> None:
    """Python compares two times with the same tzinfo as wall times: in the hour repeated when
    New York leaves daylight-saving time, 1:30 EDT comes before 1:10 EST although its wall time
    is later. The histories are sorted as instants, as the replay sorts them."""
    ny = ZoneInfo("America/New_York")
    edt = datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 1:30 EDT
    est = datetime(2025, 11, 2, 6, 10, tzinfo=UTC)  # 1:10 EST
    start = datetime(2025, 10, 20, 12, tzinfo=UTC)
    history = [(start, 3), (edt, 1), (est + timedelta(days=3), 3), (est, 4)]
    local = [(t.astimezone(ny), r) for t, r in history]
    assert local[1][0] > local[3][0]  # wall times
    cutoff = datetime(2025, 12, 1, 9, tzinfo=UTC)
    got = memory_states_batch({"utc": history, "local": local}, cutoff)
    assert got["utc"] == got["local"]
    assert worst({"utc": got["utc"]}, anki_days.memory_states({"utc": history}, cutoff)) < TOL
    assert worst({"local": got["local"]}, anki_days.memory_states({"local": local}, cutoff)) < TOL


def test_parameters_empty_histories_and_errors() -> None:
    t = datetime(2025, 3, 1, 10, tzinfo=UTC)
    good = [(t, Rating.GOOD), (t + timedelta(days=3), Rating.GOOD), (t + timedelta(days=9), 2)]
    params = list(D.scheduler("UTC", 4).parameters)
    params[0] = 0.9  # another initial stability for Again
    params[2] = 5.0  # ... and for Good
    default = memory_states_batch({"a": good, "empty": []}, NOW)
    custom = memory_states_batch({"a": good}, NOW, params)
    assert set(default) == {"a"}  # the empty history is left out
    assert custom["a"].stability != pytest.approx(default["a"].stability, rel=1e-3)
    assert (
        rel(custom["a"].stability, anki_days.memory_states({"a": good}, NOW, params)["a"].stability)
        < TOL
    )
    assert memory_states_batch({}, NOW) == {} == memory_states_batch({"e": []}, NOW)
    with pytest.raises(ConfigError):  # py-fsrs' validation, as the replay's
        memory_states_batch({"a": good}, NOW, params[:20])
    for bad in (0, 5, -1, 300):
        with pytest.raises(ValueError, match="not a valid Rating"):
            memory_states_batch({"a": good, "b": [*good, (t + timedelta(days=20), bad)]}, NOW)
    with pytest.raises(ValueError, match="naive"):
        memory_states_batch({"a": [(t.replace(tzinfo=None), 3)]}, NOW)
    with pytest.raises(ValueError, match="naive"):
        memory_states_batch({"a": [*good, (t.replace(tzinfo=None), 3)]}, NOW)


def test_long_histories_and_many_cards() -> None:
    """A few very long histories next to many short ones (the tail finished in Python after
    the vectorised steps), at the clamps: S_MAX after years of Easy, S_MIN after Again."""
    rng = random.Random(11)
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    hist: dict[str, list[tuple[datetime, int]]] = {}
    for i in range(120):
        n = 400 if i < 3 else rng.randint(1, 30)
        t = t0 + timedelta(seconds=rng.randint(0, 10**6))
        h = []
        for _ in range(n):
            t += timedelta(seconds=rng.choice([0, 60, 7200, DAY, 5 * DAY] if i else [0, 90 * DAY]))
            h.append((t, 4 if i == 0 else 1 if i == 1 else rng.randint(1, 4)))
        hist[f"c{i}"] = h
    cutoff = max(t for h in hist.values() for t, _ in h) + timedelta(days=1)
    replayed = anki_days.memory_states(hist, cutoff)
    assert replayed["c0"].stability == 36500.0 and replayed["c1"].stability == 0.001
    for tail in TAILS:
        assert worst(with_tail(tail, hist, cutoff), replayed) < TOL


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
    from dlcards.review.optimizer import check_parameters

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
    adopted = check_parameters(params)  # as fsrs-rs fills them in (float32 round trips)
    expected = anki_days.memory_states({"gr-dir": history}, cutoff, adopted)["gr-dir"]
    assert rel(states["gr-dir"].stability, expected.stability) < TOL
    assert rel(states["gr-dir"].difficulty, expected.difficulty) < TOL
