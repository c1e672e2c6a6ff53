"""Text similarity for the prune ranking: normalising prose, near-duplicate notes (rapidfuzz),
the card an orphaned history most likely belongs to now, and counting facts in an answer. Pure.

rapidfuzz is imported inside the functions that need it: `dlcards list` and the stats never pay
for it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Protocol

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


def _fenced(text: str) -> bool:
    """Whether `text` may hold a fenced block (each regex below runs only on a text holding
    the characters it needs to match)."""
    return "```" in text or "~~~" in text


def normalize(text: str) -> str:
    """Prose for similarity: comments, fenced blocks, markup and case removed, spaces collapsed."""
    text = strip_html_comments(text, " ")
    if _fenced(text):
        text = FENCE_RE.sub(" ", text)
    if "{{" in text:
        text = _CLOZE_TEXT_RE.sub(r"\1", text)
    text = _MARKUP_RE.sub(" ", text)
    return " ".join(text.lower().split())


def code_of(text: str) -> str:
    """The content of the fenced blocks of `text` (what a code card asks about), spaces collapsed."""
    if not _fenced(text):
        return ""
    return " ".join(" ".join(m.group(2) for m in FENCE_BODY_RE.finditer(text)).split())


def exact_parts(text: str) -> tuple[str, str]:
    """(math and numbers, code) of a question, whitespace removed: what must match exactly for
    two questions to be duplicates (one changed symbol in a formula or snippet, or "two" instead
    of "three", makes another card)."""
    prose = strip_html_comments(text, " ")
    if _fenced(prose):
        prose = FENCE_RE.sub(" ", prose)
    math = ""
    if "$" in prose:
        math = "|".join(_SPACES_RE.sub("", m.group(0)) for m in MATH_RE.finditer(prose))
        prose = MATH_RE.sub(" ", prose)
    words = _WORD_RE.findall(prose.lower())
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
    similarity (rounded to 0.1), sorted by the two notes' files and lines.

    Questions must have identical math and code (whitespace aside) and prose similarity of at
    least DUPLICATE_QUESTION, so code cards sharing a stem ("What shape does this print?") or
    formula cards differing in one symbol are not duplicates; answers compare prose and code
    together (at least DUPLICATE_ANSWER)."""
    pairs = duplicate_arrays(notes)
    return list(
        zip(
            pairs.first.tolist(),
            pairs.second.tolist(),
            pairs.question.tolist(),
            pairs.answer.tolist(),
            strict=True,
        )
    )


class DuplicateArrays(NamedTuple):
    """`duplicate_pairs` as columns (numpy arrays, one row per pair, in the same order)."""

    first: Any  # int64: index of the earlier note of the pair in its group
    second: Any  # int64
    question: Any  # float64, rounded to 0.1 as `round(q, 1)` rounds
    answer: Any  # float64
    place: Any  # int64, per note: its rank by (path, line) (`place_ranks`)


