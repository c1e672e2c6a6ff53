"""`dlcards doctor`: a healthy database, orphans, backups and restore instructions, damage."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.cli.main import main
from dlcards.core.calendar import StudyCalendar
from dlcards.core.state import CardState, Rating
from dlcards.review.scheduling import Scheduler, SchedulerConfig
from dlcards.store import Store
from dlcards.store.migrations import LATEST

DECK = "---\nweek: 1\ntopic: basics\n---\n\nQ: What is a scalar?\nA: A single number.\n\nC: A vector has {{c1::one}} axis.\n"
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY0 = StudyCalendar().study_day(T0)  # UTC, the day starting at 04:00


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def card_ids(collection: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, _ = run(capsys, "-C", str(collection), "list", "--json")
    assert code == 0
    return [row["id"] for row in json.loads(out)]


def review(store: Store, card_id: str, n: int, start: datetime = T0) -> None:
    sched = Scheduler(
        SchedulerConfig(0.9, (600.0,), (600.0,), 36500, False, None, 4, ZoneInfo("UTC"))
    )
    state = CardState(card_id)
    t = start
    for _ in range(n):
        entry = sched.review(state, Rating.GOOD, t)
        store.record_review(entry)
        state = entry.after
        t = state.due + timedelta(hours=1)  # type: ignore[operator]


def test_no_database_yet(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-C", str(collection), "doctor")
    assert code == 0
    assert "no review database yet" in out and "backups: none yet" in out


def test_healthy_database_with_orphan_and_backups(
    collection: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "decks" / "a.md").write_text(DECK)
    ids = card_ids(collection, capsys)
    with Store.open(backup_day=DAY0) as store:
        review(store, ids[0], 3)
        review(store, "gone1234", 2)  # a card whose id is no longer in the Markdown
        store.set_suspended([ids[1]], True)
    with Store.open(backup_day=DAY0 + timedelta(days=1)):
        pass
    code, out, err = run(capsys, "-C", str(collection), "doctor")
    assert code == 0, out + err
    assert "integrity: ok" in out
    assert f"schema version {LATEST}" in out and "migration 1 initial" in out
    assert f"{len(ids)} in the Markdown" in out and "5 reviews" in out and "1 suspended" in out
    assert "orphans: 1 card(s)" in out and "gone1234" in out and "2 reviews" in out
    assert "relink" in out  # explains the choices
    assert "backups: 2" in out
    db = dlcards_home / "dlcards.sqlite3"
    assert f"cp '{dlcards_home / 'backups' / 'dlcards-2026-01-06.sqlite3'}' '{db}'" in out
    # --json
    code, out, _ = run(capsys, "-C", str(collection), "doctor", "--json")
    report = json.loads(out)
    assert code == 0 and report["problems"] == [] and report["schema_version"] == LATEST
    assert report["counts"]["reviews"] == 5 and report["counts"]["orphans"] == 1
    assert [o["id"] for o in report["orphans"]] == ["gone1234"]
    assert [b["day"] for b in report["backups"]] == ["2026-01-06", "2026-01-05"]


def test_damage_is_reported_and_the_restore_hint_works(
    collection: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "decks" / "a.md").write_text(DECK)
    ids = card_ids(collection, capsys)
    with Store.open(backup_day=DAY0) as store:
        review(store, ids[0], 2)
    with Store.open(
        backup_day=DAY0 + timedelta(days=1)
    ) as store:  # the next day's backup holds the 2 reviews
        for i in range(300):  # enough pages that damage lands inside a table
            review(store, f"filler{i}", 1)
    db = dlcards_home / "dlcards.sqlite3"
    data = bytearray(db.read_bytes())
    assert len(data) > 8 * 4096
    for offset in range(2 * 4096, 6 * 4096, 97):
        data[offset] = (data[offset] + 0x55) % 256
    db.write_bytes(bytes(data))
    code, out, _ = run(capsys, "-C", str(collection), "doctor")
    assert code == 1
    assert "PROBLEM" in out and "damaged" in out
    # follow the printed instructions
    line = next(x for x in out.splitlines() if x.strip().startswith("cp '"))
    subprocess.run(line.strip(), shell=True, check=True)
    code, out, _ = run(capsys, "-C", str(collection), "doctor")
    assert code == 0 and "integrity: ok" in out
    with Store.open() as store:
        assert len(store.reviews([ids[0]])) == 2  # the newest backup was made before the fillers


def test_doctor_outside_a_collection_uses_stored_presence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        review(store, "x1", 1)
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "as of the last review session" in out
    assert "orphans: 1 card(s)" in out and "x1" in out  # x1 was never seen in any Markdown
