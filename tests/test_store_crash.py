"""`kill -9` while answering: every answer the store confirmed is in the log, the state of
each card matches its last logged answer, and the database is healthy."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dlcards.store import Store

WRITER = r"""
import random, sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
from dlcards.review.scheduling import Scheduler, SchedulerConfig
from dlcards.core.state import CardState, Rating
from dlcards.store import Store

path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
sched = Scheduler(SchedulerConfig(0.9, (60.0, 600.0), (600.0,), 36500, True, None, 4, ZoneInfo("UTC")))
store = Store.open(path)
now = datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=seed)
print("ready", flush=True)
while True:
    card = f"card{rng.randrange(20)}"
    state = store.states([card]).get(card, CardState(card))
    now = max(now + timedelta(seconds=rng.randrange(1, 600)), state.last_review or now)
    entry = sched.review(state, Rating(rng.randint(1, 4)), now, rng.randrange(500, 9000))
    review_id = store.record_review(entry)
    print(review_id, card, flush=True)  # only after the commit returned
"""


def test_kill_9_loses_no_committed_answer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(7)
    confirmed: list[int] = []
    for round_ in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path), str(round_)],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        wanted = rng.randrange(5, 150)
        for _ in range(wanted):
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
            confirmed.append(int(line.split()[0]))
        time.sleep(rng.random() * 0.05)  # kill at a random point of the next transaction
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # anything printed after our last read was committed as well; collect it too
        confirmed.extend(
            int(line.split()[0]) for line in proc.stdout.read().splitlines() if line.strip()
        )
        proc.stdout.close()

        with Store.open(path) as store:
            assert store.integrity_check() == []
            logged = store.reviews_with_ids()
            ids = {rid for rid, _ in logged}
            assert set(confirmed) <= ids, f"lost answers: {sorted(set(confirmed) - ids)[:5]}"
            # each card's state is its last answer's result: log and state were written together
            last = {}
            for _, entry in logged:
                last[entry.card_id] = entry
            states = store.states()
            assert set(states) == set(last)
            for card, entry in last.items():
                assert states[card] == entry.after
            # and the log chains without gaps
            previous = {}
            for _, entry in logged:
                if entry.card_id in previous:
                    assert entry.before == previous[entry.card_id]
                previous[entry.card_id] = entry.after
    assert len(confirmed) >= 20
