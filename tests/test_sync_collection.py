"""`dlcards sync --collection PATH`: the same engine against an Anki collection file (Anki's
desktop profile, Anki closed). Real `anki` collections, the real dlcards store and CLI.

What must hold: Markdown edits change exactly those notes; the learner's Anki tags, flags,
suspensions and field edits are kept (an edit is reported with a diff and `path:line`); a
card deleted from the Markdown is orphaned, not lost; a card answered on both sides gets one
merged history and one schedule; a second sync changes nothing; a dry run changes nothing;
a locked collection gets a clear message; `kill -9` mid-sync loses and duplicates nothing.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync_helpers import (
    anki_answer,
    dlc_cards,
    dlcards,
    kill_sync_at,
    make_root,
    new_anki,
    store_snapshot,
)

pytest.importorskip("anki.collection", reason="the anki package is not installed")


def _sync(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    code, out, err = dlcards(capsys, root, "sync", "--json", *args)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.fixture
def synced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """The example decks with pinned ids, synced once into an empty desktop collection."""
    root = make_root(tmp_path)
    assert dlcards(capsys, root, "fix")[0] == 0
    desk = tmp_path / "desk" / "collection.anki2"
    new_anki(desk).close()
    first = _sync(capsys, root, "--collection", str(desk))
    assert first["notes"]["added"] > 10 and first["conflicts"] == []
    return root, desk


def _note_id(root: Path, starts: str) -> str:
    from dlcards.app.collection import Collection

    with Collection.open(root) as col:
        (note,) = [n for n in col.notes if n.question.startswith(starts)]
        return note.id


def _nids(col: Any) -> dict[str, int]:
    """dlcards note id -> Anki note id."""
    out = {}
    for nid, flds, name in col.db.all(
        "select n.id, n.flds, m.name from notes n join notetypes m on m.id = n.mid "
        "where m.name like 'dlcards %'"
    ):
        out[flds.split("\x1f")[5 if name == "dlcards Basic" else 4]] = nid
    return out


def _mods(col: Any) -> dict[int, tuple[Any, ...]]:
    """Each note's fields, tags and modification time (seconds: equal within one second)."""
    return {r[0]: tuple(r[1:]) for r in col.db.all("select id, flds, tags, mod, usn from notes")}


