"""Benchmark `dlcards optimize` and `dlcards simulate` on the shipped real review log.

    python scripts/bench_optimize.py

Targets (issue 15): optimize <= 1 s with fitted log loss <= 0.455 (time-series split);
a 365-day simulation <= 1 s. Prints the figures; exits 1 if a target is missed.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from dlcards.core.calendar import StudyCalendar
from dlcards.review import optimizer as opt
from dlcards.review import simulator as sim
from dlcards.review.anki_days import memory_states, next_day_at

LOG = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "reviews"
    / "review_logs_josh_2024.csv"
)


def main() -> int:
    t0 = time.perf_counter()
    hist: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    durations = []
    with LOG.open() as fh:
        for row in csv.DictReader(fh):
            hist[row["card_id"]].append(
                (datetime.fromisoformat(row["review_time"]), int(row["review_rating"]))
            )
            durations.append(("review", int(row["review_rating"]), int(row["review_duration"])))
    now = max(t for h in hist.values() for t, _ in h)
    cutoff = next_day_at(now, StudyCalendar())
    t1 = time.perf_counter()
    data = opt.training_data(hist, cutoff)
    result = opt.fit(data)
    t2 = time.perf_counter()
    c, f = result.current_score, result.fitted_score
    print(
        f"review log: {data.reviews} reviews, {data.cards} cards, {len(data)} items (read {t1 - t0:.2f} s)"
    )
    print(f"optimize (items + fit + time-series split + scores): {t2 - t1:.3f} s")
    print(
        f"  time-series split  defaults {c.log_loss:.4f} / {c.rmse_bins:.4f}   fitted {f.log_loss:.4f} / {f.rmse_bins:.4f}"
    )
    ci, fi = result.current_in_sample, result.fitted_in_sample
    print(
        f"  in sample          defaults {ci.log_loss:.4f} / {ci.rmse_bins:.4f}   fitted {fi.log_loss:.4f} / {fi.rmse_bins:.4f}"
    )

    states = memory_states(hist, cutoff, result.parameters)
    cards = []
    for cid, h in hist.items():
        m = states[cid]
        since = (now - max(t for t, _ in h)).total_seconds() / 86400
        cards.append(sim.ExistingCard(m.stability, m.difficulty, since, 0))
    plan = sim.Plan(
        parameters=result.parameters,
        desired_retention=0.9,
        days=365,
        new_per_day=20,
        new_available=2000,
        review_limit=9999,
        costs=sim.costs_from_durations(durations),
    )
    t3 = time.perf_counter()
    fc = sim.forecast(plan, cards)
    t4 = time.perf_counter()
    rows = sim.decide(plan, cards)
    t5 = time.perf_counter()
    print(
        f"simulate 365 days ({len(cards)} cards in review + {plan.new_per_day}/day new): {t4 - t3:.3f} s; "
        f"{fc.mean_minutes:.1f} min/day, {fc.mean_reviews:.0f} reviews/day"
    )
    print(f"retention table ({len(rows)} retentions x 365 days): {t5 - t4:.3f} s")
    ok = t2 - t1 <= 1.0 and f.log_loss <= 0.455 and t4 - t3 <= 1.0
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
