"""`dlcards doctor` checks every card's state against a replay of its log and repairs it with
the user's consent (`--repair`); `--restore` puts a good backup back (issue 17)."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from dlcards.app.collection import Collection
from dlcards.app.doctor import check_states
from dlcards.cli.main import main
from dlcards.core.state import CardState, Rating
from dlcards.store import Store, list_backups

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY0 = date(2026, 1, 5)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "col"
    (root / "decks").mkdir(parents=True)
    (root / "decks" / "a.md").write_text(
        "---\nweek: 1\ntopic: basics\n---\n\n"
        + "".join(f"Q: Fact {i}?\nA: Value {i}.\n\n" for i in range(4))
    )
    (root / "dlcards.toml").write_text('[dlcards]\ntimezone = "UTC"\nfuzz = false\n')
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str]:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args))
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out + err


def answer_cards(col: Collection, n: int = 3) -> list[str]:
    """Answer every card `n` times through the app's scheduler; returns the card ids."""
    ids = sorted(col.markdown_ids())
    sched = col.scheduler
    with Store.open(col.store_file(), backup_day=DAY0) as store:
        for cid in ids:
            state = CardState(cid)
            t = T0
            for _ in range(n):
                entry = sched.review(state, Rating.GOOD, t)
                store.record_review(entry)
                state = entry.after
                t = (state.due or t) + timedelta(hours=1)
    return ids


def test_states_that_disagree_with_the_log_are_found_and_repaired_with_consent(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Collection.open(root) as col:
        ids = answer_cards(col)
        # a lost update: a second window wrote the first answer's state over the third's
        first_after = col.store.reviews([ids[0]])[0].after
        col.store.set_state(first_after)
        # an import around a review: the state of a card went missing
        col.store.conn.execute("DELETE FROM card_state WHERE card_id = ?", (ids[1],))
        assert {m.card_id for m in check_states(col.store, col.scheduler)} == {ids[0], ids[1]}
    code, out = run(capsys, "-C", str(root), "doctor")
    assert code == 1
    assert "2 card state(s) disagree with their review log" in out
    assert f"{ids[0]}: stored state says 1 reps" in out and "the log has 3 reviews" in out
    assert "damaged" not in out  # a wrong state is not a damaged file
    code, out = run(capsys, "-C", str(root), "doctor", "--json")
    report = json.loads(out)
    assert code == 1 and {w["card_id"] for w in report["states"]["wrong"]} == {ids[0], ids[1]}
    # --repair asks first; "no" changes nothing
    code, out = run(capsys, "-C", str(root), "doctor", "--repair", stdin="n\n")
    assert code == 1 and "Nothing changed." in out
    with Collection.open(root) as col:
        assert col.store.states([ids[0]])[ids[0]] == first_after
    code, out = run(capsys, "-C", str(root), "doctor", "--repair", "--yes")
    assert code == 0, out
    assert "Repaired 2 card state(s)" in out and "states: ok" in out
    with Collection.open(root) as col:
        assert check_states(col.store, col.scheduler) == []
        stored = col.store.states()
        for cid in ids[:2]:
            log = col.store.reviews([cid])
            state, _ = col.scheduler.replay(cid, [(e.time, e.rating, e.duration_ms) for e in log])
            assert stored[cid] == state and stored[cid].reps == 3


def test_a_healthy_collection_passes_the_state_check(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Collection.open(root) as col:
        answer_cards(col, 2)
    code, out = run(capsys, "-C", str(root), "doctor")
    assert code == 0, out
    assert "states: ok (4 cards agree with a replay of their log)" in out


def test_restore_puts_the_newest_good_backup_back_and_keeps_the_damaged_file(
    root: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Collection.open(root) as col:
        answer_cards(col, 2)
    with Store.open(backup_day=DAY0 + timedelta(days=1)):  # day 1 holds the 8 reviews
        pass
    db = dlcards_home / "dlcards.sqlite3"
    db.write_bytes(b"")  # the file was emptied
    code, out = run(capsys, "-C", str(root), "doctor")
    assert code == 1 and "empty (0 bytes)" in out and "doctor --restore" in out
    code, out = run(capsys, "-C", str(root), "stats", "--json")
    assert code == 1 and "empty (0 bytes)" in out  # never taken as a new database
    assert db.stat().st_size == 0 and len(list_backups(db)) == 2
    code, out = run(capsys, "-C", str(root), "doctor", "--restore", stdin="n\n")
    assert code == 1 and db.stat().st_size == 0
    code, out = run(capsys, "-C", str(root), "doctor", "--restore", "--yes")
    assert code == 0, out
    assert "dlcards-2026-01-06.sqlite3" in out and "kept aside" in out
    aside = list(dlcards_home.glob("dlcards.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].stat().st_size == 0
    code, out = run(capsys, "-C", str(root), "doctor")
    assert code == 0 and "8 reviews" in out


def test_restore_skips_a_damaged_backup_and_takes_a_named_one(
    root: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Collection.open(root) as col:
        answer_cards(col, 1)
    with Store.open(backup_day=DAY0 + timedelta(days=1)):
        pass
    backups = list_backups(dlcards_home / "dlcards.sqlite3")
    backups[0].path.write_bytes(b"garbage" * 100)  # the newest backup is bad
    code, out = run(capsys, "-C", str(root), "doctor", "--restore", "--yes")
    assert code == 0, out
    assert backups[1].path.name in out  # the older good one was chosen
    code, out = run(capsys, "-C", str(root), "doctor", "--restore", str(backups[0].path), "--yes")
    assert code == 1 and "does not read back" in out


def test_restore_waits_for_no_window_and_refuses_while_one_reviews(
    root: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Collection.open(root) as col:
        answer_cards(col, 1)
        col.review()  # a review window holds the lease
        before = (dlcards_home / "dlcards.sqlite3").read_bytes()
        code, out = run(capsys, "-C", str(root), "doctor", "--restore", "--yes")
        assert code == 1 and "in use by `dlcards review`" in out
        assert (dlcards_home / "dlcards.sqlite3").read_bytes() == before


def test_a_future_version_is_refused_by_doctor(
    root: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.store.migrations import LATEST

    with Collection.open(root) as col:
        answer_cards(col, 1)
    conn = sqlite3.connect(dlcards_home / "dlcards.sqlite3")
    conn.execute(f"PRAGMA user_version = {LATEST + 3}")
    conn.commit()
    conn.close()
    code, out = run(capsys, "-C", str(root), "doctor")
    assert code == 1 and f"schema version {LATEST + 3}, newer than this dlcards" in out
