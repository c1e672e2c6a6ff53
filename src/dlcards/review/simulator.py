"""What a study plan will cost: the FSRS simulator's forecast of cards and minutes per day. Pure.

Two parts, added day by day:

* **New cards** go through fsrs-rs's own simulator (`fsrs_rs_python.simulate`, the one Anki's
  "FSRS simulator" and "compute optimal retention" use): `new_per_day` cards a day while there
  are unstarted cards, first ratings, learning steps and their costs, then their reviews.
* **The learner's cards already in review** start from their real memory states (stability,
  difficulty, last review, due day). fsrs-rs-python 0.9.x's `simulate` takes no existing cards
  (only `optimal_retention` does), so they are simulated here with the same FSRS-6 formulas
  (fsrs-rs `model.rs`: recall, stability after success / failure, short-term relearning
  stability, difficulty with mean reversion) and the same rating probabilities and costs,
  vectorised over the cards (numpy), `REPLICAS` copies of each card averaged, with a fixed
  seed: the same inputs give the same forecast.

Reviews of both parts share the daily review limit (new cards ignore it, as in Anki's default).
`decide` runs the forecast for each retention of `RETENTIONS` (same seed, so the rows differ
only by the retention); `optimal_retention` is fsrs-rs's (Anki's "compute minimum
recommended retention": the least cost per memorised card), given the existing cards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

RETENTIONS = (0.70, 0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97)
REPLICAS = 4
# fsrs-rs defaults (SimulatorConfig::default): seconds per answer by state and rating.
DEFAULT_LEARN_COSTS = (19.58, 18.79, 13.78, 10.71)
DEFAULT_REVIEW_COSTS = (19.38, 17.59, 12.38, 8.94)
DEFAULT_RELEARN_COSTS = (16.44, 15.25, 12.32, 8.03)
DEFAULT_FIRST_RATING_PROB = (0.24, 0.094, 0.495, 0.171)
DEFAULT_REVIEW_RATING_PROB = (0.224, 0.631, 0.145)
MIN_TIMED_REVIEWS = 100  # recorded durations needed before they replace the defaults


@dataclass(frozen=True)
class ExistingCard:
    """A card in review: its memory state and where it stands, in days relative to today."""

    stability: float
    difficulty: float
    days_since_review: float  # >= 0
    due_in_days: int  # 0 = due today (or overdue)


@dataclass(frozen=True)
class Costs:
    """Seconds per answer by rating (Again, Hard, Good, Easy) for learning, review and
    relearning steps, and the rating probabilities."""

    learn: tuple[float, float, float, float] = DEFAULT_LEARN_COSTS
    review: tuple[float, float, float, float] = DEFAULT_REVIEW_COSTS
    relearn: tuple[float, float, float, float] = DEFAULT_RELEARN_COSTS
    first_rating_prob: tuple[float, float, float, float] = DEFAULT_FIRST_RATING_PROB
    review_rating_prob: tuple[float, float, float] = DEFAULT_REVIEW_RATING_PROB
    from_history: bool = False  # measured from the learner's durations (else the defaults)
    timed_reviews: int = 0


def costs_from_durations(
    answers: Sequence[tuple[str, int, int]], minimum: int = MIN_TIMED_REVIEWS
) -> Costs:
    """Costs from recorded answers `(phase before, rating, duration ms)`: the median seconds per
    rating in each phase (the default where a rating has fewer than 5 answers), and the rating
    probabilities of reviews; the defaults below `minimum` timed review answers."""
    timed = [(p, r, ms) for p, r, ms in answers if ms > 0 and 1 <= r <= 4]
    reviews = [a for a in timed if a[0] == "review"]
    if len(reviews) < minimum:
        return Costs(timed_reviews=len(reviews))

    def medians(phases: set[str], default: tuple[float, ...]) -> tuple[float, float, float, float]:
        out = []
        for rating in (1, 2, 3, 4):
            xs = sorted(ms / 1000 for p, r, ms in timed if p in phases and r == rating)
            out.append(xs[len(xs) // 2] if len(xs) >= 5 else default[rating - 1])
        return (out[0], out[1], out[2], out[3])

    passed = [r for _, r, _ in reviews if r > 1]
    counts = [sum(1 for r in passed if r == k) for k in (2, 3, 4)]
    prob = (
        tuple(c / len(passed) for c in counts)
        if passed and all(counts)
        else DEFAULT_REVIEW_RATING_PROB
    )
    first = [r for p, r, _ in timed if p == "new"]
    fcounts = [sum(1 for r in first if r == k) for k in (1, 2, 3, 4)]
    fprob = (
        tuple(c / len(first) for c in fcounts)
        if len(first) >= minimum and all(fcounts)
        else DEFAULT_FIRST_RATING_PROB
    )
    return Costs(
        learn=medians({"new", "learning"}, DEFAULT_LEARN_COSTS),
        review=medians({"review"}, DEFAULT_REVIEW_COSTS),
        relearn=medians({"relearning"}, DEFAULT_RELEARN_COSTS),
        first_rating_prob=fprob,  # type: ignore[arg-type]
        review_rating_prob=prob,  # type: ignore[arg-type]
        from_history=True,
        timed_reviews=len(reviews),
    )


@dataclass(frozen=True)
class Plan:
    """The inputs of a forecast."""

    parameters: tuple[float, ...]
    desired_retention: float
    days: int
    new_per_day: int
    new_available: int  # unstarted cards
    review_limit: int
    maximum_interval: int = 36500
    learning_steps: int = 2
    relearning_steps: int = 1
    costs: Costs = field(default_factory=Costs)
    seed: int = 42


@dataclass(frozen=True)
class Forecast:
    """Per day (index 0 = today): reviews, new cards, minutes, cards memorised."""

    retention: float
    reviews: tuple[int, ...]
    new: tuple[int, ...]
    minutes: tuple[float, ...]
    memorized: tuple[float, ...]

    @property
    def days(self) -> int:
        return len(self.reviews)

    @property
    def mean_minutes(self) -> float:
        return sum(self.minutes) / len(self.minutes) if self.minutes else 0.0

    @property
    def mean_reviews(self) -> float:
        return sum(self.reviews) / len(self.reviews) if self.reviews else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "retention": self.retention,
            "days": [
                {
                    "day": i,
                    "reviews": self.reviews[i],
                    "new": self.new[i],
                    "minutes": round(self.minutes[i], 2),
                    "memorized": round(self.memorized[i], 1),
                }
                for i in range(self.days)
            ],
            "mean_minutes_per_day": round(self.mean_minutes, 2),
            "mean_reviews_per_day": round(self.mean_reviews, 2),
            "total_minutes": round(sum(self.minutes), 1),
            "memorized_at_end": round(self.memorized[-1], 1) if self.memorized else 0.0,
        }


def _simulator_config(plan: Plan, deck_size: int) -> Any:
    import fsrs_rs_python as rs  # deferred: only the review package loads fsrs-rs

    c = plan.costs
    cfg = rs.default_simulator_config()
    cfg.deck_size = deck_size
    cfg.learn_span = plan.days
    cfg.max_cost_perday = 1e12
    cfg.max_ivl = float(plan.maximum_interval)
    cfg.learn_limit = plan.new_per_day
    cfg.review_limit = plan.review_limit
    cfg.new_cards_ignore_review_limit = True
    cfg.first_rating_prob = list(c.first_rating_prob)
    cfg.review_rating_prob = list(c.review_rating_prob)
    cfg.state_rating_costs = [list(c.learn), list(c.review), list(c.relearn)]
    cfg.learning_step_count = plan.learning_steps
    cfg.relearning_step_count = plan.relearning_steps
    return cfg


def _new_stream(plan: Plan) -> tuple[list[int], list[int], list[float], list[float]]:
    """fsrs-rs's simulation of the cards introduced during the plan."""
    import fsrs_rs_python as rs

    n = min(plan.new_available, plan.new_per_day * plan.days)
    zeros_i, zeros_f = [0] * plan.days, [0.0] * plan.days
    if n <= 0 or plan.new_per_day <= 0:
        return zeros_i, zeros_i, zeros_f, zeros_f
    res = rs.simulate(
        list(plan.parameters), plan.desired_retention, _simulator_config(plan, n), plan.seed
    )
    return (
        list(res.review_cnt_per_day),
        list(res.learn_cnt_per_day),
        list(res.cost_per_day),
        list(res.memorized_cnt_per_day),
    )


