"""Memory states equal Anki's own `compute_memory_state`, daylight-saving changes included.

Anki counts FSRS's elapsed days in 24-hour blocks back from the day cutoff, not calendar days
(`dlcards.review.anki_days`). Each zone runs in one subprocess with TZ set (Anki's backend
takes the UTC offset from the process's zone), one real collection per rollover hour, every
history's revlog rows inserted into it, then `compute_memory_state` per card. dlcards replays
the same histories with Anki's cutoff. Tolerance: 1e-4 relative (fsrs-rs computes in f32).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.calendar import StudyCalendar, study_day
from dlcards.core.state import Rating
from dlcards.review import anki_days
from dlcards.review.scheduling import Scheduler, SchedulerConfig

TOL = 1e-4
PER_ROLLOVER = 300
ROLLOVERS = (0, 4)

# Runs in a subprocess whose TZ is the zone under test. stdin: {rollover: [history, ...]}, a
# history being [[revlog_id_ms, ease, type], ...]; stdout: per rollover the day cutoff
# Anki used (read before and after the computations) and each card's (stability, difficulty).
ANKI_SCRIPT = r"""
import json, sys, tempfile, time
from anki.collection import Collection

job = json.load(sys.stdin)
out = {}
with tempfile.TemporaryDirectory() as tmp:
    for rollover, histories in job.items():
        rollover = int(rollover)
        path = f"{tmp}/r{rollover}.anki2"
        col = Collection(path)
        col.set_config("rollover", rollover)
        col.close()
        col = Collection(path)  # a fresh open: the day cutoff is computed with the new rollover
        deck = col.decks.id("Default")
        basic = col.models.by_name("Basic")
        cids = []
        for i in range(len(histories)):
            note = col.new_note(basic)
            note["Front"] = f"q{i}"
            col.add_note(note, deck)
            cids.append(note.cards()[0].id)
        rows = [
            (rid, cid, -1, ease, 1, 0, 2500, 5000, kind)
            for cid, history in zip(cids, histories)
            for rid, ease, kind in history
        ]
        col.db.executemany(
            "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
            "values (?,?,?,?,?,?,?,?,?)",
            rows,
        )
        before = col.sched.day_cutoff
        states = []
        for cid in cids:
            s = col.compute_memory_state(cid)
            states.append(None if s.stability is None else [s.stability, s.difficulty])
        after = col.sched.day_cutoff
        out[str(rollover)] = {"cutoffs": [before, after], "now": time.time(), "states": states}
        col.close()
json.dump(out, sys.stdout)
"""

REVLOG_TYPE = {"learn": 0, "review": 1, "relearn": 2}


def scheduler(tz: str, rollover: int) -> Scheduler:
    return Scheduler(
        SchedulerConfig(0.9, (60.0, 600.0), (600.0,), 36500, False, None, rollover, ZoneInfo(tz))
    )


def dst_changes(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants (to the hour) at which the zone's UTC offset changes."""
    out = []
    t = start.replace(minute=0, second=0, microsecond=0)
    previous = t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(hours=1)
        offset = t.astimezone(tz).utcoffset()
        if offset != previous:
            out.append(t)
            previous = offset
    return out


def random_history(
    rng: random.Random, start: datetime, latest: datetime
) -> list[tuple[datetime, Rating, int]]:
    """A first review at `start`, then gaps of minutes (learning steps), hours (across the
    rollover or not) or days to months; nothing after `latest`."""
    t = start
    out = [(t, Rating(rng.choices([1, 2, 3, 4], [20, 10, 60, 10])[0]), 0)]
    for _ in range(rng.randint(1, 20)):
        kind = rng.random()
        if kind < 0.3:
            gap = rng.uniform(20, 3600)
        elif kind < 0.55:
            gap = rng.uniform(3600, 30 * 3600)
        else:
            gap = 86400 * rng.choice([1, 2, 3, 7, 15, 40, 120]) * rng.uniform(0.6, 1.4)
        t = t + timedelta(seconds=gap)
        if t >= latest:
            break
        out.append((t, Rating(rng.choices([1, 2, 3, 4], [15, 10, 65, 10])[0]), 0))
    return out


