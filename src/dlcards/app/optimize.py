"""The optimiser, the simulator and review import as services of a `Collection`.

* **Which parameters schedule**: the setting `fsrs_parameters` when it is set (an override);
  otherwise the newest adopted, not rolled-back row of the store's parameter history
  (`dlcards.store.params`); otherwise the FSRS-6 defaults. `adopted_parameters(col)` is what
  `Collection.scheduler` passes to `scheduler_config`; `adopt_parameters(col, ...)` is the
  entry point for Anki sync (parameters that came from an Anki preset).
* **optimize**: fits on the learner's history (dlcards reviews + foreign history imported by
  `import-reviews`), scores current vs fitted on a time-series split
  (`dlcards.review.optimizer`), records the row, adopts only when better (or forced). Changing
  the parameters in force recomputes the cards' memory states (stability, difficulty) the way
  Anki does, in the same transaction; due dates are left as they are.
* **import-reviews**: CSV review logs (`dlcards.review.revlog_csv`); rows of dlcards cards join
  their card's history (states recomputed), the others are kept as foreign history.
* **simulate**: the forecast of `dlcards.review.simulator` from the learner's memory states,
  review times and ratings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import DlcardsError, UsageError

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.errors import Problem
    from dlcards.core.state import CardState
    from dlcards.review.optimizer import FitResult
    from dlcards.store.params import ParamsRow

FOREIGN_PREFIX = "foreign:"


# ---- which parameters schedule --------------------------------------------------------------


def adopted_parameters(col: Collection) -> tuple[float, ...] | None:
    """The adopted parameters from the store (None: none adopted, or no store yet). The setting
    `fsrs_parameters` overrides them (`scheduler_config` applies that rule)."""
    if col.settings.fsrs_parameters is not None or not col.has_store():
        return None
    from dlcards.store.params import active_params

    row = active_params(col.store)
    return None if row is None else row.parameters


def current_parameters(col: Collection) -> tuple[tuple[float, ...], str]:
    """The parameters scheduling uses now, and where they come from."""
    from dlcards.review.optimizer import check_parameters, default_parameters

    if col.settings.fsrs_parameters is not None:
        return check_parameters(col.settings.fsrs_parameters), "the setting `fsrs_parameters`"
    from dlcards.store.params import active_params

    row = active_params(col.store)
    if row is not None:
        return row.parameters, f"parameter set #{row.id} ({row.source}, {row.created_at:%Y-%m-%d})"
    return default_parameters(), "the FSRS-6 defaults"


def _histories(col: Collection, *, foreign: bool = True) -> dict[str, list[tuple[datetime, int]]]:
    """Every card's rated reviews (manual entries left out), plus the foreign history."""
    out: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for e in col.store.reviews():
        if e.kind != "manual":
            out[e.card_id].append((e.time, int(e.rating)))
    if foreign:
        from dlcards.store.params import foreign_reviews

        for r in foreign_reviews(col.store):
            out[FOREIGN_PREFIX + r.card_key].append((r.time, r.rating))
    return dict(out)


def _recomputed_states(
    col: Collection, parameters: Sequence[float] | None, now: datetime
) -> list[CardState]:
    """The dlcards cards' states with stability and difficulty recomputed from their histories
    with `parameters` (None: defaults), as Anki recomputes them when the parameters change."""
    from dlcards.review.anki_days import next_day_at
    from dlcards.review.batch import memory_states_batch  # one fsrs-rs call for every card

    states = col.store.states()
    histories = {cid: h for cid, h in _histories(col, foreign=False).items() if cid in states}
    memory = memory_states_batch(histories, next_day_at(now, col.calendar), parameters)
    out = []
    for cid, m in memory.items():
        s = states[cid]
        if s.stability is not None:
            out.append(s.with_(stability=m.stability, difficulty=m.difficulty))
    return out


