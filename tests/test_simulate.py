"""The simulator: shapes, determinism, monotonicity (higher retention -> more reviews), the
review limit, costs from recorded durations, and `dlcards simulate --json`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("fsrs_rs_python")

from dlcards.cli.main import main
from dlcards.review import simulator as sim
from dlcards.review.optimizer import default_parameters


def cards(n: int = 300) -> list[sim.ExistingCard]:
    rnd = random.Random(7)
    return [
        sim.ExistingCard(
            rnd.uniform(1, 40), rnd.uniform(3, 8), rnd.uniform(0, 15), rnd.randint(0, 20)
        )
        for _ in range(n)
    ]


def plan(**kw: object) -> sim.Plan:
    base = dict(
        parameters=default_parameters(),
        desired_retention=0.9,
        days=60,
        new_per_day=10,
        new_available=400,
        review_limit=9999,
    )
    base.update(kw)
    return sim.Plan(**base)  # type: ignore[arg-type]


def test_shapes_and_determinism() -> None:
    f = sim.forecast(plan(), cards())
    assert f.days == 60 and len(f.new) == len(f.minutes) == len(f.memorized) == 60
    assert sum(f.new) == 400 and max(f.new) == 10  # 10 a day until the 400 unstarted run out
    assert all(m >= 0 for m in f.minutes) and f.reviews[0] > 0
    assert sim.forecast(plan(), cards()) == f
    d = f.to_dict()
    assert len(d["days"]) == 60 and d["mean_minutes_per_day"] == pytest.approx(
        f.mean_minutes, abs=0.01
    )


def test_higher_retention_costs_more_reviews_and_keeps_more() -> None:
    rows = sim.decide(plan(days=120), cards())
    assert [r.retention for r in rows] == list(sim.RETENTIONS)
    reviews = [r.reviews_per_day for r in rows]
    assert reviews == sorted(reviews) and reviews[-1] > 2 * reviews[0]
    kept = [r.memorized for r in rows]
    assert kept[-1] > kept[0]


def test_review_limit_caps_reviews() -> None:
    f = sim.forecast(plan(review_limit=15, new_per_day=0), cards())
    assert max(f.reviews) <= 15 and sum(f.new) == 0
    free = sim.forecast(plan(new_per_day=0), cards())
    assert max(free.reviews) > 15


def test_more_new_cards_cost_more_minutes() -> None:
    ten = sim.forecast(plan(new_per_day=10), cards())
    twenty = sim.forecast(plan(new_per_day=20, new_available=2000), cards())
    assert twenty.mean_minutes > ten.mean_minutes


def test_costs_from_recorded_durations() -> None:
    assert not sim.costs_from_durations([("review", 3, 5000)] * 10).from_history
    answers = [("review", 3, 6000)] * 80 + [("review", 1, 20000)] * 20 + [("review", 2, 9000)] * 10
    answers += [("review", 4, 3000)] * 10
    c = sim.costs_from_durations(answers)
    assert c.from_history and c.review == (20.0, 9.0, 6.0, 3.0)
    assert c.review_rating_prob == pytest.approx((10 / 100, 80 / 100, 10 / 100))


def test_simulate_cli_json(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (collection / "decks" / "a.md").write_text(
        "\n".join(f"Q: q{i}? <!-- id: c{i} -->\nA: a\n" for i in range(30))
    )
    code = main(["-C", str(collection), "simulate", "--days", "14", "--new", "5", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads(out)
    assert r["new_cards_available"] == 30 and r["new_per_day"] == 5
    assert [d["new"] for d in r["forecast"]["days"]][:7] == [5, 5, 5, 5, 5, 5, 0]
    assert r["budget"]["minutes_per_day"] == pytest.approx(9 * 60 / 7, abs=0.1)
    assert [w["days"] for w in r["weeks"]] == [7, 7]
    assert sum(1 for row in r["decide"]["rows"] if row["cheapest"]) == 1
    assert r["review_time"]["from_your_reviews"] is False
