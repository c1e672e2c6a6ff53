"""The week-8 prune: a ranked list of cards worth a second look. Pure: no I/O, `now` is a parameter.

Each `PruneItem` carries its `Reason`s (a code, a sentence, the numbers behind it and a
weight); an item's score is the sum of its weights, and the list is sorted by score. Reasons:

| code | when | weight |
|---|---|---|
| `leech` | lapses >= half the leech threshold (at least 2), or the card is flagged leech | 2 + lapses/threshold * 4 |
| `difficult` | FSRS difficulty >= 8 (of 10) | (difficulty - 7) * 1.5 |
| `low-retention` | >= 4 retention reviews and pass rate < 75% | 1 + (0.75 - rate) * 10 |
| `long-answer` | answer prose words > `answer_word_limit` | 1 + 2 * excess / limit (max 5) |
| `several-facts` | answer with >= 3 list items or >= 3 sentences; a cloze number hiding several pieces | 1.5 |
| `duplicate` | same math and code in the questions, prose similarity >= 85 and answer similarity >= 60 (rapidfuzz) | 2 + (q - 85) / 5 + 0.5 per further match (max 2) |
| `never-reviewed` | no review although cards of a later study week have been reviewed | 1 |
| `long-suspended` | suspended, last review >= 30 days ago or never | 1 + days / 60 (max 4) |
| `orphan` | history in the store under an id no file has any more | 2 + reviews / 5 (max 6) |

Note-level reasons (`long-answer`, `several-facts`, `duplicate`) are attached to the first card
of the note. An orphan is offered the most similar card that has no history yet (same file,
kind, cloze number and nearby line; question text when the store knows it) for relinking.
A *kept* reason (the learner chose "keep") is `(card_id, code)`; kept reasons are dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dlcards.core.lint import FENCE_RE, lint_note, prose_words
from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc
from dlcards.insights.stats import Calendar, first_retention_reviews, ratio

DIFFICULT_AT = 8.0
LOW_RETENTION_BELOW = 0.75
LOW_RETENTION_MIN_REVIEWS = 4
DUPLICATE_QUESTION = 85.0
DUPLICATE_ANSWER = 60.0
LONG_SUSPENDED_DAYS = 30
RELINK_MIN_SCORE = 40.0

REASON_LABELS = {
    "leech": "leech",
    "difficult": "difficult",
    "low-retention": "low retention",
    "long-answer": "long answer",
    "several-facts": "several facts",
    "duplicate": "near-duplicate",
    "never-reviewed": "never reviewed",
    "long-suspended": "long suspended",
    "orphan": "orphaned history",
}


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


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    weight: float
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "weight": round(self.weight, 3),
            "numbers": self.numbers,
        }


@dataclass(frozen=True)
class PruneItem:
    card_id: str
    note_id: str
    path: str | None
    line: int | None
    end_line: int | None
    question: str
    reasons: tuple[Reason, ...]
    orphan: bool = False
    relink_to: str | None = None
    reviews: int = 0

    @property
    def score(self) -> float:
        return round(sum(r.weight for r in self.reasons), 3)

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "card_id": self.card_id,
            "note_id": self.note_id,
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line,
            "question": self.question,
            "score": self.score,
            "orphan": self.orphan,
            "relink_to": self.relink_to,
            "reviews": self.reviews,
            "reasons": [r.to_dict() for r in self.reasons],
        }


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


def normalize(text: str) -> str:
    """Prose for similarity: comments, fenced blocks, markup and case removed, spaces collapsed."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = FENCE_RE.sub(" ", text)
    text = re.sub(r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", r"\1", text, flags=re.S)
    text = re.sub(r"[`*_#>|\\]", " ", text)
    return " ".join(text.lower().split())


def code_of(text: str) -> str:
    """The content of the fenced blocks of `text` (what a code card asks about), spaces collapsed."""
    return " ".join(" ".join(m.group(2) for m in FENCE_BODY_RE.finditer(text)).split())


def exact_parts(text: str) -> tuple[str, str]:
    """(math and numbers, code) of a question, whitespace removed: what must match exactly for
    two questions to be duplicates (one changed symbol in a formula or snippet, or "two" instead
    of "three", makes another card)."""
    prose = FENCE_RE.sub(" ", re.sub(r"<!--.*?-->", " ", text, flags=re.S))
    math = "|".join(re.sub(r"\s+", "", m.group(0)) for m in MATH_RE.finditer(prose))
    words = re.findall(r"\w+", MATH_RE.sub(" ", prose).lower())
    numbers = " ".join(sorted(w for w in words if w.isdigit() or w in NUMBER_WORDS))
    return math + "#" + numbers, re.sub(r"\s+", "", code_of(text))


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


# -- the report -------------------------------------------------------------------------------
def find_duplicates(notes: list[Note]) -> list[tuple[Note, Note, float, float]]:
    """Pairs of notes whose questions and answers are near-identical (rapidfuzz `ratio`).

    Questions must have identical math and code (whitespace aside) and prose similarity of at
    least DUPLICATE_QUESTION, so code cards sharing a stem ("What shape does this print?") or
    formula cards differing in one symbol are not duplicates; answers compare prose and code
    together (at least DUPLICATE_ANSWER)."""
    if len(notes) < 2:
        return []
    from rapidfuzz import fuzz, process

    qs = [normalize(n.question) for n in notes]
    ans = [(normalize(n.answer) + " " + code_of(n.answer)).strip() for n in notes]
    # only notes of the same kind with the same math, numbers and code can be duplicates:
    # comparing within those groups instead of all pairs is what keeps 10k cards fast
    groups: dict[tuple[str, tuple[str, str]], list[int]] = {}
    for i, n in enumerate(notes):
        groups.setdefault((n.kind, exact_parts(n.question)), []).append(i)
    out = []
    for members in groups.values():
        for pos, i in enumerate(members[:-1]):
            rest = members[pos + 1 :]
            hits = process.extract(
                qs[i],
                [qs[j] for j in rest],
                scorer=fuzz.ratio,
                score_cutoff=DUPLICATE_QUESTION,
                limit=None,
            )
            for _, score, k in hits:
                j = rest[k]
                a = similarity(ans[i], ans[j])
                if a >= DUPLICATE_ANSWER:
                    out.append((notes[i], notes[j], round(float(score), 1), round(a, 1)))
    out.sort(key=lambda p: (p[0].path, p[0].line, p[1].path, p[1].line))
    return out


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


def prune_report(
    notes: list[Note],
    reviews: list[ReviewEntry],
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
    *,
    now: datetime,
    calendar: Calendar,
    answer_word_limit: int = 40,
    leech_threshold: int = 8,
    orphans: Iterable[OrphanLike] = (),
    orphan_texts: dict[str, str] | None = None,
    kept: Iterable[tuple[str, str]] = (),
    retrievability: Callable[[CardState, datetime], float | None] | None = None,
) -> list[PruneItem]:
    """The ranked prune list (highest score first; ties by file and line)."""
    now = require_utc(now)
    kept_set = {(str(c), str(r)) for c, r in kept}
    reasons: dict[str, list[Reason]] = defaultdict(list)
    card_note: dict[str, Note] = {}
    for note in notes:
        for cid in note.card_ids():
            card_note[cid] = note
    reviews_of: dict[str, list[ReviewEntry]] = defaultdict(list)
    for e in reviews:
        reviews_of[e.card_id].append(e)

    # history-based reasons
    retained_of: dict[str, list[ReviewEntry]] = defaultdict(list)
    for _, e in first_retention_reviews(reviews, calendar):
        retained_of[e.card_id].append(e)
    leech_at = max(2, leech_threshold // 2)
    for cid in card_note:
        st = states.get(cid)
        fl = flags.get(cid)
        lapses = st.lapses if st is not None else 0
        lapses = max(
            lapses,
            sum(
                1
                for e in reviews_of.get(cid, [])
                if e.rating == Rating.AGAIN and e.before.phase == "review"
            ),
        )
        if lapses >= leech_at or (fl is not None and fl.leech):
            reasons[cid].append(
                Reason(
                    "leech",
                    f"{lapses} lapse{'s' if lapses != 1 else ''} (leech threshold {leech_threshold})",
                    2 + lapses / leech_threshold * 4,
                    {
                        "lapses": lapses,
                        "threshold": leech_threshold,
                        "flagged": bool(fl and fl.leech),
                    },
                )
            )
        if (
            st is not None
            and st.difficulty is not None
            and st.difficulty >= DIFFICULT_AT
            and st.phase != "new"
        ):
            r_now = retrievability(st, now) if retrievability else None
            reasons[cid].append(
                Reason(
                    "difficult",
                    f"FSRS difficulty {st.difficulty:.1f} of 10",
                    (st.difficulty - 7) * 1.5,
                    {
                        "difficulty": round(st.difficulty, 3),
                        "stability": None if st.stability is None else round(st.stability, 3),
                        "retrievability": None if r_now is None else round(r_now, 4),
                    },
                )
            )
        got = retained_of.get(cid, [])
        if len(got) >= LOW_RETENTION_MIN_REVIEWS:
            passed = sum(1 for e in got if e.rating != Rating.AGAIN)
            rate = ratio(passed, len(got) - passed)
            assert rate is not None
            if rate < LOW_RETENTION_BELOW:
                reasons[cid].append(
                    Reason(
                        "low-retention",
                        f"recalled {passed} of {len(got)} times ({rate * 100:.0f}%)",
                        1 + (LOW_RETENTION_BELOW - rate) * 10,
                        {"passed": passed, "failed": len(got) - passed, "retention": rate},
                    )
                )
        if fl is not None and fl.suspended:
            last = st.last_review if st is not None else None
            days = None if last is None else (now - last).days
            if days is None or days >= LONG_SUSPENDED_DAYS:
                text = (
                    "suspended and never reviewed"
                    if days is None
                    else f"suspended, last review {days} days ago"
                )
                weight = 1 + min(3.0, (days if days is not None else 90) / 60)
                reasons[cid].append(
                    Reason("long-suspended", text, weight, {"days_since_review": days})
                )

    # never reviewed although later weeks were studied
    studied_weeks = [
        card_note[c].meta.week
        for c, es in reviews_of.items()
        if es and c in card_note and card_note[c].meta.week
    ]
    latest = max((w for w in studied_weeks if w is not None), default=None)
    for cid, note in card_note.items():
        if reviews_of.get(cid) or (flags.get(cid) and flags[cid].suspended):
            continue
        st = states.get(cid)
        if st is not None and st.phase != "new":
            continue
        if latest is not None and note.meta.week is not None and note.meta.week < latest:
            reasons[cid].append(
                Reason(
                    "never-reviewed",
                    f"never reviewed, though week {latest} cards have been",
                    1.0,
                    {"week": note.meta.week, "latest_studied_week": latest},
                )
            )

    # note-level reasons, on the note's first card
    for note in notes:
        first = note.card_ids()[0] if note.card_ids() else note.id
        if note.kind == "basic" and note.answer:
            words = prose_words(note.answer)
            if words > answer_word_limit:
                excess = words - answer_word_limit
                reasons[first].append(
                    Reason(
                        "long-answer",
                        f"answer has {words} words (limit {answer_word_limit})",
                        min(5.0, 1 + 2 * excess / answer_word_limit),
                        {"words": words, "limit": answer_word_limit},
                    )
                )
            n_items, sentences = fact_counts(note.answer)
            if n_items >= 3 or sentences >= 3:
                what = f"{n_items} list items" if n_items >= 3 else f"{sentences} sentences"
                reasons[first].append(
                    Reason(
                        "several-facts",
                        f"answer holds several facts ({what})",
                        1.5,
                        {"list_items": n_items, "sentences": sentences},
                    )
                )
        if note.kind == "cloze":
            for p in lint_note(note, answer_word_limit):
                if p.code == "cloze-same-number":
                    reasons[first].append(
                        Reason("several-facts", p.message, 1.5, {"line": p.location.line})
                    )
    dups: dict[str, list[tuple[float, float, Note]]] = defaultdict(list)
    for a, b, q, ans in find_duplicates(notes):
        for this, other in ((a, b), (b, a)):
            dups[this.card_ids()[0] if this.card_ids() else this.id].append((q, ans, other))
    for cid, matches in dups.items():
        matches.sort(key=lambda m: (-m[0], -m[1], m[2].path, m[2].line))
        q, ans, other = matches[0]
        more = f" and {len(matches) - 1} more" if len(matches) > 1 else ""
        reasons[cid].append(
            Reason(
                "duplicate",
                f"near-duplicate of {other.path}:{other.line}{more} ({q:.0f}% question, {ans:.0f}% answer)",
                2 + (q - DUPLICATE_QUESTION) / 5 + 0.5 * min(4, len(matches) - 1),
                {
                    "other": other.card_ids()[0] if other.card_ids() else other.id,
                    "other_where": f"{other.path}:{other.line}",
                    "question_similarity": q,
                    "answer_similarity": ans,
                    "others": [m[2].card_ids()[0] if m[2].card_ids() else m[2].id for m in matches],
                },
            )
        )

    items: list[PruneItem] = []
    for cid, rs in reasons.items():
        rs = [r for r in rs if (cid, r.code) not in kept_set]
        if not rs:
            continue
        note = card_note[cid]
        items.append(
            PruneItem(
                cid,
                note.id,
                note.path,
                note.line,
                note.end_line,
                note.first_question_line,
                tuple(sorted(rs, key=lambda r: -r.weight)),
                reviews=len(reviews_of.get(cid, [])),
            )
        )

    # orphans
    has_history = {c for c, es in reviews_of.items() if es} | {
        c for c, s in states.items() if s.phase != "new"
    }
    for orphan in orphans:
        if (orphan.card_id, "orphan") in kept_set or orphan.card_id in card_note:
            continue
        n = len(reviews_of.get(orphan.card_id, []))
        old_text = (orphan_texts or {}).get(orphan.card_id)
        target, score = relink_candidate(orphan, notes, has_history, old_text)
        msg = f"{n} review{'s' if n != 1 else ''} under an id no deck file has any more"
        if target:
            msg += f"; relink to {target}?"
        items.append(
            PruneItem(
                orphan.card_id,
                orphan.note_id,
                orphan.path,
                orphan.line,
                None,
                _first_line(old_text) if old_text else f"(was at {orphan.path}:{orphan.line})",
                (
                    Reason(
                        "orphan",
                        msg,
                        2 + min(4.0, n / 5),
                        {
                            "reviews": n,
                            "was_at": f"{orphan.path}:{orphan.line}",
                            "relink_to": target,
                            "match_score": score,
                        },
                    ),
                ),
                orphan=True,
                relink_to=target,
                reviews=n,
            )
        )

    items.sort(key=lambda it: (-it.score, it.path or "", it.line or 0, it.card_id))
    return items


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
