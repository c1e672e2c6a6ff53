"""FSRS parameter history and foreign review history: the tables of `dlcards optimize` and
`dlcards import-reviews` (migration 4). Functions taking a `Store`; each write is one
transaction.

`fsrs_params` keeps every parameter set that was fitted or imported, with its scores, whether it
was adopted, and when it was rolled back. The *active* set is the newest adopted row that was
not rolled back; none means the FSRS-6 defaults.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import StoreError
from dlcards.store.rows import (
    _UPSERT_STATE,
    _at,
    _dt,
    _state_values,
    _ts,
)

if TYPE_CHECKING:
    from dlcards.core.state import CardState, ReviewEntry
    from dlcards.store.db import Store


@dataclass(frozen=True)
class ParamsRow:
    """One row of the parameter history."""

    id: int
    created_at: datetime
    parameters: tuple[float, ...]
    source: str  # "optimize", "import" (an Anki preset) or "sync"
    adopted: bool
    rolled_back_at: datetime | None
    items: int | None
    log_loss: float | None
    rmse_bins: float | None
    previous_log_loss: float | None
    previous_rmse_bins: float | None
    note: str | None

    @property
    def active_candidate(self) -> bool:
        return self.adopted and self.rolled_back_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "parameters": list(self.parameters),
            "source": self.source,
            "adopted": self.adopted,
            "rolled_back_at": None
            if self.rolled_back_at is None
            else self.rolled_back_at.isoformat(),
            "items": self.items,
            "log_loss": self.log_loss,
            "rmse_bins": self.rmse_bins,
            "previous_log_loss": self.previous_log_loss,
            "previous_rmse_bins": self.previous_rmse_bins,
            "note": self.note,
        }


_COLUMNS = (
    "id, created_at, parameters, source, adopted, rolled_back_at, items, log_loss, rmse_bins, "
    "previous_log_loss, previous_rmse_bins, note"
)


def _row(r: Sequence[Any]) -> ParamsRow:
    created = _dt(r[1])
    assert created is not None
    return ParamsRow(
        id=int(r[0]),
        created_at=created,
        parameters=tuple(float(w) for w in json.loads(r[2])),
        source=str(r[3]),
        adopted=bool(r[4]),
        rolled_back_at=_dt(r[5]),
        items=r[6],
        log_loss=r[7],
        rmse_bins=r[8],
        previous_log_loss=r[9],
        previous_rmse_bins=r[10],
        note=r[11],
    )


def add_params(
    store: Store,
    parameters: Sequence[float],
    *,
    created_at: datetime,
    source: str,
    adopted: bool,
    items: int | None = None,
    log_loss: float | None = None,
    rmse_bins: float | None = None,
    previous_log_loss: float | None = None,
    previous_rmse_bins: float | None = None,
    note: str | None = None,
    states: Iterable[CardState] = (),
) -> ParamsRow:
    """Append a parameter set to the history; returns its row. `states` (the cards' memory
    states recomputed with the parameters now in force) are written in the same transaction."""
    with store._tx() as conn:
        for state in states:
            conn.execute(_UPSERT_STATE, (state.card_id, *_state_values(state)))
        cur = conn.execute(
            "INSERT INTO fsrs_params (created_at, parameters, source, adopted, items, log_loss, "
            "rmse_bins, previous_log_loss, previous_rmse_bins, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _ts(created_at),
                json.dumps([float(w) for w in parameters]),
                source,
                int(adopted),
                items,
                log_loss,
                rmse_bins,
                previous_log_loss,
                previous_rmse_bins,
                note,
            ),
        )
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM fsrs_params WHERE id = ?", (cur.lastrowid,)
        ).fetchone()
    return _row(row)


def params_history(store: Store) -> list[ParamsRow]:
    """Every parameter set, oldest first."""
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM fsrs_params ORDER BY created_at, id")
    return [_row(r) for r in rows]


def active_params(store: Store) -> ParamsRow | None:
    """The newest adopted parameter set not rolled back; None: the defaults are in use."""
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM fsrs_params WHERE adopted = 1 AND rolled_back_at IS NULL "
        "ORDER BY created_at DESC, id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else _row(row)


def rollback_params(
    store: Store, now: datetime, states_for: Callable[[ParamsRow | None], Iterable[CardState]]
) -> tuple[ParamsRow, ParamsRow | None]:
    """Withdraw the active parameter set: (the one rolled back, the one now active or None).
    `states_for(active)` gives the memory states recomputed with the set that is active after
    the rollback; they are written in the same transaction."""
    with store._tx() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM fsrs_params WHERE adopted = 1 AND rolled_back_at IS NULL "
            "ORDER BY created_at DESC, id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise StoreError(
                "no adopted parameters to roll back: scheduling already uses the FSRS defaults",
                hint="`dlcards optimize --history` lists the parameter sets",
            )
        conn.execute(
            "UPDATE fsrs_params SET rolled_back_at = ? WHERE id = ?", (_ts(now), int(row[0]))
        )
        after = conn.execute(
            f"SELECT {_COLUMNS} FROM fsrs_params WHERE adopted = 1 AND rolled_back_at IS NULL "
            "ORDER BY created_at DESC, id DESC LIMIT 1"
        ).fetchone()
        active = None if after is None else _row(after)
        for state in states_for(active):
            conn.execute(_UPSERT_STATE, (state.card_id, *_state_values(state)))
    return _row(row), active


# ---- foreign review history ---------------------------------------------------------------


@dataclass(frozen=True)
class ForeignReview:
    """A review of a card that is not a dlcards card, from another app's review log."""

    card_key: str
    time: datetime
    rating: int
    duration_ms: int


