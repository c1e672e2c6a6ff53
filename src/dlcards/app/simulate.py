"""`dlcards simulate` as a service of a `Collection`: the forecast of
`dlcards.review.simulator` from the learner's memory states, review times (`durations`) and
ratings, against the weekly budget; and where the learner stands in the study plan
(`plan_status_of`, `plan_week_start`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dlcards.app.parameters import current_parameters

if TYPE_CHECKING:
    from dlcards.app.collection import Collection


def durations(col: Collection) -> list[tuple[str, int, int]]:
    """(phase before, rating, duration ms) of every review with a recorded duration, dlcards
    and foreign (foreign reviews count as review-phase answers)."""
    from dlcards.store.params import foreign_reviews

    out: list[tuple[str, int, int]] = [
        (e.before.phase, int(e.rating), e.duration_ms)
        for e in col.store.reviews()
        if e.duration_ms > 0 and e.kind != "manual"
    ]
    out += [
        ("review", r.rating, r.duration_ms) for r in foreign_reviews(col.store) if r.duration_ms > 0
    ]
    return out


# ---- simulate ------------------------------------------------------------------------------


def simulate_plan(
    col: Collection,
    *,
    retention: float | None = None,
    new_per_day: int | None = None,
    review_limit: int | None = None,
    days: int = 30,
    table: bool = True,
    optimal: bool = False,
) -> dict[str, Any]:
    """`dlcards simulate`: the forecast for the learner's cards and plan, against the weekly
    budget, and (with `table`) the retention table with the cheapest retention per memorised
    card marked; with `optimal`, fsrs-rs's own optimal-retention search as well (seconds)."""
    from dlcards.review import simulator as sim

    s = col.settings
    now = col.now()
    today = col.calendar.study_day(now)
    params, source = current_parameters(col)
    present = col.markdown_ids()
    states = col.store.states() if col.has_store() else {}
    flags = col.store.flags() if col.has_store() else {}
    suspended = {c for c, f in flags.items() if f.suspended}
    cards = []
    for cid, st in states.items():
        if cid not in present or cid in suspended or st.stability is None or st.difficulty is None:
            continue
        if st.last_review is None:
            continue
        since = max((now - st.last_review).total_seconds() / 86400, 0.0)
        due_in = 0 if st.due is None else (col.calendar.study_day(st.due) - today).days
        cards.append(sim.ExistingCard(st.stability, st.difficulty, since, max(due_in, 0)))
    started = {cid for cid, st in states.items() if st.phase != "new" or st.reps}
    new_available = len([c for c in present if c not in started and c not in suspended])
    costs = sim.costs_from_durations(durations(col) if col.has_store() else [])
    plan = sim.Plan(
        parameters=params,
        desired_retention=s.desired_retention if retention is None else retention,
        days=days,
        new_per_day=s.new_per_day if new_per_day is None else new_per_day,
        new_available=new_available,
        review_limit=s.reviews_per_day if review_limit is None else review_limit,
        maximum_interval=s.maximum_interval,
        learning_steps=len(s.learning_steps),
        relearning_steps=len(s.relearning_steps),
        costs=costs,
    )
    f = sim.forecast(plan, cards)
    budget_day = s.weekly_hours * 60 / 7
    weeks = []
    for i in range(0, f.days, 7):
        minutes = sum(f.minutes[i : i + 7])
        weeks.append(
            {
                "week": i // 7 + 1,
                "days": len(f.minutes[i : i + 7]),
                "minutes": round(minutes, 1),
                "hours": round(minutes / 60, 2),
                "over_budget": minutes > budget_day * len(f.minutes[i : i + 7]) + 1e-9,
            }
        )
    out: dict[str, Any] = {
        "parameters_source": source,
        "desired_retention": plan.desired_retention,
        "new_per_day": plan.new_per_day,
        "review_limit": plan.review_limit,
        "days": days,
        "cards_in_review": len(cards),
        "new_cards_available": new_available,
        "review_time": {
            "from_your_reviews": costs.from_history,
            "timed_reviews": costs.timed_reviews,
            "seconds_per_review": dict(
                zip(("again", "hard", "good", "easy"), costs.review, strict=True)
            ),
            "seconds_per_learning_step": dict(
                zip(("again", "hard", "good", "easy"), costs.learn, strict=True)
            ),
        },
        "budget": {
            "weekly_hours": s.weekly_hours,
            "minutes_per_day": round(budget_day, 1),
            "days_over": sum(1 for m in f.minutes if m > budget_day),
            "mean_minutes_per_day": round(f.mean_minutes, 1),
            "share_of_budget": round(f.mean_minutes / budget_day, 3) if budget_day else None,
        },
        "weeks": weeks,
        "forecast": f.to_dict(),
    }
    if table:
        rows = sim.decide(plan, cards)
        best = min(rows, key=lambda r: r.minutes_per_memorized)
        out["decide"] = {
            "rows": [{**r.to_dict(), "cheapest": r is best} for r in rows],
            "cheapest_retention": best.retention,
        }
    if optimal:
        out["optimal_retention"] = sim.optimal_retention(plan, cards)
    return out


# ---- the study plan --------------------------------------------------------------------------


def plan_status_of(col: Collection, now: datetime | None = None) -> Any:
    """Where the learner stands in the plan (`dlcards.insights.plan.PlanStatus`), or None when
    the setting `plan_start` is not set."""
    start = col.settings.plan_start
    if start is None:
        return None
    from dlcards.insights.plan import PlannedCard, plan_status

    today = col.calendar.study_day(now if now is not None else col.now())
    cards = [
        PlannedCard(cid, note.path, note.meta.week) for note in col.notes for cid in note.card_ids()
    ]
    states = col.store.states() if col.has_store() else {}
    started = {cid for cid, st in states.items() if st.reps > 0 or st.phase != "new"}
    return plan_status(cards, started, today, start)


def plan_week_start(col: Collection, week: int) -> Any:
    """The first study day of plan week `week` (None without `plan_start`)."""
    start = col.settings.plan_start
    if start is None:
        return None
    from dlcards.insights.plan import week_dates

    return week_dates(week, start)[0]
