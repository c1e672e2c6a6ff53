"""The chaos suite, sync part (issue 17): `kill -9` at random points of `dlcards sync` against
an Anki collection file, with answers given in dlcards between the runs. Afterwards one clean
sync brings both sides together: every acknowledged answer is in dlcards' log and in Anki's
revlog exactly once, the states match a replay of the log, both databases are whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync_helpers import dlcards, make_root, new_anki

pytest.importorskip("anki.collection", reason="the anki package is not installed")

SRC = str(Path(__file__).resolve().parent.parent / "src")


def test_kill_9_at_random_points_of_sync_loses_and_duplicates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.app.doctor import check_states
    from dlcards.core.state import Rating

    root = make_root(tmp_path)
    assert dlcards(capsys, root, "fix")[0] == 0
    desk = tmp_path / "desk" / "collection.anki2"
    new_anki(desk).close()
    code, _, err = dlcards(capsys, root, "sync", "--collection", str(desk))
    assert code == 0, err
    rng = random.Random(23)
    acked: set[int] = set()
    kills = 0
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    finished = 0
    for _ in range(6):
        with Collection.open(root) as col:
            service = col.review()
            now = datetime.now(UTC) - timedelta(seconds=30)
            for _ in range(3):
                assert service.session.next_card(now) is not None
                outcome = service.apply(service.session.answer(Rating.GOOD, now, 2000))
                assert service.pending is None
                acked.add(outcome.effects[0].review_id)
                now += timedelta(seconds=2)
        child = subprocess.Popen(
            [sys.executable, "-m", "dlcards", "-C", str(root), "sync", "--collection", str(desk)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3 + rng.random() * 1.3)  # somewhere in start-up, the engine or the commit
        finished += child.poll() is not None
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        kills += 1
        with Collection.open(root) as col:
            assert col.store.integrity_check() == []
    code, _, err = dlcards(capsys, root, "sync", "--collection", str(desk))
    assert code == 0, err
    with Collection.open(root) as col:
        ids = {rid for rid, _ in col.store.reviews_with_ids()}
        assert acked <= ids  # no acknowledged answer lost
        assert check_states(col.store, col.scheduler) == []
        logged = len(ids)
    anki = new_anki(desk)
    try:
        assert anki.db.scalar("pragma quick_check") == "ok"
        revlog = anki.db.list("select id from revlog")
    finally:
        anki.close()
    assert len(revlog) == len(set(revlog)) == logged == len(acked)  # nothing twice
    print(
        f"\nchaos sync kills: {kills} kills ({finished} after the sync ended), "
        f"{len(acked)} answers acknowledged, {logged} logged, {len(revlog)} in Anki"
    )
