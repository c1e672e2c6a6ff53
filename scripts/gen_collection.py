#!/usr/bin/env python
"""Generate a large synthetic dlcards collection and a review history, for benchmarks and
manual testing.

    python scripts/gen_collection.py OUT_DIR [--cards 10000] [--reviews 100000] [--files 100]
                                     [--now 2026-01-05T09:00:00Z] [--seed 1] [--home DIR]
                                     [--bulk]

Writes OUT_DIR/decks/week-XX-topic-YY.md (basic cards with math, cloze notes with two
deletions, some `check` and `torch` blocks; every card has a pinned id) and fills the review
database in --home (default: $DLCARDS_HOME or the usual place) with --reviews answers made by
the real scheduler over the two years before --now, leaving a realistic queue due "today".
Deterministic for a given seed.

`--bulk` (what `scripts/bench.py` uses) writes the history straight into SQLite in one
transaction instead of answering through the scheduler: plausible, not scheduler-exact,
histories (learn, learn, then reviews at growing intervals fitted to the card's quota, an Again
followed by a relearn the same day), about 1M reviews in well under a minute. Its rows are also
returned (`bulk_history`) so the benchmark can write the same history into an Anki collection.
The database has the store's current schema: the cards and their text (`card_texts`, migration
10) go in through the app (`Collection.sync_cards`), the lean review log (migration 7) and the
states (`card_state`, WITHOUT ROWID since migration 10) are written here directly.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


# -- the bulk history ---------------------------------------------------------------------------
DAY = 86400
BULK_RATINGS = (1,) * 10 + (2,) * 10 + (3,) * 70 + (4,) * 10


@dataclass
class BulkCard:
    """The state a bulk history leaves a card in (the last review's after-state)."""

    card_id: str
    phase: str
    stability: float
    difficulty: float
    due: int  # epoch seconds
    last_review: int
    reps: int
    lapses: int
    interval_days: int


@dataclass
class BulkReview:
    card_id: str
    time: int  # epoch seconds (whole seconds plus a per-review millisecond part in `ms`)
    ms: int
    rating: int
    duration_ms: int
    kind: str
    before: tuple[Any, ...]  # phase, step, stability, difficulty, due, last, reps, lapses, ivl
    after: tuple[Any, ...]


def _growth(days: float, steps: int) -> float:
    """g such that g + g^2 + ... + g^steps ~= days (intervals that use up the card's time)."""
    if steps <= 0:
        return 1.0
    lo, hi = 1.0, 3.0
    if steps >= days:
        return 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        total = mid * (mid**steps - 1) / (mid - 1) if mid > 1 else steps
        lo, hi = (mid, hi) if total < days else (lo, mid)
    return lo


def bulk_history(
    card_ids: list[str], reviews: int, now_epoch: int, seed: int
) -> tuple[list[BulkReview], dict[str, BulkCard]]:
    """About `reviews` reviews of 90% of the cards over the two years before now (the last two
    days left out: a backlog is due), as plain rows. Deterministic for a seed."""
    rng = random.Random(seed)
    start = now_epoch - 730 * DAY
    cutoff = now_epoch - 2 * DAY
    started = card_ids[: max(1, len(card_ids) * 9 // 10)] if card_ids else []
    if not started or reviews <= 0:
        return [], {}
    per_day = max(1, len(started) // 700)
    intro = [start + (i // per_day) * DAY + rng.randint(0, 36000) for i in range(len(started))]
    avail = [max(1, (cutoff - t) // DAY) for t in intro]
    extra = max(0, reviews - 2 * len(started))
    total_avail = sum(avail)
    out: list[BulkReview] = []
    finals: dict[str, BulkCard] = {}
    for cid, t, a in zip(started, intro, avail, strict=True):
        if len(out) >= reviews:
            break
        quota = 2 + round(extra * a / total_avail)
        g = _growth(a, max(1, quota - 2))
        before: tuple[Any, ...] = ("new", None, None, None, None, None, 0, 0, 0)
        stab, diff = 0.0, rng.uniform(2.0, 8.0)
        reps = lapses = ivl = 0
        n = 0
        span = 1.0
        phase = "new"
        while n < quota and t < cutoff and len(out) < reviews:
            rating = rng.choice(BULK_RATINGS) if phase != "new" else 3
            reps += 1
            if phase == "new":
                kind, phase_after, step, ivl, due = "learn", "learning", 0, 0, t + 600
                stab = rng.uniform(0.5, 3.0)
            elif phase == "learning":
                kind, phase_after, step, ivl = "learn", "review", None, 1
                due = t + DAY
            elif phase == "relearning":
                kind, phase_after, step = "relearn", "review", None
                ivl = max(1, round(ivl * 0.4))
                due = t + ivl * DAY
            elif rating == 1:
                kind, phase_after, step, due = "review", "relearning", 0, t + 600
                lapses += 1
                stab = max(0.2, stab * 0.3)
                diff = min(10.0, diff + 0.8)
            else:
                kind, phase_after, step = "review", "review", None
                span *= g
                ivl = max(1, round(span * {2: 0.8, 3: 1.0, 4: 1.3}[rating]))
                stab = max(stab, ivl * rng.uniform(0.8, 1.3))
                diff = max(1.0, min(10.0, diff + {2: 0.3, 3: -0.1, 4: -0.5}[rating]))
                due = t + ivl * DAY
            after = (
                phase_after,
                step,
                round(stab, 4),
                round(diff, 4),
                due,
                t,
                reps,
                lapses,
                ivl if phase_after == "review" else 0,
            )
            out.append(
                BulkReview(
                    cid,
                    t,
                    rng.randint(0, 999),
                    rating,
                    rng.randint(2000, 20000),
                    kind,
                    before,
                    after,
                )
            )
            before, phase = after, phase_after
            n += 1
            t = max(due, t + 30) + rng.randint(0, 7200)
        if n == 0:
            continue
        a_ = before
        finals[cid] = BulkCard(cid, a_[0], a_[2], a_[3], a_[4], a_[5], a_[6], a_[7], a_[8])
    return out, finals


def iso(epoch: int, ms: int = 0) -> str:
    """The store's time text (ISO 8601 UTC with microseconds)."""
    return (
        datetime.fromtimestamp(epoch, UTC)
        .replace(microsecond=ms * 1000)
        .isoformat(timespec="microseconds")
    )


def write_bulk(
    out: Path, reviews: int, now_text: str, seed: int
) -> tuple[list[BulkReview], dict[str, BulkCard]]:
    """Sync the cards through the app, then write the history in one transaction."""
    from dlcards.app.collection import Collection
    from dlcards.core.state import parse_utc

    now = parse_utc(now_text)
    with Collection.open(out, now_fn=lambda: now) as col:
        card_ids = [c.id for c in col.decks.cards]
        col.sync_cards(now)
        history, finals = bulk_history(card_ids, reviews, int(now.timestamp()), seed)
        conn = col.store.conn
        conn.execute("PRAGMA synchronous = OFF")  # bulk load: durability is not the point

        # the lean review log (migration 7): integer card numbers and microseconds; a
        # `before` is stored only where it is not the card's previous `after` (never, here).
        # A state's last review is the review's own time, to the microsecond, as dlcards'
        # scheduler writes it (the bulk history keeps whole seconds).
        from dlcards.store.rows import _INSERT_LOG, _PHASE_CODE, NEW_KEY, _info, _key_json

        refs = dict(conn.execute("SELECT card_id, id FROM cards"))
        last: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}  # raw after, key
        last_us: dict[str, int] = {}

        def key(s: tuple[Any, ...], t: int | None) -> tuple[Any, ...]:
            due = None if s[4] is None else s[4] * 1_000_000
            at = None if s[5] is None else (t if t is not None else s[5] * 1_000_000)
            return (_PHASE_CODE[s[0]], s[1], s[2], s[3], due, at, s[6], s[7], s[8])

        def row(r: BulkReview) -> tuple[Any, ...]:
            t = r.time * 1_000_000 + r.ms * 1000
            previous = last.get(r.card_id)
            if previous is not None and previous[0] == r.before:
                before = previous[1]
            else:
                before = key(r.before, None)
            after = key(r.after, t)
            stored = None if before == (previous or (None, NEW_KEY))[1] else _key_json(before)
            last[r.card_id] = (r.after, after)
            last_us[r.card_id] = t
            return (
                refs[r.card_id],
                t,
                _info(r.rating, r.kind, r.after[0]),
                r.duration_ms,
                after[1],
                after[2],
                after[3],
                None if after[4] is None else after[4] - t,
                None if after[5] is None else after[5] - t,
                after[6],
                after[7],
                after[8],
                None,
                None,
                stored,
            )

        conn.execute("BEGIN")
        conn.executemany(_INSERT_LOG, (row(r) for r in history))
        conn.executemany(
            "INSERT INTO card_state (card_id, "
            + ", ".join(STATE_FIELDS)
            + ") VALUES ("
            + ", ".join("?" * 10)
            + ")",
            (
                (
                    c.card_id,
                    c.phase,
                    0 if c.phase in ("learning", "relearning") else None,
                    c.stability,
                    c.difficulty,
                    iso(c.due),
                    iso(last_us[c.card_id] // 1_000_000, last_us[c.card_id] // 1000 % 1000),
                    c.reps,
                    c.lapses,
                    c.interval_days,
                )
                for c in finals.values()
            ),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA synchronous = FULL")
    return history, finals


# the store's state columns, in its order (one definition: dlcards.store.rows)
from dlcards.store.rows import _STATE_FIELDS as STATE_FIELDS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--reviews", type=int, default=100_000)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--now", default="2026-01-05T09:00:00Z")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--home", type=Path, help="DLCARDS_HOME for the review database")
    p.add_argument("--bulk", action="store_true", help="write a synthetic history in bulk (fast)")
    args = p.parse_args(argv)
    if args.home:
        os.environ["DLCARDS_HOME"] = str(args.home)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    made = write_decks(args.out, args.cards, args.files, rng)
    (args.out / "dlcards.toml").write_text('[dlcards]\ntimezone = "UTC"\n', encoding="utf-8")
    if args.bulk:
        history, finals = write_bulk(args.out, args.reviews, args.now, args.seed)
        n_reviews, n_cards = len(history), len(finals)
    else:
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
