"""`dlcards import-reviews`: the three CSV layouts, card ids mapped or kept as foreign history,
exact messages for bad rows and nothing imported then, re-importing adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import REVIEW_LOG

from dlcards.cli.main import main

pytest.importorskip("fsrs_rs_python")

DECK = "Q: One? <!-- id: 1711684180217 -->\nA: 1\n\nQ: Two? <!-- id: two -->\nA: 2\n"
NOW = "2024-10-07T12:00:00Z"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def col(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (collection / "decks" / "a.md").write_text(DECK)
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    return collection


def counts() -> tuple[int, int]:
    from dlcards.store import Store
    from dlcards.store.params import foreign_reviews

    with Store.open() as store:
        return len(store.reviews()), len(foreign_reviews(store))


def test_shipped_log_maps_one_card_and_keeps_the_rest(
    col: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(REVIEW_LOG), "--json")
    assert code == 0, err
    got = json.loads(out)
    mapped = sum(
        1 for line in REVIEW_LOG.read_text().splitlines() if line.startswith("1711684180217,")
    )
    assert got["layout"] == "py-fsrs" and got["rows"] == 12580
    assert got["mapped_reviews"] == mapped and got["mapped_cards"] == 1
    assert got["foreign_reviews"] == 12580 - mapped and got["foreign_cards"] == 1204
    assert counts() == (mapped, 12580 - mapped)
    # the mapped card has a schedule now
    code, out, _ = run(capsys, "-C", str(col), "list", "--json")
    row = next(r for r in json.loads(out) if r["id"] == "1711684180217")
    assert row["reps"] == mapped and row["stability"] is not None
    # importing again adds nothing
    code, out, _ = run(capsys, "-C", str(col), "import-reviews", str(REVIEW_LOG), "--json")
    again = json.loads(out)
    assert again["mapped_reviews"] == 0 and again["foreign_reviews"] == 0
    assert again["duplicates"] == 12580
    assert counts() == (mapped, 12580 - mapped)


def test_fsrs_optimizer_and_anki_revlog_layouts(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opt = tmp_path / "revlog.csv"
    opt.write_text(
        "card_id,review_time,review_rating,review_state,review_duration\n"
        "77,1711744352250,3,0,5000\n77,1711830752250,2,2,7000\n"
    )
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(opt), "--json")
    assert code == 0, err
    assert json.loads(out)["layout"] == "fsrs-optimizer"
    anki = tmp_path / "anki.csv"
    anki.write_text(
        "id,cid,usn,ease,ivl,lastIvl,factor,time,type\n"
        "1711744352000,two,-1,3,1,0,0,4000,0\n"
        "1711830752000,two,-1,0,5,1,0,0,4\n"  # a reschedule entry: not a review
        "1711917152000,two,-1,1,-600,1,0,9000,1\n"
    )
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(anki), "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["layout"] == "anki-revlog" and got["skipped"] == 1
    assert got["mapped_reviews"] == 2 and got["mapped_cards"] == 1
    assert counts() == (2, 2)
    from dlcards.store import Store

    with Store.open() as store:
        ids = sorted(e.anki_revlog_id or 0 for e in store.reviews(["two"]))
    assert ids == [1711744352000, 1711917152000]


def test_bad_rows_exact_messages_and_nothing_imported(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "card_id,review_rating,review_time,review_duration\n"
        "1711684180217,3,2024-03-29T20:32:32+00:00,100\n"
        "5,5,2024-03-29T20:32:32+00:00,100\n"
        "\n"
        "6,3,2024-03-29T20:32:32,100\n"
        "7,3,yesterday,-4\n"
        "8,3\n"
    )
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(bad))
    assert code == 1
    assert "Traceback" not in err
    lines = [line for line in out.splitlines() if ": error: " in line]
    assert lines == [
        f"{bad}:3: error: review_rating must be 1, 2, 3 or 4, not '5'",
        f"{bad}:5: error: review_time '2024-03-29T20:32:32' has no time zone",
        f"{bad}:6: error: review_time 'yesterday' is not an ISO 8601 time or milliseconds since 1970",
        f"{bad}:6: error: review_duration must be a whole number of milliseconds >= 0, not '-4'",
        f"{bad}:7: error: expected 4 fields (card_id, review_rating, review_time, review_duration), got 2",
    ]
    assert "5 bad rows: nothing was imported" in err
    assert counts() == (0, 0)  # the good row 2 was not imported either


def test_unknown_header_and_empty_file(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("when,what\n1,2\n")
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(odd))
    assert code == 1 and f"{odd}:1: error: unknown review-log columns: when, what" in out
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(empty))
    assert code == 1 and f"{empty}:1: error: the file is empty" in out
    code, out, err = run(capsys, "-C", str(col), "import-reviews", str(tmp_path / "nope.csv"))
    assert code == 2 and "cannot read" in err and "Traceback" not in err


def test_dry_run_writes_nothing(col: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-C", str(col), "import-reviews", str(REVIEW_LOG), "--dry-run")
    assert code == 0 and "dry run: nothing written" in out
    assert counts() == (0, 0)


def test_a_failure_while_writing_leaves_nothing_half_imported(
    col: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.app import optimize as svc
    from dlcards.app.collection import Collection
    from dlcards.store import params

    real_ts, real_write = params._ts, params.import_review_history
    calls = {"writing": False, "n": 0}

    def failing(value: object) -> object:
        if calls["writing"]:  # only the foreign rows, inside the write transaction
            calls["n"] += 1
            if calls["n"] > 100:
                raise OSError("disk full")
        return real_ts(value)  # type: ignore[arg-type]

    def writing(*args: object, **kwargs: object) -> object:
        calls["writing"] = True
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(params, "_ts", failing)
    monkeypatch.setattr(params, "import_review_history", writing)
    with Collection.open(col) as c, pytest.raises(OSError, match="disk full"):
        svc.import_reviews(c, REVIEW_LOG)
    assert calls["n"] > 100  # it failed inside the transaction, after the mapped rows
    monkeypatch.setattr(params, "_ts", real_ts)
    assert counts() == (0, 0)
    from dlcards.store import Store

    with Store.open() as store:
        assert store.states(["1711684180217"]) == {}