def adopt_parameters(
    col: Collection, parameters: Sequence[float], *, source: str = "import", note: str | None = None
) -> ParamsRow:
    # source: "import" (an Anki preset pasted or read from a file) or "sync" (Anki sync)
    """Adopt a parameter set (e.g. from an Anki preset, or from sync): recorded in the history,
    used by scheduling from now on (unless the setting overrides), memory states recomputed."""
    from dlcards.review.optimizer import check_parameters
    from dlcards.store.params import add_params

    params = check_parameters(parameters)
    _check_schedulable(col, params)
    now = col.now()
    states = _recomputed_states(col, params, now)
    row = add_params(
        col.store, params, created_at=now, source=source, adopted=True, note=note, states=states
    )
    _forget_scheduler(col)
    return row


def _check_schedulable(col: Collection, params: tuple[float, ...]) -> None:
    """Raise BadParameters if the scheduler (py-fsrs) refuses these parameters."""
    from dlcards.app.settings import scheduler_config
    from dlcards.core.errors import ConfigError
    from dlcards.review.optimizer import BadParameters
    from dlcards.review.scheduling import Scheduler

    try:
        Scheduler(
            scheduler_config(
                col.settings.model_copy(update={"fsrs_parameters": None}), col.calendar, params
            )
        )
    except ConfigError as exc:
        raise BadParameters(
            exc.message.replace("setting `fsrs_parameters`: ", "FSRS parameters: "),
            hint="these numbers are outside what FSRS-6 allows; copy them again from Anki",
        ) from None


def _forget_scheduler(col: Collection) -> None:
    """The collection's cached scheduler was built with the old parameters: drop it."""
    col._scheduler = None


# ---- optimize ------------------------------------------------------------------------------


@dataclass
class OptimizeOutcome:
    """What `optimize` found and did."""

    result: FitResult
    current_source: str
    adopted: bool
    forced: bool
    overridden: bool  # the setting fsrs_parameters still wins
    row: ParamsRow | None  # None on a dry run

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.result.to_dict(),
            "current_source": self.current_source,
            "adopted": self.adopted,
            "forced": self.forced,
            "overridden_by_setting": self.overridden,
            "history_id": None if self.row is None else self.row.id,
        }


def optimize(col: Collection, *, force: bool = False, dry_run: bool = False) -> OptimizeOutcome:
    """Fit parameters to the learner's history; adopt them when they predict better (or forced).
    Raises `optimizer.NotEnoughData` below the data minimum."""
    from dlcards.review.anki_days import next_day_at
    from dlcards.review.optimizer import fit, training_data
    from dlcards.store.params import add_params

    now = col.now()
    data = training_data(_histories(col), next_day_at(now, col.calendar))
    current, source = current_parameters(col)
    result = fit(data, current, num_relearning_steps=len(col.settings.relearning_steps) or None)
    adopt = result.better or force
    overridden = adopt and col.settings.fsrs_parameters is not None
    row = None
    if not dry_run:
        states = _recomputed_states(col, result.parameters, now) if adopt and not overridden else []
        row = add_params(
            col.store,
            result.parameters,
            created_at=now,
            source="optimize",
            adopted=adopt,
            items=result.items,
            log_loss=result.fitted_score.log_loss,
            rmse_bins=result.fitted_score.rmse_bins,
            previous_log_loss=result.current_score.log_loss,
            previous_rmse_bins=result.current_score.rmse_bins,
            note="forced" if force and not result.better else None,
            states=states,
        )
    if row is not None and adopt:
        _forget_scheduler(col)
    return OptimizeOutcome(result, source, adopt and not dry_run, force, overridden, row)


def history(col: Collection) -> list[ParamsRow]:
    """The parameter history, oldest first."""
    from dlcards.store.params import params_history

    return params_history(col.store)


def rollback(col: Collection) -> tuple[ParamsRow, ParamsRow | None]:
    """Withdraw the adopted parameters in force: (rolled back, now active or None = defaults)."""
    from dlcards.store.params import rollback_params

    now = col.now()
    out = rollback_params(
        col.store,
        now,
        lambda active: _recomputed_states(col, None if active is None else active.parameters, now),
    )
    _forget_scheduler(col)
    return out


def export_preset(col: Collection) -> str:
    """The parameters in force as Anki's deck options show them (21 numbers)."""
    from dlcards.review.optimizer import format_anki_preset

    params, _ = current_parameters(col)
    return format_anki_preset(params)