def duplicate_arrays(notes: list[Note]) -> DuplicateArrays:
    """`duplicate_pairs` as columns.

    Only notes of the same kind with the same math, numbers and code (`exact_parts`) are
    compared, and within such a group every pair is decided without a rapidfuzz `ratio` call
    per pair: `ratio` is 100 * (1 - d / (len(a) + len(b))) with d the Indel distance (inserts
    and deletes), and d does not change when a prefix and a suffix common to every text of the
    group are cut off (a longest common subsequence takes them whole). The group's texts are cut
    so, their distances computed in one `cdist` per chunk of rows (short texts take rapidfuzz's
    SIMD path), and only the pairs whose distances allow both thresholds (a necessary condition,
    with a margin) get `fuzz.ratio` on the whole texts, through the same calls as before
    (`score_cutoff` for the question), which decide: the same pairs and the same scores as
    comparing every pair with `fuzz.ratio` (tests/test_prune_check_s4.py)."""
    import numpy as np

    empty = DuplicateArrays(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), None
    )
    if len(notes) < 2:
        return empty
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Indel

    groups: dict[tuple[str, tuple[str, str]], list[int]] = {}
    for i, n in enumerate(notes):
        groups.setdefault((n.kind, exact_parts(n.question)), []).append(i)
    groups = {k: m for k, m in groups.items() if len(m) > 1}
    if not groups:
        return empty
    qs: dict[int, str] = {}
    ans: dict[int, str] = {}
    for members in groups.values():
        for i in members:
            n = notes[i]
            qs[i] = normalize(n.question)
            ans[i] = (normalize(n.answer) + " " + code_of(n.answer)).strip()
    firsts: list[Any] = []
    seconds: list[Any] = []
    q_scores: list[Any] = []
    a_scores: list[Any] = []
    q_room = 100.0 - DUPLICATE_QUESTION
    a_room = 100.0 - DUPLICATE_ANSWER
    for members in groups.values():
        g = np.array(members, dtype=np.int64)
        gq = [qs[i] for i in members]
        ga = [ans[i] for i in members]
        cut_q, cut_a = _trimmed(gq), _trimmed(ga)
        len_q = np.array([len(t) for t in gq], dtype=np.int64)
        len_a = np.array([len(t) for t in ga], dtype=np.int64)
        # the largest distance either threshold allows in this group (larger ones: cutoff + 1)
        max_q = int(q_room * 2 * int(len_q.max()) / 100) + 1
        max_a = int(a_room * 2 * int(len_a.max()) / 100) + 1
        size = len(members)
        dense_a = 32 if max(len(t) for t in cut_a) <= _SIMD_CHARS else 2
        obj_a, obj_q = _objects(cut_a), _objects(cut_q)
        for start in range(0, size - 1, _ROWS):
            stop = min(start + _ROWS, size)
            r, c = _close(obj_q, len_q, start, stop, q_room, max_q)
            r, c = r + start, c + start + 1  # positions in the group
            if not len(r):
                continue
            # many candidates: the whole block in one call (cheap for texts of at most 64
            # characters: rapidfuzz compares several at once), else the candidates alone
            if dense_a * len(r) >= (stop - start) * (size - start - 1):
                da = process.cdist(
                    cut_a[start:stop],
                    cut_a[start + 1 :],
                    scorer=Indel.distance,
                    score_cutoff=max_a,
                    dtype=np.int32,
                )[r - start, c - start - 1]
                keep = 100 * da <= a_room * (len_a[r] + len_a[c]) + 1
            else:
                da = process.cpdist(
                    obj_a[r].tolist(),
                    obj_a[c].tolist(),
                    scorer=Indel.distance,
                    score_cutoff=max_a,
                    dtype=np.int32,
                )
                keep = 100 * da <= a_room * (len_a[r] + len_a[c]) + 1
            r, c = r[keep], c[keep]
            if not len(r):
                continue
            # the verdict: rapidfuzz's own scores on the whole texts, as before
            q = process.cpdist(
                [gq[k] for k in r.tolist()],
                [gq[k] for k in c.tolist()],
                scorer=fuzz.ratio,
                score_cutoff=DUPLICATE_QUESTION,
                dtype=np.float64,
            )
            a = process.cpdist(
                [ga[k] for k in r.tolist()],
                [ga[k] for k in c.tolist()],
                scorer=fuzz.ratio,
                dtype=np.float64,
            )
            hit = (q >= DUPLICATE_QUESTION) & (a >= DUPLICATE_ANSWER)
            firsts.append(g[r[hit]])
            seconds.append(g[c[hit]])
            q_scores.append(q[hit])
            a_scores.append(a[hit])
    if not firsts:
        return empty
    first = np.concatenate(firsts)
    second = np.concatenate(seconds)
    # sorted by (path, line) of the first note, then of the second, then the indices: the
    # order of a plain sort of (path_i, line_i, path_j, line_j, i, j) tuples
    place = place_ranks(notes)
    n_notes = len(notes)
    order = np.lexsort((first * n_notes + second, place[first] * n_notes + place[second]))
    return DuplicateArrays(
        first[order],
        second[order],
        _round1(np.concatenate(q_scores)[order]),
        _round1(np.concatenate(a_scores)[order]),
        place,
    )


