"""The optimiser as a service of a `Collection`: `optimize` fits on the learner's history
(dlcards reviews + foreign history imported by `import-reviews`), scores current vs fitted on
a time-series split (`dlcards.review.optimizer`), records the row, adopts only when better (or
forced); the parameter history, rollback, and Anki presets out and in.

Its neighbours (re-exported here, where the commands import them):

* `app.parameters`: which parameters schedule, adopting a set (memory states recomputed);
* `app.review_import`: `import-reviews`, CSV review logs into the history;
* `app.simulate`: `simulate` (the forecast) and where the learner stands in the study plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlcards.app.parameters import (
    FOREIGN_PREFIX,
    _histories,
    _recomputed_states,
    adopt_parameters,
    adopted_parameters,
    current_parameters,
)
from dlcards.app.review_import import ImportOutcome, ImportProblems, import_reviews
from dlcards.app.simulate import durations, plan_status_of, plan_week_start, simulate_plan

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.review.optimizer import FitResult
    from dlcards.store.params import ParamsRow

__all__ = [
    "FOREIGN_PREFIX",
    "ImportOutcome",
    "ImportProblems",
    "OptimizeOutcome",
    "adopt_parameters",
    "adopted_parameters",
    "current_parameters",
    "durations",
    "export_preset",
    "history",
    "import_preset",
    "import_reviews",
    "optimize",
    "plan_status_of",
    "plan_week_start",
    "rollback",
    "simulate_plan",
]


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
        col.take_lease("optimize")  # the history row and the recomputed states: one writer
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
        col.forget_scheduler()
    return OptimizeOutcome(result, source, adopt and not dry_run, force, overridden, row)


def history(col: Collection) -> list[ParamsRow]:
    """The parameter history, oldest first."""
    from dlcards.store.params import params_history

    return params_history(col.store)


def rollback(col: Collection) -> tuple[ParamsRow, ParamsRow | None]:
    """Withdraw the adopted parameters in force: (rolled back, now active or None = defaults)."""
    from dlcards.store.params import rollback_params

    col.take_lease("optimize")  # it rewrites every card's memory state: one writer at a time
    now = col.now()
    out = rollback_params(
        col.store,
        now,
        lambda active: _recomputed_states(col, None if active is None else active.parameters, now),
    )
    col.forget_scheduler()
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