def foreign_reviews(store: Store) -> list[ForeignReview]:
    """All foreign reviews, in time order."""
    rows = store.conn.execute(
        "SELECT card_key, time, rating, duration_ms FROM foreign_reviews ORDER BY time, id"
    )
    out = []
    for key, time, rating, duration in rows:
        when = _dt(time)
        assert when is not None
        out.append(ForeignReview(str(key), when, int(rating), int(duration)))
    return out


def existing_review_times(store: Store, card_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(card_id, time text) of the reviews already in the log for these cards (deduplication)."""
    ids = list(dict.fromkeys(card_ids))
    out: set[tuple[str, str]] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = store.conn.execute(
            "SELECT c.card_id, l.time FROM review_log AS l JOIN cards AS c ON c.id = l.card "
            f"WHERE c.card_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        out.update((str(c), str(_ts(_at(t)))) for c, t in rows)
    return out


def import_review_history(
    store: Store,
    entries: Iterable[ReviewEntry],
    states: Iterable[CardState],
    foreign: Iterable[ForeignReview],
    *,
    source: str,
) -> tuple[int, int]:
    """ONE transaction: append reviews of dlcards cards (with their recomputed states) and
    foreign reviews (duplicates of (card, time) skipped). Returns (dlcards rows, foreign rows)
    written. The dlcards cards must already be known to the store."""
    written = foreign_written = 0
    with store._tx() as conn:
        for state in states:
            conn.execute(_UPSERT_STATE, (state.card_id, *_state_values(state)))
        written = store._insert_entries(conn, entries)[0]
        for r in foreign:
            cur = conn.execute(
                "INSERT INTO foreign_reviews (source, card_key, time, rating, duration_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (card_key, time) DO NOTHING",
                (source, r.card_key, _ts(r.time), int(r.rating), int(r.duration_ms)),
            )
            foreign_written += cur.rowcount
    return written, foreign_written


def foreign_keys_and_times(store: Store) -> set[tuple[str, str]]:
    """(card_key, time text) of every foreign review (deduplication)."""
    return {
        (str(k), str(t))
        for k, t in store.conn.execute("SELECT card_key, time FROM foreign_reviews")
    }


def ts_text(value: datetime) -> str:
    """A time as the store writes it (to compare with the sets above)."""
    text = _ts(value)
    assert text is not None
    return text
