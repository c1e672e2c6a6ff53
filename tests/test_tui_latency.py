"""What keeps grade -> next card fast in the review TUI (issue 16, item 3), tested without
timing: a grade updates only the panes whose content changed, the widgets are never
recomposed, the next card's Markdown was rendered ahead (while the answer was read), a card's
Markdown is rendered once per width and the cached render is the same as a fresh one, and the
deck files are not read again; the screen still shows the right card, counts and undo."""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

from dlcards.app.collection import Collection
from dlcards.store import Store
from dlcards.tui.app import ReviewApp, build_review_app
from dlcards.tui.screens.review import ReviewScreen, likely_next
from dlcards.tui.widgets import markdown as md
from dlcards.tui.widgets.bars import counts_text
from tui_collection import NOW, make_collection

SIZE = (80, 24)


def run_async(fn):  # type: ignore[no-untyped-def]
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collection]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    md.clear_cache()
    with Collection.open(make_collection(tmp_path / "col")) as c:
        yield c


def text_of(widget: Any) -> str:
    console = Console(width=76, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def review(app: ReviewApp) -> ReviewScreen:
    assert isinstance(app.screen, ReviewScreen), app.screen
    return app.screen


def panes(scr: ReviewScreen) -> dict[str, Any]:
    return {w.id: w for w in scr.query("*") if w.id}


@run_async
async def test_reveal_and_grade_update_only_the_changed_panes(collection: Collection) -> None:
    app = build_review_app(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        widgets = panes(scr)
        assert scr.card_id == "grad1"
        question = scr.w_question.content
        counts = text_of(scr.w_counts)

        await pilot.press("space")
        await pilot.pause()
        # the question, context, counts and hints did not change: not touched
        assert set(scr.redraws) == {"answer", "checks", "grades"}
        assert scr.w_question.content is question
        assert text_of(scr.w_counts) == counts
        assert "∂f/∂xᵢ" in text_of(scr.w_answer)

        await pilot.press("3")
        await pilot.pause()
        # the next card (same deck, week, topic and heading): question, counts, grade bar
        assert scr.card_id == "soft1/c1"
        assert set(scr.redraws) == {"question", "counts", "grades"}
        assert not scr.w_answer.display and not scr.w_checks.display
        front = text_of(scr.w_question)
        assert "[...]" in front and "adding a constant" not in front
        # grad1 went to learning; attn1 no longer waits for `basics`: still 4 new
        assert text_of(scr.w_counts).split() == ["new", "4", "learn", "1", "due", "0"]
        assert counts.split() == ["new", "4", "learn", "0", "due", "0"]
        assert "show answer" in text_of(scr.w_grades)
        # the same widgets throughout: nothing was recomposed or remounted
        assert panes(scr) == widgets


@run_async
async def test_the_next_question_is_rendered_while_the_answer_is_read(
    collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_review_app(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("space")
        await pilot.pause()
        # the answer painted, then the cards likely next rendered, a step at a time: wait
        # until no step is left (not a fixed time: a loaded machine takes longer)
        for _ in range(250):
            await pilot.pause(0.02)
            if scr.prepared_next_for == scr.card_id and not scr._ahead:
                break
        assert scr.prepared_next_for == scr.card_id and not scr._ahead
        assert "soft1/c1" in likely_next(scr.ctx.session, scr.card_id)
        reads: list[object] = []
        original = Collection._read_decks

        def read_decks(self: Collection, *args: Any, **kwargs: Any) -> Any:
            reads.append(args)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Collection, "_read_decks", read_decks)
        asked: list[tuple[str, bool]] = []  # (markup, already rendered) of every render asked
        original_rendered = md.rendered

        def rendered(m: md.CardMarkdown, console: Any, options: Any) -> Any:
            asked.append((m.markup, md._key(m, console, options) in md._rendered))
            return original_rendered(m, console, options)

        monkeypatch.setattr(md, "rendered", rendered)
        await pilot.press("3")
        await pilot.pause()
        assert scr.card_id == "soft1/c1"
        front = scr.card_text(scr.ctx.card("soft1/c1"), False).front
        # laid out and painted from the render made ahead: the question was never rendered
        # on the way (only the answer is rendered, ahead, once the question is up)
        assert [hit for markup, hit in asked if markup == front] != []
        assert all(hit for markup, hit in asked if markup == front)
        assert "[...]" in text_of(scr.w_question)
        assert reads == []  # the deck files were not read again


@run_async
async def test_undo_shows_the_previous_card_again_with_its_counts(
    collection: Collection,
) -> None:
    store: Store = collection.store
    app = build_review_app(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        question, counts = text_of(scr.w_question), text_of(scr.w_counts)
        await pilot.press("space", "3")
        await pilot.pause()
        assert scr.card_id == "soft1/c1" and len(store.reviews()) == 1
        await pilot.press("u")
        await pilot.pause()
        assert scr.card_id == "grad1" and not scr.revealed
        assert text_of(scr.w_question) == question
        # the counts pane says what the session says now (not a stale, skipped update)
        session = scr.ctx.session
        now_counts = counts_text(session.counts(scr.ctx.now()), session.queue_of("grad1"))
        assert text_of(scr.w_counts) == text_of(Static(now_counts))
        assert counts.split() == ["new", "4", "learn", "0", "due", "0"]
        assert not scr.w_answer.display and "show answer" in text_of(scr.w_grades)
        assert store.reviews() == []
        # revealed again: the answer pane shows this card's answer (cached, same content)
        await pilot.press("space")
        await pilot.pause()
        assert scr.w_answer.display and "∂f/∂xᵢ" in text_of(scr.w_answer)
        await pilot.press("4")
        await pilot.pause()
        assert scr.card_id == "soft1/c1" and len(store.reviews()) == 1


@run_async
async def test_theme_and_check_toggles_still_redraw(collection: Collection) -> None:
    app = build_review_app(collection, light=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("space")
        await pilot.pause()
        dark_answer = scr.w_answer.content
        await pilot.press("t")  # light theme: the Markdown's code theme changes
        await pilot.pause()
        assert not app.current_theme.dark
        assert {"question", "answer"} <= set(scr.redraws)
        assert scr.w_answer.content is not dark_answer
        await pilot.press("v")  # the check block shown under the answer
        await pilot.pause()
        assert "diff(x**2, x)" in text_of(scr.w_answer) + text_of(scr.w_question)
        assert "v hides" in text_of(scr.w_checks)


def render_text(renderable: Any, width: int) -> list[Any]:
    console = Console(width=width, file=io.StringIO(), color_system="truecolor")
    return list(console.render(renderable, console.options))


def test_markdown_is_rendered_once_per_width_and_the_same_as_a_fresh_render() -> None:
    md.clear_cache()
    text = "**Bold** and `code`, a <kbd>[...]</kbd> blank\n\n```python\nx = [1, 2]\n```\n"
    console = Console(width=60, file=io.StringIO(), color_system="truecolor")
    options = console.options
    before = dict(md.stats)
    first = list(console.render(md.card_markdown(text, dark=True), options))
    second = list(console.render(md.card_markdown(text, dark=True), options))
    assert first == second
    assert md.stats["renders"] - before["renders"] == 1
    assert md.stats["parses"] - before["parses"] == 1
    assert md.stats["hits"] - before["hits"] == 1
    # another width, another theme: rendered again
    list(console.render(md.card_markdown(text, dark=True), options.update_width(40)))
    list(console.render(md.card_markdown(text, dark=False), options))
    assert md.stats["renders"] - before["renders"] == 3
    # the cached segments are what an uncached render gives
    md.clear_cache()
    fresh = list(console.render(md.card_markdown(text, dark=True), options))
    assert fresh == first
    assert any(seg.style is not None and seg.style.reverse for seg in fresh)  # the <kbd> blank
    assert any("x = [" in seg.text or seg.text == "x" for seg in fresh)


def test_prerender_fills_the_cache_for_the_options_a_pane_is_painted_with() -> None:
    md.clear_cache()
    console = Console(width=80, file=io.StringIO(), color_system="truecolor")
    options = console.options.update(highlight=False).update_width(76)
    md.prerender(console, options, ["What is $x$?", "Second card"], dark=True)
    assert md.stats is not None
    before = dict(md.stats)
    # what Textual asks for: the height at the pane's width, then its lines
    painted = console.options.update(highlight=False, width=76, height=5).update_width(76)
    list(console.render(md.card_markdown("Second card", dark=True), painted))
    assert md.stats["renders"] == before["renders"]
    assert md.stats["hits"] == before["hits"] + 1


def test_the_cache_is_bounded() -> None:
    md.clear_cache()
    console = Console(width=40, file=io.StringIO())
    md.prerender(
        console, console.options, [f"card {i}" for i in range(md.CACHE_SIZE + 20)], dark=True
    )
    assert len(md._rendered) == md.CACHE_SIZE


@run_async
async def test_a_question_as_tall_as_the_last_is_repainted_without_a_layout(
    collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual._compositor import Compositor

    reflows: list[object] = []
    original = Compositor.reflow

    def reflow(self: Compositor, *args: Any) -> Any:
        reflows.append(args)
        return original(self, *args)

    monkeypatch.setattr(Compositor, "reflow", reflow)
    app = build_review_app(collection)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        scr = review(app)
        await pilot.press("space")
        await pilot.pause()
        reflows.clear()
        await pilot.press("3")  # grad1 (answer shown) -> the cloze: the answer pane goes
        await pilot.pause()
        assert scr.card_id == "soft1/c1" and reflows
        height = scr.w_question.size.height
        reflows.clear()
        await pilot.press("space")  # the cloze revealed: one line before, one line after
        await pilot.pause()
        assert "question" in scr.redraws
        assert "adding a constant" in text_of(scr.w_question)
        assert scr.w_question.size.height == height
        assert reflows == []
