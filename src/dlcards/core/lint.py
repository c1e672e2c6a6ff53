"""Minimum-information lint: warnings a careful author wants. Pure."""

from __future__ import annotations

import re
from collections import defaultdict

from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.model import Note

FENCE_RE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
DISPLAY_MATH_RE = re.compile(r"\$\$.*?\$\$", re.S)
INLINE_MATH_RE = re.compile(r"\$[^$\n]+\$")
CODE_SPAN_RE = re.compile(r"`[^`\n]+`")
SENTENCE_END_RE = re.compile(r"[.;!?](\s|$)")


def prose_words(markdown: str) -> int:
    """Words a learner reads: code blocks dropped, each math span counted as one word."""
    text = FENCE_RE.sub(" ", markdown)
    text = DISPLAY_MATH_RE.sub(" M ", text)
    text = INLINE_MATH_RE.sub(" M ", text)
    text = CODE_SPAN_RE.sub(" C ", text)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    return len([w for w in re.split(r"\s+", text) if re.search(r"\w", w)])


def _plain(markdown: str) -> str:
    text = FENCE_RE.sub(" ", markdown)
    text = re.sub(r"[`*_$\\{}]", "", text)
    return " ".join(text.lower().split()).strip(" .")


def lint_note(note: Note, answer_word_limit: int) -> list[Problem]:
    out: list[Problem] = []
    if note.kind == "basic" and note.answer:
        words = prose_words(note.answer)
        if words > answer_word_limit:
            out.append(
                Problem(
                    SourceLocation(note.path, note.answer_line or note.line),
                    "warning",
                    "long-answer",
                    f"answer has {words} words (limit {answer_word_limit}): hard to recall as one fact",
                    "split it into several cards, or move detail into a separate card",
                )
            )
        answer = _plain(note.answer)
        question = _plain(note.question)
        if len(answer) >= 4 and answer in question:
            out.append(
                Problem(
                    SourceLocation(note.path, note.line),
                    "warning",
                    "answer-in-question",
                    "the question contains its own answer",
                    "reword the question so that it does not give the answer away",
                )
            )
    for side, text, line in (
        ("question", note.question, note.line),
        ("answer", note.answer, note.answer_line or note.line),
    ):
        if _odd_dollars(text):
            out.append(
                Problem(
                    SourceLocation(note.path, line),
                    "warning",
                    "unclosed-math",
                    f"the {side if note.kind == 'basic' else 'text'} has an unmatched `$`: its math is shown as raw LaTeX",
                    "close inline math with `$` and display math with `$$` (write `\\$` for a dollar sign)",
                )
            )
    if note.kind == "cloze":
        by_number: dict[int, list[int]] = defaultdict(list)
        for d in note.deletions:
            by_number[d.number].append(d.start)
        for number, starts in sorted(by_number.items()):
            if len(starts) < 2:
                continue
            first, last = min(starts), max(starts)
            between = note.question[first:last]
            if len(starts) >= 3 or SENTENCE_END_RE.search(_strip_deletions(between)):
                line = min(d.line for d in note.deletions if d.number == number)
                out.append(
                    Problem(
                        SourceLocation(note.path, line),
                        "warning",
                        "cloze-same-number",
                        f"c{number} hides {len(starts)} separate pieces: one card asks several facts at once",
                        "number unrelated deletions c1, c2, ... unless they only make sense together",
                    )
                )
        for d in note.deletions:
            hidden = _plain(d.text)
            rest = _plain(note.question[: d.start] + note.question[d.end :])
            if len(hidden) >= 4 and re.search(rf"\b{re.escape(hidden)}\b", rest):
                out.append(
                    Problem(
                        SourceLocation(note.path, d.line),
                        "warning",
                        "answer-in-question",
                        f"the text hidden by c{d.number} also appears unhidden in the card",
                        "reword so the visible text does not give the deletion away",
                    )
                )
    return out


def _odd_dollars(markdown: str) -> bool:
    text = FENCE_RE.sub(" ", markdown)
    text = CODE_SPAN_RE.sub(" ", text)
    text = text.replace("\\$", "")
    return text.count("$") % 2 == 1


def _strip_deletions(text: str) -> str:
    return re.sub(r"\{\{c\d+::.*?\}\}", "X", text, flags=re.S)
