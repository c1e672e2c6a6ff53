"""`dlcards doctor`'s findings as data: the review database's integrity, schema, counts,
orphaned histories and backups, compared with the Markdown's card ids when there is a
collection. Never makes a backup and never writes; `repair_states` and `restore` are the
two repairs (`doctor --repair`, `doctor --restore`), each with the user's consent."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlcards.core.state import CardState, Rating
    from dlcards.review.scheduling import Scheduler
    from dlcards.store import Store


def diagnose(
    db: Path, markdown_ids: set[str] | None, scheduler: Scheduler | None = None
) -> dict[str, Any]:
    """Everything doctor reports, as data (the --json output). With a `scheduler` (the
    collection's), every card's state is checked against a replay of its log."""
    from dlcards.core.errors import StoreError
    from dlcards.store import Store, list_backups
    from dlcards.store.migrations import LATEST

    report: dict[str, Any] = {
        "database": str(db),
        "exists": db.is_file(),
        "latest_schema_version": LATEST,
        "problems": [],
        "orphans": [],
        "counts": {},
        "migrations": [],
    }
    report["backups"] = [
        {"path": str(b.path), "day": b.day.isoformat(), "size": b.size} for b in list_backups(db)
    ]
    if not db.is_file():
        report["schema_version"] = None
        return report
    report["size"] = db.stat().st_size
    try:
        store = Store.open(db)
    except StoreError as exc:
        report["schema_version"] = None
        report["problems"].append(exc.message)
        return report
    with store:
        report["schema_version"] = store.schema_version
        report["migrated_from"] = store.migrated_from
        report["migrations"] = [
            {"version": v, "name": n, "applied_at": a} for v, n, a in store.applied_migrations()
        ]
        report["problems"].extend(store.integrity_check())
        if report["problems"]:
            return report  # counting a damaged database only adds confusing errors
        counts = store.counts()
        states = store.states()
        reviews_per_card: dict[str, int] = {}
        for entry in store.reviews():
            reviews_per_card[entry.card_id] = reviews_per_card.get(entry.card_id, 0) + 1
        if markdown_ids is not None:
            # Compare with the Markdown as it is now (nothing is written).
            known = {c.card_id: c for c in store.cards()}
            orphan_ids = sorted(
                cid for cid in set(states) | set(reviews_per_card) if cid not in markdown_ids
            )
            orphans = [known[cid] for cid in orphan_ids if cid in known]
            counts["present"] = len(markdown_ids)
            counts["orphans"] = len(orphans)
            counts["never_reviewed"] = len(markdown_ids - set(states))
        else:
            orphans = store.orphans()
        report["counts"] = counts
        if scheduler is not None:
            wrong = check_states(store, scheduler)
            report["states"] = {
                "checked": len({e.card_id for e in store.reviews()} | set(states)),
                "wrong": [m.to_dict() for m in wrong],
            }
            if wrong:
                report["problems"].append(
                    f"{len(wrong)} card state(s) disagree with their review log (first: "
                    f"{wrong[0].describe()}); `dlcards doctor --repair` replays them"
                )
        for card in orphans:
            gone = store.gone_since(card.card_id)
            report["orphans"].append(
                {
                    "id": card.card_id,
                    "path": card.path,
                    "line": card.line,
                    "reviews": reviews_per_card.get(card.card_id, 0),
                    "gone_since": gone.isoformat() if gone else None,
                }
            )
    return report


# -- states against the log (issue 17) ------------------------------------------------------


@dataclass(frozen=True)
class StateMismatch:
    """A card whose stored state disagrees with a replay of its review log."""

    card_id: str
    reviews: int
    stored_reps: int | None  # None: no state stored
    replay_reps: int
    stored_last: str | None
    replay_last: str | None

    def describe(self) -> str:
        if self.stored_reps is None:
            return f"{self.card_id}: {self.reviews} reviews in the log but no stored state"
        return (
            f"{self.card_id}: stored state says {self.stored_reps} reps (last "
            f"{(self.stored_last or 'never')[:19]}), the log has {self.reviews} reviews (last "
            f"{(self.replay_last or 'never')[:19]})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _replays(store: Store, scheduler: Scheduler) -> dict[str, tuple[CardState, int]]:
    """Every card's state replayed from its log through the scheduler: id -> (state, reviews)."""
    from dlcards.review.batch import replay_batch

    by_card: dict[str, list[tuple[datetime, Rating, int]]] = {}
    for entry in store.reviews():
        by_card.setdefault(entry.card_id, []).append((entry.time, entry.rating, entry.duration_ms))
    # one batched replay, bit-identical to `scheduler.replay` per card (final states only)
    replayed = replay_batch(scheduler, by_card, wanted={})
    return {cid: (replayed[cid][0], len(rows)) for cid, rows in by_card.items()}


def check_states(store: Store, scheduler: Scheduler) -> list[StateMismatch]:
    """Cards whose stored state disagrees with a replay of their log: the replay's count of
    reviews and the time of the last one must be the state's `reps` and `last_review` (what
    a lost update or an answer written from stale memory breaks). Memory values (stability,
    difficulty, due) are not compared: they change, legitimately, with the settings and with
    Anki's recomputation at import."""
    states = store.states()
    out = []
    for cid, (replayed, n) in sorted(_replays(store, scheduler).items()):
        stored = states.get(cid)
        if stored is None:
            out.append(StateMismatch(cid, n, None, replayed.reps, None, _iso(replayed.last_review)))
        elif stored.reps != replayed.reps or stored.last_review != replayed.last_review:
            out.append(
                StateMismatch(
                    cid,
                    n,
                    stored.reps,
                    replayed.reps,
                    _iso(stored.last_review),
                    _iso(replayed.last_review),
                )
            )
    return out


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def repair_states(db: Path, scheduler: Scheduler, card_ids: list[str]) -> int:
    """Replace these cards' states in the database at `db` by a replay of their log (one
    transaction; the caller holds the write lease, so the log cannot change meanwhile).
    Returns the number of states written."""
    from dlcards.store import Store

    wanted = set(card_ids)
    with Store.open(db) as store:
        replays = _replays(store, scheduler)
        return store.set_states(replays[cid][0] for cid in sorted(wanted) if cid in replays)


def default_scheduler() -> Scheduler:
    """The scheduler of the default settings (doctor outside a collection)."""
    from dlcards.app.settings import scheduler_config
    from dlcards.review.scheduling import Scheduler
    from dlcards.system.config import Settings

    return Scheduler(scheduler_config(Settings()))


# -- restoring a backup ---------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    backup: Path
    kept_aside: list[Path]


def good_backups(db: Path) -> list[tuple[Path, list[str]]]:
    """Every daily and pre-migration backup, newest first, with quick_check's findings."""
    from dlcards.store import list_backups
    from dlcards.store.backup import BACKUP_DIR
    from dlcards.store.integrity import quick_check_file

    paths = [b.path for b in list_backups(db)]
    folder = db.parent / BACKUP_DIR
    if folder.is_dir():
        paths += sorted(
            folder.glob("dlcards-before-v*.sqlite3"), key=lambda p: p.stat().st_mtime, reverse=True
        )
    return [(p, quick_check_file(p)) for p in paths]


def restore(db: Path, backup: Path | None, stamp: str) -> Restored:
    """Put a backup in place of the database (the newest good one when `backup` is None).
    The current file and its -wal/-shm are kept aside as `<name>.damaged-<stamp>`. The caller
    holds the write lease. Raises StoreError when no good backup exists."""
    import os
    import shutil

    from dlcards.core.errors import StoreError
    from dlcards.store.integrity import quick_check_file

    if backup is None:
        good = [p for p, problems in good_backups(db) if not problems]
        if not good:
            raise StoreError(
                f"{db.parent / 'backups'}: no backup reads back whole; nothing was changed",
                hint=f"the sqlite3 shell may salvage the database: sqlite3 '{db}' .recover",
            )
        backup = good[0]
    elif not backup.is_file():
        raise StoreError(f"{backup}: no such backup; nothing was changed")
    problems = quick_check_file(backup)
    if problems:
        raise StoreError(
            f"{backup}: this backup does not read back ({problems[0]}); nothing was changed",
            hint="`dlcards doctor` lists the backups; pick another",
        )
    tmp = db.with_name(db.name + ".restoring")
    shutil.copyfile(backup, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    kept = []
    for suffix in ("", "-wal", "-shm"):
        src = db.with_name(db.name + suffix)
        if src.exists():
            dst = db.with_name(f"{db.name}.damaged-{stamp}{suffix}")
            src.replace(dst)
            kept.append(dst)
    tmp.replace(db)
    return Restored(backup, kept)