def near_rollover(rng: random.Random, day: datetime, tz: ZoneInfo, rollover: int) -> datetime:
    """A moment within 80 minutes of the local rollover on `day`'s local date."""
    local = day.astimezone(tz).replace(hour=rollover, minute=0, second=0, microsecond=0)
    return (local + timedelta(minutes=rng.uniform(-80, 80))).astimezone(UTC)


def histories_for(
    rng: random.Random, tz: ZoneInfo, rollover: int, now: datetime
) -> list[list[tuple[datetime, Rating, int]]]:
    """PER_ROLLOVER histories from the last three years; a third of them pinned to the days
    around a daylight-saving change, with reviews close to the rollover on both sides."""
    latest = now - timedelta(days=1)
    first = latest - timedelta(days=3 * 365)
    changes = dst_changes(tz, first, latest - timedelta(days=3))
    out = []
    for n in range(PER_ROLLOVER):
        if n % 3 == 0 and changes:
            change = rng.choice(changes)
            a = near_rollover(rng, change - timedelta(days=rng.choice([1, 2, 3, 10])), tz, rollover)
            b = near_rollover(rng, change + timedelta(days=rng.choice([0, 1, 2])), tz, rollover)
            history = [(a, Rating.GOOD, 0), (b, Rating(rng.choice([1, 2, 3, 3, 4])), 0)]
            if rng.random() < 0.5:  # and a tail of ordinary reviews
                history += random_history(rng, b + timedelta(days=3), latest)
            history = [h for h in history if h[0] < latest]
        else:
            start = first + timedelta(seconds=rng.uniform(0, (latest - first).total_seconds()))
            history = random_history(rng, start, latest)
        out.append(history)
    return out


def revlog_rows(
    sched: Scheduler, card_id: str, history: list[tuple[datetime, Rating, int]]
) -> list[list[int]]:
    _, entries = sched.replay(card_id, history)
    return [[int(e.time.timestamp() * 1000), int(e.rating), REVLOG_TYPE[e.kind]] for e in entries]


