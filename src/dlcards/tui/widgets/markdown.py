"""Card Markdown as one Rich renderable: fast to lay out (one widget, not one per block) and
with a highlight style for cloze deletions (`<kbd>` spans, see render_terminal)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.theme import Theme

HIGHLIGHT = Theme({"markdown.kbd": "bold reverse", "markdown.code": "bold"})


@lru_cache(maxsize=1)
def _parser() -> Any:
    # rich.Markdown builds a new MarkdownIt (and compiles linkify's regexes, ~3 ms) per
    # instance; one parser, configured as rich configures it, serves every card.
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


class CardMarkdown(Markdown):
    """Rich Markdown whose `<kbd>` spans (cloze blanks and answers) are highlighted."""

    def __init__(self, markup: str, code_theme: str = "monokai", hyperlinks: bool = False):
        # Same attributes as rich.markdown.Markdown.__init__ (rich 13-15), with a shared parser.
        self.markup = markup
        self.parsed = _parser().parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        console.push_theme(HIGHLIGHT)
        try:
            yield from super().__rich_console__(console, options)
        finally:
            console.pop_theme()


def card_markdown(text: str, *, dark: bool) -> CardMarkdown:
    return CardMarkdown(text, code_theme="monokai" if dark else "friendly")
