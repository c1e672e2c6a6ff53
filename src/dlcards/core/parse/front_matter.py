"""Reading a deck file's front matter (YAML, depth-guarded) into `DeckMeta`, with problems."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dlcards.core.model import DeckMeta
from dlcards.core.parse.base import (
    _BuilderBase,
    _describe_pydantic_error,
    _front_matter_hint,
    _short,
)
from dlcards.core.parse.text import MAX_YAML_DEPTH, _yaml_depth_exceeded

if TYPE_CHECKING:
    from dlcards.core.parse.blocks import Blk


# Flat front matter, read without PyYAML (PyYAML's pure-Python scanner is ~0.5 ms a file: 0.12 s
# of a 250-file cold start). Only lines `key: value` where every scalar is one PyYAML resolves
# to a plain `str` (it starts with a letter and is not a YAML 1.1 bool or null word) or a
# decimal `int` without a leading zero, and lists are `[a, b]` of such strings. Anything else
# (quotes, comments, blocks, nesting, anchors, other spacing, ...) is left to PyYAML; a test
# compares the two on generated front matter.
_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_WORD = r"[A-Za-z][A-Za-z0-9_-]*"
_FLAT_LINE = re.compile(
    rf"({_KEY}): (?:([1-9][0-9]{{0,8}})|({_WORD}(?: {_WORD})*)|\[((?:{_WORD}(?:, {_WORD})*)?)\])"
)
# PyYAML 1.1's bool and null words (any case, more than it needs: these go to PyYAML)
_YAML_WORDS = frozenset(("y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"))


def flat_yaml(content: str) -> dict[str, Any] | None:
    """What `yaml.safe_load(content)` returns, for flat front matter this reads; else None."""
    data: dict[str, Any] = {}
    for line in content.split("\n"):
        if not line:
            continue
        m = _FLAT_LINE.fullmatch(line)
        if m is None:
            return None
        key, number, text, items = m.groups()
        if key.lower() in _YAML_WORDS:
            return None
        value: Any
        if number is not None:
            value = int(number)
        elif text is not None:
            if text.lower() in _YAML_WORDS:
                return None
            value = text
        else:
            value = items.split(", ") if items else []
            if any(item.lower() in _YAML_WORDS for item in value):
                return None
        data[key] = value
    return data or None


class _FrontMatter(_BuilderBase):
    """The front matter of a deck file."""

    # -- front matter -------------------------------------------------------------------
    def front_matter(self, token: Blk) -> None:
        start, end = token.map
        closed = end - 1 > start and self.lines[end - 1].rstrip() in ("---", "...")
        if not closed:
            self.problem(
                1,
                "error",
                "front-matter-unclosed",
                "front matter is not closed",
                "end the YAML block with a line holding only `---`",
            )
            return
        data = flat_yaml(token.content)
        if data is not None:  # the common case, read without PyYAML (same result)
            self._front_matter_data(data, start, end)
            return
        import yaml

        deep = _yaml_depth_exceeded(token.content, MAX_YAML_DEPTH)
        if deep is not None:
            self.problem(
                start + 2 + deep,
                "error",
                "front-matter-yaml",
                f"front matter nests deeper than {MAX_YAML_DEPTH} levels",
                "front matter holds flat `key: value` lines (week, topic, tags, requires, deck)",
            )
            return
        try:
            if any(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(token.content)):
                # `*alias` references multiply on every use (a "billion laughs" front matter)
                self.problem(
                    start + 2,
                    "error",
                    "front-matter-yaml",
                    "front matter uses YAML aliases (`*name`), which are not supported",
                    "write each value out: `tags: [math, pytorch]`",
                )
                return
            data = yaml.safe_load(token.content)
        except RecursionError:
            self.problem(
                start + 2,
                "error",
                "front-matter-yaml",
                "front matter nests too deeply to read",
                "front matter holds flat `key: value` lines (week, topic, tags, requires, deck)",
            )
            return
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. a 5,000-digit integer
            self.problem(
                start + 2,
                "error",
                "front-matter-yaml",
                f"malformed front matter: {_short(str(exc))}",
                "front matter holds short values: `week: 3`, `topic: softmax`",
            )
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = start + 2 + (mark.line if mark is not None else 0)
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.problem(
                line,
                "error",
                "front-matter-yaml",
                f"malformed front matter: {reason}",
                "front matter is YAML: `key: value` lines, lists as [a, b]; indent with spaces, not tabs",
            )
            return
        self._front_matter_data(data, start, end)

    def _front_matter_data(self, data: Any, start: int, end: int) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            self.problem(
                start + 2,
                "error",
                "front-matter-yaml",
                "front matter must be a mapping of keys to values",
                "write `week: 3`, `topic: softmax`, ... one per line",
            )
            return
        from pydantic import ValidationError

        try:
            self.meta = DeckMeta.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                line = self._front_matter_key_line(start, end, key)
                if err["type"] == "extra_forbidden":
                    self.problem(
                        line,
                        "error",
                        "front-matter-unknown-key",
                        f"unknown front matter key `{key}`",
                        "allowed keys: " + ", ".join(DeckMeta.model_fields),
                    )
                else:
                    self.problem(
                        line,
                        "error",
                        "front-matter-invalid",
                        f"front matter `{key}`: {_describe_pydantic_error(key, err)}",
                        _front_matter_hint(key),
                    )
            # keep what is valid so the rest of the file is still checked
            valid = {k: v for k, v in data.items() if k in DeckMeta.model_fields}
            for k in list(valid):
                try:
                    DeckMeta.model_validate({k: valid[k]})
                except ValidationError:
                    del valid[k]
            self.meta = DeckMeta.model_validate(valid)

    def _front_matter_key_line(self, start: int, end: int, key: str) -> int:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
        for i in range(start + 1, end - 1):
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1