def test_edits_tags_flags_conflicts_and_deletions(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk = synced
    edited = _note_id(root, "What does softmax turn")
    conflicted = _note_id(root, "Write the softmax")
    tagged = _note_id(root, "What is the derivative of the sigmoid")
    suspended = _note_id(root, "What is the derivative of $\\tanh$")
    from dlcards.app.collection import Collection

    with Collection.open(root) as c:
        gradients = [n for n in c.notes if n.path.endswith("week-01-gradients.md")]
        flagged_note = next(
            n
            for n in c.notes
            if n.kind == "cloze" and len(n.numbers) == 2 and n.path.endswith("softmax.md")
        )
    deleted_note = max(gradients, key=lambda n: n.line)
    deleted = deleted_note.id
    flagged = flagged_note.card_ids()[0]

    # the learner, in Anki: own tags, a flag, a suspension, a field edit
    col = new_anki(desk)
    try:
        nids = _nids(col)
        cards = dlc_cards(col)
        note = col.get_note(nids[tagged])
        note.tags += ["mine", "marked"]
        col.update_note(note)
        note = col.get_note(nids[conflicted])
        note["Front"] = note["Front"] + " (in words, please)"
        col.update_note(note)
        col.set_user_flag_for_cards(1, [cards[flagged]])
        col.sched.suspend_cards([cards[suspended]])
        mods = _mods(col)
    finally:
        col.close()

    # the learner, in Markdown: one card edited, one deleted
    path = root / "decks" / "week-03-softmax.md"
    text = path.read_text()
    assert "every entry lies in" in text
    path.write_text(text.replace("every entry lies in", "each entry lies in"))
    gpath = root / "decks" / deleted_note.path.split("/")[-1]
    lines = gpath.read_text().splitlines(keepends=True)
    gpath.write_text("".join(lines[: deleted_note.line - 1]).rstrip("\n") + "\n")

    report = _sync(capsys, root)  # the collection file is remembered
    assert report["notes"]["updated"] == 1 and report["notes"]["added"] == 0
    assert report["notes"]["orphaned"] == 1
    assert report["flags"] == {"in": 2, "out": 0}
    (conflict,) = report["conflicts"]
    assert conflict["note_id"] == conflicted and conflict["field"] == "Front"
    assert conflict["location"].endswith("decks/week-03-softmax.md:14")
    assert conflict["anki"].endswith(" (in words, please)")

    col = new_anki(desk)
    try:
        after = _mods(col)
        changed = {nid for nid, mod in after.items() if mods.get(nid) != mod}
        nids = _nids(col)
        # only the edited note and the orphan (tagged) changed
        assert changed == {nids[edited], nids[deleted]}
        assert "each entry lies in" in col.get_note(nids[edited])["Back"]
        assert col.get_note(nids[conflicted])["Front"].endswith(" (in words, please)")
        tags = col.get_note(nids[tagged]).tags
        assert {"mine", "marked", "dlcards"} <= set(tags)
        assert all(t in ("mine", "marked") or t.startswith("dlcards") for t in tags)
        orphan = col.get_note(nids[deleted])
        assert "dlcards::deleted" in orphan.tags
        assert {col.decks.name(c.did) for c in orphan.cards()} == {"dlcards Orphaned"}
        cards = dlc_cards(col)
        assert col.get_card(cards[flagged]).user_flag() == 1
        assert col.get_card(cards[suspended]).queue == -1
    finally:
        col.close()
    _, _, flags = store_snapshot()
    assert flags[flagged].flag == 1 and flags[suspended].suspended

    # a second sync changes nothing, and still shows the conflict
    before = store_snapshot()
    again = _sync(capsys, root)
    assert again["notes"] == {
        "added": 0,
        "updated": 0,
        "moved": 0,
        "orphaned": 0,
        "restored": 0,
        "deleted": 0,
        "repositioned": 0,
        "notetypes": 0,
    }
    assert again["reviews"]["in"] == again["reviews"]["out"] == 0
    assert again["flags"] == {"in": 0, "out": 0}
    assert len(again["conflicts"]) == 1
    assert store_snapshot() == before
    col = new_anki(desk)
    assert _mods(col) == after
    col.close()

    # the CLI shows the conflict with its diff and location
    code, out, _ = dlcards(capsys, root, "sync")
    assert code == 0 and "conflict:" in out and "decks/week-03-softmax.md:14" in out
    assert "+" in out and "(in words, please)" in out and "--prefer markdown" in out

    # dlcards suspends a card: Anki's card is suspended too
    from dlcards.store import Store

    with Store.open() as store:
        store.set_suspended([edited], True)
    out_report = _sync(capsys, root)
    assert out_report["flags"] == {"in": 0, "out": 1}

    # --prefer markdown settles the conflict for the Markdown
    settled = _sync(capsys, root, "--prefer", "markdown")
    assert settled["conflicts"] == [] and len(settled["resolved"]) == 1
    col = new_anki(desk)
    try:
        nids = _nids(col)
        assert not col.get_note(nids[conflicted])["Front"].endswith("(in words, please)")
        assert col.get_card(dlc_cards(col)[edited]).queue == -1
    finally:
        col.close()


def test_card_answered_on_both_sides_gets_one_merged_history(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.core.state import CardState, Rating

    root, desk = synced
    card = _note_id(root, "What does softmax turn")
    col = new_anki(desk)
    try:
        anki_answer(col, dlc_cards(col)[card], ease=3)
        anki_rid = col.db.scalar("select id from revlog")
    finally:
        col.close()
    time.sleep(0.01)
    with Collection.open(root) as c:
        entry = c.scheduler.review(CardState(card_id=card), Rating.EASY, datetime.now(UTC), 4000)
        c.store.record_review(entry)

    report = _sync(capsys, root)
    assert report["reviews"] == {"in": 1, "out": 1, "merged_cards": 1, "relinked": 0}
    log, states, _ = store_snapshot()
    assert [(e.source, e.rating) for e in log] == [("anki", Rating.GOOD), ("dlcards", Rating.EASY)]
    with Collection.open(root) as c:
        expected, _ = c.scheduler.replay(
            card, [(log[0].time, Rating.GOOD, log[0].duration_ms), (entry.time, Rating.EASY, 4000)]
        )
    state = states[card]
    assert (state.phase, state.reps, state.due) == (expected.phase, 2, expected.due)
    col = new_anki(desk)
    try:
        cid = dlc_cards(col)[card]
        rows = col.db.all("select id, ease from revlog where cid = ? order by id", cid)
        assert [r[1] for r in rows] == [3, 4] and rows[0][0] == anki_rid
        anki_card = col.get_card(cid)
        assert anki_card.reps == 2 and anki_card.type == 2 and anki_card.queue == 2
        assert anki_card.due == col.sched.today + state.interval_days
        assert anki_card.memory_state.stability == pytest.approx(state.stability, abs=1e-3)
    finally:
        col.close()
    before = store_snapshot()
    again = _sync(capsys, root)
    assert again["reviews"] == {"in": 0, "out": 0, "merged_cards": 0, "relinked": 0}
    assert store_snapshot() == before


def test_dry_run_changes_nothing(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk = synced
    col = new_anki(desk)
    anki_answer(col, next(iter(dlc_cards(col).values())), ease=3)
    mods = _mods(col)
    revlog = col.db.all("select * from revlog")
    col.close()
    path = root / "decks" / "week-03-softmax.md"
    path.write_text(path.read_text().replace("every entry lies in", "each entry lies in"))
    before = store_snapshot()
    report = _sync(capsys, root, "--dry-run")
    assert report["dry_run"] and report["notes"]["updated"] == 1 and report["reviews"]["in"] == 1
    assert store_snapshot() == before
    col = new_anki(desk)
    assert _mods(col) == mods and col.db.all("select * from revlog") == revlog
    col.close()


def test_locked_collection_says_close_anki(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk = synced
    before = store_snapshot()
    running = new_anki(desk)  # Anki has the collection open
    try:
        code, _out, err = dlcards(capsys, root, "sync", "--collection", str(desk))
    finally:
        running.close()
    assert code == 1 and "close Anki first" in err and "Traceback" not in err
    assert store_snapshot() == before


def test_kill_9_mid_sync_loses_and_duplicates_nothing(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str], dlcards_home: Path
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    root, desk = synced
    col = new_anki(desk)
    anki_side = sorted(dlc_cards(col))[:2]
    for card_id in anki_side:
        anki_answer(col, dlc_cards(col)[card_id], ease=3)
    col.close()
    with Collection.open(root) as c:
        service = c.review()
        # answers a few seconds apart, all in the past, as a learner's are
        now = datetime.now(UTC) - timedelta(seconds=30)
        for _ in range(3):
            assert service.session.next_card(now) is not None
            service.apply(service.session.answer(Rating.GOOD, now, 2000))
            now += timedelta(seconds=2)
    before = store_snapshot()

    kill_sync_at(root, dlcards_home)  # Anki written, dlcards not yet committed
    assert store_snapshot() == before  # dlcards unchanged

    report = _sync(capsys, root)
    # the killed sync had written the 3 dlcards answers to Anki: they are linked, not re-sent
    # or imported back; the 2 Anki answers come in
    assert report["reviews"] == {"in": 2, "out": 0, "merged_cards": 0, "relinked": 3}
    log, _, _ = store_snapshot()
    col = new_anki(desk)
    try:
        revlog = col.db.list("select id from revlog order by id")
    finally:
        col.close()
    assert len(log) == 5 and len(revlog) == 5  # nothing lost, nothing twice
    from dlcards.store import Store
    from dlcards.store.sync import known_revlog_ids

    with Store.open() as store:
        assert known_revlog_ids(store) == set(revlog)
    again = _sync(capsys, root)
    assert again["reviews"] == {"in": 0, "out": 0, "merged_cards": 0, "relinked": 0}


def test_import_anki_shares_the_review_identity(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    root, desk = synced
    with Collection.open(root) as c:
        service = c.review()
        # answers a few seconds apart, all in the past, as a learner's are
        now = datetime.now(UTC) - timedelta(seconds=30)
        for _ in range(2):
            assert service.session.next_card(now) is not None
            service.apply(service.session.answer(Rating.GOOD, now, 2000))
            now += timedelta(seconds=2)
    assert _sync(capsys, root)["reviews"]["out"] == 2
    col = new_anki(desk)
    fresh = [cid for cid, anki_id in dlc_cards(col).items()]
    answered = {e.card_id for e in store_snapshot()[0]}
    target = next(cid for cid in sorted(fresh) if cid not in answered)
    anki_answer(col, dlc_cards(col)[target], ease=3)
    col.close()

    # the one-off import sees dlcards' own answers (written by sync) as known, not as new
    code, out, err = dlcards(capsys, root, "import-anki", str(desk))
    assert code == 0, err
    assert "imported 1 review of 1 card; 2 already imported" in out
    log = store_snapshot()[0]
    assert len(log) == 3 and [e.source for e in log].count("anki") == 1
    # and sync does not bring that review in again
    report = _sync(capsys, root)
    assert report["reviews"] == {"in": 0, "out": 0, "merged_cards": 0, "relinked": 0}
    assert len(store_snapshot()[0]) == 3


def test_moved_deleted_restored_leech_and_prune(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.app.sync import sync_service

    root, desk = synced
    softmax = root / "decks" / "week-03-softmax.md"
    original = softmax.read_text()
    moved_card = _note_id(root, "What does softmax turn")
    leech_card = _note_id(root, "Write the softmax")

    # the file moves to week 4: its cards move deck; a deck the learner chose stays otherwise
    softmax.write_text(original.replace("week: 3", "week: 4"))
    col = new_anki(desk)
    own_deck = col.decks.id("My deck")
    with Collection.open(root) as c:
        other = next(n.id for n in c.notes if n.path.endswith("week-07-pytorch.md"))
    col.set_deck([dlc_cards(col)[other]], own_deck)
    col.close()
    report = _sync(capsys, root)
    moved = report["notes"]["moved"]
    with Collection.open(root) as c:
        in_file = sum(len(n.card_ids()) for n in c.notes if n.path.endswith("softmax.md"))
    assert moved == in_file
    col = new_anki(desk)
    try:
        cards = dlc_cards(col)
        assert col.decks.name(col.get_card(cards[moved_card]).did) == (
            "Deep Learning::Week 04 · softmax"
        )
        assert col.get_card(cards[other]).did == own_deck
    finally:
        col.close()

    # leech: tagged in Anki -> a leech in dlcards; cleared in dlcards -> untagged in Anki
    col = new_anki(desk)
    note = col.get_card(dlc_cards(col)[leech_card]).note()
    note.tags.append("leech")
    col.update_note(note)
    col.close()
    assert _sync(capsys, root)["flags"]["in"] == 1
    assert store_snapshot()[2][leech_card].leech
    from dlcards.store import Store

    with Store.open() as store:
        store.set_leech(leech_card, False)
    assert _sync(capsys, root)["flags"]["out"] == 0  # a leech is a note tag in Anki
    col = new_anki(desk)
    assert "leech" not in col.get_card(dlc_cards(col)[leech_card]).note().tags
    col.close()

    # the whole file is deleted: orphaned in Anki, then restored when it comes back
    softmax.unlink()
    report = _sync(capsys, root)
    orphans = report["notes"]["orphaned"]
    assert orphans == original.count("<!-- id:")
    col = new_anki(desk)
    assert len(col.find_notes("tag:dlcards::deleted")) == orphans
    assert len(col.find_cards('deck:"dlcards Orphaned"')) >= orphans
    col.close()
    softmax.write_text(original)
    report = _sync(capsys, root)
    assert report["notes"]["restored"] == orphans and report["notes"]["orphaned"] == 0
    col = new_anki(desk)
    assert col.find_notes("tag:dlcards::deleted") == []
    assert col.find_cards('deck:"dlcards Orphaned"') == []
    col.close()

    # prune: an orphan is deleted in Anki only when prune asks, after its reviews came in
    softmax.unlink()
    _sync(capsys, root)
    col = new_anki(desk)
    anki_answer(col, dlc_cards(col)[moved_card], ease=3)
    col.close()
    with Collection.open(root) as c:
        report_obj = sync_service(c).prune_anki([moved_card])
    assert report_obj.deleted == 1 and report_obj.reviews_in == 1
    col = new_anki(desk)
    try:
        assert moved_card not in dlc_cards(col)
        assert len(col.find_notes("tag:dlcards::deleted")) == orphans - 1
    finally:
        col.close()
    assert [e.card_id for e in store_snapshot()[0]] == [moved_card]


def test_note_type_styling_follows_dlcards_unless_changed_in_anki(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.anki import notetypes

    root, desk = synced
    # dlcards' styling changes: both note types follow
    monkeypatch.setattr(notetypes, "BASE_CSS", notetypes.BASE_CSS + "\n.dlc-new { color: red; }\n")
    report = _sync(capsys, root)
    assert report["notes"]["notetypes"] == 2 and report["notes"]["updated"] == 0
    col = new_anki(desk)
    basic = col.models.get(notetypes.BASIC_MODEL_ID)
    assert ".dlc-new" in basic["css"]
    # the learner restyles the basic note type in Anki: kept, with a warning
    basic["css"] += "\n.card { font-size: 30px; }\n"
    col.models.update_dict(basic)
    col.close()
    monkeypatch.setattr(notetypes, "BASE_CSS", notetypes.BASE_CSS + "\n.dlc-newer { }\n")
    report = _sync(capsys, root)
    assert report["notes"]["notetypes"] == 1  # the cloze note type only
    assert any("dlcards Basic" in w for w in report["warnings"])
    col = new_anki(desk)
    try:
        css = col.models.get(notetypes.BASIC_MODEL_ID)["css"]
        assert "font-size: 30px" in css and ".dlc-newer" not in css
        assert ".dlc-newer" in col.models.get(notetypes.CLOZE_MODEL_ID)["css"]
    finally:
        col.close()


def test_bury_goes_both_ways(synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, desk = synced
    col = new_anki(desk)
    cards = dlc_cards(col)
    first, second = sorted(cards)[:2]
    col.sched.bury_cards([cards[first]])
    col.close()
    assert _sync(capsys, root)["flags"] == {"in": 1, "out": 0}
    flags = store_snapshot()[2]
    from dlcards.app.collection import Collection

    with Collection.open(root) as c:
        today = c.today()
    assert flags[first].buried_until is not None and flags[first].buried_until > today
    from dlcards.store import Store

    with Store.open() as store:
        store.set_buried([second], today + timedelta(days=1))
    assert _sync(capsys, root)["flags"] == {"in": 0, "out": 1}
    col = new_anki(desk)
    try:
        assert col.get_card(cards[second]).queue in (-2, -3)
    finally:
        col.close()


def test_second_collection_gets_the_same_reviews_with_the_same_ids(
    synced: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    root, desk = synced
    with Collection.open(root) as c:
        service = c.review()
        # answers a few seconds apart, all in the past, as a learner's are
        now = datetime.now(UTC) - timedelta(seconds=30)
        for _ in range(2):
            assert service.session.next_card(now) is not None
            service.apply(service.session.answer(Rating.GOOD, now, 2000))
            now += timedelta(seconds=2)
    assert _sync(capsys, root)["reviews"]["out"] == 2
    laptop = tmp_path / "laptop" / "collection.anki2"
    new_anki(laptop).close()
    report = _sync(capsys, root, "--collection", str(laptop))
    assert report["reviews"]["out"] == 2 and report["notes"]["added"] > 10
    ids = []
    for path in (desk, laptop):
        col = new_anki(path)
        ids.append(sorted(col.db.list("select id from revlog")))
        col.close()
    assert len(ids[0]) == 2 and ids[0] == ids[1]
    assert _sync(capsys, root, "--collection", str(desk))["reviews"]["out"] == 0
    assert len(store_snapshot()[0]) == 2


def test_review_log_goes_to_anki_whole_or_not_at_all(
    synced: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reviews go into Anki's revlog in parts (small here) inside one transaction: a
    failure in a later part leaves no row of the earlier ones, and the next sync sends them
    all, once."""
    from anki.dbproxy import DBProxy

    from dlcards.anki.sync import base
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    root, desk = synced
    with Collection.open(root) as c:
        service = c.review()
        now = datetime.now(UTC) - timedelta(seconds=60)
        for _ in range(5):
            assert service.session.next_card(now) is not None
            service.apply(service.session.answer(Rating.GOOD, now, 2000))
            now += timedelta(seconds=2)
    monkeypatch.setattr(base, "_REVLOG_PART", 2)
    real = DBProxy.executemany
    calls: list[int] = []

    def failing(self: Any, sql: str, args: Any) -> None:
        calls.append(len(args))
        if "revlog" in sql and len(calls) == 2:
            raise RuntimeError("disk full")
        real(self, sql, args)

    monkeypatch.setattr(DBProxy, "executemany", failing)
    code, _out, err = dlcards(capsys, root, "sync", "--json")
    assert code != 0 and "Traceback" not in err
    col = new_anki(desk)
    assert col.db.scalar("select count() from revlog") == 0  # the first part rolled back
    col.close()
    monkeypatch.setattr(DBProxy, "executemany", real)
    calls.clear()
    assert _sync(capsys, root)["reviews"]["out"] == 5
    col = new_anki(desk)
    assert col.db.scalar("select count() from revlog") == 5
    col.close()
    assert _sync(capsys, root)["reviews"]["out"] == 0
