#!/usr/bin/env python
"""Replaying many histories (issue 16, item 4): the sequential `Scheduler.replay` against
`dlcards.review.batch.replay_batch` (what import-anki and the sync merge use), and py-fsrs
memory states against the float64 batch (`memory_states_batch`), on the histories of a dlcards store; CPU time in one
process, interleaved, plus the agreement of the results.

    python scripts/bench_replay.py --store HOME/dlcards.sqlite3 [--cards 2000] [--reps 2]

The store is copied first (never written). Times are CPU seconds (`time.process_time`): on a
shared machine read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def load(store_path: Path, cards: int) -> dict[str, list[tuple[datetime, Any, int]]]:
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        shutil.copy(store_path, Path(tmp) / "dlcards.sqlite3")
        os.environ["DLCARDS_HOME"] = tmp
        from dlcards.store import Store

        with Store.open(Path(tmp) / "dlcards.sqlite3") as store:
            ids = sorted({e.card_id for e in store.reviews()})[:cards]
            out: dict[str, list[tuple[datetime, Any, int]]] = {}
            for e in store.reviews(ids):
                if e.kind != "manual":
                    out.setdefault(e.card_id, []).append((e.time, e.rating, e.duration_ms))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--cards", type=int, default=2000)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--now", default="2026-01-05T09:00:00+00:00")
    p.add_argument("--tz", default="UTC")
    p.add_argument("--rollover", type=int, default=4)
    args = p.parse_args()

    from dlcards.review.anki_days import memory_states, next_day_at
    from dlcards.review.batch import _floor_secs, memory_states_batch, replay_batch
    from dlcards.review.scheduling import Scheduler, SchedulerConfig

    hist = load(args.store, args.cards)
    n_rev = sum(map(len, hist.values()))
    sched = Scheduler(
        SchedulerConfig(
            0.9, (60.0, 600.0), (600.0,), 36500, True, None, args.rollover, ZoneInfo(args.tz)
        )
    )
    now = datetime.fromisoformat(args.now).astimezone(UTC)
    cutoff = next_day_at(now, sched.config.calendar)
    pairs = {c: [(t, int(r)) for t, r, _ in h] for c, h in hist.items()}
    ints = {c: [(_floor_secs(t), r) for t, r in h] for c, h in pairs.items()}
    memory_states_batch(dict(list(pairs.items())[:5]), cutoff)  # imports outside the timing
    rows: list[dict[str, Any]] = []
    for _ in range(args.reps):
        t0 = time.process_time()
        seq = {c: sched.replay(c, h, cutoff=cutoff) for c, h in hist.items()}
        t1 = time.process_time()
        everything = replay_batch(sched, hist, cutoff=cutoff)
        t2 = time.process_time()
        finals = replay_batch(sched, hist, cutoff=cutoff, wanted={})
        t3 = time.process_time()
        replayed = memory_states(pairs, cutoff)
        t4 = time.process_time()
        batched = memory_states_batch(pairs, cutoff)
        t5 = time.process_time()
        from_ints = memory_states_batch(ints, _floor_secs(cutoff))
        t6 = time.process_time()
        same = sum(seq[c] == everything[c] and seq[c][0] == finals[c][0] for c in hist)
        errors = sorted(
            max(
                abs(batched[c].stability - m.stability) / m.stability,
                abs(batched[c].difficulty - m.difficulty) / m.difficulty,
            )
            for c, m in replayed.items()
        )
        assert from_ints == batched
        rows.append(
            {
                "cards": len(hist),
                "reviews": n_rev,
                "replay_s": t1 - t0,
                "replay_ms_per_card": (t1 - t0) / len(hist) * 1e3,
                "replay_histories_per_s": len(hist) / (t1 - t0),
                "batch_entries_s": t2 - t1,
                "batch_entries_ratio": (t1 - t0) / (t2 - t1),
                "batch_final_s": t3 - t2,
                "batch_final_ratio": (t1 - t0) / (t3 - t2),
                "batch_histories_per_s": len(hist) / (t3 - t2),
                "identical_histories": same,
                "memory_replay_s": t4 - t3,
                "memory_batch_s": t5 - t4,
                "memory_batch_ratio": (t4 - t3) / (t5 - t4),
                "memory_batch_int_s": t6 - t5,
                "memory_batch_int_ratio": (t4 - t3) / (t6 - t5),
                "memory_rel_error": {
                    "median": errors[len(errors) // 2],
                    "p99": errors[int(len(errors) * 0.99)],
                    "max": errors[-1],
                },
            }
        )
        print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