def import_preset(col: Collection, text: str, *, note: str | None = None) -> ParamsRow:
    """Adopt parameters pasted from Anki's deck options."""
    from dlcards.review.optimizer import parse_anki_preset

    return adopt_parameters(col, parse_anki_preset(text), source="import", note=note)


# ---- import-reviews -------------------------------------------------------------------------


class ImportProblems(DlcardsError):
    """A review-log file has bad rows; nothing was imported."""

    def __init__(self, problems: list[Problem]):
        n = len(problems)
        super().__init__(
            f"{n} bad row{'s' if n != 1 else ''}: nothing was imported",
            hint="fix the rows above and run the import again",
        )
        self.problems = problems


@dataclass
class ImportOutcome:
    layout: str
    rows: int
    mapped: int = 0  # reviews of dlcards cards written
    mapped_cards: list[str] = field(default_factory=list)
    foreign: int = 0  # foreign reviews written
    foreign_cards: int = 0
    duplicates: int = 0
    skipped: int = 0  # manual / reschedule entries

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "rows": self.rows,
            "mapped_reviews": self.mapped,
            "mapped_cards": len(self.mapped_cards),
            "foreign_reviews": self.foreign,
            "foreign_cards": self.foreign_cards,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
        }


def import_reviews(col: Collection, path: Path, *, dry_run: bool = False) -> ImportOutcome:
    """Import a CSV review log: all of it in one transaction, or nothing (ImportProblems)."""
    from dlcards.core.state import Rating
    from dlcards.review.anki_days import next_day_at
    from dlcards.review.revlog_csv import parse_revlog_csv
    from dlcards.store.params import (
        ForeignReview,
        existing_review_times,
        foreign_keys_and_times,
        import_review_history,
        ts_text,
    )

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    parsed = parse_revlog_csv(text, str(path))
    if parsed.problems:
        raise ImportProblems(parsed.problems)
    out = ImportOutcome(parsed.layout, len(parsed.rows), skipped=parsed.skipped)
    now = col.now()
    known = col.markdown_ids()
    if not dry_run:
        col.sync_cards(now)
    known |= {c.card_id for c in col.store.cards()}
    by_card: dict[str, list[Any]] = defaultdict(list)
    foreign_rows = []
    for row in parsed.rows:
        if row.card_key in known:
            by_card[row.card_key].append(row)
        else:
            foreign_rows.append(row)
    # dlcards cards: merge with their history, replay, keep only the new rows
    seen = existing_review_times(col.store, by_card)
    cutoff = next_day_at(now, col.calendar)
    entries: list[Any] = []
    states: list[CardState] = []
    for card_id in sorted(by_card):
        fresh = [r for r in by_card[card_id] if (card_id, ts_text(r.time)) not in seen]
        fresh = list({ts_text(r.time): r for r in fresh}.values())
        out.duplicates += len(by_card[card_id]) - len(fresh)
        if not fresh:
            continue
        existing = [e for e in col.store.reviews([card_id]) if e.kind != "manual"]
        merged = [(e.time, e.rating, e.duration_ms, None) for e in existing]
        merged += [(r.time, Rating(r.rating), r.duration_ms, r) for r in fresh]
        merged.sort(key=lambda m: m[0])
        state, replayed = col.scheduler.replay(
            card_id, [(t, rt, ms) for t, rt, ms, _ in merged], cutoff=cutoff
        )
        for (_, _, _, r), entry in zip(merged, replayed, strict=True):
            if r is not None:
                entries.append(replace(entry, source="csv", anki_revlog_id=r.revlog_id))
        states.append(state)
        out.mapped_cards.append(card_id)
    have = foreign_keys_and_times(col.store)
    foreign: dict[tuple[str, str], ForeignReview] = {}
    for r in foreign_rows:
        key = (r.card_key, ts_text(r.time))
        if key in have or key in foreign:
            out.duplicates += 1
            continue
        foreign[key] = ForeignReview(r.card_key, r.time, r.rating, r.duration_ms)
    out.foreign_cards = len({k for k, _ in foreign})
    if dry_run:
        out.mapped, out.foreign = len(entries), len(foreign)
        return out
    out.mapped, out.foreign = import_review_history(
        col.store, entries, states, foreign.values(), source=path.name
    )
    return out


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
