#!/usr/bin/env python
"""Generate a large synthetic dlcards collection and a review history, for benchmarks and
manual testing.

    python scripts/gen_collection.py OUT_DIR [--cards 10000] [--reviews 100000] [--files 100]
                                     [--now 2026-01-05T09:00:00Z] [--seed 1] [--home DIR]

Writes OUT_DIR/decks/week-XX-topic-YY.md (basic cards with math, cloze notes with two
deletions, some `check` and `torch` blocks; every card has a pinned id) and fills the review
database in --home (default: $DLCARDS_HOME or the usual place) with --reviews answers made by
the real scheduler over the two years before --now, leaving a realistic queue due "today".
Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

MATH = [
    r"$\frac{\partial L}{\partial W} = \delta x^T$",
    r"$\sigma(z) = \frac{1}{1+e^{-z}}$",
    r"$\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}$",
    r"$W \in \mathbb{R}^{m \times n}$",
    r"$\nabla_\theta \mathcal{L}(\theta)$",
    r"$\hat{y} = \arg\max_k p_k$",
    r"$\theta_{t+1} = \theta_t - \eta \nabla L$",
]
WORDS = [
    "gradient",
    "tensor",
    "layer",
    "batch",
    "norm",
    "attention",
    "head",
    "token",
    "logit",
    "loss",
    "weight",
    "bias",
    "kernel",
    "stride",
    "padding",
    "dropout",
    "residual",
    "embedding",
    "optimizer",
    "momentum",
    "variance",
    "mean",
]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def write_decks(out: Path, cards: int, files: int, rng: random.Random) -> int:
    decks = out / "decks"
    decks.mkdir(parents=True, exist_ok=True)
    per_file = max(1, cards // files)
    made = 0
    n = 0
    for f in range(files):
        week = 1 + f * 12 // files
        topic = f"topic-{f:03d}"
        requires = f"requires: [topic-{f - 1:03d}]\n" if f % 4 == 3 else ""
        lines = [
            f"---\ndeck: Deep Learning\nweek: {week}\ntopic: {topic}\ntags: [gen]\n{requires}---\n",
            f"# Topic {f}\n",
        ]
        in_file = 0
        while in_file < per_file and made < cards:
            n += 1
            if in_file % 10 == 0:
                lines.append(f"## Section {in_file // 10}\n")
            if rng.random() < 0.2 and per_file - in_file >= 2:
                lines.append(
                    f"C: The {words(rng, 3)} is {{{{c1::{words(rng, 2)}}}}} and the "
                    f"{words(rng, 2)} is {{{{c2::{words(rng, 2)}::hint}}}}. <!-- id: g{n:06d} -->\n"
                )
                in_file += 2
                made += 2
                continue
            math = rng.choice(MATH)
            lines.append(
                f"Q: What does {math} mean for the {words(rng, 4)}? <!-- id: g{n:06d} -->\n"
                f"A: It is the {words(rng, 8)}.\n"
            )
            if rng.random() < 0.1:
                lines.append("```check\ndiff(x**2, x) == 2*x\n```\n")
            elif rng.random() < 0.05:
                lines.append("```torch\ntorch.ones(2, 3).sum(dim=0).shape\n```\n")
            in_file += 1
            made += 1
        (decks / f"week-{week:02d}-{topic}.md").write_text("\n".join(lines), encoding="utf-8")
    return made


def write_history(out: Path, reviews: int, now_text: str, rng: random.Random) -> tuple[int, int]:
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating, parse_utc

    now = parse_utc(now_text)
    col = Collection.open(out, now_fn=lambda: now)
    sched = col.scheduler
    cards = col.decks.cards
    entries = []
    states = {}
    start = now - timedelta(days=730)
    cutoff = now - timedelta(days=2)  # the learner was away two days: a backlog is due
    ratings = [Rating.AGAIN] * 10 + [Rating.HARD] * 10 + [Rating.GOOD] * 70 + [Rating.EASY] * 10
    # introduce ~new cards per day in curriculum order; review each at its due time until now
    per_day = max(1, len(cards) * 9 // 10 // 700)
    budget = reviews
    for i, card in enumerate(cards):
        if budget <= 0:
            break
        t = start + timedelta(
            days=i // per_day, hours=rng.randint(0, 10), minutes=rng.randint(0, 59)
        )
        if t >= cutoff:
            break
        from dlcards.core.state import CardState

        state = CardState(card.id)
        while t < cutoff and budget > 0:
            entry = sched.review(
                state, rng.choice(ratings), t, duration_ms=rng.randint(2000, 20000)
            )
            entries.append(entry)
            state = entry.after
            budget -= 1
            assert state.due is not None
            t = max(state.due, t + timedelta(seconds=30)) + timedelta(minutes=rng.randint(0, 120))
        states[card.id] = state
    with col:
        store = col.store
        store.conn.execute("PRAGMA synchronous = OFF")  # bulk load: durability is not the point
        col.sync_cards(now)
        store.import_reviews(entries)
        for state in states.values():
            store.set_state(state)
    return len(entries), len(states)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--reviews", type=int, default=100_000)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--now", default="2026-01-05T09:00:00Z")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--home", type=Path, help="DLCARDS_HOME for the review database")
    args = p.parse_args(argv)
    if args.home:
        os.environ["DLCARDS_HOME"] = str(args.home)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    made = write_decks(args.out, args.cards, args.files, rng)
    (args.out / "dlcards.toml").write_text('[dlcards]\ntimezone = "UTC"\n', encoding="utf-8")
    n_reviews, n_cards = (
        write_history(args.out, args.reviews, args.now, rng) if args.reviews else (0, 0)
    )
    print(
        f"{made} cards in {args.files} files, {n_reviews} reviews of {n_cards} cards "
        f"({time.perf_counter() - t0:.1f}s) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
