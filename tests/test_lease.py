"""One writer at a time (issue 17): the collection's write lease, a second review window that
opens read-only and says so, answers computed from the stored state (never from a window's
stale memory), and undo that refuses when its answer is no longer the card's latest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlcards.app.collection import Collection
from dlcards.app.doctor import check_states
from dlcards.core.errors import StoreError
from dlcards.core.state import CardState, Rating
from dlcards.store import Store
from dlcards.store.lease import LeaseBusy, WriteLease, current_holder, lock_path

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_collection(root: Path, notes: int = 6) -> Path:
    (root / "decks").mkdir(parents=True)
    text = "---\nweek: 1\ntopic: basics\n---\n\n" + "".join(
        f"Q: What is fact number {i}?\nA: It is {i * 7}.\n\n" for i in range(notes)
    )
    (root / "decks" / "facts.md").write_text(text, encoding="utf-8")
    (root / "dlcards.toml").write_text(
        '[dlcards]\ntimezone = "UTC"\nfuzz = false\nnew_per_day = 100\n', encoding="utf-8"
    )
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_collection(tmp_path / "col")


def clock(start: datetime = NOW, step: timedelta = timedelta(seconds=30)):  # type: ignore[no-untyped-def]
    t = [start]

    def now() -> datetime:
        t[0] += step
        return t[0]

    return now


def test_a_second_lease_is_refused_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "dlcards.sqlite3"
    with WriteLease.acquire(db, "review", NOW) as lease:
        assert lease.held and lease.taken_over is None
        with pytest.raises(LeaseBusy) as info:
            WriteLease.acquire(db, "import-anki", NOW)
        assert (
            f"pid {os.getpid()}" in info.value.message and "`dlcards review`" in info.value.message
        )
        assert info.value.holder is not None and info.value.holder.command == "review"
        holder = current_holder(db)
        assert holder is not None and holder.pid == os.getpid()
    assert current_holder(db) is None
    with WriteLease.acquire(db, "sync", NOW) as again:  # given back: free again
        assert again.taken_over is None


def test_the_lease_of_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "dlcards.sqlite3"
    code = (
        "import sys, time\nfrom datetime import UTC, datetime\n"
        "from pathlib import Path\nfrom dlcards.store.lease import WriteLease\n"
        "lease = WriteLease.acquire(Path(sys.argv[1]), 'review', datetime.now(UTC))\n"
        "print('held', flush=True)\ntime.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(LeaseBusy, match=f"pid {proc.pid}"):
            WriteLease.acquire(db, "review", NOW)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lock_path(db).read_text()  # the dead holder's name is still written there
    with WriteLease.acquire(db, "review", NOW) as lease:
        assert lease.taken_over is not None and lease.taken_over.pid == proc.pid


def test_waiting_for_the_lease_gives_up_with_the_holders_name(tmp_path: Path) -> None:
    db = tmp_path / "dlcards.sqlite3"
    with WriteLease.acquire(db, "review", NOW), pytest.raises(LeaseBusy, match="review"):
        WriteLease.acquire(db, "prune", NOW, wait=0.2)


def test_second_review_window_opens_read_only_and_saves_nothing(root: Path) -> None:
    first = Collection.open(root, now_fn=clock())
    second = Collection.open(root, now_fn=clock(NOW + timedelta(minutes=1)))
    try:
        one = first.review()
        assert one.read_only is None
        two = second.review()
        assert two.read_only is not None
        assert "Read-only" in two.read_only and f"pid {os.getpid()}" in two.read_only
        cid = two.session.next_card(two.now())
        assert cid is not None
        two.apply(two.session.answer(Rating.GOOD, two.now(), 1000))
        # not saved, not dropped: the card is still current and the session did not advance
        assert two.pending is not None and two.pending.card_id == cid
        assert "NOT saved" in two.pending.describe()
        assert two.session.current == cid and two.session.stats.answered == 0
        assert first.store.reviews() == []
        # the bulk writers are refused too while the review holds the lease
        with pytest.raises(LeaseBusy, match="review"):
            second.prune_workspace()
        first.close()  # the first window quits: answering again (retry) now saves
        two.apply(two.session.answer(Rating.GOOD, two.now(), 1000))
        assert two.pending is None and two.read_only is None
        assert [e.card_id for e in second.store.reviews()] == [cid]
    finally:
        first.close()
        second.close()


def test_an_answer_is_computed_from_the_stored_state_not_the_windows_memory(root: Path) -> None:
    with Collection.open(root, now_fn=clock()) as col:
        service = col.review()
        cid = service.session.next_card(service.now())
        assert cid is not None
        # meanwhile (an import, another writer) the card got two answers in the database
        other = Store.open(col.store_file())
        sched = col.scheduler
        state = CardState(cid)
        for minutes in (1, 20):
            entry = sched.review(
                state, Rating.GOOD, NOW - timedelta(hours=2) + timedelta(minutes=minutes)
            )
            other.record_review(entry)
            state = entry.after
        other.close()
        service.apply(service.session.answer(Rating.AGAIN, service.now(), 800))
        assert service.pending is None
        log = col.store.reviews([cid])
        assert len(log) == 3
        assert log[-1].before == state  # computed from what the database held
        stored = col.store.states([cid])[cid]
        assert stored.reps == 3 and stored == log[-1].after
        assert service.session.states[cid] == stored  # and the window follows it
        assert check_states(col.store, col.scheduler) == []


def test_undo_refuses_when_another_window_answered_since(root: Path) -> None:
    with Collection.open(root, now_fn=clock()) as col:
        service = col.review()
        cid = service.session.next_card(service.now())
        assert cid is not None
        service.apply(service.session.answer(Rating.GOOD, service.now(), 800))
        mine = col.store.reviews([cid])[-1]
        # another writer answers the same card later
        other = Store.open(col.store_file())
        other.record_review(
            col.scheduler.review(mine.after, Rating.EASY, service.now() + timedelta(hours=1))
        )
        other.close()
        before_rows = col.store.reviews_with_ids()
        before_state = col.store.states([cid])[cid]
        outcome = service.undo()
        assert outcome.notice is not None and outcome.notice.startswith("Cannot undo")
        assert "not the latest" in outcome.notice
        assert col.store.reviews_with_ids() == before_rows  # nothing written
        assert col.store.states([cid])[cid] == before_state
        assert not service.session.can_undo  # it will never be undoable


def test_undo_of_the_latest_answer_still_works(root: Path) -> None:
    with Collection.open(root, now_fn=clock()) as col:
        service = col.review()
        cid = service.session.next_card(service.now())
        assert cid is not None
        service.apply(service.session.answer(Rating.GOOD, service.now(), 800))
        outcome = service.undo()
        assert outcome.notice == "Undid answer."
        assert col.store.reviews() == [] and col.store.states() == {}
        assert service.session.next_card(service.now()) == cid


def test_undo_refuses_after_the_clock_went_back(tmp_path: Path) -> None:
    sched_col = Collection.open(make_collection(tmp_path / "c"), now_fn=lambda: NOW)
    sched = sched_col.scheduler
    with Store.open(tmp_path / "db.sqlite3") as store:
        first = sched.review(CardState("x"), Rating.GOOD, NOW)
        store.record_review(first)
        # the clock was set back an hour: the next answer is logged before the first
        rid, _ = store.record_answer(
            "x", lambda before: sched.review(before, Rating.GOOD, NOW - timedelta(hours=1))
        )
        rows = store.reviews_with_ids()
        with pytest.raises(StoreError, match="not the latest"):
            store.undo_review(rid)
        assert store.reviews_with_ids() == rows
    sched_col.close()


def test_import_and_sync_are_refused_while_a_review_holds_the_lease(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("anki.collection", reason="the anki package is not installed")
    from anki.collection import Collection as AnkiCollection

    from dlcards.cli.main import main

    desk = tmp_path / "desk" / "collection.anki2"
    desk.parent.mkdir()
    AnkiCollection(str(desk)).close()
    with Collection.open(root) as col:
        col.review()  # a review window is open
        before = col.store.reviews_with_ids(), col.store.states()
        for args in (["import-anki", str(desk)], ["sync", "--collection", str(desk)]):
            code = main(["-C", str(root), *args])
            out, err = capsys.readouterr()
            assert code == 1, (args, out, err)
            assert "in use by `dlcards review`" in err and f"pid {os.getpid()}" in err
        assert (col.store.reviews_with_ids(), col.store.states()) == before