def run_anki(tz: str, histories_by_rollover: dict[int, list[Any]]) -> dict[str, Any]:
    """One subprocess per zone, one collection per rollover holding all its histories."""
    proc = subprocess.run(
        [sys.executable, "-c", ANKI_SCRIPT],
        input=json.dumps({str(r): h for r, h in histories_by_rollover.items()}),
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": tz},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout))


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("tz_name", ["America/New_York", "Europe/London"])
def test_memory_states_equal_real_anki_across_dst(tz_name: str) -> None:
    pytest.importorskip("anki", reason="the anki package is not installed")
    tz = ZoneInfo(tz_name)
    now = datetime.now(UTC)
    rng = random.Random(f"{tz_name}-anki-days")
    histories = {r: histories_for(rng, tz, r, now) for r in ROLLOVERS}
    rows = {
        r: [revlog_rows(scheduler(tz_name, r), f"c{i}", h) for i, h in enumerate(histories[r])]
        for r in ROLLOVERS
    }
    anki = run_anki(tz_name, rows)
    report = []
    for rollover in ROLLOVERS:
        result = anki[str(rollover)]
        before, after = result["cutoffs"]
        if before != after:
            pytest.skip("Anki's day rolled over during the test; run it again")
        cutoff = datetime.fromtimestamp(before, UTC)
        # the cutoff dlcards computes is Anki's
        anki_now = datetime.fromtimestamp(result["now"], UTC)
        assert anki_days.next_day_at(anki_now, StudyCalendar(tz, rollover)) == cutoff
        sched = scheduler(tz_name, rollover)
        worst = 0.0
        calendar_off = 0
        dst_spanning = 0
        for i, (history, expected) in enumerate(
            zip(histories[rollover], result["states"], strict=True)
        ):
            assert expected is not None, (i, history)
            state, _ = sched.replay(f"c{i}", history, cutoff=cutoff)
            assert state.stability is not None and state.difficulty is not None
            err = max(
                relative_error(state.stability, expected[0]),
                relative_error(state.difficulty, expected[1]),
            )
            worst = max(worst, err)
            assert err <= TOL, (tz_name, rollover, i, history, state, expected)
            # what counting calendar study days (dlcards before) would have given
            times = [h[0] for h in history]
            calendar_deltas = [0] + [
                (study_day(b, tz, rollover) - study_day(a, tz, rollover)).days
                for a, b in pairwise(times)
            ]
            if calendar_deltas != anki_days.delta_ts(times, cutoff):
                calendar_off += 1
            offsets = {t.astimezone(tz).utcoffset() for t in times}
            dst_spanning += len(offsets) > 1
        report.append((rollover, worst, calendar_off, dst_spanning))
        # the histories do exercise the difference: calendar days would disagree on some
        assert calendar_off >= 10, report
        assert dst_spanning >= 50, report
    print(
        f"{tz_name}: (rollover, max rel. error, histories where calendar days differ, DST-spanning)"
    )
    for line in report:
        print(f"  {line[0]}: {line[1]:.2e}, {line[2]}/{PER_ROLLOVER}, {line[3]}")


def test_minimal_case_from_the_issue() -> None:
    """Good 30 June 12:00 EDT, Good 1 July 04:30 EDT (rollover 4): computed in November the two
    lie in one 24-hour block back from the 04:00 EST cutoff; computed in August, in two."""
    fsrs_rs = pytest.importorskip("fsrs_rs_python", reason="fsrs-rs-python not installed")
    model = fsrs_rs.FSRS(fsrs_rs.DEFAULT_PARAMETERS)
    tz = ZoneInfo("America/New_York")
    cal = StudyCalendar(tz, 4)
    t1 = datetime(2026, 6, 30, 12, 0, tzinfo=tz)
    t2 = datetime(2026, 7, 1, 4, 30, tzinfo=tz)
    history = [(t1, Rating.GOOD, 0), (t2, Rating.GOOD, 0)]
    november = anki_days.next_day_at(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), cal)
    august = anki_days.next_day_at(datetime(2026, 8, 20, 15, 0, tzinfo=UTC), cal)
    assert november == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # 04:00 EST
    assert august == datetime(2026, 8, 21, 8, 0, tzinfo=UTC)  # 04:00 EDT
    assert anki_days.delta_ts([t1, t2], november) == [0, 0]
    assert anki_days.delta_ts([t1, t2], august) == [0, 1]
    sched = scheduler("America/New_York", 4)
    for cutoff, delta in ((november, 0), (august, 1)):
        state, _ = sched.replay("c", history, cutoff=cutoff)
        expected = model.memory_state(
            fsrs_rs.FSRSItem([fsrs_rs.FSRSReview(3, 0), fsrs_rs.FSRSReview(3, delta)])
        )
        assert state.stability == pytest.approx(expected.stability, rel=TOL)
        assert state.difficulty == pytest.approx(expected.difficulty, rel=TOL)
        mem = anki_days.memory_states({"c": history}, cutoff)["c"]
        assert (mem.stability, mem.difficulty) == (state.stability, state.difficulty)
    s_nov = anki_days.memory_states({"c": history}, november)["c"].stability
    s_aug = anki_days.memory_states({"c": history}, august)["c"].stability
    assert s_aug / s_nov > 3  # 7.32 vs 2.31: the same history, a different block count


def test_minimal_case_against_real_anki() -> None:
    """The issue's case inserted into a real collection in New York: Anki's stability is ours
    with Anki's current cutoff (2.31 while New York is on EST, 7.32 on EDT)."""
    pytest.importorskip("anki", reason="the anki package is not installed")
    tz = ZoneInfo("America/New_York")
    t1 = datetime(2026, 6, 30, 12, 0, tzinfo=tz)
    t2 = datetime(2026, 7, 1, 4, 30, tzinfo=tz)
    if datetime.now(UTC) < t2 + timedelta(days=2):
        pytest.skip("the clock is before the history")
    history = [(t1, Rating.GOOD, 0), (t2, Rating.GOOD, 0)]
    rows = [[int(t.timestamp() * 1000), 3, k] for t, k in ((t1, 0), (t2, 1))]
    result = run_anki("America/New_York", {4: [rows]})["4"]
    before, after = result["cutoffs"]
    if before != after:
        pytest.skip("Anki's day rolled over during the test")
    cutoff = datetime.fromtimestamp(before, UTC)
    mem = anki_days.memory_states({"c": history}, cutoff)["c"]
    s, d = result["states"][0]
    assert mem.stability == pytest.approx(s, rel=TOL)
    assert mem.difficulty == pytest.approx(d, rel=TOL)
    est = cutoff.astimezone(tz).utcoffset() == timedelta(hours=-5)
    assert anki_days.delta_ts([t1, t2], cutoff) == ([0, 0] if est else [0, 1])


