"""`dlcards sync` with a real Anki sync server (`python -m anki.syncserver` on 127.0.0.1): the
terminal and a phone review the same cards and end with one schedule.

The phone is an `anki` collection synced with the same server and answered through Anki's own
scheduler (`col.sched.answer_card`), as AnkiDroid does.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync_helpers import (
    PASSWORD,
    Server,
    anki_answer,
    dlc_cards,
    dlcards,
    make_root,
    new_anki,
    phone_sync,
    store_snapshot,
    sync_server,  # noqa: F401 - the module's server fixture
)

pytest.importorskip("anki.collection", reason="the anki package is not installed")


def _login(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    server: Server,
    user: str,
) -> tuple[int, str, str]:
    monkeypatch.setenv("DLCARDS_SYNC_PASSWORD", PASSWORD)
    try:
        return dlcards(capsys, root, "sync", "login", "--server", server.url, "--user", user)
    finally:
        monkeypatch.delenv("DLCARDS_SYNC_PASSWORD")


async def _review_in_tui(root: Path, answers: int) -> None:
    """Answer `answers` cards Good in the review TUI, as the learner does (space, 3)."""
    from dlcards.app.collection import Collection
    from dlcards.tui.app import build_review_app
    from dlcards.tui.screens.review import ReviewScreen

    with Collection.open(root) as col:
        app = build_review_app(col)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            for _ in range(answers):
                assert isinstance(app.screen, ReviewScreen) and app.screen.card_id
                await pilot.press("space", "3")
                await pilot.pause()


def _sync_json(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    code, out, err = dlcards(capsys, root, "sync", "--json", *args)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def _anki_state(col: Any, cid: int) -> dict[str, Any]:
    card = col.get_card(cid)
    return {
        "type": card.type,
        "queue": card.queue,
        "due": card.due,
        "ivl": card.ivl,
        "reps": card.reps,
        "lapses": card.lapses,
        "s": card.memory_state.stability if card.memory_state else None,
        "d": card.memory_state.difficulty if card.memory_state else None,
    }


def _expected_anki(col: Any, state: Any) -> dict[str, Any]:
    """How dlcards' state of a card must look on the phone."""
    from zoneinfo import ZoneInfo

    from dlcards.core.calendar import study_day

    utc = ZoneInfo("UTC")
    today = study_day(datetime.now(UTC), utc, 4)
    if state.phase == "review":
        ctype, queue = 2, 2
        due = col.sched.today + (study_day(state.due, utc, 4) - today).days
    else:
        ctype = 3 if state.phase == "relearning" else 1
        secs = int(state.due.timestamp())
        queue, due = (1, secs) if secs < col.sched.day_cutoff else (3, None)
        if due is None:
            due = col.sched.today + (study_day(state.due, utc, 4) - today).days
    return {
        "type": ctype,
        "queue": queue,
        "due": due,
        "ivl": max(state.interval_days, 1) if state.phase == "review" else state.interval_days,
        "reps": state.reps,
        "lapses": state.lapses,
        "s": state.stability,
        "d": state.difficulty,
    }


