"""Memory states of many histories in one fsrs-rs call (issue 16, item 4). Pure.

Where dlcards recomputes the FSRS memory state of every card from its review log (the
optimiser adopting new parameters, Anki's "reschedule" semantics), replaying each history
through py-fsrs costs about 2 ms a card in Python. fsrs-rs (`fsrs_rs_python`, the Rust FSRS
that Anki itself runs) computes them all in one `memory_state_batch` call; what is left in
Python is turning each history into (rating, delta_t) pairs, with Anki's elapsed-day rule
(`dlcards.review.anki_days`: 24-hour blocks counted back from the day cutoff).

The numbers are the replay's (`Scheduler.replay(..., cutoff=...)`, what
`anki_days.memory_states` computes): the same initial state, short-term (same-day) and
long-term stability formulas and the same clamps, evaluated by fsrs-rs in 32-bit floats, so
they agree with the replay to float32 precision (relative error measured below 1e-6 on random
histories with the default parameters; tests/test_batch_fsrs.py bounds it, and the parity
tests compare both with Anki).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from dlcards.review.anki_days import DAY_SECONDS, MemoryState

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _deltas(times: Sequence[datetime], cutoff_s: int) -> list[int]:
    """`anki_days.delta_ts` with the cutoff in whole seconds (the same integer arithmetic)."""
    epoch, second, day = _EPOCH, _SECOND, DAY_SECONDS
    out = []
    prev = 0
    for i, t in enumerate(times):
        back = max(cutoff_s - (t - epoch) // second, 0) // day
        out.append(0 if i == 0 else max(prev - back, 0))
        prev = back
    return out


def fsrs_items(
    histories: Mapping[str, Sequence[tuple[Any, ...]]], cutoff: datetime
) -> tuple[list[str], list[Any]]:
    """(card ids, fsrs-rs items) of the non-empty histories, each in time order."""
    import fsrs_rs_python as rs  # deferred: only the review package loads fsrs-rs

    cutoff_s = (cutoff.astimezone(UTC) - _EPOCH) // _SECOND
    review = rs.FSRSReview
    item = rs.FSRSItem
    first = itemgetter(0)
    ids: list[str] = []
    items: list[Any] = []
    for card_id, history in histories.items():
        if not history:
            continue
        ordered = sorted(history, key=first)
        deltas = _deltas([h[0] for h in ordered], cutoff_s)
        items.append(item([review(int(h[1]), d) for h, d in zip(ordered, deltas, strict=True)]))
        ids.append(card_id)
    return ids, items


def memory_states_batch(
    histories: Mapping[str, Sequence[tuple[Any, ...]]],
    cutoff: datetime,
    parameters: Sequence[float] | None = None,
) -> dict[str, MemoryState]:
    """`anki_days.memory_states` in one fsrs-rs call: each card's FSRS memory state from its
    history `(time, rating, ...)` (aware times, rated reviews 1..4) as Anki recomputes it with
    the day cutoff `cutoff`. Cards without reviews are left out. `parameters`: the 21 FSRS-6
    weights, or None for the defaults."""
    import fsrs_rs_python as rs

    ids, items = fsrs_items(histories, cutoff)
    if not items:
        return {}
    model = rs.FSRS(list(parameters) if parameters is not None else list(rs.DEFAULT_PARAMETERS))
    states = model.memory_state_batch(items)
    return {
        cid: MemoryState(float(s.stability), float(s.difficulty))
        for cid, s in zip(ids, states, strict=True)
    }
