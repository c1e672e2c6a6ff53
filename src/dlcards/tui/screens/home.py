"""The home screen (`dlcards` with no arguments): the whole curriculum as a tree of weeks and
topics with today's counts (new / learning / due), tags and flags, tomorrow's load and the
streak; pick any node and study it now, or open custom study, or the browser.

    build_home_app(collection, *, light=None, background=None, open_page=None) -> HomeApp

Keys: enter studies the node under the cursor now (prerequisites overridden, and the screen
says which), c custom study for it, / the card browser, space opens / closes a node,
q quits. From a study session, q (or the end of it) comes back here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from dlcards.tui.app import ReviewApp, terminal_is_light
from dlcards.tui.screens.browser import FLAG_COLOURS

if TYPE_CHECKING:
    from dlcards.app.browse import Browser
    from dlcards.app.collection import Collection
    from dlcards.app.custom_study import Counts, Overview, StudyPlan
    from dlcards.app.review import ReviewService

FLAG_NAMES = ("", "red", "orange", "green", "blue", "pink", "turquoise", "purple")
HINTS = "enter study now  c custom study  / browse  space open/close  q quit"
NAME_WIDTH = 52  # the counts line up at the right of an 80-column screen

# (kind, value, label): what a node stands for
NodeData = tuple[str, Any, str]


def counts_text(name: str, counts: Counts, offset: int, *, style: str = "") -> Text:
    """`name` padded so that the three counts line up whatever the node's place: `offset` is
    where the tree draws the label (4 per level, plus 2 for a node that opens)."""
    width = NAME_WIDTH + 2 - offset
    label = name if len(name) <= width else name[: width - 1] + "…"
    text = Text(label.ljust(width), style=style)
    for n, colour in (
        (counts.new, "#42a5f5"),
        (counts.learning, "#ef5350"),
        (counts.due, "#66bb6a"),
    ):
        text.append(f"{n:>6}", style=f"bold {colour}" if n else "dim")
    return text


def query_of(data: NodeData) -> str:
    kind, value, _ = data
    if kind == "week":
        return f"week:{value}"
    if kind == "topic":
        week, topic = value
        where = f"week:{week} " if week is not None else ""
        return f'{where}topic:"{topic}"' if topic else f"{where}-topic:*"
    if kind == "tag":
        return f'tag:"{value}"'
    if kind == "flag":
        return f"flag:{value}"
    return ""


class HomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "custom_study", "Custom study", show=False),
        Binding("slash", "browse", "Browse", show=False),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("q,escape", "quit", "Quit", show=False),
    ]
    DEFAULT_CSS = """
    HomeScreen #home-top { height: 1; background: $panel; }
    HomeScreen #home-title { width: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    HomeScreen #home-load { width: auto; padding: 0 1; }
    HomeScreen #home-head { height: 1; padding: 0 1; color: $text-muted; }
    HomeScreen #home-tree { height: 1fr; padding: 0 1; }
    HomeScreen #home-says { height: auto; max-height: 3; padding: 0 1; }
    HomeScreen #home-hints { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, browser: Browser):
        super().__init__()
        self.browser = browser
        self.data: Overview | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="home-top"):
            yield Static(id="home-title")
            yield Static(id="home-load")
        yield Static(id="home-head")
        yield Tree("All cards", id="home-tree")
        yield Static(id="home-says")
        yield Static(Text(HINTS, no_wrap=True, overflow="ellipsis"), id="home-hints")

    def on_mount(self) -> None:
        self.w_tree: Tree[NodeData] = self.query_one("#home-tree", Tree)
        self.w_tree.auto_expand = False
        self.w_tree.show_root = True
        self.fill()
        self.w_tree.focus()

    def on_screen_resume(self) -> None:
        if self.data is not None:  # back from a study session or the browser
            self.browser.col.reload_decks()
            self.browser.refresh()
            self.fill()

    def fill(self) -> None:
        from dlcards.app.custom_study import overview

        data = self.data = overview(self.browser)
        c = data.counts
        title = Text("dlcards", style="bold")
        title.append(f"  {data.today:%a %d %b}", style="dim")
        self.query_one("#home-title", Static).update(title)
        load = Text()
        load.append("tomorrow ", style="dim")
        load.append(str(data.tomorrow), style="bold")
        load.append("  streak ", style="dim")
        load.append(f"{data.streak} day{'s' if data.streak != 1 else ''}", style="bold")
        self.query_one("#home-load", Static).update(load)
        head = Text(" " * (NAME_WIDTH + 2))
        head.append("   new learn   due")
        self.query_one("#home-head", Static).update(head)
        says = Text(
            f"Today's limits: {data.new_per_day} new, {data.reviews_per_day} reviews "
            f"(the review limit also caps new cards). Answered today: {data.studied_today}.",
            style="dim",
        )
        self.query_one("#home-says", Static).update(says)
        tree = self.w_tree
        cursor = tree.cursor_line
        tree.clear()
        root = tree.root
        root.set_label(counts_text("All cards", c, 2, style="bold"))
        root.data = ("all", None, "all cards")
        for week in data.weeks:
            name = f"Week {week.week}" if week.week is not None else "No week"
            node = root.add(
                counts_text(name, week.counts, 6, style="bold"),
                data=("week", week.week, name.lower()),
                expand=False,
            )
            if week.week is None:
                node.data = ("topic", (None, ""), "cards without a week")
            for topic in week.topics:
                label = topic.topic or "(no topic)"
                node.add_leaf(
                    counts_text(label, topic.counts, 8),
                    data=("topic", (week.week, topic.topic), f"topic {label}"),
                )
        if data.tags:
            tags = root.add(Text("Tags", style="bold"), data=("none", None, "tags"), expand=False)
            for tag, counts in data.tags:
                tags.add_leaf(counts_text(tag, counts, 8), data=("tag", tag, f"tag {tag}"))
        if data.flags:
            flags = root.add(Text("Flags", style="bold"), data=("none", None, "flags"))
            for flag, cards in data.flags:
                flag_label = Text("⚑ ", style=f"bold {FLAG_COLOURS[flag]}")
                flag_label.append(f"{FLAG_NAMES[flag]}  ({cards} card{'s' if cards != 1 else ''})")
                flags.add_leaf(flag_label, data=("flag", flag, f"{FLAG_NAMES[flag]} flag"))
        root.expand()
        if cursor > 0:
            tree.move_cursor_to_line(cursor, animate=False)

    # -- choosing ---------------------------------------------------------------------------
    def selected(self) -> NodeData | None:
        node: TreeNode[NodeData] | None = self.w_tree.cursor_node
        if node is None or node.data is None or node.data[0] == "none":
            return None
        return node.data

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        event.stop()
        data = event.node.data
        if data is None or data[0] == "none":
            event.node.toggle()
            return
        self.study(data)

    def study(self, data: NodeData) -> None:
        from dlcards.app.custom_study import study_now

        if data[0] == "all":
            self.app.study_plan(None)  # type: ignore[attr-defined]
            return
        plan = study_now(self.browser, query_of(data), data[2])
        if plan.counts.total == 0:
            self.notify(f"Nothing to study in {data[2]} now (c: custom study, e.g. review ahead).")
            return
        self.app.study_plan(plan)  # type: ignore[attr-defined]

    def action_custom_study(self) -> None:
        from dlcards.tui.screens.custom_study import CustomStudyScreen

        data = self.selected() or ("all", None, "all cards")

        def chosen(plan: StudyPlan | None) -> None:
            if plan is not None:
                self.app.study_plan(plan)  # type: ignore[attr-defined]

        self.app.push_screen(CustomStudyScreen(self.browser, data[2], query_of(data)), chosen)

    def action_browse(self) -> None:
        from dlcards.tui.screens.browser import BrowserScreen

        open_page = getattr(self.app, "open_page", None)
        self.app.push_screen(BrowserScreen(self.browser, open_page=open_page))

    def action_toggle_theme(self) -> None:
        self.app.theme = "textual-light" if self.app.current_theme.dark else "textual-dark"

    def action_quit(self) -> None:
        self.app.exit()


