"""Read review history out of Anki: a collection file, a `.colpkg` backup, or an `.apkg`.

Reading goes through the `anki` package (Anki's own Rust backend), never sqlite3 directly:
the backend understands every collection schema Anki has written, and the input is never
modified (a copy is opened, or the package is unpacked into a temporary collection).

`read_anki_reviews` is pure with respect to dlcards: Anki file in, `AnkiReview` rows out.
`plan_import` maps those rows onto dlcards cards (note GUID + card ordinal) and sorts them
into what to import, what to skip, and what matches no dlcards card.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import DlcardsError, UsageError
from dlcards.core.model import Note, cloze_card_id
from dlcards.core.state import Rating, ReviewEntry

if TYPE_CHECKING:
    from dlcards.review.scheduling import Scheduler
    from dlcards.store import Store

# revlog.type: 0 learn, 1 review, 2 relearn, 3 filtered (cram), 4 manual, 5 rescheduled
REVLOG_MANUAL = 4
REVLOG_RESCHEDULED = 5
ANKI_KINDS = {0: "learn", 1: "review", 2: "relearn", 3: "review"}


class AnkiReadError(DlcardsError):
    """The Anki file cannot be read."""


@dataclass(frozen=True)
class AnkiReview:
    """One row of Anki's review log, with what identifies its card."""

    revlog_id: int  # milliseconds since the epoch, unique in Anki's log
    guid: str  # the note's GUID
    ord: int  # the card's template / cloze ordinal, from 0
    time: datetime  # UTC (from the revlog id)
    ease: int  # 1..4 (0 for manual entries)
    duration_ms: int
    type: int  # revlog type (see above)
    dlc_id: str | None  # the note's DlcId field, when it has one (a dlcards note type)


@dataclass
class ImportPlan:
    """Anki rows sorted by what happens to them."""

    matched: dict[str, list[AnkiReview]] = field(default_factory=dict)  # card id -> rows
    skipped: list[AnkiReview] = field(default_factory=list)  # manual / rescheduled entries
    not_dlcards: list[AnkiReview] = field(default_factory=list)  # cards from other decks
    gone: list[AnkiReview] = field(default_factory=list)  # dlcards cards no longer in the files

    @property
    def unmatched(self) -> int:
        return len(self.not_dlcards) + len(self.gone)

    @property
    def matched_rows(self) -> int:
        return sum(len(rows) for rows in self.matched.values())


def _revlog_rows(col: Any) -> list[AnkiReview]:
    dlc_field: dict[int, int] = {}
    for nt in col.models.all():
        names = [f["name"] for f in nt["flds"]]
        if "DlcId" in names:
            dlc_field[int(nt["id"])] = names.index("DlcId")
    # each note once (its GUID and DlcId), not its fields again for every review of it
    of_note: dict[int, tuple[str, str | None]] = {}
    for nid, guid, mid, flds in col.db.all(
        "select id, guid, mid, flds from notes where id in "
        "(select nid from cards where id in (select cid from revlog))"
    ):
        index = dlc_field.get(int(mid))
        dlc_id = None
        if index is not None:
            values = str(flds).split("\x1f")
            dlc_id = values[index].strip() if index < len(values) else None
        of_note[int(nid)] = (str(guid), dlc_id or None)
    rows = col.db.all(
        "select r.id, coalesce(c.nid, 0), coalesce(c.ord, 0), r.ease, r.time, r.type "
        "from revlog r left join cards c on c.id = r.cid order by r.id"
    )
    missing = ("", None)
    out = []
    for rid, nid, ord_, ease, taken, rtype in rows:
        guid, dlc_id = of_note.get(int(nid), missing)
        out.append(
            AnkiReview(
                revlog_id=int(rid),
                guid=guid,
                ord=int(ord_),
                time=datetime.fromtimestamp(int(rid) / 1000, UTC),
                ease=int(ease),
                duration_ms=max(0, int(taken)),
                type=int(rtype),
                dlc_id=dlc_id,
            )
        )
    return out


