"""Markdown text -> notes with source lines. Pure: no file reads, no clock.

Cards are found on markdown-it-py's block tokens (so `Q:` inside code fences, `$$` math
blocks and HTML comments never starts a card); each token's `map` gives its source lines.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.model import BLOCK_KINDS, ID_RE, Block, DeckMeta, Deletion, Note

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

PARSER_VERSION = "1"

ID_COMMENT_RE = re.compile(r"[ \t]*<!--\s*id:\s*(.*?)\s*-->")
NEWLINE_RE = re.compile(r"\r\n?")
CLOZE_OPEN_RE = re.compile(r"\{\{c(\d+)::")
CLOZE_TYPO_RE = re.compile(r"\{\{c\d+:(?!:)|\{\{C\d+::|\{\{c::")
CARD_PREFIX_RE = re.compile(r"^(Q|C):(?=\s|$)")
ANSWER_RE = re.compile(r"^ {0,3}A:(?=\s|$)")
CARD_START_TYPES = ("paragraph_open",)
ENDS_CARD = ("heading_open", "hr")


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


def normalize_newlines(text: str) -> str:
    """Strip a UTF-8 BOM and turn CRLF / CR into LF, keeping the number of lines."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return NEWLINE_RE.sub("\n", text)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class _Builder:
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
        try:
            data = yaml.safe_load(token.content)
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

    # -- cards --------------------------------------------------------------------------
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

    def _check_fence_closed(self, tok: Token) -> None:
        assert tok.map is not None
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
        m = ID_COMMENT_RE.search(first)
        if m:
            raw_id = m.group(1)
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
            first = first[: m.start()] + first[m.end() :]
        first = CARD_PREFIX_RE.sub("", first.lstrip(), count=1)
        if first.startswith(" "):
            first = first[1:]
        body = [first, *self.lines[start + 1 : end]]

        # blocks, and which lines are prose (where an `A:` may start the answer)
        prose_lines: set[int] = set()
        fences: list[Token] = []
        for tok in card["tokens"]:
            assert tok.map is not None
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
                assert tok.map is not None
                side = "answer" if answer_at is not None and tok.map[0] > answer_at else "question"
                if kind == "cloze":
                    side = "answer"
                blocks.append(Block(kind=fk, side=side, line=tok.map[0] + 1, text=tok.content))
        loc_line = start + 1
        raw_text = "\n".join(self.lines[start:end])
        chash = content_hash(ID_COMMENT_RE.sub("", raw_text))
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
        lead = len("\n".join(body)) - len("\n".join(body).lstrip("\n"))

        def line_of(offset: int) -> int:
            return start + 1 + text.count("\n", 0, offset) + ("\n".join(body)[:lead].count("\n"))

        out: list[Deletion] = []
        pos = 0
        for typo in CLOZE_TYPO_RE.finditer(text):
            self.problem(
                line_of(typo.start()),
                "error",
                "cloze-syntax",
                f"malformed cloze deletion `{typo.group(0)}`",
                "write deletions as {{c1::text}} or {{c1::text::hint}}",
            )
        while True:
            m = CLOZE_OPEN_RE.search(text, pos)
            if not m:
                break
            number = int(m.group(1))
            depth = 0
            j = m.end()
            hint_at: int | None = None
            close: int | None = None
            while j < len(text):
                ch = text[j]
                if ch == "\\" and j + 1 < len(text):
                    j += 2
                    continue
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    if depth == 0:
                        if text.startswith("}}", j):
                            close = j
                            break
                        break  # a lone '}' at depth 0: unbalanced
                    depth -= 1
                elif ch == ":" and depth == 0 and hint_at is None and text.startswith("::", j):
                    hint_at = j
                    j += 2
                    continue
                j += 1
            if close is None:
                self.problem(
                    line_of(m.start()),
                    "error",
                    "cloze-unbalanced",
                    f"cloze deletion c{number} is never closed (unbalanced braces)",
                    "every `{` inside a deletion needs its `}`, and the deletion ends with `}}`",
                )
                pos = m.end()
                continue
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


def _fence_kind(tok: Token) -> str:
    return tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""


def _visible(markdown: str) -> bool:
    return bool(re.sub(r"<!--.*?-->", "", markdown, flags=re.S).strip())


def _describe_pydantic_error(key: str, err: Any) -> str:
    if key == "week":
        return f"must be a positive integer, not {err.get('input')!r}"
    if key == "topic":
        return f"must be a slug (lowercase letters, digits, '-', '_'), not {err.get('input')!r}"
    return str(err.get("msg", "invalid value"))


def _front_matter_hint(key: str) -> str | None:
    return {
        "week": "write e.g. `week: 3`",
        "topic": "write e.g. `topic: softmax`",
        "tags": "write e.g. `tags: [math, pytorch]` (tags cannot contain spaces)",
        "requires": "write e.g. `requires: [gradients]` (topic slugs)",
        "deck": "write e.g. `deck: Deep Learning`",
    }.get(key)


def parse_text(text: str, path: str, default_deck: str = "dlcards") -> ParsedFile:
    """Parse one deck file's text. Never raises on user input: problems are collected."""
    return _Builder(path, text, default_deck).build()
