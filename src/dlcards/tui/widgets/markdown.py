"""Card Markdown as one Rich renderable: fast to lay out (one widget, not one per block) and
with a highlight style for cloze deletions (`<kbd>` spans, see render_terminal).

A card's Markdown is rendered once per (text, code theme, width) and the segments are kept
(a small LRU shared by every widget): Textual renders a widget's content twice per frame (its
height for the layout, then its lines), the review screen shows the same question again when
the answer is revealed, and `prerender` fills the cache for the cards likely to come next
while the learner reads the current one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from functools import lru_cache
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment
from rich.theme import Theme

HIGHLIGHT = Theme({"markdown.kbd": "bold reverse", "markdown.code": "bold"})
CACHE_SIZE = 256  # renders kept (a render is a few hundred segments)

_rendered: OrderedDict[Hashable, list[Segment]] = OrderedDict()
stats = {"renders": 0, "hits": 0, "parses": 0}  # what the cache did (tests, the benchmark)


@lru_cache(maxsize=1)
def _parser() -> Any:
    # rich.Markdown builds a new MarkdownIt (and compiles linkify's regexes, ~3 ms) per
    # instance; one parser, configured as rich configures it, serves every card.
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


def _key(md: CardMarkdown, console: Console, options: ConsoleOptions) -> Hashable:
    # everything a Markdown render reads from its options (it drops the height itself)
    return (
        md.markup,
        md.code_theme,
        md.hyperlinks,
        id(console),
        options.max_width,
        options.min_width,
        options.justify,
        options.overflow,
        options.no_wrap,
        options.highlight,
        options.markup,
        options.ascii_only,
        options.legacy_windows,
        options.encoding,
    )


class CardMarkdown(Markdown):
    """Rich Markdown whose `<kbd>` spans (cloze blanks and answers) are highlighted, parsed
    only when its render is not cached."""

    def __init__(self, markup: str, code_theme: str = "monokai", hyperlinks: bool = False):
        # Same attributes as rich.markdown.Markdown.__init__ (rich 13-15), with a shared parser.
        self.markup = markup
        self._parsed: Any = None
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme

    @property  # an attribute in rich.Markdown: parsed on first use here
    def parsed(self) -> Any:  # type: ignore[override]
        if self._parsed is None:
            stats["parses"] += 1
            self._parsed = _parser().parse(self.markup)
        return self._parsed

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from rendered(self, console, options)


def rendered(md: CardMarkdown, console: Console, options: ConsoleOptions) -> list[Segment]:
    """`md`'s segments at these options: from the cache, else rendered (and kept)."""
    key = _key(md, console, options)
    segments = _rendered.get(key)
    if segments is not None:
        stats["hits"] += 1
        _rendered.move_to_end(key)
        return segments
    stats["renders"] += 1
    console.push_theme(HIGHLIGHT)
    try:
        segments = []
        for item in Markdown.__rich_console__(md, console, options):
            if isinstance(item, Segment):
                segments.append(item)
            else:  # what Console.render does with a nested renderable
                segments.extend(console.render(item, options))
    finally:
        console.pop_theme()
    _rendered[key] = segments
    if len(_rendered) > CACHE_SIZE:
        _rendered.popitem(last=False)
    return segments


def card_markdown(text: str, *, dark: bool) -> CardMarkdown:
    return CardMarkdown(text, code_theme="monokai" if dark else "friendly")


def prerender(
    console: Console, options: ConsoleOptions, texts: Iterable[str], *, dark: bool
) -> None:
    """Render these card texts into the cache at `options` (the options a Static's content is
    rendered with: `app.console_options.update_width(w).update(highlight=False)`)."""
    for text in texts:
        rendered(card_markdown(text, dark=dark), console, options)


def height(console: Console, options: ConsoleOptions, text: str, *, dark: bool) -> int:
    """The lines `text` takes at `options` (Textual's own measure, `RichVisual.get_height`:
    the newlines of the render), from the cache when rendered before."""
    segments = rendered(card_markdown(text, dark=dark), console, options)
    return sum(seg.text.count("\n") for seg in segments)


def clear_cache() -> None:
    _rendered.clear()
