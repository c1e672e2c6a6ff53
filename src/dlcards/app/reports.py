"""Reading progress from the collection and the review database: the stats figures and one
card's info. An edge (it opens the store); the numbers themselves come from the pure
`dlcards.insights.stats`. Shared by the `stats` / `info` commands and their TUI screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dlcards.core.errors import DlcardsError


@dataclass
class StatsData:
    """What the stats figures are computed from (read once)."""

    root: Path
    settings: Any  # dlcards.system.config.Settings
    notes: list[Any]
    reviews: list[Any]
    states: dict[str, Any]
    flags: dict[str, Any]
    now: datetime

    @property
    def tz(self) -> Any:
        from dlcards.core.calendar import zone

        return zone(self.settings.timezone)


def load_data(
    root: Path | None, now: datetime, *, settings: Any = None, store_path: Path | None = None
) -> StatsData:
    from dlcards.core.calendar import zone
    from dlcards.store import Store
    from dlcards.system.decks import open_collection

    col = open_collection(root, lint=False)
    settings = settings if settings is not None else col.settings
    with Store.open(
        store_path, tz=zone(settings.timezone), day_starts_at=settings.day_starts_at
    ) as store:
        reviews = store.reviews()
        states = store.states()
        flags = store.flags()
    return StatsData(col.root, settings, col.notes, reviews, states, flags, now)


def report_of(data: StatsData) -> dict[str, Any]:
    from dlcards.insights.stats import compute_stats
    from dlcards.review.scheduling import Scheduler, SchedulerConfig

    s = data.settings
    scheduler = Scheduler(SchedulerConfig.from_settings(s))
    return compute_stats(
        data.notes,
        data.reviews,
        data.states,
        data.flags,
        now=data.now,
        tz=data.tz,
        day_starts_at=s.day_starts_at,
        weekly_hours=s.weekly_hours,
        new_per_day=s.new_per_day,
        retrievability=scheduler.retrievability,
    )


def load_report(
    root: Path | None, now: datetime, *, settings: Any = None, store_path: Path | None = None
) -> dict[str, Any]:
    """The full `dlcards stats --json` report of a collection at `now`."""
    return report_of(load_data(root, now, settings=settings, store_path=store_path))


class UnknownCardError(DlcardsError):
    """No card with that id in the decks or the review database."""


def history_rows(reviews: list[Any]) -> list[dict[str, Any]]:
    """One row per review: time, rating, kind, duration and the state it left (interval,
    stability, difficulty), plus the days elapsed since the previous review."""
    rows = []
    prev: datetime | None = None
    for e in reviews:
        elapsed = None if prev is None else round((e.time - prev).total_seconds() / 86400, 2)
        prev = e.time
        a = e.after
        rows.append(
            {
                "time": e.time.isoformat(),
                "rating": int(e.rating),
                "rating_name": e.rating.name.title(),
                "kind": e.kind,
                "source": e.source,
                "duration_s": round(e.duration_ms / 1000, 1),
                "elapsed_days": elapsed,
                "interval_days": a.interval_days,
                "due": a.due.isoformat() if a.due else None,
                "stability": None if a.stability is None else round(a.stability, 3),
                "difficulty": None if a.difficulty is None else round(a.difficulty, 3),
                "phase": a.phase,
            }
        )
    return rows


def card_info_of(
    card_id: str,
    note: Any,
    state: Any,
    flags: Any,
    reviews: list[Any],
    now: datetime,
    retrievability: Any,
    orphan: Any = None,
) -> dict[str, Any]:
    """The info dict from already-read parts (pure)."""
    r = retrievability(state, now) if state is not None else None
    where = None
    if note is not None:
        where = {"path": note.path, "line": note.line, "end_line": note.end_line}
    elif orphan is not None:
        where = {"path": orphan.path, "line": orphan.line, "end_line": None}
    passed = sum(1 for e in reviews if int(e.rating) > 1)
    return {
        "card_id": card_id,
        "in_decks": note is not None,
        "where": where,
        "kind": note.kind if note is not None else (orphan.kind if orphan is not None else None),
        "topic": note.meta.topic if note is not None else None,
        "week": note.meta.week if note is not None else None,
        "question": note.question if note is not None else None,
        "answer": note.answer if note is not None else None,
        "state": None if state is None else state.to_dict(),
        "suspended": bool(flags and flags.suspended),
        "leech": bool(flags and flags.leech),
        "retrievability": None if r is None else round(r, 4),
        "reviews": len(reviews),
        "again": len(reviews) - passed,
        "total_minutes": round(sum(e.duration_ms for e in reviews) / 60000, 2),
        "history": history_rows(reviews),
    }


def card_info(
    root: Path | None,
    card_id: str,
    now: datetime,
    *,
    store_path: Path | None = None,
    collection: Any = None,
    store: Any = None,
) -> dict[str, Any]:
    """Read the card from the decks and the store. Raises UnknownCardError."""
    from dlcards.review.scheduling import Scheduler, SchedulerConfig

    if collection is None:
        from dlcards.system.decks import open_collection

        collection = open_collection(root, lint=False)
    note = next((n for n in collection.notes if card_id in n.card_ids()), None)
    own_store = store is None
    if store is None:
        from dlcards.core.calendar import zone
        from dlcards.store import Store

        s = collection.settings
        store = Store.open(store_path, tz=zone(s.timezone), day_starts_at=s.day_starts_at)
    try:
        state = store.states([card_id]).get(card_id)
        flags = store.flags([card_id]).get(card_id)
        reviews = store.reviews([card_id])
        orphan = (
            None
            if note is not None
            else next((o for o in store.orphans() if o.card_id == card_id), None)
        )
    finally:
        if own_store:
            store.close()
    if note is None and orphan is None and not reviews and state is None:
        raise UnknownCardError(
            f"no card with id {card_id!r}",
            hint="`dlcards list` shows the ids; a cloze card's id ends in /c1, /c2, ...",
        )
    scheduler = Scheduler(SchedulerConfig.from_settings(collection.settings))
    return card_info_of(card_id, note, state, flags, reviews, now, scheduler.retrievability, orphan)
