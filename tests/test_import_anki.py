"""`dlcards import-anki`: Anki's review log back into dlcards, exactly once.

The end-to-end tests use the real Anki backend (PyPI `anki`): build the example decks, import
them into a fresh Anki collection, review in Anki, then import that collection (and its
.colpkg / .apkg exports) into dlcards. The mapping and merge logic is also tested without Anki.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlcards.anki.reader import AnkiReview, merge_into_store, plan_import
from dlcards.app.settings import scheduler_config
from dlcards.cli.main import main
from dlcards.core.model import cloze_card_id
from dlcards.core.state import Rating

T1 = "2026-01-05T09:00:00Z"


def _notes(root: Path) -> list[Any]:
    from dlcards.system.decks import read_decks

    return read_decks(root, use_cache=False).notes


def _guid(note_id: str) -> str:
    from dlcards.anki.notetypes import note_guid

    return note_guid(note_id)


def _row(
    rid: int, guid: str, ord_: int = 0, ease: int = 3, rtype: int = 1, dlc_id: str | None = None
) -> AnkiReview:
    return AnkiReview(
        revlog_id=rid,
        guid=guid,
        ord=ord_,
        time=datetime.fromtimestamp(rid / 1000, UTC),
        ease=ease,
        duration_ms=4000,
        type=rtype,
        dlc_id=dlc_id,
    )


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    import shutil

    from conftest import EXAMPLES

    root = tmp_path / "cards"
    shutil.copytree(EXAMPLES, root / "decks")
    return root


# -- mapping and merging (no Anki needed) -------------------------------------------------------


def test_plan_maps_guid_and_cloze_ordinal_and_sorts_out_the_rest(examples: Path) -> None:
    notes = _notes(examples)
    basic = next(n for n in notes if n.kind == "basic")
    cloze = next(n for n in notes if n.kind == "cloze" and len(n.numbers) >= 2)
    t0 = 1_767_600_000_000
    rows = [
        _row(t0, _guid(basic.id), 0, ease=3, rtype=0),
        _row(t0 + 1, _guid(cloze.id), 1, ease=1, rtype=0),  # ordinal 1 = deletion c2
        _row(t0 + 2, _guid(basic.id), 0, ease=0, rtype=4),  # manual (e.g. forget)
        _row(t0 + 3, _guid(basic.id), 0, ease=0, rtype=5),  # rescheduled (set due date)
        _row(t0 + 4, "someone-elses", 0, ease=3),
        _row(t0 + 5, _guid("deleted-note"), 0, ease=3, dlc_id="deleted-note"),
        _row(t0 + 6, _guid(cloze.id), 7, ease=3, dlc_id=cloze.id),  # c8 no longer exists
    ]
    plan = plan_import(rows, notes)
    assert plan.matched == {basic.id: [rows[0]], cloze_card_id(cloze.id, 2): [rows[1]]}
    assert plan.skipped == [rows[2], rows[3]]
    assert plan.not_dlcards == [rows[4]]
    assert plan.gone == [rows[5], rows[6]]
    assert plan.unmatched == 3


def test_merge_replays_the_merged_history_and_is_idempotent(examples: Path) -> None:
    from dlcards.review.scheduling import Scheduler
    from dlcards.store import Store
    from dlcards.system.config import load_settings

    notes = _notes(examples)
    card = notes[0].id
    scheduler = Scheduler(scheduler_config(load_settings(examples)))
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with Store.open() as store:
        # one review in dlcards on day 0, then Anki reviews on day 1 and day 4, and dlcards day 2
        first = scheduler.review(store.states().get(card) or _new(card), Rating.GOOD, start, 3000)
        store.record_review(first)
        second = scheduler.review(first.after, Rating.GOOD, start + timedelta(days=2), 3000)
        store.record_review(second)
        t_a = start + timedelta(days=1)
        t_b = start + timedelta(days=4)
        rows = [
            _row(int(t_a.timestamp() * 1000), _guid(card), ease=4),
            _row(int(t_b.timestamp() * 1000), _guid(card), ease=2),
        ]
        plan = plan_import(rows, notes)
        result = merge_into_store(store, scheduler, plan)
        assert (result.imported, result.duplicates, result.cards) == (2, 0, [card])

        expected, _ = scheduler.replay(
            card,
            [
                (start, Rating.GOOD, 3000),
                (t_a, Rating.EASY, 4000),
                (start + timedelta(days=2), Rating.GOOD, 3000),
                (t_b, Rating.HARD, 4000),
            ],
        )
        assert store.states()[card] == expected
        log = store.reviews([card])
        assert [(e.source, e.anki_revlog_id) for e in log] == [
            ("dlcards", None),
            ("anki", rows[0].revlog_id),
            ("dlcards", None),
            ("anki", rows[1].revlog_id),
        ]

        again = merge_into_store(store, scheduler, plan_import(rows, notes))
        assert (again.imported, again.duplicates, again.cards) == (0, 2, [])
        assert store.reviews([card]) == log
        assert store.states()[card] == expected


def _new(card_id: str) -> Any:
    from dlcards.core.state import CardState

    return CardState(card_id=card_id)


# -- the real Anki backend -----------------------------------------------------------------------


def _anki_with_reviews(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, list[int]]:
    """Build, import into a fresh Anki collection, review two dlcards cards, one foreign card,
    and reschedule one card (a manual entry)."""
    pytest.importorskip("anki.collection", reason="the `anki` package is not installed")
    from test_export_anki import import_apkg, new_anki, review_two

    monkeypatch.setenv("DLCARDS_NOW", T1)
    out = tmp_path / "out"
    assert main(["-C", str(examples), "build", "-o", str(out)]) == 0
    col = new_anki(tmp_path)
    import_apkg(col, out / "Deep-Learning.apkg")
    reviewed = review_two(col)
    # a card that is not from dlcards, reviewed too
    basic = col.models.by_name("Basic")
    foreign = col.new_note(basic)
    foreign["Front"], foreign["Back"] = "capital of France?", "Paris"
    col.add_note(foreign, col.decks.id_for_name("Default"))
    card = foreign.cards()[0]
    card.start_timer()
    col.sched.answerCard(card, 3)
    # "set due date" writes a reschedule/manual entry to the revlog
    col.sched.set_due_date([reviewed[0]], "5")
    return col, reviewed


def _store_snapshot() -> tuple[list[Any], dict[str, Any]]:
    from dlcards.store import Store

    with Store.open() as store:
        return store.reviews(), store.states()


def test_import_anki_collection_brings_reviews_back_exactly_once(
    examples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    col, reviewed = _anki_with_reviews(examples, tmp_path, monkeypatch)
    anki_rows = {
        cid: col.db.list("select id from revlog where cid = ? and type < 4", cid)
        for cid in reviewed
    }
    dlc_ids = {cid: col.get_card(cid).note()["DlcId"] for cid in reviewed}
    ords = {cid: col.get_card(cid).ord for cid in reviewed}
    kinds = {
        cid: "cloze" if "Cloze" in col.get_card(cid).note_type()["name"] else "basic"
        for cid in reviewed
    }
    manual = col.db.scalar("select count() from revlog where type >= 4")
    assert manual >= 1
    path = Path(col.path)
    col.close()

    capsys.readouterr()
    assert main(["-C", str(examples), "import-anki", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing written" in out and "would import 2 reviews of 2 cards" in out
    assert _store_snapshot() == ([], {})

    assert main(["-C", str(examples), "import-anki", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported 2 reviews of 2 cards" in out
    assert f"skipped {manual} " in out
    assert "unmatched 1: 1 from cards not made by dlcards, 0 from dlcards cards" in out

    log, states = _store_snapshot()
    by_revlog = {e.anki_revlog_id: e for e in log}
    assert len(log) == 2
    for cid in reviewed:
        (rid,) = anki_rows[cid]
        entry = by_revlog[rid]
        assert entry.source == "anki"
        expected = (
            cloze_card_id(dlc_ids[cid], ords[cid] + 1) if kinds[cid] == "cloze" else dlc_ids[cid]
        )
        assert entry.card_id == expected
        assert entry.time == datetime.fromtimestamp(rid / 1000, UTC)
        assert states[entry.card_id].reps == 1
        assert states[entry.card_id].phase != "new"
        assert entry.after == states[entry.card_id]
    assert sorted(e.rating for e in log) == [Rating.GOOD, Rating.EASY]

    from dlcards.store import Store

    with Store.open() as store:
        assert store.orphans() == []
        assert {c.card_id for c in store.cards(present=True)} >= {e.card_id for e in log}

    # a second import changes nothing
    assert main(["-C", str(examples), "import-anki", str(path), "--dry-run"]) == 0
    assert "would import 0 reviews of 0 cards; 2 already imported" in capsys.readouterr().out
    assert main(["-C", str(examples), "import-anki", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported 0 reviews of 0 cards; 2 already imported" in out
    assert _store_snapshot() == (log, states)


def test_import_anki_reads_apkg_with_scheduling_and_colpkg(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anki.import_export_pb2 import ExportAnkiPackageOptions

    from dlcards.anki.reader import read_anki_reviews

    col, _ = _anki_with_reviews(examples, tmp_path, monkeypatch)
    direct = sorted(
        (r.revlog_id, r.guid, r.ord, r.ease, r.type) for r in read_anki_reviews(Path(col.path))
    )
    apkg = tmp_path / "export.apkg"
    col.export_anki_package(
        out_path=str(apkg), options=ExportAnkiPackageOptions(with_scheduling=True), limit=None
    )
    colpkg = tmp_path / "backup.colpkg"
    col.export_collection_package(str(colpkg), include_media=False, legacy=False)  # closes col
    from_apkg = sorted(
        (r.revlog_id, r.guid, r.ord, r.ease, r.type) for r in read_anki_reviews(apkg)
    )
    from_colpkg = sorted(
        (r.revlog_id, r.guid, r.ord, r.ease, r.type) for r in read_anki_reviews(colpkg)
    )
    assert len(direct) >= 4
    assert from_colpkg == direct
    assert from_apkg == direct

    assert main(["-C", str(examples), "import-anki", str(apkg)]) == 0
    assert main(["-C", str(examples), "import-anki", str(colpkg)]) == 0
    log, _ = _store_snapshot()
    assert len(log) == 2 and len({e.anki_revlog_id for e in log}) == 2


def test_import_anki_rejects_what_is_not_an_anki_file(
    examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("anki.collection", reason="the `anki` package is not installed")
    bogus = tmp_path / "notes.anki2"
    bogus.write_text("not a database")
    assert main(["-C", str(examples), "import-anki", str(bogus)]) == 1
    err = capsys.readouterr().err
    assert "not an Anki collection" in err
    assert "Traceback" not in err
    assert main(["-C", str(examples), "import-anki", str(tmp_path / "missing.colpkg")]) == 2
