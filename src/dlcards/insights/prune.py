"""The week-8 prune: a ranked list of cards worth a second look. Pure: no I/O, `now` is a parameter.

Each `PruneItem` carries its `Reason`s (a code, a sentence, the numbers behind it and a
weight); an item's score is the sum of its weights, and the list is sorted by score. Reasons
(one function each below):

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
The typed items and their JSON shapes live in `dlcards.insights.prune_report`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from datetime import datetime
from typing import TYPE_CHECKING

from dlcards.core.calendar import StudyCalendar
from dlcards.core.lint import lint_note, prose_words
from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc
from dlcards.insights.prune_report import (
    REASON_LABELS,
    PruneItem,
    PruneReport,
    Reason,
)
from dlcards.insights.prune_text import (
    DUPLICATE_ANSWER,
    DUPLICATE_QUESTION,
    RELINK_MIN_SCORE,
    OrphanLike,
    code_of,
    duplicate_arrays,
    exact_parts,
    fact_counts,
    find_duplicates,
    normalize,
    relink_candidate,
    similarity,
)
from dlcards.insights.retention import (
    CardFiguresLike,
    Retrievability,
    first_retention_reviews,
    is_lapse,
    ratio,
)
from dlcards.insights.state_arrays import NEW

if TYPE_CHECKING:
    from dlcards.insights.state_arrays import FlagArrays, StateArrays

__all__ = [
    "DUPLICATE_ANSWER",
    "DUPLICATE_QUESTION",
    "REASON_LABELS",
    "RELINK_MIN_SCORE",
    "OrphanLike",
    "PruneItem",
    "PruneReport",
    "Reason",
    "code_of",
    "exact_parts",
    "fact_counts",
    "find_duplicates",
    "normalize",
    "prune_report",
    "prune_report_of",
    "relink_candidate",
    "similarity",
]

DIFFICULT_AT = 8.0
LOW_RETENTION_BELOW = 0.75
LOW_RETENTION_MIN_REVIEWS = 4
LONG_SUSPENDED_DAYS = 30


def _first_card(note: Note) -> str:
    ids = note.card_ids()
    return ids[0] if ids else note.id


# -- history-based reasons, per card ----------------------------------------------------------
def leech_reason(
    state: CardState | None,
    flags: CardFlags | None,
    reviews: list[ReviewEntry],
    leech_threshold: int,
) -> Reason | None:
    return leech_reason_of(state, flags, sum(1 for e in reviews if is_lapse(e)), leech_threshold)


def leech_reason_of(
    state: CardState | None, flags: CardFlags | None, log_lapses: int, leech_threshold: int
) -> Reason | None:
    """`leech_reason` given the number of lapses in the card's review log."""
    lapses = max(state.lapses if state is not None else 0, log_lapses)
    flagged = bool(flags and flags.leech)
    if lapses < max(2, leech_threshold // 2) and not flagged:
        return None
    return Reason(
        "leech",
        f"{lapses} lapse{'s' if lapses != 1 else ''} (leech threshold {leech_threshold})",
        2 + lapses / leech_threshold * 4,
        {"lapses": lapses, "threshold": leech_threshold, "flagged": flagged},
    )


def difficult_reason(
    state: CardState | None, now: datetime, retrievability: Retrievability | None
) -> Reason | None:
    if state is None or state.difficulty is None or state.difficulty < DIFFICULT_AT:
        return None
    if state.phase == "new":
        return None
    r_now = retrievability(state, now) if retrievability else None
    return Reason(
        "difficult",
        f"FSRS difficulty {state.difficulty:.1f} of 10",
        (state.difficulty - 7) * 1.5,
        {
            "difficulty": round(state.difficulty, 3),
            "stability": None if state.stability is None else round(state.stability, 3),
            "retrievability": None if r_now is None else round(r_now, 4),
        },
    )


def low_retention_reason(retained: list[ReviewEntry]) -> Reason | None:
    """`retained`: the card's first retention review of each study day."""
    passed = sum(1 for e in retained if e.rating != Rating.AGAIN)
    return low_retention_of(passed, len(retained) - passed)


def low_retention_of(passed: int, failed: int) -> Reason | None:
    """`low_retention_reason` given the passes and fails of the card's retained reviews."""
    if passed + failed < LOW_RETENTION_MIN_REVIEWS:
        return None
    rate = ratio(passed, failed)
    if rate is None or rate >= LOW_RETENTION_BELOW:
        return None
    return Reason(
        "low-retention",
        f"recalled {passed} of {passed + failed} times ({rate * 100:.0f}%)",
        1 + (LOW_RETENTION_BELOW - rate) * 10,
        {"passed": passed, "failed": failed, "retention": rate},
    )


def long_suspended_reason(
    state: CardState | None, flags: CardFlags | None, now: datetime
) -> Reason | None:
    if flags is None or not flags.suspended:
        return None
    last = state.last_review if state is not None else None
    days = None if last is None else (now - last).days
    if days is not None and days < LONG_SUSPENDED_DAYS:
        return None
    text = (
        "suspended and never reviewed"
        if days is None
        else f"suspended, last review {days} days ago"
    )
    weight = 1 + min(3.0, (days if days is not None else 90) / 60)
    return Reason("long-suspended", text, weight, {"days_since_review": days})


def never_reviewed_reasons(
    card_note: dict[str, Note],
    reviews_of: dict[str, list[ReviewEntry]],
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
) -> list[tuple[str, Reason]]:
    """Cards never reviewed (nor suspended) from a study week before the latest one studied."""
    reviewed = {c for c, es in reviews_of.items() if es}
    skip = (
        reviewed
        | {c for c, f in flags.items() if f.suspended}
        | {c for c, s in states.items() if s.phase != "new"}
    )
    return never_reviewed_of(card_note, reviewed, skip)


def never_reviewed_of(
    card_note: dict[str, Note], reviewed: Set[str], skip: Set[str]
) -> list[tuple[str, Reason]]:
    """`never_reviewed_reasons` given the cards with reviews and the cards not to list
    (reviewed, suspended or started)."""
    studied = [card_note[c].meta.week for c in reviewed if c in card_note]
    latest = max((w for w in studied if w), default=None)
    if latest is None:
        return []
    out = []
    for cid, note in card_note.items():
        if cid in skip:
            continue
        if note.meta.week is not None and note.meta.week < latest:
            reason = Reason(
                "never-reviewed",
                f"never reviewed, though week {latest} cards have been",
                1.0,
                {"week": note.meta.week, "latest_studied_week": latest},
            )
            out.append((cid, reason))
    return out


# -- note-level reasons, on the note's first card ---------------------------------------------
def long_answer_reason(note: Note, limit: int) -> Reason | None:
    if note.kind != "basic" or not note.answer:
        return None
    words = prose_words(note.answer)
    if words <= limit:
        return None
    return Reason(
        "long-answer",
        f"answer has {words} words (limit {limit})",
        min(5.0, 1 + 2 * (words - limit) / limit),
        {"words": words, "limit": limit},
    )


def several_facts_reasons(note: Note, answer_word_limit: int) -> list[Reason]:
    """A basic answer with >= 3 list items or sentences; a cloze number hiding several pieces."""
    out = []
    if note.kind == "basic" and note.answer:
        n_items, sentences = fact_counts(note.answer)
        if n_items >= 3 or sentences >= 3:
            what = f"{n_items} list items" if n_items >= 3 else f"{sentences} sentences"
            out.append(
                Reason(
                    "several-facts",
                    f"answer holds several facts ({what})",
                    1.5,
                    {"list_items": n_items, "sentences": sentences},
                )
            )
    numbers = [d.number for d in note.deletions] if note.kind == "cloze" else []
    if len(set(numbers)) < len(numbers):  # lint's `cloze-same-number` needs a repeated number
        for p in lint_note(note, answer_word_limit):
            if p.code == "cloze-same-number":
                out.append(Reason("several-facts", p.message, 1.5, {"line": p.location.line}))
    return out


def duplicate_reasons(notes: list[Note]) -> list[tuple[str, Reason]]:
    """One `duplicate` reason per note that has near-duplicates, naming the closest (highest
    question, then answer similarity, then file and line), in the order the notes first appear
    in `duplicate_pairs` (the earlier note of a pair first).

    Built from the pairs as columns: one sort of every (note, other) match by note, -question
    %, -answer %, the other's (path, line) and index, which is the order a sort of each note's
    (-q, -a, path, line, index) tuples gives (tests/test_prune_check_s4.py holds the per-pair
    version as the reference)."""
    import numpy as np

    pairs = duplicate_arrays(notes)
    n_pairs = len(pairs.first)
    if not n_pairs:
        return []
    # every match twice: (i, j) as i's and as j's, in the order of the pairs
    me = np.empty(2 * n_pairs, dtype=np.int64)
    other = np.empty(2 * n_pairs, dtype=np.int64)
    me[0::2], me[1::2] = pairs.first, pairs.second
    other[0::2], other[1::2] = pairs.second, pairs.first
    q = np.repeat(pairs.question, 2)
    a = np.repeat(pairs.answer, 2)
    place, n = pairs.place, len(notes)
    # two integer keys instead of five (a float sort is slow): the similarities are rounded to
    # 0.1 in [0, 100], so ten times them are exact integers that sort as they do
    q10, a10 = np.rint(q * 10).astype(np.int64), np.rint(a * 10).astype(np.int64)
    exact = np.array_equal(q10 / 10, q) and np.array_equal(a10 / 10, a)
    if exact and min(q10.min(), a10.min()) >= 0 and max(q10.max(), a10.max()) <= 1000:
        by_note = (me * 1001 + (1000 - q10)) * 1001 + (1000 - a10)
        order = np.lexsort((place[other] * n + other, by_note))
    else:
        order = np.lexsort((other, place[other], -a, -q, me))
    me, other, q, a = me[order], other[order], q[order], a[order]
    starts = np.flatnonzero(np.r_[True, me[1:] != me[:-1]])
    ends = np.r_[starts[1:], len(me)]
    # notes in the order they first appear in the pairs (where each match came from)
    first_seen = np.minimum.reduceat(order, starts)
    involved = np.unique(me)
    card = np.empty(len(notes), dtype=object)
    card[involved] = [_first_card(notes[k]) for k in involved.tolist()]
    others = card[other].tolist()
    where = {k: f"{notes[k].path}:{notes[k].line}" for k in np.unique(other[starts]).tolist()}
    out = []
    for g in np.argsort(first_seen, kind="stable").tolist():
        s, e = int(starts[g]), int(ends[g])
        qg, ag, top, n = float(q[s]), float(a[s]), int(other[s]), e - s
        more = f" and {n - 1} more" if n > 1 else ""
        reason = Reason(
            "duplicate",
            f"near-duplicate of {where[top]}{more} ({qg:.0f}% question, {ag:.0f}% answer)",
            2 + (qg - DUPLICATE_QUESTION) / 5 + 0.5 * min(4, n - 1),
            {
                "other": others[s],
                "other_where": where[top],
                "question_similarity": qg,
                "answer_similarity": ag,
                "others": others[s:e],
            },
        )
        out.append((card[int(me[s])], reason))
    return out


# -- orphans ----------------------------------------------------------------------------------
def orphan_item(
    orphan: OrphanLike,
    reviews: int,
    notes: list[Note],
    has_history: set[str],
    old_text: str | None,
    flag: int = 0,
) -> PruneItem:
    """An orphaned history, with the card it most likely belongs to now (and its question,
    shown beside the orphan's last known one)."""
    target, score = relink_candidate(orphan, notes, has_history, old_text)
    target_note = next((n for n in notes if target in n.card_ids()), None) if target else None
    msg = f"{reviews} review{'s' if reviews != 1 else ''} under an id no deck file has any more"
    if target:
        msg += f"; relink to {target}?"
    reason = Reason(
        "orphan",
        msg,
        2 + min(4.0, reviews / 5),
        {
            "reviews": reviews,
            "was_at": f"{orphan.path}:{orphan.line}",
            "relink_to": target,
            "match_score": score,
        },
    )
    return PruneItem(
        orphan.card_id,
        orphan.note_id,
        orphan.path,
        orphan.line,
        None,
        old_text.strip() if old_text else f"(was at {orphan.path}:{orphan.line})",
        (reason,),
        orphan=True,
        relink_to=target,
        reviews=reviews,
        flag=flag,
        relink_question=None if target_note is None else target_note.question.strip(),
    )


# -- the report -------------------------------------------------------------------------------
def card_item(
    note: Note, card_id: str, reasons: list[Reason], reviews: int, flag: int = 0
) -> PruneItem:
    """A card of the decks (its whole question) with its reasons, heaviest first."""
    return PruneItem(
        card_id,
        note.id,
        note.path,
        note.line,
        note.end_line,
        note.question.strip(),
        tuple(sorted(reasons, key=lambda r: -r.weight)),
        reviews=reviews,
        flag=flag,
    )


def prune_report(
    notes: list[Note],
    reviews: list[ReviewEntry],
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
    *,
    now: datetime,
    calendar: StudyCalendar,
    answer_word_limit: int = 40,
    leech_threshold: int = 8,
    orphans: Iterable[OrphanLike] = (),
    orphan_texts: dict[str, str] | None = None,
    kept: Iterable[tuple[str, str]] = (),
    retrievability: Retrievability | None = None,
) -> list[PruneItem]:
    """The ranked prune list (highest score first; ties by file and line)."""
    now = require_utc(now)
    kept_set = {(str(c), str(r)) for c, r in kept}
    card_note = {cid: note for note in notes for cid in note.card_ids()}
    reviews_of: dict[str, list[ReviewEntry]] = defaultdict(list)
    for e in reviews:
        reviews_of[e.card_id].append(e)
    retained_of: dict[str, list[ReviewEntry]] = defaultdict(list)
    for _, e in first_retention_reviews(reviews, calendar):
        retained_of[e.card_id].append(e)

    found: list[tuple[str, Reason | None]] = []
    for cid in card_note:
        st, fl = states.get(cid), flags.get(cid)
        found += [
            (cid, leech_reason(st, fl, reviews_of.get(cid, []), leech_threshold)),
            (cid, difficult_reason(st, now, retrievability)),
            (cid, low_retention_reason(retained_of.get(cid, []))),
            (cid, long_suspended_reason(st, fl, now)),
        ]
    found += never_reviewed_reasons(card_note, reviews_of, states, flags)
    has_history = {c for c, es in reviews_of.items() if es} | {
        c for c, s in states.items() if s.phase != "new"
    }
    return _ranked(
        notes,
        card_note,
        found,
        kept_set,
        {c: len(es) for c, es in reviews_of.items()},
        {c: f.flag for c, f in flags.items()},
        has_history,
        answer_word_limit,
        orphans,
        orphan_texts,
    )


def prune_report_of(
    notes: list[Note],
    cards: Mapping[str, CardFiguresLike],
    states: StateArrays,
    flags: FlagArrays,
    *,
    now: datetime,
    answer_word_limit: int = 40,
    leech_threshold: int = 8,
    orphans: Iterable[OrphanLike] = (),
    orphan_texts: dict[str, str] | None = None,
    kept: Iterable[tuple[str, str]] = (),
    retrievability: Retrievability | None = None,
) -> list[PruneItem]:
    """`prune_report` from the review log's per-card figures (`LogFigures.cards`: reviews,
    lapses, retained passes and fails, read in one columnar pass by
    `dlcards.store.stats_queries.log_figures`) and the states and flags as columns
    (`dlcards.store.state_columns`): the same ranked list, without a review object.
    `CardState` / `CardFlags` objects are built only for the cards whose columns leave a
    history-based reason possible."""
    import numpy as np

    from dlcards.core.state import CardFlags as Flags

    now = require_utc(now)
    kept_set = {(str(c), str(r)) for c, r in kept}
    card_note = {cid: note for note in notes for cid in note.card_ids()}
    ids = list(card_note)
    st = states.aligned(ids)
    fl = flags.aligned(ids)
    figs = [cards.get(c) for c in ids]
    log_lapses = np.array([0 if f is None else f.lapses for f in figs], dtype=np.int64)
    retained = np.array([0 if f is None else f.passed + f.failed for f in figs], dtype=np.int64)
    # a superset of the cards with a leech / difficult / low-retention / long-suspended reason
    possible = (
        fl.leech
        | fl.suspended
        | (np.maximum(st.lapses, log_lapses) >= max(2, leech_threshold // 2))
        | ((st.difficulty >= DIFFICULT_AT) & (st.phase != NEW))
        | (retained >= LOW_RETENTION_MIN_REVIEWS)
    )
    stored = set(states.ids)
    flagged = set(flags.ids)
    found: list[tuple[str, Reason | None]] = []
    for i in np.nonzero(possible)[0].tolist():
        cid = ids[i]
        state = st.state(i) if cid in stored else None
        flag = (
            Flags(
                cid, bool(fl.suspended[i]), fl.buried_until[i], int(fl.flag[i]), bool(fl.leech[i])
            )
            if cid in flagged
            else None
        )
        f = figs[i]
        found += [
            (cid, leech_reason_of(state, flag, int(log_lapses[i]), leech_threshold)),
            (cid, difficult_reason(state, now, retrievability)),
            (cid, None if f is None else low_retention_of(f.passed, f.failed)),
            (cid, long_suspended_reason(state, flag, now)),
        ]
    reviewed = {c for c, f in cards.items() if f.reviews}
    started = {c for c, p in zip(states.ids, (states.phase != NEW).tolist(), strict=True) if p}
    suspended = {c for c, s in zip(flags.ids, flags.suspended.tolist(), strict=True) if s}
    found += never_reviewed_of(card_note, reviewed, reviewed | suspended | started)
    return _ranked(
        notes,
        card_note,
        found,
        kept_set,
        {c: f.reviews for c, f in cards.items()},
        dict(zip(flags.ids, flags.flag.tolist(), strict=True)),
        reviewed | started,
        answer_word_limit,
        orphans,
        orphan_texts,
    )


def _ranked(
    notes: list[Note],
    card_note: dict[str, Note],
    found: list[tuple[str, Reason | None]],
    kept_set: set[tuple[str, str]],
    n_reviews: dict[str, int],
    flag_of: dict[str, int],
    has_history: set[str],
    answer_word_limit: int,
    orphans: Iterable[OrphanLike],
    orphan_texts: dict[str, str] | None,
) -> list[PruneItem]:
    """The per-card reasons `found` so far, then the note-level ones and the orphans, ranked."""
    for note in notes:  # note-level reasons go on the note's first card
        found.append((_first_card(note), long_answer_reason(note, answer_word_limit)))
        found += [(_first_card(note), r) for r in several_facts_reasons(note, answer_word_limit)]
    found += duplicate_reasons(notes)

    reasons: dict[str, list[Reason]] = defaultdict(list)
    for cid, reason in found:
        if reason is not None and (cid, reason.code) not in kept_set:
            reasons[cid].append(reason)
    items = [
        card_item(card_note[c], c, rs, n_reviews.get(c, 0), flag_of.get(c, 0))
        for c, rs in reasons.items()
    ]
    for orphan in orphans:
        if (orphan.card_id, "orphan") in kept_set or orphan.card_id in card_note:
            continue
        old_text = (orphan_texts or {}).get(orphan.card_id)
        n = n_reviews.get(orphan.card_id, 0)
        flag = flag_of.get(orphan.card_id, 0)
        items.append(orphan_item(orphan, n, notes, has_history, old_text, flag))

    items.sort(key=lambda it: (-it.score, it.path or "", it.line or 0, it.card_id))
    return items
