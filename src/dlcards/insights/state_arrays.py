"""Card states and flags as columns (issue 16): what `dlcards stats`, `dlcards prune` and
`dlcards list` read of 50k cards without building 50k `CardState` / `CardFlags` objects. Pure.

`StateArrays` / `FlagArrays` hold one entry per stored row, in any order, with the card ids in
`ids`; `aligned(card_ids)` reorders them to a given card order (a card with no row: new, no
flags). `dlcards.store.state_columns` reads them from SQLite; `StateArrays.of(states)` and
`FlagArrays.of(flags)` build them from objects (tests, and in-memory callers).

Missing values: NaN for a float (stability, difficulty), `NO_TIME` for a time (due, last
review; times are integer microseconds since the epoch, UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from dlcards.core.state import CardFlags, CardState

PHASES = ("new", "learning", "review", "relearning")
NEW, LEARNING, REVIEW, RELEARNING = range(4)
NO_TIME = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(t: datetime) -> int:
    """An aware time as integer microseconds since the epoch (exact)."""
    d = t - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def from_micros(us: int) -> datetime:
    """The aware UTC time of integer microseconds since the epoch (exact)."""
    return _EPOCH + timedelta(microseconds=us)


def positions(ids: list[str], card_ids: list[str]) -> np.ndarray:
    """For each of `card_ids`, its index in `ids`, or -1."""
    if not ids:
        return np.full(len(card_ids), -1, dtype=np.int64)
    at = {cid: i for i, cid in enumerate(ids)}
    get = at.get
    return np.fromiter((get(c, -1) for c in card_ids), dtype=np.int64, count=len(card_ids))


def _take(values: np.ndarray, index: np.ndarray, missing: object) -> np.ndarray:
    out = np.full(index.shape, missing, dtype=values.dtype)
    present = index >= 0
    out[present] = values[index[present]]
    return out


@dataclass(frozen=True, slots=True)
class StateArrays:
    """Card states as columns (one element per card, `ids[i]` its id)."""

    ids: list[str]
    phase: np.ndarray  # int8, an index into PHASES
    stability: np.ndarray  # float64, NaN: none
    difficulty: np.ndarray  # float64, NaN: none
    due_us: np.ndarray  # int64, NO_TIME: none
    last_us: np.ndarray  # int64, NO_TIME: none
    interval_days: np.ndarray  # int64
    reps: np.ndarray  # int64
    lapses: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, states: Mapping[str, CardState]) -> StateArrays:
        sts = list(states.values())
        code = {p: i for i, p in enumerate(PHASES)}
        nan = float("nan")
        return cls(
            [s.card_id for s in sts],
            np.array([code[s.phase] for s in sts], dtype=np.int8),
            np.array([nan if s.stability is None else s.stability for s in sts], np.float64),
            np.array([nan if s.difficulty is None else s.difficulty for s in sts], np.float64),
            np.array([NO_TIME if s.due is None else micros(s.due) for s in sts], np.int64),
            np.array(
                [NO_TIME if s.last_review is None else micros(s.last_review) for s in sts],
                np.int64,
            ),
            np.array([s.interval_days for s in sts], np.int64),
            np.array([s.reps for s in sts], np.int64),
            np.array([s.lapses for s in sts], np.int64),
        )

    def aligned(self, card_ids: list[str]) -> StateArrays:
        """The states of `card_ids`, in that order (a card without a row: new)."""
        index = positions(self.ids, card_ids)
        return StateArrays(
            list(card_ids),
            _take(self.phase, index, NEW),
            _take(self.stability, index, np.nan),
            _take(self.difficulty, index, np.nan),
            _take(self.due_us, index, NO_TIME),
            _take(self.last_us, index, NO_TIME),
            _take(self.interval_days, index, 0),
            _take(self.reps, index, 0),
            _take(self.lapses, index, 0),
        )

    def state(self, i: int) -> CardState:
        """Row `i` as a `CardState` (for the few cards a caller shows)."""
        s, d = float(self.stability[i]), float(self.difficulty[i])
        due, last = int(self.due_us[i]), int(self.last_us[i])
        return CardState(
            self.ids[i],
            PHASES[int(self.phase[i])],  # type: ignore[arg-type]
            None,
            None if s != s else s,
            None if d != d else d,
            None if due == NO_TIME else from_micros(due),
            None if last == NO_TIME else from_micros(last),
            int(self.reps[i]),
            int(self.lapses[i]),
            int(self.interval_days[i]),
        )


@dataclass(frozen=True, slots=True)
class FlagArrays:
    """Card flags as columns (one element per card, `ids[i]` its id)."""

    ids: list[str]
    suspended: np.ndarray  # bool
    leech: np.ndarray  # bool
    flag: np.ndarray  # int8, 0 none, 1..7
    buried_until: list[date | None]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, flags: Mapping[str, CardFlags]) -> FlagArrays:
        fs = list(flags.values())
        return cls(
            [f.card_id for f in fs],
            np.array([f.suspended for f in fs], dtype=bool),
            np.array([f.leech for f in fs], dtype=bool),
            np.array([f.flag for f in fs], dtype=np.int8),
            [f.buried_until for f in fs],
        )

    def aligned(self, card_ids: list[str]) -> FlagArrays:
        """The flags of `card_ids`, in that order (a card without a row: none)."""
        index = positions(self.ids, card_ids)
        buried = self.buried_until
        return FlagArrays(
            list(card_ids),
            _take(self.suspended, index, False),
            _take(self.leech, index, False),
            _take(self.flag, index, 0),
            [None if i < 0 else buried[i] for i in index.tolist()],
        )
