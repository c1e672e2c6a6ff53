"""`dlcards import-reviews` as a service of a `Collection`: CSV review logs
(`dlcards.review.revlog_csv`), all in one transaction or nothing (`ImportProblems`). Rows of
dlcards cards join their card's history (states recomputed by replay); the others are kept as
foreign history, which the optimiser fits on and the simulator times."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import DlcardsError, UsageError

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.errors import Problem
    from dlcards.core.state import CardState


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
        col.take_lease("import-reviews")  # one writer at a time (no review open meanwhile)
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
