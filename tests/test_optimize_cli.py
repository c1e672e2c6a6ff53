"""`dlcards optimize` on a real store: adoption, history, rollback, the parameters scheduling
uses (setting > adopted > defaults), Anki preset import/export, the data minimum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import REVIEW_LOG

from dlcards.cli.main import main

rs = pytest.importorskip("fsrs_rs_python")

DECK = "Q: One? <!-- id: 1711684180217 -->\nA: 1\n\nQ: Two? <!-- id: two -->\nA: 2\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def col(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (collection / "decks" / "a.md").write_text(DECK)
    monkeypatch.setenv("DLCARDS_NOW", "2024-10-07T12:00:00Z")
    return collection


def scheduler_parameters(root: Path) -> tuple[float, ...]:
    from dlcards.app.collection import Collection

    with Collection.open(root) as c:
        return c.scheduler.parameters


def stability(root: Path) -> float:
    from dlcards.store import Store

    with Store.open() as store:
        s = store.states(["1711684180217"])["1711684180217"].stability
    assert s is not None
    return s


def test_below_the_minimum_it_says_how_many_more(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = REVIEW_LOG.read_text().splitlines()[:301]
    small = tmp_path / "small.csv"
    small.write_text("\n".join(head) + "\n")
    assert run(capsys, "-C", str(col), "import-reviews", str(small))[0] == 0
    code, _, err = run(capsys, "-C", str(col), "optimize")
    assert code == 1 and "Traceback" not in err
    assert "error: not enough reviews to optimise:" in err and "more reviews" in err
    from dlcards.review.optimizer import MIN_ITEMS

    have = int(err.split("optimise: ")[1].split(" of")[0])
    assert f"{have} of the {MIN_ITEMS} needed ({MIN_ITEMS - have} more reviews" in err


def test_adopt_history_rollback_and_scheduling_uses_them(
    col: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.review.optimizer import default_parameters

    assert run(capsys, "-C", str(col), "import-reviews", str(REVIEW_LOG))[0] == 0
    assert scheduler_parameters(col) == pytest.approx(default_parameters(), abs=1e-6)
    s_default = stability(col)
    code, out, err = run(capsys, "-C", str(col), "optimize", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["adopted"] and got["better"] and got["history_id"] == 1
    ts = got["time_series_split"]
    assert ts["fitted"]["log_loss"] < ts["current"]["log_loss"]
    fitted = tuple(got["parameters"])
    used = scheduler_parameters(col)
    assert max(abs(a - b) for a, b in zip(used, fitted, strict=True)) < 1e-5
    assert stability(col) != pytest.approx(s_default)  # memory states recomputed
    # a second run: the current parameters are the fitted ones now; not better -> not adopted
    code, out, _ = run(capsys, "-C", str(col), "optimize")
    assert code == 0 and "Kept the current parameters" in out
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--history", "--json")
    rows = json.loads(out)
    assert [(r["id"], r["adopted"], r["rolled_back_at"]) for r in rows] == [
        (1, True, None),
        (2, False, None),
    ]
    assert rows[0]["log_loss"] < rows[0]["previous_log_loss"]
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--history")
    assert "IN FORCE" in out.splitlines()[1]
    # --force adopts the second fit
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--force")
    assert code == 0 and "Adopted (forced) as parameter set #3" in out
    # rollback twice: back to #1, then to the defaults; a third has nothing to roll back
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--rollback")
    assert code == 0 and "rolled back parameter set #3" in out and "now in force: #1" in out
    assert max(abs(a - b) for a, b in zip(scheduler_parameters(col), fitted, strict=True)) < 1e-5
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--rollback")
    assert "now in force: the FSRS-6 defaults" in out
    assert scheduler_parameters(col) == pytest.approx(default_parameters(), abs=1e-6)
    assert stability(col) == pytest.approx(s_default)
    code, _, err = run(capsys, "-C", str(col), "optimize", "--rollback")
    assert code == 1 and "no adopted parameters to roll back" in err


def test_setting_overrides_adopted_parameters(
    col: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "-C", str(col), "import-reviews", str(REVIEW_LOG))[0] == 0
    assert run(capsys, "-C", str(col), "optimize")[0] == 0
    mine = [round(w * 1.01, 4) for w in rs.DEFAULT_PARAMETERS]
    (col / "dlcards.toml").write_text(f"[dlcards]\nfsrs_parameters = {mine}\n")
    assert scheduler_parameters(col) == tuple(mine)


def test_anki_preset_export_and_import(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--export", "-")
    assert code == 0 and out.strip() == ", ".join(f"{w:.4f}" for w in rs.DEFAULT_PARAMETERS)
    preset = tmp_path / "preset.txt"
    wanted = [
        0.4,
        1.2,
        3.1,
        15.7,
        7.2,
        0.5,
        1.4,
        0.005,
        1.5,
        0.12,
        1.0,
        1.9,
        0.11,
        0.29,
        2.3,
        0.23,
        2.9,
        0.5,
        0.6,
        0.1,
        0.2,
    ]
    preset.write_text(", ".join(map(str, wanted)))
    code, out, err = run(capsys, "-C", str(col), "optimize", "--import", str(preset))
    assert code == 0, err
    assert scheduler_parameters(col) == pytest.approx(tuple(wanted), abs=1e-6)
    out_file = tmp_path / "out.txt"
    assert run(capsys, "-C", str(col), "optimize", "--export", str(out_file))[0] == 0
    assert out_file.read_text().strip() == ", ".join(f"{w:.4f}" for w in wanted)
    preset.write_text("1, 2, three")
    code, _, err = run(capsys, "-C", str(col), "optimize", "--import", str(preset))
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"{preset}:1: error: FSRS parameters: item 3 is 'three', not a number")
    assert "hint: paste Anki's parameters" in err


def test_out_of_bounds_preset_is_refused(
    col: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preset = tmp_path / "preset.txt"
    preset.write_text(", ".join(["-5"] + [str(w) for w in rs.DEFAULT_PARAMETERS[1:]]))
    code, _, err = run(capsys, "-C", str(col), "optimize", "--import", str(preset))
    assert code == 1 and "Traceback" not in err
    assert "parameters[0] = -5.0 is out of bounds" in err and err.startswith(f"{preset}:1: error:")
    code, out, _ = run(capsys, "-C", str(col), "optimize", "--history")
    assert "no parameter sets yet" in out
