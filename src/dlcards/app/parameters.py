"""Which FSRS parameters schedule, as a service of a `Collection`.

The setting `fsrs_parameters` when it is set (an override); otherwise the newest adopted, not
rolled-back row of the store's parameter history (`dlcards.store.params`); otherwise the
FSRS-6 defaults. `adopted_parameters(col)` is what `Collection.scheduler` passes to
`scheduler_config`; `adopt_parameters(col, ...)` is the entry point for Anki sync (parameters
that came from an Anki preset). Changing the parameters in force recomputes the cards' memory
states (stability, difficulty) the way Anki does, in the same transaction; due dates are left
as they are. Used by `app.optimize` and `app.simulate`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.state import CardState
    from dlcards.store.params import ParamsRow

FOREIGN_PREFIX = "foreign:"


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
    from dlcards.review.batch import memory_states_batch  # every card at once (float64)

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
    col.take_lease("optimize")  # it rewrites every card's memory state: one writer at a time
    now = col.now()
    states = _recomputed_states(col, params, now)
    row = add_params(
        col.store, params, created_at=now, source=source, adopted=True, note=note, states=states
    )
    col.forget_scheduler()
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