class HomeApp(ReviewApp):
    """The home screen, and study sessions started from it (a `ReviewApp` whose review
    service is chosen on the home screen; quitting a session comes back home)."""

    CSS_PATH = str(Path(__file__).resolve().parent.parent / "dlcards.tcss")

    def __init__(
        self,
        collection: Collection,
        *,
        light: bool | None = None,
        background: Callable[[], object] | None = None,
        open_page: Callable[[Path], bool] | None = None,
    ):
        App.__init__(self)
        from dlcards.app.browse import Browser

        self.collection = collection
        self.browser = Browser(collection)
        self.background = background
        self.ready = None
        self.open_page = open_page
        self.theme = (
            "textual-light" if (terminal_is_light() if light is None else light) else "textual-dark"
        )
        self.ctx: ReviewService | None = None  # type: ignore[assignment]
        self.studying = False
        self.services: list[ReviewService] = []  # every session started here, in order
        self.plan: StudyPlan | None = None
        self._runner: Any = None
        self._runner_lock = threading.Lock()
        self._warmed = False

    def on_mount(self, event: events.Mount | None = None) -> None:
        if event is not None:
            event.prevent_default()  # not ReviewApp's: there is no session yet
        self.push_screen(HomeScreen(self.browser))

    def study_plan(self, plan: StudyPlan | None) -> None:
        """Start a session: a custom study plan, or (None) today's usual review."""
        from dlcards.app.custom_study import start
        from dlcards.tui.screens.review import ReviewScreen

        try:
            service = start(self.collection, plan) if plan is not None else self.collection.review()
        except Exception as exc:
            self.notify(f"Could not start the session: {exc}", severity="error")
            return
        service.on_write_error = self._write_failed
        self.services.append(service)
        self.ctx = service
        self.plan = plan
        self.studying = True
        if plan is not None:
            self.notify(plan.says(), timeout=8)
        self.review_screen = ReviewScreen(service)
        self.push_screen(self.review_screen)
        if not self._warmed:
            self._warmed = True
            self.call_after_refresh(self._start_background)

    async def action_quit(self) -> None:
        """ctrl+c quits the program, from a session too."""
        self.studying = False
        self.exit()

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        """`q` in a session (or on its done screen) comes back to the home screen."""
        if self.studying:
            self.studying = False
            while not isinstance(self.screen, HomeScreen) and len(self.screen_stack) > 1:
                self.pop_screen()
            return
        super().exit(result, return_code, message)


def build_home_app(
    collection: Collection,
    *,
    light: bool | None = None,
    background: Callable[[], object] | None = None,
    open_page: Callable[[Path], bool] | None = None,
) -> HomeApp:
    """The home app over `collection` (`dlcards` with no arguments; the tests build the same)."""
    return HomeApp(collection, light=light, background=background, open_page=open_page)
