"""Markdown text -> notes with source lines. Pure: no file reads, no clock.

Cards are found on markdown-it-py's block tokens (so `Q:` inside code fences, `$$` math
blocks and HTML comments never starts a card); each token's `map` gives its source lines.

The parts:
- `text`: the parser's constants (`PARSER_VERSION`, the card and cloze patterns) and text
  helpers: `normalize_newlines`, `content_hash`, id comments, the YAML depth guard.
- `base`: `ParsedFile`, `markdown_parser`, the builder's shared state and small helpers.
- `blocks`: the top-level blocks of a text as markdown-it-py finds them (`top_blocks`: a fast
  line scan that hands anything unusual to markdown-it's own rules; `markdown_it_blocks`: the
  full parse, the reference the tests compare it with).
- `front_matter`: reading and validating a deck file's front matter.
- `cards`: finding cards on the block tokens, their notes and cloze deletions; `parse_text`.
Every name is re-exported here, so `dlcards.core.parse.X` still works.
"""

from __future__ import annotations

from dlcards.core.parse.base import (
    ParsedFile,
    _describe_pydantic_error,
    _fence_kind,
    _front_matter_hint,
    _input_repr,
    _short,
    _visible,
    markdown_parser,
)
from dlcards.core.parse.cards import (
    _brace_closes,
    _Builder,
    _hint_at,
    parse_text,
)
from dlcards.core.parse.text import (
    _ID_OPEN_RE,
    ANSWER_RE,
    CARD_PREFIX_RE,
    CARD_START_TYPES,
    CLOZE_OPEN_RE,
    CLOZE_TYPO_RE,
    ENDS_CARD,
    MAX_YAML_DEPTH,
    NEWLINE_RE,
    PARSER_VERSION,
    IdComment,
    _yaml_depth_exceeded,
    content_hash,
    find_id_comment,
    normalize_newlines,
    remove_id_comments,
)

__all__ = [
    "ANSWER_RE",
    "CARD_PREFIX_RE",
    "CARD_START_TYPES",
    "CLOZE_OPEN_RE",
    "CLOZE_TYPO_RE",
    "ENDS_CARD",
    "MAX_YAML_DEPTH",
    "NEWLINE_RE",
    "PARSER_VERSION",
    "_ID_OPEN_RE",
    "IdComment",
    "ParsedFile",
    "_Builder",
    "_brace_closes",
    "_describe_pydantic_error",
    "_fence_kind",
    "_front_matter_hint",
    "_hint_at",
    "_input_repr",
    "_short",
    "_visible",
    "_yaml_depth_exceeded",
    "content_hash",
    "find_id_comment",
    "markdown_parser",
    "normalize_newlines",
    "parse_text",
    "remove_id_comments",
]
