"""The prune screen: pilot tests of every action (real files, real store) and an SVG snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.store import Store
from test_stats_tui import NOW, build_collection, run_async

LONG = " ".join(f"w{i}" for i in range(45))
EXTRA = f"""
Q: What does a softmax output? <!-- id: sm-dup -->
A: A probability distribution over the classes.

Q: Why is this answer so long? <!-- id: sm-long -->
A: {LONG}
"""


@pytest.fixture
def prune_root(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", NOW.isoformat())
    root = build_collection(collection)
    soft = root / "decks" / "softmax.md"
    # an orphan: the card with history `sm-max` gets a new id in the file
    soft.write_text(
        soft.read_text(encoding="utf-8").replace("<!-- id: sm-max -->", "<!-- id: sm-max2 -->")
        + EXTRA,
        encoding="utf-8",
    )
    return root


def app_for(root: Path, run_editor=None):  # type: ignore[no-untyped-def]
    from dlcards.app.collection import Collection
    from dlcards.tui.prune_app import build_prune_app

    return build_prune_app(Collection.open(root), run_editor=run_editor)


def row_of(app, card_id: str) -> int:  # type: ignore[no-untyped-def]
    return [it.card_id for it in app.workspace.items].index(card_id)


async def select(pilot, app, card_id: str) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import DataTable

    app.screen.query_one(DataTable).move_cursor(row=row_of(app, card_id))
    await pilot.pause()


@run_async
async def test_list_delete_asks_then_undo(prune_root: Path) -> None:
    from dlcards.tui.screens.confirm import ConfirmScreen

    soft = prune_root / "decks" / "softmax.md"
    original = soft.read_bytes()
    app = app_for(prune_root)
    async with app.run_test(size=(80, 24)) as pilot:
        items = {it.card_id: it.codes for it in app.workspace.items}
        assert items["gr-part"][:1] == ["low-retention"] and "leech" in items["gr-part"]
        assert items["sm-long"] == ["long-answer"]
        assert items["sm-dup"] == ["duplicate"] and items["sm-out"] == ["duplicate"]
        assert items["sm-max"] == ["orphan"]
        await select(pilot, app, "sm-long")
        await pilot.press("d")  # asks first: n leaves the file alone
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Delete card sm-long from decks/softmax.md?" in str(
            app.screen.query_one("#confirm-question").render()
        )
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert soft.read_bytes() == original
        assert "sm-long" in [it.card_id for it in app.workspace.items]
        await pilot.press("d", "y")
        await pilot.pause()
        assert "sm-long" not in [it.card_id for it in app.workspace.items]
        assert soft.read_bytes() == original.replace(
            f"\nQ: Why is this answer so long? <!-- id: sm-long -->\nA: {LONG}\n".encode(), b""
        )
        await pilot.press("u")
        await pilot.pause()
        assert soft.read_bytes() == original
        assert "sm-long" in [it.card_id for it in app.workspace.items]
    app.workspace.col.close()


@run_async
async def test_keep_suspend_relink_info(prune_root: Path) -> None:
    from dlcards.tui.screens.card_info import CardInfoScreen
    from dlcards.tui.screens.prune import PruneScreen

    app = app_for(prune_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "sm-dup")
        await pilot.press("k")
        await pilot.pause()
        assert "sm-dup" not in [it.card_id for it in app.workspace.items]

        await select(pilot, app, "gr-part")
        await pilot.press("s")
        await pilot.pause()
        assert app.workspace.store.flags(["gr-part"])["gr-part"].suspended

        with Store.open() as store:
            history = len(store.reviews(["sm-max"]))
        assert history > 0
        await select(pilot, app, "sm-max")
        assert app.workspace.items[row_of(app, "sm-max")].relink_to == "sm-max2"
        await pilot.press("r")
        await pilot.pause()
        assert len(app.workspace.store.reviews(["sm-max2"])) == history
        assert app.workspace.store.reviews(["sm-max"]) == []

        await select(pilot, app, "gr-part")
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, CardInfoScreen) and app.screen.info.card_id == "gr-part"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PruneScreen)

        for _ in range(3):  # relink, suspend, keep: undone newest first
            await pilot.press("u")
            await pilot.pause()
        assert len(app.workspace.store.reviews(["sm-max"])) == history
        assert (
            not app.workspace.store.flags(["gr-part"]).get("gr-part")
            or not app.workspace.store.flags(["gr-part"])["gr-part"].suspended
        )
        assert "sm-dup" in [it.card_id for it in app.workspace.items]
    app.workspace.col.close()


@run_async
async def test_edit_in_editor_is_reread_and_undoable(prune_root: Path) -> None:
    soft = prune_root / "decks" / "softmax.md"
    original = soft.read_bytes()
    calls: list[tuple[Path, int]] = []

    def fake_editor(path: Path, line: int) -> None:
        calls.append((path, line))
        path.write_text(
            path.read_text(encoding="utf-8")
            .replace("Why is this answer so long?", "Why long?")
            .replace(LONG, "Short now."),
            encoding="utf-8",
        )

    app = app_for(prune_root, fake_editor)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "sm-long")
        await pilot.press("e")
        await pilot.pause()
        line = app.workspace.note_of("sm-long").line
        assert calls == [(soft, line)]
        assert "sm-long" not in [
            it.card_id for it in app.workspace.items
        ]  # re-read: no longer long
        assert app.workspace.note_of("sm-long").question == "Why long?"
        await pilot.press("u")
        await pilot.pause()
        assert soft.read_bytes() == original
    app.workspace.col.close()


def test_prune_snapshot(prune_root: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = app_for(prune_root)
    try:
        assert snap_compare(app, terminal_size=(80, 24))
    finally:
        app.workspace.col.close()


def test_prune_delete_asks_snapshot(prune_root: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """`d` opens the y/n question over the list, naming the card, its file and its question."""
    app = app_for(prune_root)

    async def on_long(pilot) -> None:  # type: ignore[no-untyped-def]
        await select(pilot, app, "sm-long")

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_long, press=["d"])
    finally:
        app.workspace.col.close()
