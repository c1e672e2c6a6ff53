"""`ParsedFile`, the shared markdown-it parser, and the builder's state and small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dlcards.core.comments import strip_html_comments
from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.model import DeckMeta, Note
from dlcards.core.parse.text import normalize_newlines

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

    from dlcards.core.parse.blocks import Blk


@dataclass
class ParsedFile:
    """The result of parsing one deck file."""

    path: str
    meta: DeckMeta
    notes: list[Note] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin

    return (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .use(front_matter_plugin)
        .use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True)
    )


class _BuilderBase:
    """A deck file being parsed: its lines, deck metadata and problems."""

    def __init__(self, path: str, text: str, default_deck: str):
        self.path = path
        self.text = normalize_newlines(text)
        self.lines = self.text.split("\n")
        self.default_deck = default_deck
        self.problems: list[Problem] = []
        self.meta = DeckMeta()

    def problem(
        self, line: int, severity: str, code: str, message: str, hint: str | None = None
    ) -> None:
        self.problems.append(
            Problem(SourceLocation(self.path, line), severity, code, message, hint)  # type: ignore[arg-type]
        )


def _fence_kind(tok: Blk | Token) -> str:
    return tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""


def _visible(markdown: str) -> bool:
    if "<!--" not in markdown:  # nothing for strip_html_comments to remove
        return bool(markdown.strip())
    return bool(strip_html_comments(markdown).strip())


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _input_repr(value: Any) -> str:
    try:
        return _short(repr(value))
    except ValueError:  # an integer over the int->str digit limit
        return "a number too large to show"


def _describe_pydantic_error(key: str, err: Any) -> str:
    if key == "week":
        return f"must be a positive integer, not {_input_repr(err.get('input'))}"
    if key == "topic":
        return f"must be a slug (lowercase letters, digits, '-', '_'), not {_input_repr(err.get('input'))}"
    return _short(str(err.get("msg", "invalid value")))


def _front_matter_hint(key: str) -> str | None:
    return {
        "week": "write e.g. `week: 3`",
        "topic": "write e.g. `topic: softmax`",
        "tags": "write e.g. `tags: [math, pytorch]` (tags cannot contain spaces)",
        "requires": "write e.g. `requires: [gradients]` (topic slugs)",
        "deck": "write e.g. `deck: Deep Learning`",
    }.get(key)
