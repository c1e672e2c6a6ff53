"""Incremental `dlcards sync` (issue 16): after the first sync, a sync reads only what changed
since the last one, and ends in exactly the state a full sync ends in.

Each test brings both sides to some state (a day of study, flags without a review, an edit
in the Markdown, a note added, a card answered on both sides, a sync killed between the Anki
write and the store commit), saves a copy of everything (the decks, the Anki collection, the
dlcards home), runs the sync as the learner does (incremental when it can be), puts the copy
back and runs `dlcards sync --full` on it, then compares both Anki collections (cards'
schedule fields, revlog, notes and tags, flags, suspend, bury) and both stores (review log,
states, flags, the sync bases and links) and both reports. Real `anki` collections, the real
store and CLI; the server path with a real `python -m anki.syncserver`.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync_helpers import (
    PASSWORD,
    Server,
    anki_answer,
    dlc_cards,
    dlcards,
    kill_sync_at,
    make_root,
    new_anki,
    phone_sync,
    sync_server,  # noqa: F401 - the module's server fixture
)

pytest.importorskip("anki.collection", reason="the anki package is not installed")


def _sync(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    code, out, err = dlcards(capsys, root, "sync", "--json", *args)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.fixture
def synced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dlcards_home: Path
) -> tuple[Path, Path, Path]:
    """The example decks (ids pinned) synced once into an empty desktop collection, and a
    day of study on both sides before that, so the first sync sends reviews too."""
    root = make_root(tmp_path)
    assert dlcards(capsys, root, "fix")[0] == 0
    desk = tmp_path / "desk" / "collection.anki2"
    new_anki(desk).close()
    _answer_in_dlcards(root, 4, ago=timedelta(days=3))
    first = _sync(capsys, root, "--collection", str(desk))
    assert first["mode"] == "full" and first["notes"]["added"] > 10
    assert first["reviews"]["out"] == 4
    return root, desk, dlcards_home


# ---- both sides' state ---------------------------------------------------------------------


def anki_snapshot(desk: Path) -> dict[str, Any]:
    """Everything a sync may change in an Anki collection, without the modification times."""
    col = new_anki(desk)
    try:
        return {
            "cards": col.db.all(
                "select id, nid, ord, did, odid, type, queue, due, odue, ivl, factor, reps, "
                "lapses, left, flags, data from cards order by id"
            ),
            "revlog": col.db.all(
                "select id, cid, usn, ease, ivl, lastIvl, factor, time, type from revlog "
                "order by id"
            ),
            "notes": col.db.all("select id, guid, mid, flds, tags from notes order by id"),
            "decks": sorted(d.name for d in col.decks.all_names_and_ids()),
        }
    finally:
        col.close()


def store_state() -> dict[str, Any]:
    """Everything a sync may change in the store (not the summary: it holds the timings)."""
    from dlcards.store import Store

    with Store.open() as store:
        conn = store.conn
        return {
            "reviews": store.reviews_with_ids(),
            "states": store.states(),
            "flags": store.flags(),
            "notes": conn.execute("SELECT * FROM sync_notes ORDER BY target, note_id").fetchall(),
            "cards": conn.execute("SELECT * FROM sync_cards ORDER BY target, card_id").fetchall(),
            "links": conn.execute("SELECT * FROM sync_review_ids ORDER BY review_id").fetchall(),
        }


def _save(where: Path, *paths: Path) -> list[tuple[Path, Path]]:
    out = []
    for i, path in enumerate(paths):
        copy = where / f"{i}-{path.name}"
        shutil.copytree(path, copy)
        out.append((path, copy))
    return out


def _restore(saved: list[tuple[Path, Path]]) -> None:
    for path, copy in saved:
        shutil.rmtree(path)
        shutil.copytree(copy, path)


def twin(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    state: tuple[Path, Path, Path],
    *,
    mode: str = "incremental",
) -> dict[str, Any]:
    """Sync as the learner does (expected to run `mode`) and, from a copy of the same state,
    with --full: both collections, both stores and both reports must be the same."""
    root, desk, home = state
    where = tmp_path / f"saved-{time.monotonic_ns()}"
    saved = _save(where, root, desk.parent, home)
    first = _sync(capsys, root)
    assert first["mode"] == mode, first["why"]
    _cursor_is_exact(desk)
    got = anki_snapshot(desk), store_state()
    _restore(saved)
    full = _sync(capsys, root, "--full")
    assert full["mode"] == "full" and full["why"] == "--full"
    want = anki_snapshot(desk), store_state()
    assert got[0] == want[0]
    assert got[1] == want[1]
    for key in ("notes", "reviews", "flags", "conflicts", "resolved", "warnings"):
        assert first[key] == full[key], key
    shutil.rmtree(where)
    return first


def _cursor_is_exact(desk: Path) -> None:
    """The cursor the sync left describes the collection as it is (an incremental run derives
    the review log's checksums instead of reading the log: they must be the same)."""
    from dlcards.anki.sync.collection import _our_notetypes
    from dlcards.anki.sync.incremental import anki_marks
    from dlcards.store import Store
    from dlcards.store.sync import sync_cursor

    with Store.open() as store:
        cursor = sync_cursor(store, f"file:{desk.resolve()}")
    assert cursor is not None
    col = new_anki(desk)
    try:
        assert cursor["anki"] == anki_marks(col, _our_notetypes(col))
    finally:
        col.close()


def _answer_in_dlcards(
    root: Path,
    n: int,
    *,
    ago: timedelta = timedelta(minutes=5),
    step: timedelta = timedelta(seconds=7),
    at: datetime | None = None,
) -> list[str]:
    """Answer `n` cards in dlcards' review service (Good, every third Again), `step` apart
    from `ago` ago."""
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    answered = []
    with Collection.open(root) as c:
        service = c.review()
        now = at if at is not None else datetime.now(UTC) - ago
        for i in range(n):
            card = service.session.next_card(now)
            if card is None:
                break
            rating = Rating.AGAIN if i % 3 == 2 else Rating.GOOD
            outcome = service.session.answer(rating, now, 2500)
            service.apply(outcome)
            answered.append(card)
            now += step
    return answered


def _answer_in_anki(desk: Path, card_ids: list[str], eases: tuple[int, ...] = (3, 1, 4)) -> None:
    col = new_anki(desk)
    try:
        cards = dlc_cards(col)
        for i, card_id in enumerate(card_ids):
            anki_answer(col, cards[card_id], ease=eases[i % len(eases)])
    finally:
        col.close()


def _card_ids(desk: Path) -> list[str]:
    col = new_anki(desk)
    try:
        return sorted(dlc_cards(col))
    finally:
        col.close()


# ---- the tests -----------------------------------------------------------------------------


def test_a_day_of_study_on_both_sides(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk, _ = synced
    nothing = _sync(capsys, root)
    assert nothing["mode"] == "unchanged"
    mine = _answer_in_dlcards(root, 6)
    theirs = [c for c in _card_ids(desk) if c not in mine][-5:]
    _answer_in_anki(desk, theirs)
    report = twin(tmp_path, capsys, synced)
    assert report["reviews"] == {"in": 5, "out": 6, "merged_cards": 0, "relinked": 0}
    # the next day: the sync after this one starts from its cursor again
    _answer_in_anki(desk, theirs[:2])
    _answer_in_dlcards(root, 2, ago=timedelta(minutes=1))
    again = twin(tmp_path, capsys, synced)
    assert again["reviews"]["in"] == 2 and again["reviews"]["out"] >= 1


def test_flags_without_a_review_both_ways(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.store import Store

    _, desk, _ = synced
    ids = _card_ids(desk)
    col = new_anki(desk)
    try:
        cards = dlc_cards(col)
        col.sched.suspend_cards([cards[ids[0]]])
        col.set_user_flag_for_cards(3, [cards[ids[1]]])
        col.sched.bury_cards([cards[ids[2]]], manual=True)
    finally:
        col.close()
    with Store.open() as store:
        store.set_suspended([ids[5]], True)
        store.set_flag(ids[6], 2)
        store.set_leech(ids[7], True)
    report = twin(tmp_path, capsys, synced)
    assert report["flags"] == {"in": 3, "out": 2}
    assert report["reviews"]["in"] == report["reviews"]["out"] == 0
    col = new_anki(desk)
    try:
        cards = dlc_cards(col)
        assert col.get_card(cards[ids[5]]).queue == -1
        assert col.get_card(cards[ids[6]]).user_flag() == 2
        assert "leech" in col.get_card(cards[ids[7]]).note().tags
    finally:
        col.close()
    flags = store_state()["flags"]
    assert flags[ids[0]].suspended and flags[ids[1]].flag == 3 and flags[ids[2]].buried_until
    # and back: unsuspended in dlcards, unflagged in Anki
    with Store.open() as store:
        store.set_suspended([ids[0]], False)
    col = new_anki(desk)
    try:
        col.set_user_flag_for_cards(0, [dlc_cards(col)[ids[1]]])
    finally:
        col.close()
    back = twin(tmp_path, capsys, synced)["flags"]
    assert back["in"] >= 1 and back["out"] == 1


def test_markdown_edit_and_new_note_run_full_then_incremental(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk, _ = synced
    softmax = root / "decks" / "week-03-softmax.md"
    softmax.write_text(softmax.read_text().replace("every entry lies in", "each entry lies in"))
    with softmax.open("a") as fh:
        fh.write("\nQ: What does a temperature below 1 do to softmax?\nA: It sharpens it.\n")
    assert dlcards(capsys, root, "fix")[0] == 0  # the new note gets its id
    _answer_in_dlcards(root, 2)
    edited = _sync(capsys, root)
    assert edited["mode"] == "full" and "Markdown" in edited["why"]
    assert edited["notes"]["updated"] == 1 and edited["notes"]["added"] == 1
    # after the full run, the next one is incremental again, and right
    _answer_in_dlcards(root, 3, ago=timedelta(minutes=2))
    _answer_in_anki(desk, _card_ids(desk)[:2])
    twin(tmp_path, capsys, synced)


def test_anki_note_edit_runs_full_and_is_reported(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, desk, _ = synced
    first = _card_ids(desk)[0]
    col = new_anki(desk)
    try:
        note = col.get_card(dlc_cards(col)[first]).note()
        note.tags.append("my-own-tag")
        col.update_note(note)
    finally:
        col.close()
    report = twin(tmp_path, capsys, synced, mode="full")
    assert report["why"] == "notes changed in Anki"
    # a note of the learner's own (not a dlcards note type) is no concern
    col = new_anki(desk)
    try:
        own = col.new_note(col.models.by_name("Basic"))
        own["Front"], own["Back"] = "mine", "too"
        col.add_note(own, col.decks.id("My deck"))
    finally:
        col.close()
    twin(tmp_path, capsys, synced)


def test_card_answered_on_both_sides_the_same_day(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk, _ = synced
    mine = _answer_in_dlcards(root, 3, ago=timedelta(minutes=30))
    _answer_in_anki(desk, mine[:2], eases=(3, 4))
    report = twin(tmp_path, capsys, synced)
    assert report["reviews"] == {"in": 2, "out": 3, "merged_cards": 2, "relinked": 0}


def test_killed_between_anki_write_and_store_commit(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desk, home = synced
    _answer_in_anki(desk, _card_ids(desk)[-2:])
    _answer_in_dlcards(root, 3)
    before = store_state()
    kill_sync_at(root, home)
    assert store_state() == before
    running = list((home / "anki-sync").glob("running-*"))
    assert len(running) == 1  # the killed sync is seen by the next one
    report = twin(tmp_path, capsys, synced, mode="full")
    assert report["why"] == "the previous sync with this target was interrupted"
    assert report["reviews"] == {"in": 2, "out": 0, "merged_cards": 0, "relinked": 3}
    assert not list((home / "anki-sync").glob("running-*"))
    # without the marker (say, it was lost) the incremental run heals it the same way (the
    # answers after the last sync: the killed run's rows come after the cursor)
    _answer_in_anki(desk, _card_ids(desk)[:1])
    _answer_in_dlcards(root, 2, ago=timedelta(0), step=timedelta(milliseconds=3))
    kill_sync_at(root, home)
    for path in (home / "anki-sync").glob("running-*"):
        path.unlink()
    healed = twin(tmp_path, capsys, synced)
    assert healed["reviews"]["relinked"] == 2 and healed["reviews"]["in"] == 1


def test_replaced_collection_and_rewritten_log_run_full(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.store import Store

    root, desk, _ = synced
    # Anki's review log changed before the cursor (as a sync from AnkiWeb or an import does)
    first = _card_ids(desk)[0]
    col = new_anki(desk)
    try:
        cid = dlc_cards(col)[first]
        col.db.execute(
            "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
            "values (?, ?, -1, 3, 1, 0, 500, 3000, 0)",
            1_000_000_000_000,
            cid,
        )
    finally:
        col.close()
    report = twin(tmp_path, capsys, synced, mode="full")
    assert "review log" in report["why"] and report["reviews"]["in"] == 1
    # dlcards' log rewritten (not appended to): full
    _answer_in_dlcards(root, 1)
    with Store.open() as store:
        store.conn.execute("UPDATE review_log SET duration_ms = duration_ms + 1 WHERE id = 1")
    assert "dlcards' review log" in twin(tmp_path, capsys, synced, mode="full")["why"]
    # nothing left: incremental again
    _answer_in_dlcards(root, 1, ago=timedelta(minutes=1))
    twin(tmp_path, capsys, synced)
    # another collection file in its place (a restored or another profile's): full
    for extra in desk.parent.iterdir():
        if extra.is_file():
            extra.unlink()
    new_anki(desk).close()
    replaced = _sync(capsys, root)  # (new Anki ids: not compared with a second full run)
    assert replaced["mode"] == "full" and "different or replaced" in replaced["why"]
    assert replaced["notes"]["added"] > 10 and replaced["reviews"]["out"] > 0
    _answer_in_dlcards(root, 1, ago=timedelta(seconds=1))
    twin(tmp_path, capsys, synced)


def test_server_path_incremental_then_full_changes_nothing(
    sync_server: Server,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = make_root(tmp_path)
    assert dlcards(capsys, root, "fix")[0] == 0
    user = sync_server.user()
    monkeypatch.setenv("DLCARDS_SYNC_PASSWORD", PASSWORD)
    code, _, err = dlcards(
        capsys, root, "sync", "login", "--server", sync_server.url, "--user", user
    )
    monkeypatch.delenv("DLCARDS_SYNC_PASSWORD")
    assert code == 0, err
    first = _sync(capsys, root)
    assert first["mode"] == "full"
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        assert phone_sync(phone, sync_server, user) == "download"
    finally:
        phone.close()
    # only dlcards studied: the sync after it starts from the cursor
    _answer_in_dlcards(root, 4)
    second = _sync(capsys, root)
    assert second["mode"] == "incremental", second["why"]
    assert second["reviews"]["out"] == 4
    # the phone answers cards after that and suspends one: new rows after the cursor
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        assert phone_sync(phone, sync_server, user) == "normal"
        cards = dlc_cards(phone)
        for card_id in sorted(cards)[-3:]:
            anki_answer(phone, cards[card_id], ease=3)
        phone.sched.suspend_cards([cards[sorted(cards)[0]]])
        assert phone_sync(phone, sync_server, user) == "normal"
    finally:
        phone.close()
    _answer_in_dlcards(root, 2, ago=timedelta(minutes=1))
    third = _sync(capsys, root)
    assert third["reviews"]["in"] == 3 and third["reviews"]["out"] == 2
    assert third["flags"]["in"] == 1
    # the mirror lost (a new machine, a deleted state folder): the server's copy comes down
    # whole, and that sync compares everything; the one after it starts from its cursor
    from dlcards.app.collection import Collection
    from dlcards.app.sync import load_login, sync_service

    with Collection.open(root) as c:
        login = load_login()
        assert login is not None
        mirror = sync_service(c).mirror_path(login)
    shutil.rmtree(mirror.parent)
    _answer_in_dlcards(root, 1, ago=timedelta(seconds=30))
    fourth = _sync(capsys, root)
    assert fourth["mode"] == "full" and "full download" in fourth["why"]
    assert fourth["reviews"]["out"] == 1 and fourth["reviews"]["in"] == 0
    _answer_in_dlcards(root, 1, ago=timedelta(seconds=10))
    fifth = _sync(capsys, root)
    assert fifth["mode"] == "incremental", fifth["why"]
    assert fifth["reviews"]["out"] == 1
    # a full sync right after finds nothing left to do, on either side
    before = store_state()
    full = _sync(capsys, root, "--full")
    assert full["mode"] == "full"
    assert full["reviews"] == {"in": 0, "out": 0, "merged_cards": 0, "relinked": 0}
    assert full["flags"] == {"in": 0, "out": 0}
    assert full["notes"]["updated"] == full["notes"]["repositioned"] == 0
    assert store_state() == before


def test_answers_in_the_same_millisecond_get_unique_revlog_ids(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A revlog id is the answer's time in ms, made unique: the incremental run looks the
    taken ids up near each one (Anki's and the store's) instead of reading them all."""
    root, desk, _ = synced
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=40)
    _answer_in_dlcards(root, 4, at=at, step=timedelta(0))
    first = twin(tmp_path, capsys, synced)
    assert first["reviews"]["out"] == 4
    # the same instant again (a clock set back, or a fixed DLCARDS_NOW): the next free ids
    _answer_in_dlcards(root, 3, at=at, step=timedelta(0))
    second = twin(tmp_path, capsys, synced)
    assert second["reviews"]["out"] == 3
    col = new_anki(desk)
    try:
        ids = col.db.list("select id from revlog order by id")
    finally:
        col.close()
    assert len(ids) == len(set(ids))
    base = int(at.timestamp() * 1000)
    assert [i - base for i in ids if base <= i < base + 100] == list(range(7))


def test_open_conflict_is_reported_by_every_sync(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A field edited in Anki stays a reported conflict on every sync until settled, the
    incremental ones too (they skip the content step: its findings are carried over)."""
    root, desk, _ = synced
    col = new_anki(desk)
    try:
        cards = dlc_cards(col)
        note = col.get_card(cards[sorted(cards)[0]]).note()
        note.fields[0] = note.fields[0] + " (my Anki edit)"
        col.update_note(note)
    finally:
        col.close()
    found = _sync(capsys, root)
    assert found["mode"] == "full" and len(found["conflicts"]) == 1
    _answer_in_dlcards(root, 2, ago=timedelta(seconds=20))
    again = twin(tmp_path, capsys, synced)
    assert again["conflicts"] == found["conflicts"]
    code, out, _ = dlcards(capsys, root, "sync")
    assert code == 0 and "conflicts: 1" in out and "edited in Anki" in out


def _new_card_order(desk: Path) -> tuple[list[tuple[str, int]], dict[int, int]]:
    """Anki's new cards of dlcards notes as its queue gathers them (by position, siblings by
    ordinal): [(note GUID, ordinal)], and each one's position by card id."""
    col = new_anki(desk)
    try:
        rows = col.db.all(
            "select n.guid, c.ord, c.due, c.id from cards c join notes n on n.id = c.nid "
            "join notetypes m on m.id = n.mid where m.name like 'dlcards %' and c.type = 0 "
            "order by c.due, c.ord"
        )
    finally:
        col.close()
    return [(str(g), int(o)) for g, o, _, _ in rows], {int(c): int(d) for _, _, d, c in rows}


def test_new_cards_reach_anki_in_curriculum_order_and_keep_their_positions(
    synced: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anki serves the new cards in dlcards' curriculum order (weeks, files, `requires`,
    cloze numbers) after the first sync, and answering some (on either side) moves no other
    new card: each keeps its note's position, so an incremental sync writes none."""
    from dlcards.anki.options import curriculum_order
    from dlcards.app.collection import Collection

    root, desk, _ = synced
    with Collection.open(root) as c:
        curriculum = curriculum_order(c.notes)
    order, positions = _new_card_order(desk)
    assert len(order) > 10
    assert order == [k for k in curriculum if k in set(order)]
    answered = _answer_in_dlcards(root, 3)
    _answer_in_anki(desk, [c for c in _card_ids(desk) if c not in answered][:2])
    report = twin(tmp_path, capsys, synced)
    assert report["notes"]["repositioned"] == 0
    after, moved = _new_card_order(desk)
    assert len(after) < len(order)
    assert after == [k for k in order if k in set(after)]
    assert all(positions[cid] == due for cid, due in moved.items())