def read_anki_reviews(path: Path) -> list[AnkiReview]:
    """Every review-log row of an Anki collection (`.anki2`/`.anki21`), `.colpkg` or `.apkg`.

    Rows whose card was deleted in Anki come back with an empty GUID (they match nothing).
    """
    try:
        from anki.collection import Collection
    except ImportError:
        raise UsageError(
            "reading Anki files needs the `anki` package",
            hint="pip install anki (it runs headless; no Anki installation needed)",
        ) from None
    if not path.is_file():
        raise UsageError(
            f"{path}: no such file",
            hint="pass collection.anki2 (from Anki's profile folder, with Anki closed), "
            "a .colpkg backup, or an .apkg exported with scheduling",
        )
    suffix = path.suffix.lower()
    with tempfile.TemporaryDirectory(prefix="dlcards-anki-") as tmp:
        work = Path(tmp) / "collection.anki2"
        col = None
        try:
            if suffix == ".colpkg":
                from anki._backend import RustBackend

                backend = RustBackend()
                backend.import_collection_package(
                    col_path=str(work),
                    backup_path=str(path),
                    media_folder=str(Path(tmp) / "media"),
                    media_db=str(Path(tmp) / "media.db"),
                )
                col = Collection(str(work))
            elif suffix == ".apkg":
                from anki.import_export_pb2 import (
                    ImportAnkiPackageOptions,
                    ImportAnkiPackageRequest,
                )

                col = Collection(str(work))
                col.import_anki_package(
                    ImportAnkiPackageRequest(
                        package_path=str(path),
                        options=ImportAnkiPackageOptions(with_scheduling=True),
                    )
                )
                col.models._clear_cache()
            else:
                _copy_collection(path, work)
                col = Collection(str(work))
            return _revlog_rows(col)
        except DlcardsError:
            raise
        except Exception as exc:
            raise AnkiReadError(
                f"{path}: cannot read it as an Anki collection or package: {exc}",
                hint="close Anki first (or use File > Export > Anki Collection Package, .colpkg)",
            ) from None
        finally:
            if col is not None:
                with contextlib.suppress(Exception):
                    col.close()


def _copy_collection(path: Path, target: Path) -> None:
    """Copy the collection (and a leftover write-ahead log) so the original is never touched."""
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise AnkiReadError(
                f"{path}: not an Anki collection (expected collection.anki2, .colpkg or .apkg)"
            )
    shutil.copyfile(path, target)
    for extra in ("-wal",):
        side = path.with_name(path.name + extra)
        if side.is_file():
            shutil.copyfile(side, target.with_name(target.name + extra))


def guid_map(notes: Iterable[Note]) -> dict[str, Note]:
    """Anki GUID -> dlcards note (GUIDs are `genanki.guid_for("dlcards", note id)`)."""
    from dlcards.anki.notetypes import note_guid

    return {note_guid(n.id): n for n in notes}


def card_id_for(note: Note, ord_: int) -> str | None:
    """The dlcards card of Anki card ordinal `ord_` of this note (None if it has no such card)."""
    if note.kind == "basic":
        return note.id if ord_ == 0 else None
    card_id = cloze_card_id(note.id, ord_ + 1)
    return card_id if card_id in note.card_ids() else None


def plan_import(rows: Iterable[AnkiReview], notes: Iterable[Note]) -> ImportPlan:
    """Sort Anki rows: manual/reschedule entries are skipped; the rest map to dlcards cards."""
    by_guid = guid_map(notes)
    plan = ImportPlan()
    for row in rows:
        if row.type in (REVLOG_MANUAL, REVLOG_RESCHEDULED) or not 1 <= row.ease <= 4:
            plan.skipped.append(row)
            continue
        note = by_guid.get(row.guid) if row.guid else None
        if note is None:
            (plan.gone if row.dlc_id else plan.not_dlcards).append(row)
            continue
        card_id = card_id_for(note, row.ord)
        if card_id is None:
            plan.gone.append(row)
            continue
        plan.matched.setdefault(card_id, []).append(row)
    return plan


_MERGE_CHUNK = 500  # cards replayed per batch (the progress bar advances per batch)


