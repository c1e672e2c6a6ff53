"""Textual pilot tests of whole review sessions: real collection, real Store in DLCARDS_HOME."""

from __future__ import annotations

import asyncio
import functools
import io
import stat
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from dlcards.app.collection import Collection
from dlcards.app.review import Limits
from dlcards.core.state import parse_utc
from dlcards.store import Store
from dlcards.tui.app import ReviewApp, build_review_app
from dlcards.tui.screens.done import DoneScreen
from dlcards.tui.screens.help import HelpScreen
from dlcards.tui.screens.review import ReviewScreen
from tui_collection import NOW, make_collection

SIZE = (80, 24)


def run_async(fn):  # type: ignore[no-untyped-def]
    """Run an async test body in its own event loop (no asyncio plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    return make_collection(tmp_path / "col")


@pytest.fixture
def collection(col: Path) -> Iterator[Collection]:
    with Collection.open(col) as c:
        yield c


@pytest.fixture
def store(collection: Collection) -> Store:
    return collection.store  # the very store the app writes to


def app_for(collection: Collection, **kw: object) -> ReviewApp:
    return build_review_app(collection, **kw)  # type: ignore[arg-type]


def text_of(widget: object) -> str:
    console = Console(width=76, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)  # type: ignore[attr-defined]
    return console.export_text()


def review(app: ReviewApp) -> ReviewScreen:
    assert isinstance(app.screen, ReviewScreen), app.screen
    return app.screen


@run_async
async def test_whole_session_reveal_grade_summary(
    collection: Collection, col: Path, store: Store
) -> None:
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        assert scr.card_id == "grad1"
        assert "week 1 › basics › Gradients" in text_of(scr.w_context)
        q = text_of(scr.w_question)
        assert "∇f(x)" in q and "ℝⁿ" in q and "\\nabla" not in q
        assert not scr.w_answer.display
        assert "show answer" in text_of(scr.w_grades)
        assert "new 4" in text_of(scr.w_counts)  # attn1 waits for `basics`
        await pilot.press("space")
        await pilot.pause()
        assert scr.revealed and scr.w_answer.display
        assert "∂f/∂xᵢ" in text_of(scr.w_answer)
        grades = text_of(scr.w_grades)
        assert "Again 1m" in grades and "Good 10m" in grades
        # no `dlcards check` has run: the screen does not claim anything was proved (issue 12)
        assert "not checked yet" in text_of(scr.w_checks)
        await pilot.press("4")
        await pilot.pause()
        # the cloze card, first deletion
        assert scr.card_id == "soft1/c1"
        front = text_of(scr.w_question)
        assert "[...]" in front and "logits" in front and "adding a constant" not in front
        await pilot.press("space")
        await pilot.pause()
        assert "adding a constant" in text_of(scr.w_question)
        await pilot.press("4")
        await pilot.pause()
        # its sibling c2 is buried; the code card comes next, then attention (basics started)
        assert scr.card_id == "code1"
        assert "torch.ones" in text_of(scr.w_question)
        await pilot.press("space", "3")
        await pilot.pause()
        assert scr.card_id == "attn1"
        await pilot.press("space", "1")  # again -> learning, shown again (learn ahead)
        await pilot.pause()
        assert scr.card_id == "attn1"  # Again (1m) is due before Good (10m): learn ahead by due
        while isinstance(app.screen, ReviewScreen) and app.screen.card_id is not None:
            await pilot.press("space", "4")
            await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        summary = text_of(app.screen.query_one("#summary"))
        n = len(store.reviews())
        assert f"{n} cards" in summary and "again" in summary
        assert "Next card due" in summary
    reviews = store.reviews()
    assert [r.card_id for r in reviews][:4] == ["grad1", "soft1/c1", "code1", "attn1"]
    assert store.flags()["soft1/c2"].buried_until == date(2026, 1, 6)
    assert all(0 <= r.duration_ms <= 60_000 for r in reviews)


@run_async
async def test_undo_restores_card_and_log(collection: Collection, col: Path, store: Store) -> None:
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("space", "3")
        await pilot.pause()
        assert scr.card_id == "soft1/c1"
        assert len(store.reviews()) == 1 and "soft1/c2" not in store.flags()
        await pilot.press("space", "3")
        await pilot.pause()
        assert store.flags()["soft1/c2"].buried_until is not None
        await pilot.press("u")
        await pilot.pause()
        assert scr.card_id == "soft1/c1" and not scr.revealed
        assert "soft1/c2" not in store.flags()
        await pilot.press("u")
        await pilot.pause()
        assert scr.card_id == "grad1"
        assert store.reviews() == [] and store.states() == {}


@run_async
async def test_suspend_bury_flag(collection: Collection, col: Path, store: Store) -> None:
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("s")
        await pilot.pause()
        assert store.flags()["grad1"].suspended
        assert scr.card_id == "soft1/c1"
        await pilot.press("b")
        await pilot.pause()
        assert store.flags()["soft1/c1"].buried_until == date(2026, 1, 6)
        assert scr.card_id == "soft1/c2"
        await pilot.press("f", "3")  # f then 1-7: Anki's colours (3 green)
        await pilot.pause()
        assert store.flags()["soft1/c2"].flag == 3
        assert "⚑" in text_of(scr.w_context)
        await pilot.press("f", "escape")  # escape leaves the flag as it is
        await pilot.pause()
        assert store.flags()["soft1/c2"].flag == 3 and app.screen is scr
        await pilot.press("f", "0")  # 0 removes it
        await pilot.pause()
        assert "soft1/c2" not in store.flags()  # no flag left: the row goes
        await pilot.press("u")  # undo the removal: green again
        await pilot.pause()
        assert store.flags()["soft1/c2"].flag == 3
        await pilot.press("u", "u")
        await pilot.pause()
        assert "soft1/c1" not in store.flags() and "soft1/c2" not in store.flags()
        assert scr.card_id == "soft1/c1"


@run_async
async def test_nothing_due_screen_says_when(
    collection: Collection, col: Path, store: Store
) -> None:
    app = app_for(collection, limits=Limits(new=0))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        text = text_of(app.screen.query_one("#summary"))
        assert "Nothing is due now." in text
        assert "Next card due in" in text and "study more" in text
        assert "Session done" not in text
        await pilot.press("m")  # study more: new limit +20
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app.screen.card_id == "grad1"


@run_async
async def test_nothing_due_after_everything_is_scheduled(
    collection: Collection, col: Path, store: Store
) -> None:
    from dlcards.core.state import CardState

    now = parse_utc(NOW)
    for cid in ("grad1", "soft1/c1", "soft1/c2", "code1", "attn1"):
        store.set_state(
            CardState(
                cid,
                phase="review",
                stability=5,
                difficulty=5,
                due=now + timedelta(days=2),
                last_review=now - timedelta(days=3),
                reps=3,
                interval_days=5,
            )
        )
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        text = text_of(app.screen.query_one("#summary"))
        assert "Next card due in 2d" in text and "study more" not in text


@run_async
async def test_help_and_checks_toggle(collection: Collection, col: Path, store: Store) -> None:
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("space")
        await pilot.pause()
        assert "diff(x**2" not in text_of(scr.w_answer)
        await pilot.press("v")
        await pilot.pause()
        assert "diff(x**2, x) == 2*x" in text_of(scr.w_answer)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query_one("#help").region.width > 40
        assert "bury the card until tomorrow" in text_of(app.screen.query("Static")[1])
        await pilot.press("escape")
        await pilot.pause()
        assert (
            app.screen is scr and scr.revealed and scr.card_id == "grad1"
        )  # same card, still revealed


@run_async
async def test_filters_and_limits(collection: Collection, col: Path, store: Store) -> None:
    from dlcards.review.session import Filters

    app = app_for(collection, filters=Filters(topic="attention"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.pause()
        # attention requires basics, which nobody has started: nothing to show
        assert isinstance(app.screen, DoneScreen)
        summary = text_of(app.screen.query_one("#summary"))
        assert "topic attention" in summary
        # no alphabetical list of waiting topics: the first one, and how to study it
        assert "wait until you start" not in summary
        assert "wait for the topic basics: `dlcards review --topic basics`" in summary
        assert "Tomorrow: nothing due." in summary


@run_async
async def test_edit_reopens_card_after_editor(
    collection: Collection, col: Path, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "fake-editor"
    log = tmp_path / "editor-args"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        f"pathlib.Path({str(log)!r}).write_text(' '.join(sys.argv[1:]))\n"
        "p = pathlib.Path(sys.argv[-1])\n"
        "p.write_text(p.read_text().replace('it points uphill', 'it points up the steepest slope'))\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("space")
        await pilot.pause()
        assert "uphill" in text_of(scr.w_answer)
        await pilot.press("e")
        await pilot.pause()
        assert log.read_text() == f"+9 {col / 'decks' / 'week-01.md'}"
        assert scr.card_id == "grad1"
        assert "steepest slope" in text_of(scr.w_answer)


@run_async
async def test_run_code_without_runner_or_trust_notifies(
    collection: Collection, col: Path, store: Store
) -> None:
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("r")  # grad1 has no torch block
        await pilot.pause()
        assert any("no `torch` block" in n.message for n in app._notifications)
        await pilot.press("space", "4", "space", "4")
        await pilot.pause()
        assert scr.card_id == "code1"
        await pilot.press("r")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        from dlcards.checks.runner.client import torch_available

        expected = "not trusted to run code" if torch_available() else "needs PyTorch"
        assert any(expected in m for m in messages), messages
        assert scr.run_output is None  # nothing ran


def test_review_command_refuses_without_a_terminal(
    col: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.cli.main import main

    monkeypatch.chdir(col)
    assert main(["review"]) == 2


@run_async
async def test_run_torch_snippet_live(collection: Collection, col: Path, store: Store) -> None:
    from dlcards.checks.runner.client import torch_available
    from dlcards.checks.runner.consent import trust

    if not torch_available():
        pytest.skip("torch is not installed")
    trust(col, parse_utc(NOW))
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        for _ in range(100):  # trusted + code cards: the runner starts in the background
            if app._runner is not None:
                break
            await pilot.pause(0.05)
        assert app._runner is not None
        await pilot.press("space", "4", "space", "4")
        await pilot.pause()
        assert scr.card_id == "code1"
        await pilot.press("r")
        for _ in range(600):
            await pilot.pause(0.1)
            if scr.run_output is not None and "running" not in scr.run_output.plain:
                break
        out = scr.run_output.plain if scr.run_output is not None else ""
        assert "✓ ran" in out and "on cpu" in out, out
        assert "torch.Size([2, 3])" in out


def test_review_command_rejects_a_filter_matching_nothing(
    col: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dlcards.cli.main import main

    monkeypatch.chdir(col)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["review", "--topic", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no cards match topic nope" in err and "attention, basics" in err


@run_async
async def test_a_failed_write_is_reported_not_lost_silently(
    collection: Collection, col: Path, store: Store
) -> None:
    """If the database refuses an answer, the learner is told at once and the command fails
    at the end; the session does not pretend the answer was saved."""
    app = app_for(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        store.conn.execute("PRAGMA query_only = ON")  # the real store now refuses every write
        await pilot.press("space", "3")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("Could not save to the review database" in m for m in messages), messages
        assert len(app.ctx.write_errors) == 1
    store.conn.execute("PRAGMA query_only = OFF")
    assert store.reviews() == []