def _existing_stream(
    plan: Plan, cards: Sequence[ExistingCard], cap: Sequence[int]
) -> tuple[list[float], list[float], list[float]]:
    """The cards in review, simulated from their memory states: (reviews, seconds, memorised)
    per day, averaged over `REPLICAS` copies."""
    import numpy as np

    days = plan.days
    if not cards:
        return [0.0] * days, [0.0] * days, [0.0] * days
    w = np.asarray(plan.parameters, dtype=np.float64)
    decay = -w[20]
    factor = 0.9 ** (1 / decay) - 1
    rng = np.random.default_rng(plan.seed)
    k = REPLICAS
    s = np.repeat([max(c.stability, 0.001) for c in cards], k).astype(np.float64)
    d = np.repeat([min(max(c.difficulty, 1.0), 10.0) for c in cards], k).astype(np.float64)
    last = np.repeat([-c.days_since_review for c in cards], k).astype(np.float64)
    due = np.repeat([max(c.due_in_days, 0) for c in cards], k).astype(np.int64)
    costs_review = np.asarray(plan.costs.review)
    relearn_cost = plan.costs.relearn[2] * plan.relearning_steps
    probs = np.asarray(plan.costs.review_rating_prob, dtype=np.float64)
    probs = probs / probs.sum()
    init_d4 = w[4] - math.exp(w[5] * 3) + 1
    ivl_factor = (plan.desired_retention ** (1 / decay) - 1) / factor
    reviews, seconds, memorized = [0.0] * days, [0.0] * days, [0.0] * days
    for t in range(days):
        todays = np.flatnonzero(due <= t)
        limit = max(cap[t], 0) * k
        if len(todays) > limit:  # over the daily review limit: the rest wait a day
            order = todays[np.argsort(due[todays], kind="stable")]
            due[order[limit:]] = t + 1
            todays = order[:limit]
        if len(todays):
            ss, dd = s[todays], d[todays]
            r = (1 + factor * (t - last[todays]) / ss) ** decay
            forget = rng.random(len(todays)) >= r
            rating = np.where(forget, 1, rng.choice([2, 3, 4], size=len(todays), p=probs))
            hard = np.where(rating == 2, w[15], 1.0)
            easy = np.where(rating == 4, w[16], 1.0)
            success = ss * (
                math.exp(w[8])
                * (11 - dd)
                * ss ** (-w[9])
                * (np.exp((1 - r) * w[10]) - 1)
                * hard
                * easy
                + 1
            )
            failure = np.minimum(
                w[11] * dd ** (-w[12]) * ((ss + 1) ** w[13] - 1) * np.exp((1 - r) * w[14]),
                ss / math.exp(w[17] * w[18]),
            )
            for _ in range(plan.relearning_steps):  # relearning steps answered Good
                sinc = np.maximum(np.exp(w[17] * w[18]) * failure ** (-w[19]), 1.0)
                failure = failure * sinc
            new_s = np.clip(np.where(forget, failure, success), 0.001, 36500.0)
            nd = dd + (10 - dd) * (-w[6] * (rating - 3)) / 9
            nd = np.clip(w[7] * (init_d4 - nd) + nd, 1.0, 10.0)
            ivl = np.clip(np.rint(new_s * ivl_factor), 1, plan.maximum_interval).astype(np.int64)
            s[todays], d[todays], last[todays], due[todays] = new_s, nd, t, t + ivl
            reviews[t] = len(todays) / k
            seconds[t] = float(costs_review[rating - 1].sum() + relearn_cost * forget.sum()) / k
        memorized[t] = float(((1 + factor * np.maximum(t - last, 0) / s) ** decay).sum()) / k
    return reviews, seconds, memorized


