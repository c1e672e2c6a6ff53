"""Finding cards on markdown-it's block tokens: notes, blocks, cloze deletions; `parse_text`."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from dlcards.core.model import BLOCK_KINDS, ID_RE, Block, DeckMeta, Deletion, Note
from dlcards.core.parse.base import ParsedFile, _fence_kind, _visible
from dlcards.core.parse.blocks import Blk, markdown_it_blocks, top_blocks
from dlcards.core.parse.front_matter import _FrontMatter
from dlcards.core.parse.text import (
    ANSWER_RE,
    CARD_PREFIX_RE,
    CLOZE_OPEN_RE,
    CLOZE_TYPO_RE,
    ENDS_CARD,
    content_hash,
    find_id_comment,
    remove_id_comments,
)


class _Builder(_FrontMatter):
    # -- cards --------------------------------------------------------------------------
    def build(self, reference: bool = False) -> ParsedFile:
        """The notes and problems of the file. `reference`: find the blocks with markdown-it's
        full parse (the slow path `top_blocks` reproduces; for tests and comparisons)."""
        blocks = markdown_it_blocks(self.text) if reference else top_blocks(self.text, self.lines)
        headings: list[tuple[int, str]] = []
        context: tuple[str, ...] = ()  # the titles of `headings`
        cards: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        for tok in blocks:
            start, end = tok.map
            kind = tok.type
            if kind == "front_matter":
                self.front_matter(tok)
            elif kind == "fence" or kind == "code_block":
                if kind == "fence":
                    self._check_fence_closed(tok)
                if current is not None:
                    current["tokens"].append(tok)
                    current["end"] = end
                elif kind == "fence" and _fence_kind(tok) in BLOCK_KINDS:
                    self.problem(
                        start + 1,
                        "warning",
                        "block-outside-card",
                        f"`{_fence_kind(tok)}` block outside any card is never checked",
                        "put it after the card's `Q:`/`A:` or `C:` paragraph",
                    )
            elif kind in ENDS_CARD:
                current = None
                if kind == "heading_open":
                    level = int(tok.tag[1])
                    title = tok.content.strip()
                    headings = [h for h in headings if h[0] < level] + [(level, title)]
                    context = tuple(h[1] for h in headings)
            elif kind == "paragraph_open" and CARD_PREFIX_RE.match(tok.content):
                current = {
                    "start": start,
                    "end": end,
                    "tokens": [tok],
                    "context": context,
                }
                cards.append(current)
            elif current is not None:
                current["tokens"].append(tok)
                current["end"] = max(current["end"], end)
        notes = [self._note(index, c) for index, c in enumerate(cards)]
        return ParsedFile(self.path, self.meta, [n for n in notes if n is not None], self.problems)

    def _check_fence_closed(self, tok: Blk) -> None:
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
        # the hash is of the note's lines without id comments (`remove_id_comments`, which
        # works line by line: the first line's comment is already found)
        rest = remove_id_comments("\n".join(self.lines[start + 1 : end]))
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
            hashed = remove_id_comments(first)
        else:
            hashed = first
        if end > start + 1:
            hashed += "\n" + rest
        first = CARD_PREFIX_RE.sub("", first.lstrip(), count=1)
        if first.startswith(" "):
            first = first[1:]
        body = [first, *self.lines[start + 1 : end]]

        # blocks, and the answer: the first prose line (of a paragraph) after the first that
        # starts with `A:` (the card's tokens are in source order and do not overlap)
        answer_at: int | None = None
        fences: list[Blk] = []
        lines = self.lines
        for tok in card["tokens"]:
            if tok.type == "paragraph_open":
                if kind == "basic" and answer_at is None:
                    for ln in range(max(tok.map[0], start + 1), min(tok.map[1], end)):
                        if ANSWER_RE.match(lines[ln]):
                            answer_at = ln
                            break
            elif tok.type == "fence":
                fences.append(tok)
        blocks = []
        for tok in fences:
            fk = _fence_kind(tok)
            if fk in BLOCK_KINDS:
                side = "answer" if answer_at is not None and tok.map[0] > answer_at else "question"
                if kind == "cloze":
                    side = "answer"
                blocks.append(_new_block(kind=fk, side=side, line=tok.map[0] + 1, text=tok.content))
        loc_line = start + 1
        chash = content_hash(hashed)
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
                    _new_note(kind="basic", question=question, answer="", **common)
                    if question
                    else None
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
            return _new_note(
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
        return _new_note(kind="cloze", question=text, deletions=tuple(deletions), **common)

    def _deletions(self, text: str, start: int, body: list[str]) -> list[Deletion]:
        # offsets in `text` -> source lines (text is `body` joined, leading newlines stripped)
        joined = "\n".join(body)
        lead_lines = joined[: len(joined) - len(joined.lstrip("\n"))].count("\n")
        newlines = [m.start() for m in _NEWLINE.finditer(text)]

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
                    _new_deletion(
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


# -- notes without pydantic's validation ---------------------------------------------------
# `Note(**fields)` validates each of its 16 fields (~2.5 µs a note against ~1.1 µs here: ~0.07 s
# of a 50k-card cold start; pydantic's own `model_construct` is slower than validating, ~7 µs)
# although the builder makes every value with its field's type. `_new_note` (and `_new_block`,
# `_new_deletion`) make the same object pydantic would (its fields in order, `fields_set` the
# names given), and are used only when probe objects made both ways pickle identically (else
# they validate, as before).
#
# The `fields_set` of the objects made here is one set per model and list of names, shared
# (issue 16, cold start: a set of 14 names is ~730 bytes, a note's own copy was 29 MiB of the
# 50k-card collection's ~100 MiB of notes). The models are frozen: pydantic never changes an
# instance's set in place (`model_copy` copies it first; the probe checks that too).
_TEMPLATES: dict[type[BaseModel], dict[str, Any]] = {}
_FIELDS_SETS: dict[tuple[type[BaseModel], tuple[str, ...]], set[str]] = {}
_FAST_NOTES: bool | None = None
_M = TypeVar("_M", bound=BaseModel)
_new_object = object.__new__
_set_attr = object.__setattr__


def _new_note(**fields: Any) -> Note:
    if _FAST_NOTES is None:
        _probe_fast_notes()
    return _fast_model(Note, fields) if _FAST_NOTES else Note(**fields)


def _new_block(**fields: Any) -> Block:
    if _FAST_NOTES is None:
        _probe_fast_notes()
    return _fast_model(Block, fields) if _FAST_NOTES else Block(**fields)


def _new_deletion(**fields: Any) -> Deletion:
    if _FAST_NOTES is None:
        _probe_fast_notes()
    return _fast_model(Deletion, fields) if _FAST_NOTES else Deletion(**fields)


def _fast_model(cls: type[_M], fields: dict[str, Any]) -> _M:
    values = _TEMPLATES[cls].copy()
    values.update(fields)
    key = (cls, tuple(fields))
    fields_set = _FIELDS_SETS.get(key)
    if fields_set is None:
        fields_set = _FIELDS_SETS.setdefault(key, set(fields))
    obj: _M = _new_object(cls)
    _set_attr(obj, "__dict__", values)
    _set_attr(obj, "__pydantic_fields_set__", fields_set)
    _set_attr(obj, "__pydantic_extra__", None)
    _set_attr(obj, "__pydantic_private__", None)
    return obj


def _same_object(fast: BaseModel, slow: BaseModel) -> bool:
    """Whether an object made here is what pydantic makes, and keeps its shared set as is."""
    shared = fast.__pydantic_fields_set__
    before = set(shared)
    copy = fast.model_copy(update={"line": 7})
    try:  # frozen: assigning a field raises before pydantic adds to the set
        fast.line = 9  # type: ignore[attr-defined]
    except Exception:
        pass
    else:
        return False
    return (
        fast.__getstate__() == slow.__getstate__()
        and list(fast.__dict__) == list(slow.__dict__)
        and shared == before
        and copy.__pydantic_fields_set__ is not shared
    )


def _probe_fast_notes() -> None:
    global _FAST_NOTES
    try:
        for cls in (Note, Block, Deletion):
            _TEMPLATES[cls] = {
                name: None if info.is_required() else info.get_default(call_default_factory=True)
                for name, info in cls.model_fields.items()
            }
        block: dict[str, Any] = dict(kind="check", side="answer", line=3, text="1\n")
        deletion: dict[str, Any] = dict(number=1, text="a", hint=None, line=2, start=0, end=9)
        probe: dict[str, Any] = dict(
            id="x",
            id_explicit=True,
            kind="cloze",
            path="p.md",
            line=2,
            end_line=3,
            question="{{c1::a}}",
            deletions=(Deletion(**deletion),),
            blocks=(Block(**block),),
            context=("h",),
            meta=DeckMeta(week=1),
            deck="d",
            index=0,
            content_hash="0" * 16,
        )
        _FAST_NOTES = (
            _same_object(_fast_model(Block, block), Block(**block))
            and _same_object(_fast_model(Deletion, deletion), Deletion(**deletion))
            and _same_object(_fast_model(Note, probe), Note(**probe))
        )
    except Exception:  # pragma: no cover - another pydantic: validate every note
        _FAST_NOTES = False


_NEWLINE = re.compile("\n")
# an escaped character (skipped), or a brace
_BRACE_OR_ESCAPE = re.compile(r"\\[\s\S]|[{}]")
# an escaped character (skipped), a brace, or `::`
_BRACE_ESCAPE_OR_HINT = re.compile(r"\\[\s\S]|[{}]|::")


def _brace_closes(text: str) -> Callable[[int], int | None]:
    """For a deletion whose text starts at `p`: the offset of its closing `}}`, or None.

    A deletion ends at the first unescaped `}` at its own brace depth, and only if a second
    `}` follows. Scanning from each `{{c1::` rescans the rest of the text for every unclosed
    one (quadratic: 50k unclosed deletions took minutes); instead one pass records the brace
    balance before every unescaped `}`, and the close of `p` is the first `}` at or after `p`
    whose balance equals the balance at `p` (a binary search). A backslash escapes the
    character after it (the regex skips both, as the scan did)."""
    balance = 0
    at: list[int] = []  # balance before offset `p`, sampled at every unescaped brace
    offsets: list[int] = []
    by_level: dict[int, list[int]] = {}
    for m in _BRACE_OR_ESCAPE.finditer(text):
        ch = m.group()
        if ch == "{":
            offsets.append(m.start())
            at.append(balance)
            balance += 1
        elif ch == "}":
            j = m.start()
            offsets.append(j)
            at.append(balance)
            by_level.setdefault(balance, []).append(j)
            balance -= 1

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
    for m in _BRACE_ESCAPE_OR_HINT.finditer(text, begin, close):
        ch = m.group()
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "::" and depth == 0:
            return m.start()
    return None


def parse_text(
    text: str, path: str, default_deck: str = "dlcards", *, reference: bool = False
) -> ParsedFile:
    """Parse one deck file's text. Never raises on user input: problems are collected.
    `reference`: find the blocks with markdown-it's full parse (the same result, slower)."""
    return _Builder(path, text, default_deck).build(reference)
