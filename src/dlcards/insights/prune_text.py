"""Text similarity for the prune ranking: normalising prose, near-duplicate notes (rapidfuzz),
the card an orphaned history most likely belongs to now, and counting facts in an answer. Pure.

rapidfuzz is imported inside the functions that need it: `dlcards list` and the stats never pay
for it.
"""

from __future__ import annotations

import re
from typing import Protocol

from dlcards.core.comments import strip_html_comments
from dlcards.core.lint import FENCE_RE
from dlcards.core.model import Note

DUPLICATE_QUESTION = 85.0
DUPLICATE_ANSWER = 60.0
RELINK_MIN_SCORE = 40.0
_ROWS = 256  # questions compared with their whole group per rapidfuzz call (memory: rows x group)


class OrphanLike(Protocol):
    """What the store knows of a card no longer in the Markdown (`dlcards.store.CardInfo`)."""

    @property
    def card_id(self) -> str: ...
    @property
    def note_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...


# -- text helpers -----------------------------------------------------------------------------
LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.M)
SENTENCE_RE = re.compile(r"[.!?](?:\s|$)")
ABBREV_RE = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|approx|resp|w\.r\.t|Fig|Eq)\.", re.I)
NUMBER_WORDS = {
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "half",
    "twice",
    "double",
    "triple",
}
MATH_RE = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)


