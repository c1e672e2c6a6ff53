"""Replay a real history (12,580 reviews of 1,205 cards, tests/fixtures/reviews) and score it.

Every long-term prediction (elapsed study days > 0) must equal fsrs-rs's, and the log loss
must be the reference figure for FSRS-6 default parameters (0.4647, README of the data).
"""

from __future__ import annotations

import csv
import math
import time
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import REVIEW_LOG
from dlcards.core.state import Rating, parse_utc
from dlcards.review.scheduling import Scheduler, SchedulerConfig

DATA = REVIEW_LOG
REFERENCE_LOG_LOSS = 0.4647  # FSRS-6 defaults, measured with fsrs-rs (the data's README)


def test_replay_real_history_log_loss() -> None:
    fsrs_rs = pytest.importorskip("fsrs_rs_python", reason="fsrs-rs-python not installed")
    by_card: dict[str, list[tuple[datetime, Rating, int]]] = defaultdict(list)
    with DATA.open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_card[row["card_id"]].append(
                (
                    parse_utc(row["review_time"]),
                    Rating(int(row["review_rating"])),
                    int(row["review_duration"]),
                )
            )
    assert sum(map(len, by_card.values())) == 12580
    # The reference was measured on UTC days with the day starting at midnight.
    sched = Scheduler(
        SchedulerConfig(0.9, (60.0, 600.0), (600.0,), 36500, False, None, 0, ZoneInfo("UTC"))
    )
    model = fsrs_rs.FSRS(fsrs_rs.DEFAULT_PARAMETERS)
    started = time.perf_counter()
    loss = 0.0
    items = []
    predictions = []
    for card_id, history in by_card.items():
        _, entries = sched.replay(card_id, history)
        reviews = []
        previous = None
        for entry in entries:
            delta = 0 if previous is None else sched.elapsed_days(previous, entry.time)
            previous = entry.time
            if reviews and delta > 0:
                assert entry.before.stability is not None
                p = sched.forgetting_curve(delta, entry.before.stability)
                y = 1 if entry.rating > Rating.AGAIN else 0
                loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
                predictions.append((list(reviews), delta, p))
                items.append(
                    fsrs_rs.FSRSItem([*reviews, fsrs_rs.FSRSReview(int(entry.rating), delta)])
                )
            reviews.append(fsrs_rs.FSRSReview(int(entry.rating), delta))
    elapsed = time.perf_counter() - started
    log_loss = loss / len(predictions)
    # every 7th prediction against fsrs-rs's memory state of the same prefix
    worst = 0.0
    for prefix, delta, p in predictions[::7]:
        state = model.memory_state(fsrs_rs.FSRSItem(prefix))
        worst = max(worst, abs(sched.forgetting_curve(delta, state.stability) - p))
    assert worst < 1e-4
    reference = model.evaluate(items)
    print(
        f"\nreplayed 12,580 reviews in {elapsed:.2f}s; {len(predictions)} predictions; "
        f"log loss {log_loss:.4f}; fsrs-rs evaluate on the same items {reference.log_loss:.4f} "
        f"(reference {REFERENCE_LOG_LOSS}); max |dR| vs fsrs-rs {worst:.1e}"
    )
    assert reference.log_loss == pytest.approx(
        REFERENCE_LOG_LOSS, abs=5e-4
    )  # same items as the reference
    assert log_loss == pytest.approx(
        REFERENCE_LOG_LOSS, abs=5e-3
    )  # unweighted mean over the same items