def as_imported(entry: ReviewEntry, revlog_id: int) -> ReviewEntry:
    """`replace(entry, source="anki", anki_revlog_id=revlog_id)`, built directly (a review
    log of 50k rows calls it 50k times)."""
    e = entry
    return ReviewEntry(
        e.card_id, e.time, e.rating, e.duration_ms, e.before, e.after, e.kind, "anki", revlog_id
    )


@dataclass
class MergeResult:
    imported: int = 0
    duplicates: int = 0
    cards: list[str] = field(default_factory=list)  # cards whose state was recomputed


def merge_into_store(
    store: Store,
    scheduler: Scheduler,
    plan: ImportPlan,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Any = None,
) -> MergeResult:
    """Append the new Anki reviews to the dlcards log and recompute the affected cards' states.

    Rows already in the log (same Anki revlog id) are duplicates and change nothing. For every
    card with at least one new row, the whole merged history (dlcards + Anki, time-ordered) is
    replayed through the scheduler: the new rows get their before/after states from that
    replay, and the final state replaces the card's state. With `now` (the time of the
    import), memory states are what Anki's `compute_memory_state` gives at `now`: elapsed days
    counted back from that moment's day cutoff (`dlcards.review.anki_days`). `dry_run`
    computes the same counts and writes nothing.
    """
    from dlcards.review.anki_days import next_day_at
    from dlcards.review.batch import replay_batch

    cutoff = next_day_at(now, scheduler.config.calendar) if now is not None else None
    result = MergeResult()
    new_entries: list[ReviewEntry] = []
    states = []
    card_ids = sorted(plan.matched)
    if progress is not None:  # `dlcards.app.verify.Progress`: start(total, label), advance()
        progress.start(len(card_ids), "Merging reviews")
    # the cards' dlcards histories in one read, in time order (as `store.reviews` gives them)
    existing: dict[str, list[ReviewEntry]] = {}
    for entry in store.reviews(card_ids) if card_ids else ():
        existing.setdefault(entry.card_id, []).append(entry)
    for start in range(0, len(card_ids), _MERGE_CHUNK):
        chunk = card_ids[start : start + _MERGE_CHUNK]
        histories: dict[str, list[tuple[datetime, Rating, int]]] = {}
        rows_of: dict[str, dict[int, AnkiReview]] = {}
        for card_id in chunk:
            mine = existing.get(card_id, [])
            known = {e.anki_revlog_id for e in mine if e.anki_revlog_id is not None}
            fresh = [r for r in plan.matched[card_id] if r.revlog_id not in known]
            result.duplicates += len(plan.matched[card_id]) - len(fresh)
            if not fresh:
                continue
            merged: list[tuple[datetime, Rating, int, AnkiReview | None]] = [
                (e.time, e.rating, e.duration_ms, None) for e in mine
            ]
            merged += [(r.time, Rating(r.ease), r.duration_ms, r) for r in fresh]
            merged.sort(key=lambda m: m[0])
            histories[card_id] = [(t, rating, ms) for t, rating, ms, _ in merged]
            rows_of[card_id] = {i: m[3] for i, m in enumerate(merged) if m[3] is not None}
        if dry_run:  # the counts need no replay
            for card_id in chunk:
                if progress is not None:
                    progress.advance()
                if card_id in rows_of:
                    result.imported += len(rows_of[card_id])
                    result.cards.append(card_id)
            continue
        # the whole merged history of every card replayed at once, with the same results as
        # `scheduler.replay` card by card (`dlcards.review.batch.replay_batch`)
        replayed = replay_batch(scheduler, histories, cutoff=cutoff, wanted=rows_of)
        for card_id in chunk:
            if progress is not None:
                progress.advance()
            if card_id not in replayed:
                continue
            state, entries = replayed[card_id]
            for i, row in rows_of[card_id].items():
                replayed_entry = entries[i]
                assert replayed_entry is not None
                new_entries.append(as_imported(replayed_entry, row.revlog_id))
            states.append(state)
            result.cards.append(card_id)
    if new_entries:
        # reviews and recomputed states in one transaction: a crash leaves neither half
        imported, dups = store.import_reviews(new_entries, states)
        result.imported += imported
        result.duplicates += dups
    return result