def test_answer_rule_counts_back_from_the_next_cutoff() -> None:
    """Answering: delta_t = (next_day_at(now) - last review) // 24 h. Across the autumn change
    in New York, 04:30 EDT -> next day 03:50 EST is one calendar study day *before* the
    rollover, but 24.5 hours before the cutoff: Anki counts 1."""
    tz = ZoneInfo("America/New_York")
    cal = StudyCalendar(tz, 4)
    t1 = datetime(2026, 10, 31, 4, 30, tzinfo=tz)
    t2 = datetime(2026, 11, 1, 3, 50, tzinfo=tz)
    assert study_day(t1, tz, 4) == study_day(t2, tz, 4)
    assert anki_days.next_day_at(t2, cal) == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert anki_days.answer_elapsed_days(t1, t2, cal) == 1
    assert scheduler("America/New_York", 4).elapsed_days(t1, t2) == 1
    # away from a change, blocks and calendar days agree, around the rollover too
    a = datetime(2026, 1, 10, 3, 59, tzinfo=tz)
    b = datetime(2026, 1, 10, 4, 1, tzinfo=tz)
    assert anki_days.answer_elapsed_days(a, b, cal) == 1
    assert anki_days.answer_elapsed_days(datetime(2026, 1, 9, 23, 0, tzinfo=tz), a, cal) == 0


def test_next_day_at_on_the_rollover_and_with_rollover_0() -> None:
    cal = StudyCalendar(ZoneInfo("Europe/London"), 0)
    at = datetime(2026, 7, 1, 23, 0, tzinfo=UTC)  # 00:00 BST on 2 July: the rollover has passed
    assert anki_days.next_day_at(at, cal) == datetime(2026, 7, 2, 23, 0, tzinfo=UTC)
    just_before = at - timedelta(microseconds=1)
    assert anki_days.next_day_at(just_before, cal) == at
    # a review after the cutoff counts as 0 days back, never negative
    assert anki_days.days_back(at + timedelta(hours=3), at) == 0


def test_import_anki_recomputes_with_ankis_days(tmp_path: Path) -> None:
    """`import-anki` (merge_into_store with the import's time) stores Anki's memory state of
    the merged history: the minimal case imported in November gives the one-block stability."""
    from dlcards.anki.reader import AnkiReview, ImportPlan, merge_into_store
    from dlcards.store import Store

    tz = ZoneInfo("America/New_York")
    t1 = datetime(2026, 6, 30, 12, 0, tzinfo=tz).astimezone(UTC)
    t2 = datetime(2026, 7, 1, 4, 30, tzinfo=tz).astimezone(UTC)
    rows = [
        AnkiReview(int(t.timestamp() * 1000), "g", 0, t, 3, 1000, kind, "c1")
        for t, kind in ((t1, 0), (t2, 1))
    ]
    sched = scheduler("America/New_York", 4)
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    with Store.open(tmp_path / "db.sqlite3") as store:
        result = merge_into_store(store, sched, ImportPlan(matched={"c1": rows}), now=now)
        assert result.imported == 2
        state = store.states(["c1"])["c1"]
    cutoff = anki_days.next_day_at(now, StudyCalendar(tz, 4))
    expected = anki_days.memory_states({"c1": [(t1, 3), (t2, 3)]}, cutoff)["c1"]
    assert state.stability == pytest.approx(expected.stability, rel=1e-9)
    calendar_days, _ = sched.replay("c1", [(t1, Rating.GOOD, 0), (t2, Rating.GOOD, 0)])
    assert calendar_days.stability is not None and state.stability is not None
    assert calendar_days.stability / state.stability > 3  # the answers as given: 1 day apart
