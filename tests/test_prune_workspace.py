"""Prune actions on real files and a real SQLite store: delete/undo, relink, suspend, keep, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from dlcards.app.collection import Collection
from dlcards.app.prune_workspace import Journal, PruneWorkspace, journal_path
from dlcards.app.settings import scheduler_config
from dlcards.cli.main import main
from dlcards.core.errors import FileChangedError
from dlcards.core.state import CardState, Rating
from dlcards.insights.stats import utc
from dlcards.review.scheduling import Scheduler
from dlcards.store import Store, card_infos
from dlcards.system.config import Settings
from dlcards.system.decks import read_decks

NOW = utc(2026, 4, 1, 12)
G, A = Rating.GOOD, Rating.AGAIN
LEECHY = [G, G, A, G, A, G, A, G, A]  # learn, graduate, then 4 lapses (leech at 8 // 2)
DECK = (
    "---\nweek: 1\ntopic: basics\n---\r\n"
    "# Basics\r\n\r\n"
    "Q: What is a scalar? <!-- id: scalar -->\r\nA: A single number.\r\n\r\n"
    "Q: What is a vector? <!-- id: vector -->\r\nA: A list of numbers.\r\n\r\n"
    "C: A matrix has {{c1::two}} axes. <!-- id: matrix -->\r\n"
)


@pytest.fixture
def col(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", NOW.isoformat())
    (collection / "decks" / "basics.md").write_bytes(DECK.encode())
    return collection


def review(card_id: str, ratings: list[Rating], start, root: Path) -> None:  # type: ignore[no-untyped-def]
    """Answer a card as the review app does: cards synced to the store first."""
    scheduler = Scheduler(scheduler_config(Settings()))
    with Store.open() as store:
        store.sync_cards(card_infos(read_decks(root).notes), start)
        state = store.states([card_id]).get(card_id, CardState(card_id))
        t = start
        for rating in ratings:
            entry = scheduler.review(state, rating, t, 7000)
            store.record_review(entry)
            state = entry.after
            t = t + timedelta(days=max(1, state.interval_days))


@contextmanager
def ws(root: Path) -> Iterator[PruneWorkspace]:
    with Collection.open(root, now_fn=lambda: NOW) as c:
        yield c.prune_workspace()


def test_delete_removes_only_the_card_and_undo_restores_every_byte(col: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    review("scalar", LEECHY, NOW - timedelta(days=60), col)
    path = col / "decks" / "basics.md"
    with ws(col) as w:
        assert w.items[0].card_id == "scalar"
        entry = w.delete("vector")
        assert "vector" not in {n.id for n in w.collection.notes}
    assert (
        path.read_bytes()
        == DECK.replace(
            "Q: What is a vector? <!-- id: vector -->\r\nA: A list of numbers.\r\n\r\n", ""
        ).encode()
    )
    assert (
        entry["edit"]["removed"]
        == "Q: What is a vector? <!-- id: vector -->\r\nA: A list of numbers.\r\n\r\n"
    )
    assert main(["-C", str(col), "prune", "--undo-last"]) == 0
    assert "Undid: deleted card vector" in capsys.readouterr().out
    assert path.read_bytes() == DECK.encode()
    assert main(["-C", str(col), "prune", "--undo-last"]) == 0  # nothing left to undo
    assert "Nothing to undo." in capsys.readouterr().out


def test_delete_refuses_when_the_file_changed_since_it_was_read(col: Path) -> None:
    path = col / "decks" / "basics.md"
    with ws(col) as w:
        path.write_bytes(DECK.encode() + b"\r\nQ: New? <!-- id: new -->\r\nA: Yes.\r\n")
        changed = path.read_bytes()
        with pytest.raises(FileChangedError):
            w.delete("scalar")
        assert path.read_bytes() == changed
        assert Journal(journal_path(col)).entries() == []


def test_relink_moves_the_whole_history_and_undo_moves_it_back(col: Path) -> None:
    review(
        "vector",
        [Rating.GOOD, Rating.GOOD, Rating.HARD, Rating.GOOD],
        NOW - timedelta(days=30),
        col,
    )
    with Store.open() as store:
        before_reviews = store.reviews(["vector"])
        before_state = store.states(["vector"])["vector"]
    path = col / "decks" / "basics.md"
    path.write_bytes(DECK.replace("<!-- id: vector -->", "<!-- id: vector2 -->").encode())
    with ws(col) as w:
        orphan = next(it for it in w.items if it.orphan)
        assert (orphan.card_id, orphan.relink_to, orphan.reviews) == ("vector", "vector2", 4)
        entry = w.relink("vector")
        assert entry["moved"] == 4
        assert not any(it.orphan for it in w.items)
    with Store.open() as store:
        moved = store.reviews(["vector2"])
        assert [(e.time, e.rating, e.duration_ms, e.after.stability) for e in moved] == [
            (e.time, e.rating, e.duration_ms, e.after.stability) for e in before_reviews
        ]
        assert store.reviews(["vector"]) == []
        assert store.states(["vector2"])["vector2"].stability == before_state.stability
        assert store.states(["vector2"])["vector2"].reps == 4
    with ws(col) as w:
        w.undo_last()
    with Store.open() as store:
        assert len(store.reviews(["vector"])) == 4 and store.reviews(["vector2"]) == []


def test_suspend_keep_and_undo(col: Path) -> None:
    review("scalar", LEECHY, NOW - timedelta(days=60), col)
    with ws(col) as w:
        w.suspend("scalar")
        assert w.store.flags(["scalar"])["scalar"].suspended
        w.undo_last()
        assert (
            not w.store.flags(["scalar"]).get("scalar", None)
            or not w.store.flags(["scalar"])["scalar"].suspended
        )
        w.keep("scalar")
        assert "scalar" not in [it.card_id for it in w.items]
    with ws(col) as w:  # the choice is remembered
        assert "scalar" not in [it.card_id for it in w.items]
        w.undo_last()
        assert "scalar" in [it.card_id for it in w.items]


def test_prune_json_and_info_and_stats_cli(col: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    review("scalar", LEECHY, NOW - timedelta(days=60), col)
    assert main(["-C", str(col), "prune", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["items"][0]["card_id"] == "scalar"
    assert {r["code"] for r in data["items"][0]["reasons"]} >= {"leech"}

    assert main(["-C", str(col), "info", "scalar", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["reviews"] == 9 and info["again"] == 4 and len(info["history"]) == 9
    assert [h["rating"] for h in info["history"]] == [int(r) for r in LEECHY]
    assert info["state"]["lapses"] == 4
    assert (
        0 < info["retrievability"] <= 1 and info["where"]["line"] == 7
    )  # ---, week, topic, ---, heading, blank, Q

    assert main(["-C", str(col), "info", "scalar"]) == 0
    text = capsys.readouterr().out
    assert "Card scalar  decks/basics.md:7" in text and text.count("Again") == 4

    assert main(["-C", str(col), "info", "nope"]) == 1
    assert "error: no card with id 'nope'" in capsys.readouterr().err

    assert main(["-C", str(col), "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["counts"]["cards"] == 3 and len(stats["forecast"]["days"]) == 30
    assert sum(d["reviews"] for d in stats["heatmap"]["days"]) == 9

    assert main(["-C", str(col), "stats", "--week", "1", "--markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## Week 1 in review") and "Cards in this week's decks: **3**" in md

    assert main(["-C", str(col), "stats", "--markdown"]) == 2
    capsys.readouterr()

    # not a terminal: plain text instead of the TUI
    assert main(["-C", str(col), "stats"]) == 0
    out = capsys.readouterr().out
    assert "Streak:" in out and "Weakest topics:\n  basics: retention" in out
    assert main(["-C", str(col), "prune"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("  1. [") and "scalar" in out.splitlines()[0] and "- leech: 4 lapses" in out
    )
