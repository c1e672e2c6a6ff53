"""`dlcards list` with scheduling columns: JSON keys, --due/--leech/--suspended, no backups."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.cli.main import main
from dlcards.core.state import CardState, Rating, parse_utc
from dlcards.review.scheduling import Scheduler, SchedulerConfig
from dlcards.store import Store

DECK = (
    "---\nweek: 1\ntopic: basics\n---\n\nQ: What is a scalar?\nA: A single number.\n\n"
    "Q: What is a matrix?\nA: A 2-D array.\n\nQ: What is a tensor?\nA: An n-D array.\n\n"
    "C: A vector has {{c1::one}} axis and a matrix {{c2::two}}.\n"
)
SCHED_KEYS = {
    "state",
    "due",
    "stability",
    "difficulty",
    "retrievability",
    "reps",
    "lapses",
    "suspended",
    "leech",
}
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rows(capsys: pytest.CaptureFixture[str], collection: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    code, out, err = run(capsys, "-C", str(collection), "list", "--json", *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_new_collection_all_new_and_no_database_created(
    collection: Path, dlcards_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (collection / "decks" / "a.md").write_text(DECK)
    got = rows(capsys, collection)
    assert len(got) == 5
    for row in got:
        assert set(row) >= SCHED_KEYS
        assert row["state"] == "new" and row["due"] is None and row["reps"] == 0
        assert row["retrievability"] is None and row["suspended"] is False
    assert not (dlcards_home / "dlcards.sqlite3").exists()


def test_schedule_columns_and_filters(
    collection: Path,
    dlcards_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (collection / "decks" / "a.md").write_text(DECK)
    (collection / "dlcards.toml").write_text('[dlcards]\ntimezone = "UTC"\nfuzz = false\n')
    ids = [r["id"] for r in rows(capsys, collection)]
    sched = Scheduler(
        SchedulerConfig(0.9, (60.0, 600.0), (600.0,), 36500, False, None, 4, ZoneInfo("UTC"))
    )
    with Store.open() as store:
        # ids[0]: graduated (due in 2 days); ids[1]: in learning (due 10 min later); ids[2]: lapsed leech
        s0 = CardState(ids[0])
        for t in (T0, T0 + timedelta(minutes=11)):
            e = sched.review(s0, Rating.GOOD, t)
            store.record_review(e)
            s0 = e.after
        e1 = sched.review(CardState(ids[1]), Rating.GOOD, T0)
        store.record_review(e1)
        e2 = sched.review(CardState(ids[2]), Rating.EASY, T0)
        store.record_review(e2)
        e3 = sched.review(e2.after, Rating.AGAIN, T0 + timedelta(days=9))
        store.record_review(e3)
        store.set_leech(ids[2], True)
        store.set_suspended([ids[3]], True)
    backups_before = (
        sorted((dlcards_home / "backups").glob("*")) if (dlcards_home / "backups").exists() else []
    )

    monkeypatch.setenv("DLCARDS_NOW", "2026-01-05T12:00:00Z")
    got = {r["id"]: r for r in rows(capsys, collection)}
    r0 = got[ids[0]]
    assert r0["state"] == "review" and r0["reps"] == 2 and r0["lapses"] == 0
    assert parse_utc(r0["due"]) == s0.due
    assert r0["stability"] == pytest.approx(s0.stability) and r0["difficulty"] == pytest.approx(
        s0.difficulty
    )
    assert r0["retrievability"] == pytest.approx(
        sched.retrievability(s0, parse_utc("2026-01-05T12:00:00Z"))
    )
    assert 0.9 < r0["retrievability"] < 1
    assert got[ids[1]]["state"] == "learning"
    assert (
        got[ids[2]]["leech"] is True
        and got[ids[2]]["lapses"] == 1
        and got[ids[2]]["state"] == "relearning"
    )
    assert got[ids[3]]["suspended"] is True and got[ids[3]]["state"] == "new"

    # --due on Jan 5 at 12:00: the learning card (due 09:10) and the relearning card? (not yet: Jan 14)
    assert [r["id"] for r in rows(capsys, collection, "--due")] == [ids[1]]
    monkeypatch.setenv(
        "DLCARDS_NOW", "2026-01-07T03:00:00Z"
    )  # still study day Jan 6 (rollover 04:00)
    assert ids[0] not in [r["id"] for r in rows(capsys, collection, "--due")]
    monkeypatch.setenv("DLCARDS_NOW", "2026-01-07T04:30:00Z")  # review card due on study day Jan 7
    assert ids[0] in [r["id"] for r in rows(capsys, collection, "--due")]
    assert [r["id"] for r in rows(capsys, collection, "--leech")] == [ids[2]]
    assert [r["id"] for r in rows(capsys, collection, "--suspended")] == [ids[3]]

    # the table shows the schedule
    code, out, _ = run(capsys, "-C", str(collection), "list")
    assert code == 0
    header = out.splitlines()[0].split()
    assert {"state", "due", "R"} <= set(header)
    line = next(x for x in out.splitlines() if x.startswith(ids[2]))
    assert "relearning [L]" in line
    # listing made no backups
    after = (
        sorted((dlcards_home / "backups").glob("*")) if (dlcards_home / "backups").exists() else []
    )
    assert after == backups_before