def forecast(plan: Plan, cards: Sequence[ExistingCard]) -> Forecast:
    """Cards, minutes and memorised cards per day for `plan.days` days from today."""
    if plan.days < 1:
        raise ValueError("a forecast needs at least one day")
    new_reviews, learned, new_cost, new_memorized = _new_stream(plan)
    cap = [plan.review_limit - r for r in new_reviews]
    old_reviews, old_cost, old_memorized = _existing_stream(plan, cards, cap)
    return Forecast(
        retention=plan.desired_retention,
        reviews=tuple(round(a + b) for a, b in zip(new_reviews, old_reviews, strict=True)),
        new=tuple(int(x) for x in learned),
        minutes=tuple((a + b) / 60 for a, b in zip(new_cost, old_cost, strict=True)),
        memorized=tuple(a + b for a, b in zip(new_memorized, old_memorized, strict=True)),
    )


@dataclass(frozen=True)
class DecisionRow:
    retention: float
    minutes_per_day: float
    reviews_per_day: float
    memorized: float  # cards memorised at the end of the plan (sum of recall probabilities)
    minutes_per_memorized: float

    def to_dict(self) -> dict[str, float]:
        return {
            "retention": self.retention,
            "minutes_per_day": round(self.minutes_per_day, 2),
            "reviews_per_day": round(self.reviews_per_day, 1),
            "memorized": round(self.memorized, 1),
            "minutes_per_memorized": round(self.minutes_per_memorized, 3),
        }


