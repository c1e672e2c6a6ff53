"""Card states and flags as columns (issue 16): `dlcards.store.state_columns` reads what the
store holds, and the card blocks of `dlcards stats` built from the columns
(`dlcards.insights.stats_columns`) carry exactly the numbers of the object builders (the
oracle), on a real SQLite file with random states, flags and calendars (daylight saving
included), with the scheduler's forgetting curve and the FSRS-6 default curve."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardState
from dlcards.insights.forecast import forecast_block
from dlcards.insights.log_figures import LogFigures
from dlcards.insights.memory import distributions_block
from dlcards.insights.retention import CardMeta, fsrs6_retrievability, group_rows
from dlcards.insights.state_arrays import FlagArrays, StateArrays
from dlcards.insights.stats import counts_block, stats_of_columns, stats_of_figures, suspended_cards
from dlcards.insights.stats_columns import (
    Catalogue,
    Curve,
    card_figure_columns,
    counts_of,
    distributions_of,
    forecast_of,
    group_rows_columns,
)
from dlcards.store import Store
from dlcards.store.state_columns import flag_arrays, state_arrays
from dlcards.store.stats_queries import log_figures
from test_stats_sql import random_history

NOW = datetime(2026, 3, 27, 10, 17, 3, 123456, tzinfo=UTC)  # the Berlin DST change is in range
ZONES = [("UTC", 4), ("Europe/Berlin", 4), ("America/New_York", 0), ("Asia/Kolkata", 23)]


def random_states(rng: random.Random, ids: list[str]) -> list[CardState]:
    out = []
    for cid in ids:
        phase = rng.choice(["new", "learning", "review", "review", "review", "relearning"])
        if phase == "new" and rng.random() < 0.7:
            continue  # most new cards have no row
        last = NOW - timedelta(days=rng.uniform(-2, 400), microseconds=rng.randint(0, 999999))
        out.append(
            CardState(
                cid,
                phase=phase,  # type: ignore[arg-type]
                step=rng.choice([None, 0, 1]),
                stability=rng.choice([None, rng.uniform(0.01, 3000), 1.0, 365.0]),
                difficulty=rng.choice([None, rng.uniform(1, 10), 10.0]),
                due=rng.choice(
                    [None, NOW + timedelta(days=rng.uniform(-40, 40), seconds=rng.randint(0, 9))]
                ),
                last_review=rng.choice([None, last, last, last]),
                reps=rng.randint(0, 50),
                lapses=rng.randint(0, 12),
                interval_days=rng.choice([0, 1, 7, 20, 21, 22, 400]),
            )
        )
    return out


@pytest.fixture
def store(tmp_path: Path) -> Store:
    rng = random.Random(16)
    s = Store.open(tmp_path / "dlcards.sqlite3")
    s.import_reviews(random_history(3, 40, 120, NOW))
    ids = [f"c{i:04d}" for i in range(600)]
    s.set_states(random_states(rng, ids))
    for cid in rng.sample(ids, 120):
        s.set_suspended([cid], True)
    for cid in rng.sample(ids, 40):
        s.set_leech(cid, True)
    for cid in rng.sample(ids, 40):
        s.set_flag(cid, rng.randint(1, 7))
    s.set_buried(rng.sample(ids, 10), date(2026, 3, 28))
    yield s
    s.close()


def meta_of(store: Store, rng: random.Random) -> dict[str, CardMeta]:
    """Cards of the decks: most stored ids (some are orphans), and cards never stored."""
    stored = sorted({*store.states(), *store.flags(), *(e.card_id for e in store.reviews())})
    ids = [c for c in stored if rng.random() < 0.85] + [f"fresh-{i}" for i in range(30)]
    rng.shuffle(ids)
    return {
        c: CardMeta(c, "a.md", i, rng.choice(["t1", "t2", None]), rng.choice([1, 2, 3, None]), "q")
        for i, c in enumerate(ids)
    }


def test_columns_read_what_was_stored(store: Store) -> None:
    states = state_arrays(store.conn)
    objects = store.states()
    assert sorted(states.ids) == sorted(objects) and len(states) > 300
    for i, cid in enumerate(states.ids):
        st = objects[cid]
        assert states.state(i) == CardState(
            cid,
            st.phase,
            None,
            st.stability,
            st.difficulty,
            st.due,
            st.last_review,
            st.reps,
            st.lapses,
            st.interval_days,
        )
    flags = flag_arrays(store.conn)
    fl = store.flags()
    assert sorted(flags.ids) == sorted(fl)
    for i, cid in enumerate(flags.ids):
        f = fl[cid]
        assert (bool(flags.suspended[i]), bool(flags.leech[i]), int(flags.flag[i])) == (
            f.suspended,
            f.leech,
            f.flag,
        )
        assert flags.buried_until[i] == f.buried_until
    some = [*states.ids[:5], "nope"]
    assert state_arrays(store.conn, some).ids == [c for c in states.ids[:5]]
    assert set(flag_arrays(store.conn, flags.ids[:3]).ids) == set(flags.ids[:3])


def test_columns_from_objects_equal_columns_from_the_store(store: Store) -> None:
    a, b = state_arrays(store.conn), StateArrays.of(store.states())
    ids = sorted(a.ids)
    a, b = a.aligned(ids), b.aligned(ids)
    for field in ("phase", "stability", "difficulty", "due_us", "last_us", "reps", "lapses"):
        assert getattr(a, field).tolist() == pytest.approx(
            getattr(b, field).tolist(), nan_ok=True, rel=0, abs=0
        )


@pytest.mark.parametrize(("zone", "day_starts_at"), ZONES)
def test_card_blocks_equal_the_object_blocks(store: Store, zone: str, day_starts_at: int) -> None:
    from dlcards.review.scheduling import Scheduler, SchedulerConfig

    rng = random.Random(zone)
    cal = StudyCalendar(ZoneInfo(zone), day_starts_at)
    meta = meta_of(store, rng)
    card_ids = list(meta)
    states, flags = store.states(), store.flags()
    st = state_arrays(store.conn).aligned(card_ids)
    fl = flag_arrays(store.conn).aligned(card_ids)
    suspended = suspended_cards(card_ids, flags)
    assert suspended and counts_block(card_ids, states, flags).leeches

    assert counts_of(st, fl) == counts_block(card_ids, states, flags)

    today = cal.study_day(NOW)
    args = dict(cal=cal, today=today, new_today=3, new_per_day=7, per_review=8.5, per_new=31.0)
    for budget in (1.0, 30.0):
        old = forecast_block(card_ids, states, suspended, budget_day=budget, **args)  # type: ignore[arg-type]
        new = forecast_of(st, fl, budget_day=budget, **args)  # type: ignore[arg-type]
        assert new == old
    assert old.total_due > 20 and old.days[0].due > 0

    sched = Scheduler(
        SchedulerConfig(0.9, (60.0,), (600.0,), 36500, False, None, day_starts_at, cal.tz)
    )
    for curve, retrievability in (
        (Curve(*sched.curve), sched.retrievability),
        (Curve.fsrs6_default(), fsrs6_retrievability),
    ):
        old_d = distributions_block(card_ids, states, suspended, retrievability, NOW)
        assert distributions_of(st, fl, curve, NOW) == old_d
    assert old_d.retrievability.count > 100 and old_d.stability.count > 100

    figures = log_figures(store.conn, cal)
    columns = card_figure_columns(card_ids, figures.cards)
    cat = Catalogue.of(meta)
    for key, keys in ((lambda m: m.topic, cat.topics), (lambda m: m.week, cat.weeks)):
        old_rows = group_rows(meta, figures.cards, states, key)
        assert group_rows_columns(list(keys), columns, st) == old_rows
        assert any(r.mean_difficulty for r in old_rows) and any(r.reviews for r in old_rows)


@pytest.mark.parametrize(("zone", "day_starts_at"), ZONES[:2])
def test_whole_report_from_columns_equals_the_object_report(
    store: Store, zone: str, day_starts_at: int
) -> None:
    cal = StudyCalendar(ZoneInfo(zone), day_starts_at)
    meta = meta_of(store, random.Random(5))
    args = {"now": NOW, "calendar": cal, "weekly_hours": 3.0, "new_per_day": 5}
    figures = log_figures(store.conn, cal)
    old = stats_of_figures(meta, figures, store.states(), store.flags(), **args)
    new = stats_of_columns(
        Catalogue.of(meta), figures, state_arrays(store.conn), flag_arrays(store.conn), **args
    )
    assert new.to_dict() == old.to_dict()
    assert new.counts.cards == len(meta) and new.distributions.retrievability.count


def test_no_states_and_no_flags(tmp_path: Path) -> None:
    with Store.open(tmp_path / "d.sqlite3") as s:
        st, fl = state_arrays(s.conn), flag_arrays(s.conn)
        assert len(st) == 0 and len(fl) == 0
        meta = {"a": CardMeta("a", "a.md", 1, None, None, "q")}
        cal = StudyCalendar()
        args = {"now": NOW, "calendar": cal}
        new = stats_of_columns(Catalogue.of(meta), LogFigures.empty(), st, fl, **args)
        old = stats_of_figures(meta, LogFigures.empty(), {}, {}, **args)
        assert new.to_dict() == old.to_dict() and new.counts.new == 1
    assert StateArrays.of({}).aligned(["x"]).phase.tolist() == [0]
    assert FlagArrays.of({}).aligned(["x"]).buried_until == [None]
