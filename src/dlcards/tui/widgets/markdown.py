"""Card Markdown as one Rich renderable: fast to lay out (one widget, not one per block) and
with a highlight style for cloze deletions (`<kbd>` spans, see render_terminal)."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.theme import Theme

HIGHLIGHT = Theme({"markdown.kbd": "bold reverse", "markdown.code": "bold"})


class CardMarkdown(Markdown):
    """Rich Markdown whose `<kbd>` spans (cloze blanks and answers) are highlighted."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        console.push_theme(HIGHLIGHT)
        try:
            yield from super().__rich_console__(console, options)
        finally:
            console.pop_theme()


def card_markdown(text: str, *, dark: bool) -> CardMarkdown:
    theme = "monokai" if dark else "friendly"
    return CardMarkdown(text, code_theme=theme, inline_code_theme=theme, hyperlinks=False)