def decide(
    plan: Plan, cards: Sequence[ExistingCard], retentions: Sequence[float] = RETENTIONS
) -> list[DecisionRow]:
    """The forecast for each desired retention: workload against knowledge retained."""
    rows = []
    for r in retentions:
        f = forecast(_with_retention(plan, r), cards)
        memorized = f.memorized[-1]
        total = sum(f.minutes)
        rows.append(
            DecisionRow(
                r,
                f.mean_minutes,
                f.mean_reviews,
                memorized,
                total / memorized if memorized else math.inf,
            )
        )
    return rows


def _with_retention(plan: Plan, retention: float) -> Plan:
    from dataclasses import replace

    return replace(plan, desired_retention=retention)


def optimal_retention(plan: Plan, cards: Sequence[ExistingCard]) -> float | None:
    """fsrs-rs's optimal retention (least cost per memorised card, searched in 0.70-0.95) for
    this plan, the existing cards included; None when it finds none."""
    import fsrs_rs_python as rs

    params = list(plan.parameters)
    existing = []
    for i, c in enumerate(cards, 1):
        card = rs.Card()
        card.id = i
        card.stability = max(c.stability, 0.001)
        card.difficulty = min(max(c.difficulty, 1.0), 10.0)
        card.last_date = -float(c.days_since_review)
        card.due = float(max(c.due_in_days, 0))
        card.interval = card.due - card.last_date
        card.desired_retention = plan.desired_retention
        card.parameters = params
        existing.append(card)
    new = min(plan.new_available, plan.new_per_day * plan.days)
    size = len(existing) + new
    if size == 0:
        return None
    try:
        return float(rs.optimal_retention(_simulator_config(plan, size), params, existing or None))
    except Exception:  # fsrs-rs: "optimal not found" when the cost curve has no minimum inside
        return None
