"""Reading a deck file's front matter (YAML, depth-guarded) into `DeckMeta`, with problems."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dlcards.core.model import DeckMeta
from dlcards.core.parse.base import (
    _BuilderBase,
    _describe_pydantic_error,
    _front_matter_hint,
    _short,
)
from dlcards.core.parse.text import MAX_YAML_DEPTH, _yaml_depth_exceeded

if TYPE_CHECKING:
    from markdown_it.token import Token


class _FrontMatter(_BuilderBase):
    """The front matter of a deck file."""

    # -- front matter -------------------------------------------------------------------
    def front_matter(self, token: Token) -> None:
        import yaml

        assert token.map is not None
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
