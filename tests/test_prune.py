"""Prune ranking on crafted cases: one card per reason, scores from the documented weights."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from dlcards.core.parse import parse_text
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry
from dlcards.insights.prune import find_duplicates, normalize, prune_report
from dlcards.insights.stats import Calendar, utc
from dlcards.store import CardInfo

NOW = utc(2026, 5, 1, 12)
CAL = Calendar(ZoneInfo("UTC"), 4)
LONG = " ".join(f"word{i}" for i in range(50))  # 50 prose words, limit 40

WEEK2 = f"""---
week: 2
topic: attention
---
Q: What is a leech? <!-- id: l -->
A: A card you keep forgetting.

Q: What is the hardest thing? <!-- id: h -->
A: Difficulty.

Q: Which card do I fail? <!-- id: r -->
A: This one.

Q: Why is this answer long? <!-- id: w -->
A: {LONG}

Q: What are the three parts of attention? <!-- id: m -->
A:
- queries
- keys
- values

Q: What does softmax do to the attention logits? <!-- id: d1 -->
A: It turns them into weights that sum to one.

Q: What was suspended long ago? <!-- id: s -->
A: This card.

Q: What replaced the old card? <!-- id: x -->
A: This new card.

Q: What is a clean card? <!-- id: ok -->
A: One with nothing wrong.
"""
WEEK1 = """---
week: 1
topic: basics
---
Q: What did I never review? <!-- id: n -->
A: This card.
"""
OTHER = """Q: What does softmax do to attention logits? <!-- id: d2 -->
A: It turns them into weights that sum to 1.

