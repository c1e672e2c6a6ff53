"""The review app: routing between the review, done and help screens. Nothing else lives here.

`build_review_app` is the one factory, shared by `dlcards review` and the tests (pilot and
snapshot tests build the same app the CLI runs).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from dlcards.app.review import Limits, ReviewService
from dlcards.tui.screens.done import DoneScreen
from dlcards.tui.screens.review import ReviewScreen

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.review.session import Filters


def terminal_is_light(environ: dict[str, str] | None = None) -> bool:
    """A light terminal background per $COLORFGBG ("fg;bg", bg 7 or 15 is light)."""
    env = os.environ if environ is None else environ
    value = env.get("COLORFGBG", "")
    bg = value.rsplit(";", 1)[-1] if value else ""
    return bg in ("7", "15")


class ReviewApp(App[None]):
    CSS_PATH = "dlcards.tcss"
    TITLE = "dlcards"
    ENABLE_COMMAND_PALETTE = False
    # ctrl+c quits, as in every other command line program (Textual's default only explains)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True)
    ]

    def __init__(
        self,
        ctx: ReviewService,
        *,
        light: bool | None = None,
        background: Callable[[], object] | None = None,
        ready: Callable[[], None] | None = None,
    ):
        super().__init__()
        self.ctx = ctx
        self.background = background
        self.ready = ready
        self.theme = (
            "textual-light" if (terminal_is_light() if light is None else light) else "textual-dark"
        )
        self.review_screen = ReviewScreen(ctx)
        ctx.on_write_error = self._write_failed
        self._runner: Any = None
        self._runner_lock = threading.Lock()

    def _write_failed(self, exc: Exception) -> None:
        # writes run on the UI thread; after the app has ended the command reports
        # ctx.write_errors instead
        with contextlib.suppress(Exception):
            self.report_write_error(exc)

    def on_mount(self) -> None:
        self.push_screen(self.review_screen)
        self.call_after_refresh(self._start_background)

    def _start_background(self) -> None:
        """Once the first card is up: warm the scheduler, then run the caller's chores (the
        daily backup) in a thread, off the path to the first card."""

        if self.ready is not None:
            self.ready()

        def work() -> None:
            self.ctx.warm_up()
            if self.background is not None:
                self.background()
            if self._code_cards_may_run():
                self.runner()  # torch imports now, not when the learner first presses `r`

        self.run_worker(work, thread=True, group="background", exit_on_error=False)

    def show_done(self) -> None:
        if not isinstance(self.screen, DoneScreen):
            self.push_screen(DoneScreen(self.ctx))

    def show_review(self) -> None:
        while isinstance(self.screen, DoneScreen):
            self.pop_screen()

    def _code_cards_may_run(self) -> bool:
        """Whether this session has code cards that `r` could run (trusted, torch installed)."""
        if not self.ctx.has_code_cards():  # from the cached catalogue: no deck read
            return False
        from dlcards.checks.runner.client import torch_available
        from dlcards.checks.runner.consent import is_trusted

        try:
            return is_trusted(self.ctx.root) and torch_available()
        except Exception:
            return False

    def runner(self) -> Any:
        """The exercises runner, started once (from a worker thread): in the background when
        the session has code cards, else on the first `r`."""
        with self._runner_lock:
            if self._runner is None:
                from dlcards.checks.runner.client import Runner

                runner = Runner()
                runner.start()
                self._runner = runner
            return self._runner

    def report_write_error(self, exc: Exception) -> None:
        self.notify(f"Could not save to the review database: {exc}", severity="error", timeout=30)

    def on_unmount(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(Exception):
                self._runner.close()


def build_review_app(
    collection: Collection,
    filters: Filters | None = None,
    *,
    limits: Limits | None = None,
    light: bool | None = None,
    background: Callable[[], object] | None = None,
    ready: Callable[[], None] | None = None,
) -> ReviewApp:
    """The review app over `collection` (its review service: `Collection.review`).

    Once the first card is on screen, `ready` runs (on the UI thread), then `background` in a
    thread (the CLI's daily backup)."""
    return ReviewApp(
        collection.review(filters, limits), light=light, background=background, ready=ready
    )