FENCE_BODY_RE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)
_CLOZE_TEXT_RE = re.compile(r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", re.S)
_MARKUP_RE = re.compile(r"[`*_#>|\\]")
_SPACES_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Prose for similarity: comments, fenced blocks, markup and case removed, spaces collapsed."""
    text = strip_html_comments(text, " ")
    text = FENCE_RE.sub(" ", text)
    text = _CLOZE_TEXT_RE.sub(r"\1", text)
    text = _MARKUP_RE.sub(" ", text)
    return " ".join(text.lower().split())


def code_of(text: str) -> str:
    """The content of the fenced blocks of `text` (what a code card asks about), spaces collapsed."""
    return " ".join(" ".join(m.group(2) for m in FENCE_BODY_RE.finditer(text)).split())


def exact_parts(text: str) -> tuple[str, str]:
    """(math and numbers, code) of a question, whitespace removed: what must match exactly for
    two questions to be duplicates (one changed symbol in a formula or snippet, or "two" instead
    of "three", makes another card)."""
    prose = FENCE_RE.sub(" ", strip_html_comments(text, " "))
    math = "|".join(_SPACES_RE.sub("", m.group(0)) for m in MATH_RE.finditer(prose))
    words = _WORD_RE.findall(MATH_RE.sub(" ", prose).lower())
    numbers = " ".join(sorted(w for w in words if w.isdigit() or w in NUMBER_WORDS))
    return math + "#" + numbers, _SPACES_RE.sub("", code_of(text))


def similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return 100.0 if not a and not b else float(fuzz.ratio(a, b))


def fact_counts(answer: str) -> tuple[int, int]:
    """(list items, sentences) of an answer's prose."""
    prose = FENCE_RE.sub(" ", answer)
    items = len(LIST_ITEM_RE.findall(prose))
    prose = MATH_RE.sub(" M ", prose)
    prose = LIST_ITEM_RE.sub(" ", prose)
    prose = ABBREV_RE.sub("abbrev", prose)
    # a sentence of fewer than three words ("No.", "Yes, always.") is not a fact of its own
    sentences = len([s for s in SENTENCE_RE.split(prose) if len(re.findall(r"\w+", s)) >= 3])
    return items, sentences


# -- duplicates and relinking ----------------------------------------------------------------
def find_duplicates(notes: list[Note]) -> list[tuple[Note, Note, float, float]]:
    """Pairs of notes whose questions and answers are near-identical (rapidfuzz `ratio`):
    `duplicate_pairs` with the notes themselves."""
    return [(notes[i], notes[j], q, a) for i, j, q, a in duplicate_pairs(notes)]


def duplicate_pairs(notes: list[Note]) -> list[tuple[int, int, float, float]]:
    """Pairs of notes (their indices in `notes`, the first one earlier in the group) whose
    questions and answers are near-identical (rapidfuzz `ratio`), with the question and answer
    similarity, sorted by the two notes' files and lines.

    Questions must have identical math and code (whitespace aside) and prose similarity of at
    least DUPLICATE_QUESTION, so code cards sharing a stem ("What shape does this print?") or
    formula cards differing in one symbol are not duplicates; answers compare prose and code
    together (at least DUPLICATE_ANSWER)."""
    if len(notes) < 2:
        return []
    import numpy as np
    from rapidfuzz import fuzz, process

    qs = [normalize(n.question) for n in notes]
    ans = [(normalize(n.answer) + " " + code_of(n.answer)).strip() for n in notes]
    # only notes of the same kind with the same math, numbers and code can be duplicates:
    # comparing within those groups instead of all pairs is what keeps 10k cards fast
    groups: dict[tuple[str, tuple[str, str]], list[int]] = {}
    for i, n in enumerate(notes):
        groups.setdefault((n.kind, exact_parts(n.question)), []).append(i)
    out: list[tuple[str, int, str, int, int, int, float, float]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        # every pair of the group at once in rapidfuzz's C loops (`cdist`, then `cpdist` for
        # the answers of the question hits): the scores `process.extract` / `fuzz.ratio` give
        for start in range(0, len(members) - 1, _ROWS):
            rows = members[start : start + _ROWS]
            after = members[start + 1 :]  # the members after the chunk's first row
            scores = process.cdist(
                [qs[i] for i in rows],
                [qs[j] for j in after],
                scorer=fuzz.ratio,
                score_cutoff=DUPLICATE_QUESTION,
                dtype=np.float64,
            )
            r, c = np.nonzero(scores >= DUPLICATE_QUESTION)
            later = c >= r  # each pair once: i before j in the group
            r, c = r[later], c[later]
            if not len(r):
                continue
            first = [rows[k] for k in r.tolist()]
            second = [after[k] for k in c.tolist()]
            answers = process.cpdist(
                [ans[i] for i in first],
                [ans[j] for j in second],
                scorer=fuzz.ratio,
                dtype=np.float64,
            )
            for i, j, q, a in zip(
                first, second, scores[r, c].tolist(), answers.tolist(), strict=True
            ):
                if a >= DUPLICATE_ANSWER:
                    ni, nj = notes[i], notes[j]
                    out.append((ni.path, ni.line, nj.path, nj.line, i, j, round(q, 1), round(a, 1)))
    out.sort()  # by the two notes' places (a plain tuple sort: no key function per pair)
    return [(i, j, q, a) for *_, i, j, q, a in out]


def relink_candidate(
    orphan: OrphanLike, notes: list[Note], has_history: set[str], orphan_text: str | None = None
) -> tuple[str | None, float]:
    """The card with no history most likely to be `orphan` under a new id, and its score."""
    from rapidfuzz import fuzz

    ordinal = orphan.card_id.rsplit("/c", 1)[1] if "/c" in orphan.card_id else None
    best: tuple[float, str] | None = None
    for note in notes:
        for cid in note.card_ids():
            if cid in has_history:
                continue
            score = 0.0
            if note.path == orphan.path:
                score += 40 + 20 / (1 + abs(note.line - orphan.line) / 5)
            if note.kind == orphan.kind:
                score += 10
            card_ord = cid.rsplit("/c", 1)[1] if "/c" in cid else None
            if ordinal is not None and card_ord == ordinal:
                score += 10
            if orphan_text:
                score += 0.5 * fuzz.ratio(normalize(orphan_text), normalize(note.question))
            if best is None or score > best[0]:
                best = (score, cid)
    if best is None or best[0] < RELINK_MIN_SCORE:
        return None, 0.0 if best is None else round(best[0], 1)
    return best[1], round(best[0], 1)