def test_phone_and_terminal_end_with_one_schedule(
    sync_server: Server,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    root = make_root(tmp_path)
    user = sync_server.user()
    code, out, err = _login(capsys, monkeypatch, root, sync_server, user)
    assert code == 0, err
    assert "logged in" in out and "warning" not in err  # loopback http: no warning

    # author -> dlcards sync: the cards reach the server
    first = _sync_json(capsys, root)
    added = first["notes"]["added"]
    assert added > 10 and first["notes"]["updated"] == 0
    assert first["server"] == ["before: synced", "after: full upload"]

    # the phone syncs, sees every card, and reviews 10 of them through Anki's scheduler
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        assert phone_sync(phone, sync_server, user) == "download"
        cards = dlc_cards(phone)
        assert phone.note_count() == added and len(cards) == phone.card_count() > added
        reviewed = sorted(cards)[:10]
        for i, card_id in enumerate(reviewed):
            anki_answer(phone, cards[card_id], ease=4 if i % 3 == 0 else 3)
        phone_revlog = dict(phone.db.all("select id, cid from revlog"))
        assert len(phone_revlog) == 10
        assert phone_sync(phone, sync_server, user) == "normal"
    finally:
        phone.close()

    # dlcards sync: the 10 phone reviews come in, with their Anki ids and Anki's schedule
    second = _sync_json(capsys, root)
    assert second["reviews"] == {"in": 10, "out": 0, "merged_cards": 0, "relinked": 0}
    log, states, _ = store_snapshot()
    assert {e.anki_revlog_id for e in log} == set(phone_revlog)
    assert {e.card_id for e in log} == set(reviewed)
    assert all(e.source == "anki" for e in log)

    # review in the dlcards TUI (a Textual pilot of the review app): 5 answers, Good
    asyncio.run(_review_in_tui(root, 5))
    answered = [e.card_id for e in store_snapshot()[0] if e.source == "dlcards"]
    assert len(answered) == 5
    third = _sync_json(capsys, root)
    assert third["reviews"] == {"in": 0, "out": 5, "merged_cards": 0, "relinked": 0}
    assert third["server"] == ["before: synced", "after: synced"]

    # the phone syncs and shows dlcards' reviews, due dates and memory states
    log, states, _ = store_snapshot()
    from dlcards.store import Store
    from dlcards.store.sync import review_links

    with Store.open() as store:
        links = review_links(store)
        ids = {rid: e for rid, e in store.reviews_with_ids()}
    assert len(links) == 5
    assert {ids[r].card_id for r in links} == set(answered)
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        assert phone_sync(phone, sync_server, user) == "normal"
        cards = dlc_cards(phone)
        rows = {r[0]: r for r in phone.db.all("select id, cid, ease, time from revlog")}
        assert len(rows) == 15
        for review_id, revlog_id in links.items():
            entry = ids[review_id]
            assert rows[revlog_id][1] == cards[entry.card_id]
            assert rows[revlog_id][2] == int(entry.rating)
            assert abs(revlog_id - entry.time.timestamp() * 1000) < 1000
        for card_id in answered:
            got = _anki_state(phone, cards[card_id])
            want = _expected_anki(phone, states[card_id])
            # Anki keeps the memory state as f32, rounded to 3 decimals in the card's data
            for key in ("s", "d"):
                assert got.pop(key) == pytest.approx(want.pop(key), abs=1e-3)
            assert got == want
    finally:
        phone.close()

    # a sync with nothing to do changes nothing, on either side
    before = store_snapshot()
    again = _sync_json(capsys, root)
    assert again["reviews"]["in"] == again["reviews"]["out"] == 0
    assert again["notes"]["added"] == again["notes"]["updated"] == 0
    assert store_snapshot() == before

    # 10 cards answered on the phone AND in the terminal between two syncs: one merged
    # history each, and the same due date and memory state on both sides afterwards
    both = sorted(set(reviewed) | set(answered))[:10]
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        cards = dlc_cards(phone)
        for card_id in both:
            anki_answer(phone, cards[card_id], ease=3)
        assert phone_sync(phone, sync_server, user) == "normal"
    finally:
        phone.close()
    with Collection.open(root) as col:
        now = datetime.now(UTC)  # after the phone's answers
        states = col.store.states(both)
        for card_id in both:
            entry = col.scheduler.review(states[card_id], Rating.HARD, now, 1500)
            col.store.record_review(entry)
    merged = _sync_json(capsys, root)
    assert merged["reviews"] == {"in": 10, "out": 10, "merged_cards": 10, "relinked": 0}
    log, states, _ = store_snapshot()
    for card_id in both:
        history = [e for e in log if e.card_id == card_id]
        assert [e.time for e in history] == sorted(e.time for e in history)
        assert [e.source for e in history][-2:] == ["anki", "dlcards"]
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        assert phone_sync(phone, sync_server, user) == "normal"
        cards = dlc_cards(phone)
        for card_id in both:
            got = _anki_state(phone, cards[card_id])
            want = _expected_anki(phone, states[card_id])
            for key in ("s", "d"):
                assert got.pop(key) == pytest.approx(want.pop(key), abs=1e-3)
            assert got == want, card_id
            assert phone.db.scalar(
                "select count() from revlog where cid = ?", cards[card_id]
            ) == len([e for e in log if e.card_id == card_id])
    finally:
        phone.close()
    assert _sync_json(capsys, root)["reviews"] == {
        "in": 0,
        "out": 0,
        "merged_cards": 0,
        "relinked": 0,
    }


def test_media_reach_the_phone(
    sync_server: Server,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from anki.sync import SyncAuth

    root = make_root(tmp_path)
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
    (root / "decks" / "plot.png").write_bytes(png)
    (root / "decks" / "week-09-plots.md").write_text(
        "---\ndeck: Deep Learning\nweek: 9\ntopic: plots\n---\n\n"
        "Q: What does this plot show? ![loss](plot.png)\nA: A loss curve.\n"
    )
    user = sync_server.user()
    assert _login(capsys, monkeypatch, root, sync_server, user)[0] == 0
    report = _sync_json(capsys, root)
    assert "media synced" in report["server"]
    phone = new_anki(tmp_path / "phone" / "collection.anki2")
    try:
        phone_sync(phone, sync_server, user)
        auth = phone.sync_login(user, PASSWORD, sync_server.url)
        phone.sync_media(SyncAuth(hkey=auth.hkey, endpoint=auth.endpoint))
        deadline = time.monotonic() + 60
        while phone.media_sync_status().active and time.monotonic() < deadline:
            time.sleep(0.05)
        files = [p for p in Path(phone.media.dir()).iterdir() if p.name.endswith("plot.png")]
        assert len(files) == 1 and files[0].read_bytes() == png
        (note,) = [n for n in phone.find_notes("plots") if n]
        assert files[0].name in phone.get_note(note)["Front"]
    finally:
        phone.close()


def test_token_is_private_and_logout_removes_it(
    sync_server: Server,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dlcards_home: Path,
) -> None:
    root = make_root(tmp_path)
    user = sync_server.user()
    code, out, err = _login(capsys, monkeypatch, root, sync_server, user)
    assert code == 0, err
    token_file = dlcards_home / "anki-sync" / "login.json"
    data = json.loads(token_file.read_text())
    hkey = data["hkey"]
    assert len(hkey) >= 20 and stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert PASSWORD not in token_file.read_text()
    code, out, err = dlcards(capsys, root, "sync")
    assert code == 0, err
    code, status_out, _ = dlcards(capsys, root, "sync", "status", "--json")
    assert code == 0 and json.loads(status_out)["login"] == {
        "server": sync_server.url,
        "user": user,
    }
    # the token and the password are nowhere else: messages, settings, the store, the mirror
    for text in (out, err, status_out, (root / "dlcards.toml").read_text()):
        assert hkey not in text and PASSWORD not in text
    for path in dlcards_home.rglob("*"):
        if path.is_file() and path != token_file:
            blob = path.read_bytes()
            assert hkey.encode() not in blob and PASSWORD.encode() not in blob, path
    code, out, _ = dlcards(capsys, root, "sync", "logout")
    assert code == 0 and "logged out" in out and not token_file.exists()
    code, _, err = dlcards(capsys, root, "sync")
    assert code == 2 and "no Anki collection to sync with" in err


def test_wrong_password_or_server_down_changes_nothing(
    sync_server: Server,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dlcards_home: Path,
) -> None:
    from sync_helpers import free_port

    root = make_root(tmp_path)
    user = sync_server.user()
    monkeypatch.setenv("DLCARDS_SYNC_PASSWORD", "wrong")
    code, _, err = dlcards(
        capsys, root, "sync", "login", "--server", sync_server.url, "--user", user
    )
    monkeypatch.delenv("DLCARDS_SYNC_PASSWORD")
    assert code == 1 and "refused the user name or password" in err
    assert "Traceback" not in err and "wrong" not in err
    assert not (dlcards_home / "anki-sync" / "login.json").exists()

    assert _login(capsys, monkeypatch, root, sync_server, user)[0] == 0
    assert dlcards(capsys, root, "sync")[0] == 0
    before = store_snapshot()
    # the server goes away (here: the saved endpoint points at a closed port)
    token_file = dlcards_home / "anki-sync" / "login.json"
    data = json.loads(token_file.read_text())
    data["endpoint"] = f"http://127.0.0.1:{free_port()}/"
    token_file.write_text(json.dumps(data))
    code, _out, err = dlcards(capsys, root, "sync")
    assert code == 1 and "cannot reach the sync server" in err and "nothing was changed" in err
    assert data["hkey"] not in err
    assert store_snapshot() == before


def test_insecure_http_to_another_host_is_warned() -> None:
    from dlcards.app.sync import insecure_warning

    assert insecure_warning("http://sync.example.org/") is not None
    assert "https://" in (insecure_warning("http://10.0.0.5:8080/") or "")
    assert insecure_warning("https://sync.example.org/") is None
    assert insecure_warning("http://127.0.0.1:8080/") is None
    assert insecure_warning("http://localhost:8080/") is None