Q: What is the capital of France? <!-- id: far -->
A: Paris.
"""


def notes():
    return (
        parse_text(WEEK2, "decks/b.md").notes
        + parse_text(WEEK1, "decks/a.md").notes
        + parse_text(OTHER, "decks/other.md").notes
    )


def rev(card: str, days_ago: int, rating: Rating) -> ReviewEntry:
    before = CardState(card, phase="review", interval_days=3)
    return ReviewEntry(card, NOW - timedelta(days=days_ago), rating, 5000, before, CardState(card))


REVIEWS = [
    # r: first reviews of four different days: pass, fail, fail, fail -> 25%
    rev("r", 9, Rating.GOOD),
    rev("r", 7, Rating.AGAIN),
    rev("r", 5, Rating.AGAIN),
    rev("r", 3, Rating.AGAIN),
    rev("r", 3, Rating.GOOD),  # a second review on the same day does not count
    rev("l", 20, Rating.GOOD),
    rev("ok", 4, Rating.GOOD),
    rev("gone", 40, Rating.GOOD),
    *[rev("gone", 40 - i, Rating.GOOD) for i in range(1, 10)],
]
STATES = {
    "l": CardState(
        "l",
        phase="review",
        stability=2.0,
        difficulty=6.0,
        lapses=5,
        interval_days=2,
        last_review=NOW - timedelta(days=2),
    ),
    "h": CardState(
        "h",
        phase="review",
        stability=4.0,
        difficulty=9.0,
        interval_days=4,
        last_review=NOW - timedelta(days=1),
    ),
    "r": CardState(
        "r",
        phase="review",
        stability=1.0,
        difficulty=7.0,
        lapses=3,
        interval_days=1,
        last_review=NOW - timedelta(days=3),
    ),
    "s": CardState(
        "s",
        phase="review",
        stability=9.0,
        difficulty=5.0,
        interval_days=9,
        last_review=NOW - timedelta(days=60),
    ),
    "ok": CardState(
        "ok",
        phase="review",
        stability=20.0,
        difficulty=3.0,
        interval_days=20,
        last_review=NOW - timedelta(days=4),
    ),
}
FLAGS = {"s": CardFlags("s", suspended=True)}


def x_line() -> int:
    return next(n.line for n in notes() if n.id == "x")


def report(**kw):
    orphan = CardInfo("gone", "gone", "basic", "decks/b.md", x_line(), "0" * 16)
    args = dict(now=NOW, calendar=CAL, answer_word_limit=40, leech_threshold=8, orphans=[orphan])
    args.update(kw)
    return prune_report(notes(), REVIEWS, STATES, FLAGS, **args)


def test_every_reason_ranked_by_its_weight():
    items = report()
    ranked = [(it.card_id, it.codes, it.score) for it in items]
    assert ranked == [
        ("r", ["low-retention"], 6.0),  # 1 + (0.75 - 0.25) * 10
        ("l", ["leech"], 4.5),  # 2 + 5/8 * 4
        ("d1", ["duplicate"], items[2].score),  # 2 + (q - 85) / 5, q checked below
        ("d2", ["duplicate"], items[2].score),
        ("gone", ["orphan"], 4.0),  # 2 + 10 reviews / 5
        ("h", ["difficult"], 3.0),  # (9 - 7) * 1.5
        ("s", ["long-suspended"], 2.0),  # 1 + 60 days / 60
        ("w", ["long-answer"], 1.5),  # 1 + 2 * 10 / 40
        ("m", ["several-facts"], 1.5),  # 3 list items (w comes first: earlier line)
        ("n", ["never-reviewed"], 1.0),  # week 1, while week 2 was studied
    ]
    dup = items[2].reasons[0]
    assert dup.numbers["other"] == "d2" and dup.numbers["other_where"].startswith("decks/other.md:")
    assert 85 <= dup.numbers["question_similarity"] < 100 and dup.numbers["answer_similarity"] >= 60
    assert items[2].score == pytest.approx(
        2 + (dup.numbers["question_similarity"] - 85) / 5, abs=1e-3
    )


def test_numbers_behind_the_reasons():
    by_id = {it.card_id: it for it in report()}
    assert by_id["r"].reasons[0].numbers == {"passed": 1, "failed": 3, "retention": 0.25}
    assert by_id["l"].reasons[0].numbers["lapses"] == 5
    assert by_id["w"].reasons[0].numbers == {"words": 50, "limit": 40}
    assert by_id["m"].reasons[0].numbers["list_items"] == 3
    assert by_id["s"].reasons[0].numbers == {"days_since_review": 60}
    assert by_id["h"].reasons[0].numbers["difficulty"] == 9.0
    assert "ok" not in by_id and "far" not in by_id


def test_orphan_offers_the_nearby_card_without_history_for_relinking():
    gone = next(it for it in report() if it.card_id == "gone")
    assert gone.orphan and gone.relink_to == "x"
    assert gone.reasons[0].numbers["reviews"] == 10


def test_orphan_moved_to_another_file_is_matched_by_its_remembered_question():
    moved = CardInfo("moved", "moved", "basic", "decks/old-name.md", 3, "0" * 16)
    items = report(orphans=[moved], orphan_texts={"moved": "What replaced the old card?"})
    item = next(it for it in items if it.card_id == "moved")
    assert item.relink_to == "x" and item.question == "What replaced the old card?"
    far = prune_report(notes(), REVIEWS, STATES, FLAGS, now=NOW, calendar=CAL, orphans=[moved])
    assert next(it for it in far if it.card_id == "moved").relink_to is None  # no clue: no guess


def test_kept_reasons_are_dropped():
    items = report(kept=[("h", "difficult"), ("gone", "orphan")])
    ids = [it.card_id for it in items]
    assert "h" not in ids and "gone" not in ids and "r" in ids


def test_leech_flag_and_threshold():
    flags = {**FLAGS, "ok": CardFlags("ok", leech=True)}
    items = prune_report(notes(), REVIEWS, STATES, flags, now=NOW, calendar=CAL, leech_threshold=20)
    by_id = {it.card_id: it for it in items}
    assert by_id["ok"].codes == ["leech"]  # flagged by the session
    assert "l" not in by_id  # 5 lapses is below half of 20, and `l` is not flagged


def test_duplicates_need_question_and_answer_alike():
    a, b = parse_text(
        "Q: What is ReLU?\nA: max(0, x)\n\nQ: What is ReLU??\nA: A fruit.\n", "x.md"
    ).notes
    assert find_duplicates([a, b]) == []  # same question, unrelated answers
    c, d = parse_text(
        "Q: What is ReLU?\nA: max(0, x)\n\nQ: what is relu ?\nA: max(0,x)\n", "x.md"
    ).notes
    assert [(p[0].line, p[1].line) for p in find_duplicates([c, d])] == [(1, 4)]
    assert normalize("Q `x` <!-- id: a -->  *b*") == "q x b"
    # one symbol of a formula, or of a snippet, makes another card
    e, f = parse_text(
        "Q: For $Y = XW$, what is $dL/dW$?\nA: $X^T d$\n\n"
        "Q: For $Y = XW$, what is $dL/dX$?\nA: $d W^T$\n",
        "x.md",
    ).notes
    assert find_duplicates([e, f]) == []
    code = (
        "Q: What shape does this print?\n```torch\ntorch.ones({})\n```\nA: `torch.Size([{}])`\n\n"
    )
    g, h = parse_text(code.format("2, 3", "2, 3") + code.format("3, 2", "3, 2"), "x.md").notes
    assert find_duplicates([g, h]) == []
    i, j = parse_text(code.format("2, 3", "2, 3") + code.format("2,3", "2, 3"), "x.md").notes
    assert len(find_duplicates([i, j])) == 1
    k, m = parse_text(
        "Q: What receptive field do two stacked 3x3 convolutions have?\nA: 5x5\n\n"
        "Q: What receptive field do three stacked 3x3 convolutions have?\nA: 7x7\n",
        "x.md",
    ).notes
    assert find_duplicates([k, m]) == []


def test_several_facts_counts_real_sentences():
    from dlcards.insights.prune import fact_counts

    assert fact_counts(
        "No. It is a hyperparameter, chosen before training (e.g. on a validation set)."
    ) == (0, 1)
    assert fact_counts("It sums to one. It is smooth. It keeps the order of the logits.") == (0, 3)
    assert fact_counts("- a\n- b\n- c")[0] == 3


def test_each_reason_is_its_own_function():
    """prune_report assembles one function per reason; each decides alone, with its numbers."""
    from dlcards.insights.prune import (
        difficult_reason,
        leech_reason,
        long_answer_reason,
        long_suspended_reason,
        low_retention_reason,
        never_reviewed_reasons,
        several_facts_reasons,
    )

    lapse = rev("x", 1, Rating.AGAIN)
    assert leech_reason(None, None, [lapse], 8) is None  # 1 lapse < 4
    four = leech_reason(None, None, [lapse] * 4, 8)
    assert four is not None and four.numbers == {"lapses": 4, "threshold": 8, "flagged": False}
    flagged = leech_reason(None, CardFlags("x", leech=True), [], 8)
    assert flagged is not None and flagged.weight == 2.0 and flagged.numbers["flagged"] is True

    hard = CardState("x", phase="review", difficulty=8.0, stability=1.23456)
    got = difficult_reason(hard, NOW, lambda s, t: 0.123456)
    assert got is not None and got.numbers == {
        "difficulty": 8.0,
        "stability": 1.235,
        "retrievability": 0.1235,
    }
    assert difficult_reason(CardState("x", phase="new", difficulty=9.0), NOW, None) is None

    passes = [rev("x", d, Rating.GOOD) for d in range(3)]
    assert low_retention_reason([*passes, lapse]) is None  # 75% is not below 75%
    low = low_retention_reason(passes[:1] + [lapse] * 3)
    assert low is not None and low.numbers == {"passed": 1, "failed": 3, "retention": 0.25}

    suspended = CardFlags("x", suspended=True)
    recent = CardState("x", phase="review", last_review=NOW - timedelta(days=29))
    assert long_suspended_reason(recent, suspended, NOW) is None
    never = long_suspended_reason(None, suspended, NOW)
    assert (
        never is not None and never.weight == 2.5 and never.numbers == {"days_since_review": None}
    )

    by_id = {n.id: n for n in notes()}
    long_answer = long_answer_reason(by_id["w"], 40)
    assert long_answer is not None and long_answer.weight == 1.5
    assert long_answer_reason(by_id["w"], 50) is None
    facts = several_facts_reasons(by_id["m"], 40)
    assert [r.message for r in facts] == ["answer holds several facts (3 list items)"]
    # one cloze number hiding three pieces: several facts, pointing at the deletion's line
    cloze = parse_text("C: {{c1::ReLU}}, {{c1::GELU}} and {{c1::SiLU}} are activations.\n", "z.md")
    found = several_facts_reasons(cloze.notes[0], 40)
    assert [(r.code, r.numbers) for r in found] == [("several-facts", {"line": 1})]

    card_note = {cid: n for n in notes() for cid in n.card_ids()}
    reviews_of: dict[str, list[ReviewEntry]] = {"l": [rev("l", 1, Rating.GOOD)]}
    assert [cid for cid, _ in never_reviewed_reasons(card_note, reviews_of, {}, {})] == ["n"]
    assert never_reviewed_reasons(card_note, {}, {}, {}) == []  # nothing studied yet


def test_prune_report_to_dict_counts_the_reasons():
    from dlcards.insights.prune import PruneReport

    report_ = PruneReport(NOW, tuple(report()))
    d = report_.to_dict()
    assert d["count"] == report_.count == 10
    assert d["reasons"]["duplicate"] == 2 and sum(d["reasons"].values()) == 10
    assert d["items"][0]["reasons"][0]["code"] == "low-retention"
