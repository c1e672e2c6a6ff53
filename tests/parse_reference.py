"""The deck parser as it was before issue 16's fast path: markdown-it's full parse (every core
rule) and the original note builder, frozen here as the reference that tests/test_parse_fast*.py
compare `dlcards.core.parse.parse_text` with. Do not "fix" or speed up this file: its point is
to stay the old pipeline. (Copied from src/dlcards/core/parse/cards.py and front_matter.py.)
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any

from dlcards.core.model import BLOCK_KINDS, ID_RE, Block, DeckMeta, Deletion, Note
from dlcards.core.parse.base import (
    ParsedFile,
    _BuilderBase,
    _describe_pydantic_error,
    _fence_kind,
    _front_matter_hint,
    _short,
    _visible,
    markdown_parser,
)
from dlcards.core.parse.text import (
    ANSWER_RE,
    CARD_PREFIX_RE,
    CLOZE_OPEN_RE,
    CLOZE_TYPO_RE,
    ENDS_CARD,
    MAX_YAML_DEPTH,
    _yaml_depth_exceeded,
    content_hash,
    find_id_comment,
)


def remove_id_comments(text: str) -> str:
    """`text` without its id comments (and the blanks before them), line by line."""
    out = []
    for line in text.split("\n"):
        while (c := find_id_comment(line)) is not None:
            line = line[: c.start] + line[c.end :]
        out.append(line)
    return "\n".join(out)


class _RefFrontMatter(_BuilderBase):
    """The front matter of a deck file."""

    # -- front matter -------------------------------------------------------------------
    def front_matter(self, token: Any) -> None:
        import yaml

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


class _RefBuilder(_RefFrontMatter):
    # -- cards (markdown-it's full parse, as dlcards did before issue 16) ----------------------
    def build(self) -> ParsedFile:
        tokens = markdown_parser().parse(self.text)
        headings: list[tuple[int, str]] = []
        cards: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.level != 0 or tok.map is None:
                i += 1
                continue
            start, end = tok.map
            if tok.type == "front_matter":
                self.front_matter(tok)
            elif tok.type == "fence" or tok.type == "code_block":
                if tok.type == "fence":
                    self._check_fence_closed(tok)
                if current is not None:
                    current["tokens"].append(tok)
                    current["end"] = end
                elif tok.type == "fence" and _fence_kind(tok) in BLOCK_KINDS:
                    self.problem(
                        start + 1,
                        "warning",
                        "block-outside-card",
                        f"`{_fence_kind(tok)}` block outside any card is never checked",
                        "put it after the card's `Q:`/`A:` or `C:` paragraph",
                    )
            elif tok.type in ENDS_CARD:
                current = None
                if tok.type == "heading_open":
                    level = int(tok.tag[1])
                    title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
                    headings = [h for h in headings if h[0] < level] + [(level, title)]
            elif tok.type == "paragraph_open" and CARD_PREFIX_RE.match(tokens[i + 1].content):
                current = {
                    "start": start,
                    "end": end,
                    "tokens": [tok],
                    "context": tuple(h[1] for h in headings),
                }
                cards.append(current)
            elif current is not None:
                current["tokens"].append(tok)
                current["end"] = max(current["end"], end)
            i += 1
        notes = [self._note(index, c) for index, c in enumerate(cards)]
        return ParsedFile(self.path, self.meta, [n for n in notes if n is not None], self.problems)

    def _check_fence_closed(self, tok: Any) -> None:
        start, end = tok.map
        last = self.lines[end - 1].strip() if end - 1 > start else ""
        marker = tok.markup
        if not (last.startswith(marker[0] * len(marker)) and set(last) <= {marker[0]}):
            self.problem(
                start + 1,
                "error",
                "unterminated-fence",
                "code fence opened here is never closed (it swallows the rest of the file)",
                f"close it with a line holding only {marker}",
            )

    def _note(self, index: int, card: dict[str, Any]) -> Note | None:
        start: int = card["start"]
        end: int = card["end"]
        while end > start + 1 and not self.lines[end - 1].strip():
            end -= 1
        first = self.lines[start]
        kind = "basic" if first.lstrip().startswith("Q:") else "cloze"
        explicit_id: str | None = None
        m = find_id_comment(first)
        if m:
            raw_id = m.raw_id
            if ID_RE.match(raw_id):
                explicit_id = raw_id
            else:
                self.problem(
                    start + 1,
                    "error",
                    "bad-id",
                    f"invalid card id {raw_id!r}",
                    "ids are 1-64 letters, digits, '-' or '_'; delete the comment and run `dlcards fix`",
                )
            first = first[: m.start] + first[m.end :]
        first = CARD_PREFIX_RE.sub("", first.lstrip(), count=1)
        if first.startswith(" "):
            first = first[1:]
        body = [first, *self.lines[start + 1 : end]]

        # blocks, and which lines are prose (where an `A:` may start the answer)
        prose_lines: set[int] = set()
        fences: list[Any] = []
        for tok in card["tokens"]:
            if tok.type == "paragraph_open":
                prose_lines.update(range(tok.map[0], tok.map[1]))
            elif tok.type == "fence":
                fences.append(tok)
        answer_at: int | None = None
        if kind == "basic":
            for ln in range(start + 1, end):
                if ln in prose_lines and ANSWER_RE.match(self.lines[ln]):
                    answer_at = ln
                    break
        blocks = []
        for tok in fences:
            fk = _fence_kind(tok)
            if fk in BLOCK_KINDS:
                side = "answer" if answer_at is not None and tok.map[0] > answer_at else "question"
                if kind == "cloze":
                    side = "answer"
                blocks.append(Block(kind=fk, side=side, line=tok.map[0] + 1, text=tok.content))
        loc_line = start + 1
        raw_text = "\n".join(self.lines[start:end])
        chash = content_hash(remove_id_comments(raw_text))
        common: dict[str, Any] = dict(
            id=explicit_id or "",
            id_explicit=explicit_id is not None,
            path=self.path,
            line=loc_line,
            end_line=end,
            blocks=tuple(blocks),
            context=card["context"],
            meta=self.meta,
            deck=self.meta.deck or self.default_deck,
            index=index,
            content_hash=chash,
        )
        if kind == "basic":
            if answer_at is None:
                self.problem(
                    loc_line,
                    "error",
                    "missing-answer",
                    "card has a question but no answer",
                    "start the answer on its own line with `A:`",
                )
                question = "\n".join(body).strip()
                return (
                    Note(kind="basic", question=question, answer="", **common) if question else None
                )
            split = answer_at - start
            question = "\n".join(body[:split]).strip()
            answer_first = ANSWER_RE.sub("", body[split], count=1)
            answer = "\n".join([answer_first.strip(), *body[split + 1 :]]).strip()
            if not _visible(question):
                self.problem(
                    loc_line,
                    "error",
                    "empty-question",
                    "the question is empty",
                    "write the question after `Q:`",
                )
            if not _visible(answer):
                self.problem(
                    answer_at + 1,
                    "error",
                    "empty-answer",
                    "the answer is empty",
                    "write the answer after `A:`",
                )
            return Note(
                kind="basic", question=question, answer=answer, answer_line=answer_at + 1, **common
            )
        text = "\n".join(body).strip("\n")
        before = len(self.problems)
        deletions = self._deletions(text, start, body)
        if not deletions and len(self.problems) == before:
            self.problem(
                loc_line,
                "error",
                "cloze-without-deletion",
                "cloze card has no deletions",
                "hide text with {{c1::text}} (or {{c1::text::hint}})",
            )
        return Note(kind="cloze", question=text, deletions=tuple(deletions), **common)

    def _deletions(self, text: str, start: int, body: list[str]) -> list[Deletion]:
        # offsets in `text` -> source lines (text is `body` joined, leading newlines stripped)
        joined = "\n".join(body)
        lead_lines = joined[: len(joined) - len(joined.lstrip("\n"))].count("\n")
        newlines = [i for i, ch in enumerate(text) if ch == "\n"]

        def line_of(offset: int) -> int:
            return start + 1 + bisect.bisect_left(newlines, offset) + lead_lines

        out: list[Deletion] = []
        for typo in CLOZE_TYPO_RE.finditer(text):
            self.problem(
                line_of(typo.start()),
                "error",
                "cloze-syntax",
                f"malformed cloze deletion `{typo.group(0)}`",
                "write deletions as {{c1::text}} or {{c1::text::hint}}",
            )
        closes = _brace_closes(text)
        pos = 0
        while True:
            m = CLOZE_OPEN_RE.search(text, pos)
            if not m:
                break
            number = int(m.group(1)) if len(m.group(1)) < 6 else 10**6
            close = closes(m.end())
            if close is None:
                self.problem(
                    line_of(m.start()),
                    "error",
                    "cloze-unbalanced",
                    f"cloze deletion c{m.group(1)[:8]} is never closed (unbalanced braces)",
                    "every `{` inside a deletion needs its `}`, and the deletion ends with `}}`",
                )
                pos = m.end()
                continue
            hint_at = _hint_at(text, m.end(), close)
            inner_end = hint_at if hint_at is not None else close
            body_text = text[m.end() : inner_end]
            hint = text[hint_at + 2 : close] if hint_at is not None else None
            if number < 1:
                self.problem(
                    line_of(m.start()),
                    "error",
                    "cloze-number",
                    "cloze numbers start at c1",
                    "renumber the deletion c1, c2, ...",
                )
            elif not body_text.strip():
                self.problem(
                    line_of(m.start()),
                    "error",
                    "cloze-empty",
                    f"cloze deletion c{number} is empty",
                    "put the hidden text after `::`",
                )
            else:
                out.append(
                    Deletion(
                        number=number,
                        text=body_text,
                        hint=hint,
                        line=line_of(m.start()),
                        start=m.start(),
                        end=close + 2,
                    )
                )
            pos = close + 2
        return out


def _brace_closes(text: str) -> Callable[[int], int | None]:
    """For a deletion whose text starts at `p`: the offset of its closing `}}`, or None.

    A deletion ends at the first unescaped `}` at its own brace depth, and only if a second
    `}` follows. Scanning from each `{{c1::` rescans the rest of the text for every unclosed
    one (quadratic: 50k unclosed deletions took minutes); instead one pass records the brace
    balance before every unescaped `}`, and the close of `p` is the first `}` at or after `p`
    whose balance equals the balance at `p` (a binary search)."""
    balance = 0
    at: list[int] = []  # balance before offset `p`, sampled at every unescaped brace
    offsets: list[int] = []
    by_level: dict[int, list[int]] = {}
    j = 0
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\" and j + 1 < n:
            j += 2
            continue
        if ch == "{":
            offsets.append(j)
            at.append(balance)
            balance += 1
        elif ch == "}":
            offsets.append(j)
            at.append(balance)
            by_level.setdefault(balance, []).append(j)
            balance -= 1
        j += 1

    def close_of(p: int) -> int | None:
        k = bisect.bisect_left(offsets, p)
        level = at[k] if k < len(at) else balance
        candidates = by_level.get(level, [])
        c = bisect.bisect_left(candidates, p)
        if c == len(candidates):
            return None
        q = candidates[c]
        return q if text.startswith("}}", q) else None

    return close_of


def _hint_at(text: str, begin: int, close: int) -> int | None:
    """The first `::` at the deletion's own depth between `begin` and its close."""
    depth = 0
    j = begin
    while j < close:
        ch = text[j]
        if ch == "\\" and j + 1 < close:
            j += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ":" and depth == 0 and text.startswith("::", j):
            return j
        j += 1
    return None


def parse_text_reference(text: str, path: str, default_deck: str = "dlcards") -> ParsedFile:
    """The old pipeline's `parse_text`."""
    return _RefBuilder(path, text, default_deck).build()