_SIMD_CHARS = 64  # rapidfuzz compares texts up to this long several at a time
_PIECE = 32  # ... and eight at a time (AVX2) up to this long


def _close(cut: Any, full_len: Any, start: int, stop: int, room: float, max_d: int) -> Any:
    """The pairs (row, column) of the block of rows `start:stop` against the texts after
    `start` (column 0 is text `start + 1`), the row before the column, whose Indel distance
    d (of the cut texts `cut`, a numpy array of str: the distance of the whole texts, of
    lengths `full_len`) allows the similarity threshold 100 - `room`:
    100 * d <= room * (len + len') + 1. `max_d`: at least the largest d the threshold allows
    in the group."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import Indel, LCSseq

    rows, cols = cut[start:stop].tolist(), cut[start + 1 :].tolist()
    bound = room * (full_len[start:stop, None] + full_len[None, start + 1 :]) + 1
    longest = max(len(t) for t in rows)
    if longest <= _SIMD_CHARS:
        d = process.cdist(rows, cols, scorer=Indel.distance, score_cutoff=max_d, dtype=np.int32)
        r, c = np.nonzero(100 * d <= bound)
        later = c >= r  # each pair once: i before j in the group
        return r[later], c[later]
    # longer texts: first an upper bound on their longest common subsequence, the sum of the
    # row text's 32-character pieces' (a common subsequence splits at the pieces' borders),
    # which rapidfuzz computes eight rows at a time; the exact distance for what it leaves
    lcs = process.cdist([t[:_PIECE] for t in rows], cols, scorer=LCSseq.similarity, dtype=np.int32)
    for k in range(_PIECE, longest, _PIECE):
        lcs += process.cdist(
            [t[k : k + _PIECE] for t in rows], cols, scorer=LCSseq.similarity, dtype=np.int32
        )
    row_len = np.array([len(t) for t in rows], dtype=np.int64)
    col_len = np.array([len(t) for t in cols], dtype=np.int64)
    r, c = np.nonzero(100 * (row_len[:, None] + col_len[None, :] - 2 * lcs) <= bound)
    later = c >= r
    r, c = r[later], c[later]
    if not len(r):
        return r, c
    d = process.cpdist(
        cut[start + r].tolist(),
        cut[start + 1 + c].tolist(),
        scorer=Indel.distance,
        score_cutoff=max_d,
        dtype=np.int32,
    )
    keep = 100 * d <= bound[r, c]
    return r[keep], c[keep]


def _objects(texts: list[str]) -> Any:
    """`texts` as a 1-d numpy array of str objects (for fancy indexing)."""
    import numpy as np

    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


def _common_prefix(texts: list[str]) -> int:
    """The length of the prefix all `texts` share (that of the least and the greatest)."""
    if not texts:
        return 0
    lo, hi = min(texts), max(texts)
    n = 0
    for a, b in zip(lo, hi, strict=False):
        if a != b:
            break
        n += 1
    return n


def _trimmed(texts: list[str]) -> list[str]:
    """`texts` without the prefix and the suffix all of them share."""
    head = _common_prefix(texts)
    rest = [t[head:] for t in texts]
    tail = _common_prefix([t[::-1] for t in rest])
    return [t[: len(t) - tail] for t in rest] if tail else rest


def place_ranks(notes: list[Note]) -> Any:
    """Each note's rank by (path, line), equal places sharing a rank (numpy int64)."""
    import numpy as np

    places = sorted({(n.path, n.line) for n in notes})
    rank = {p: k for k, p in enumerate(places)}
    return np.array([rank[(n.path, n.line)] for n in notes], dtype=np.int64)


def _round1(values: Any) -> Any:
    """`round(x, 1)` of each float (Python's correctly rounded decimal rounding, which
    `np.round` is not), once per distinct value."""
    import numpy as np

    if not len(values):
        return values
    distinct, where = np.unique(values, return_inverse=True)
    return np.array([round(x, 1) for x in distinct.tolist()], dtype=np.float64)[where]


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
