"""`dlcards sync`, the Anki side: one engine that keeps an Anki collection and dlcards in step.

The collection is either the learner's `collection.anki2` (Anki closed) or dlcards' mirror
collection, which `app.sync` syncs with an Anki sync server (AnkiWeb or self-hosted) before
and after this engine runs, as a phone would. One run (`run_sync`):

1. **content**: every valid Markdown note becomes an Anki note with the same note types,
   GUIDs and HTML as the `.apkg` export (new notes go in through an `.apkg` import, so the
   note types keep their fixed ids). A field is written only when the Markdown changed it and
   Anki did not; a field the learner edited in Anki is a *conflict*: reported (diff and
   `path:line`) and left alone until `prefer_markdown` or a Markdown edit decides. Tags under
   `dlcards::` (and `dlcards`) are dlcards'; every other tag (`marked`, `leech`, the learner's)
   is kept. Cards whose week/topic changed move deck. Notes deleted from the Markdown are
   tagged `dlcards::deleted` and moved to the `dlcards Orphaned` deck, never deleted (only
   `delete_orphans`, for `dlcards prune`, deletes them, after their reviews came in);
2. **reviews, each exactly once**: Anki revlog rows dlcards does not know come into the log
   (with their revlog id); dlcards answers go to Anki as revlog rows whose id (the answer's
   time in ms, made unique) is recorded in the store. A crash between the Anki write and the
   store commit is healed on the next run: an Anki row that matches an unlinked dlcards
   answer (same card, rating and time) is linked, not imported;
3. **one schedule**: a card answered only in Anki takes Anki's schedule; answered only in
   dlcards, Anki takes dlcards'; answered on both sides, the merged history is replayed once
   (time order) and the result is written to both;
4. **suspend, bury, flags, leech** both ways (three-way against the last sync's values);
5. deck options preset and new-card positions (curriculum order);
6. the dlcards side is written in ONE store transaction (`store.sync.commit_sync`).

Nothing here prints; the report is a value (`SyncReport`).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import DlcardsError
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry

if TYPE_CHECKING:
    from dlcards.anki.html import RenderedNote
    from dlcards.anki.reader import AnkiReview, ImportPlan
    from dlcards.core.calendar import StudyCalendar
    from dlcards.core.model import Note
    from dlcards.review.scheduling import Scheduler
    from dlcards.store import Store
    from dlcards.system.config import Settings

ROOT_TAG = "dlcards"
MANAGED_PREFIX = "dlcards::"
DELETED_TAG = "dlcards::deleted"
LEECH_TAG = "leech"
ORPHAN_DECK = "dlcards Orphaned"
NOTETYPE_HASH_KEY = "dlcards.notetypeHash"
LAST_SYNC_KEY = "dlcards.lastSync"
REVLOG_TYPE = {"learn": 0, "review": 1, "relearn": 2, "manual": 4, "import": 4}
QUEUE_SUSPENDED, QUEUE_SIBLING_BURIED, QUEUE_MANUAL_BURIED = -1, -2, -3


class AnkiSyncError(DlcardsError):
    """The Anki collection or the sync server said no; nothing was changed."""


class AnkiLockedError(AnkiSyncError):
    """The collection is open in Anki."""


# ---- opening ------------------------------------------------------------------------------


def open_anki(path: Path, *, create: bool = False) -> Any:
    """Open an Anki collection file for writing. A collection held by a running Anki gets a
    clear message (close Anki first)."""
    try:
        from anki.collection import Collection
    except ImportError:
        raise AnkiSyncError(
            "syncing with Anki needs the `anki` package",
            hint="pip install anki (it runs headless; no Anki installation needed)",
        ) from None
    if not create and not path.is_file():
        raise AnkiSyncError(
            f"{path}: no such file",
            hint="pass Anki's collection.anki2 (Linux ~/.local/share/Anki2/<profile>/)",
        )
    if not create:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise AnkiSyncError(f"{path}: not an Anki collection (collection.anki2)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return Collection(str(path))
    except Exception as exc:
        text = str(exc)
        if "already open" in text or "locked" in text.lower():
            raise AnkiLockedError(
                f"{path}: the collection is open in Anki (or being synced)",
                hint="close Anki first, then run `dlcards sync` again",
            ) from None
        raise AnkiSyncError(f"{path}: cannot open the Anki collection: {text}") from None


def close_anki(col: Any) -> None:
    with contextlib.suppress(Exception):
        col.close()


# ---- what the Markdown wants in Anki ------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """One dlcards note as Anki should have it."""

    note: Note
    guid: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]  # managed tags only (`dlcards`, `dlcards::…`)
    deck: str
    position: int  # curriculum position (new-card order)
    location: str  # `path:line`

    def card_id(self, ord_: int) -> str | None:
        from dlcards.anki.reader import card_id_for

        return card_id_for(self.note, ord_)


def managed(tag: str) -> bool:
    return tag == ROOT_TAG or tag.startswith(MANAGED_PREFIX)


def managed_tags(note: Note) -> tuple[str, ...]:
    """dlcards' tags of a note, all under `dlcards::` (the export's tags, namespaced)."""
    from dlcards.anki.notetypes import note_tags

    return tuple(dict.fromkeys(t if managed(t) else MANAGED_PREFIX + t for t in note_tags(note)))


def desired_notes(
    notes: Iterable[Note],
    rendered: dict[str, RenderedNote],
    display: Callable[[str], str],
    order: list[tuple[str, int]] | None = None,
) -> list[Desired]:
    """The notes in curriculum order (`anki.options.curriculum_order`: week, file, position,
    `requires`), with the fields, tags and deck the `.apkg` export gives them."""
    from dlcards.anki.notetypes import anki_fields, deck_name, note_guid, source_text
    from dlcards.anki.options import curriculum_order

    notes = list(notes)
    guids = {n.id: note_guid(n.id) for n in notes}
    if order is None:
        order = curriculum_order(notes)
    first: dict[str, int] = {}
    for position, (guid, _) in enumerate(order, start=1):
        first.setdefault(guid, position)
    positions = {n.id: first.get(guids[n.id], len(first) + 1) for n in notes}
    out = []
    for note in sorted(notes, key=lambda n: positions[n.id]):
        out.append(
            Desired(
                note=note,
                guid=guids[note.id],
                fields=tuple(anki_fields(note, rendered[note.id].fields, source_text(note.path))),
                tags=managed_tags(note),
                deck=deck_name(note),
                position=positions[note.id],
                location=f"{display(note.path)}:{note.line}",
            )
        )
    return out


# ---- what Anki has --------------------------------------------------------------------------


@dataclass
class AnkiNoteRow:
    nid: int
    guid: str
    mid: int
    fields: list[str]
    tags: list[str]
    dlc_id: str | None


@dataclass
class AnkiCardRow:
    cid: int
    nid: int
    ord: int
    did: int
    odid: int
    type: int
    queue: int
    due: int
    ivl: int
    left: int
    reps: int
    lapses: int
    flags: int
    data: str


def _our_notetypes(col: Any) -> dict[int, tuple[str, list[str]]]:
    from dlcards.anki.notetypes import (
        BASIC_MODEL_ID,
        BASIC_MODEL_NAME,
        CLOZE_MODEL_ID,
        CLOZE_MODEL_NAME,
    )

    out = {}
    for nt in col.models.all_names_and_ids():
        if int(nt.id) in (BASIC_MODEL_ID, CLOZE_MODEL_ID) or nt.name in (
            BASIC_MODEL_NAME,
            CLOZE_MODEL_NAME,
        ):
            full = col.models.get(nt.id)
            names = [f["name"] for f in full["flds"]]
            if "DlcId" in names:
                out[int(nt.id)] = ("cloze" if full["type"] == 1 else "basic", names)
    return out


def read_notes(col: Any, mids: dict[int, tuple[str, list[str]]]) -> dict[str, AnkiNoteRow]:
    if not mids:
        return {}
    out = {}
    marks = ",".join(str(m) for m in mids)
    for nid, guid, mid, flds, tags in col.db.all(
        f"select id, guid, mid, flds, tags from notes where mid in ({marks})"
    ):
        fields = str(flds).split("\x1f")
        names = mids[int(mid)][1]
        index = names.index("DlcId")
        dlc = fields[index].strip() if index < len(fields) else ""
        out[str(guid)] = AnkiNoteRow(
            int(nid), str(guid), int(mid), fields, str(tags).split(), dlc or None
        )
    return out


def read_cards(col: Any, nids: Iterable[int]) -> dict[int, list[AnkiCardRow]]:
    ids = list(nids)
    out: dict[int, list[AnkiCardRow]] = {}
    for i in range(0, len(ids), 500):
        chunk = ",".join(str(n) for n in ids[i : i + 500])
        for row in col.db.all(
            "select id, nid, ord, did, odid, type, queue, due, ivl, left, reps, lapses, flags, "
            f"data from cards where nid in ({chunk})"
        ):
            values = [int(v) for v in row[:13]]
            card = AnkiCardRow(*values, data=str(row[13] or ""))  # type: ignore[arg-type,misc]
            out.setdefault(card.nid, []).append(card)
    return out


# ---- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A field the learner edited in Anki since the last sync, that the Markdown also has."""

    note_id: str
    location: str  # path:line of the card in the Markdown
    field: str
    anki: str
    markdown: str
    resolved: str | None = None  # "markdown" when --prefer markdown or a Markdown edit decided

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.markdown.splitlines(),
            self.anki.splitlines(),
            fromfile=f"markdown ({self.location})",
            tofile="anki",
            lineterm="",
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "location": self.location,
            "field": self.field,
            "anki": self.anki,
            "markdown": self.markdown,
            "resolved": self.resolved,
        }


@dataclass
class SyncReport:
    target: str = ""
    added: int = 0
    updated: int = 0
    moved: int = 0  # cards moved to another deck (week/topic changed)
    orphaned: int = 0  # notes newly orphaned in Anki
    restored: int = 0  # orphans back in the Markdown
    deleted: int = 0  # orphans deleted in Anki (prune)
    reviews_in: int = 0
    reviews_out: int = 0
    merged: int = 0  # cards answered on both sides: one merged history
    relinked: int = 0  # answers written to Anki by an interrupted sync, linked now
    flags_in: int = 0
    flags_out: int = 0
    repositioned: int = 0
    notetypes: int = 0  # note types whose templates/CSS dlcards updated
    conflicts: list[Conflict] = field(default_factory=list)
    server: list[str] = field(default_factory=list)  # what the server sync did
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(
            (
                self.added,
                self.updated,
                self.moved,
                self.orphaned,
                self.restored,
                self.deleted,
                self.reviews_in,
                self.reviews_out,
                self.flags_in,
                self.flags_out,
                self.repositioned,
                self.notetypes,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "notes": {
                "added": self.added,
                "updated": self.updated,
                "moved": self.moved,
                "orphaned": self.orphaned,
                "restored": self.restored,
                "deleted": self.deleted,
                "repositioned": self.repositioned,
                "notetypes": self.notetypes,
            },
            "reviews": {
                "in": self.reviews_in,
                "out": self.reviews_out,
                "merged_cards": self.merged,
                "relinked": self.relinked,
            },
            "flags": {"in": self.flags_in, "out": self.flags_out},
            "conflicts": [c.to_dict() for c in self.conflicts if c.resolved is None],
            "resolved": [c.to_dict() for c in self.conflicts if c.resolved is not None],
            "server": self.server,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "dry_run": self.dry_run,
        }


# ---- Anki schedule <-> dlcards state --------------------------------------------------------


@dataclass(frozen=True)
class DayMap:
    """Anki's day numbers against dlcards' study days, at one instant."""

    anki_today: int
    study_today: date
    day_cutoff: int  # epoch seconds of Anki's next day start
    calendar: StudyCalendar

    def anki_day(self, due: datetime) -> int:
        return self.anki_today + (self.calendar.study_day(due) - self.study_today).days

    def dlcards_due(self, anki_day: int) -> datetime:
        return self.calendar.day_start(
            self.study_today + timedelta(days=anki_day - self.anki_today)
        )


def _steps(settings: Settings, relearning: bool) -> tuple[float, ...]:
    from dlcards.system.config import parse_step

    return tuple(
        parse_step(s)
        for s in (settings.relearning_steps if relearning else settings.learning_steps)
    )


def state_from_anki(
    card: AnkiCardRow, base: CardState, days: DayMap, settings: Settings
) -> CardState:
    """dlcards' state of a card Anki scheduled (answered only in Anki): Anki's schedule,
    memory state and counts over `base` (the replayed history, for what Anki does not say)."""
    data: dict[str, Any] = {}
    if card.data:
        with contextlib.suppress(ValueError):
            data = json.loads(card.data)
    stability = data.get("s", base.stability)
    difficulty = data.get("d", base.difficulty)
    last = base.last_review
    if data.get("lrt"):
        last = datetime.fromtimestamp(int(data["lrt"]), UTC)
    due_raw = card.due
    if card.type == 0:
        return base
    if card.type in (1, 3):
        relearning = card.type == 3
        steps = _steps(settings, relearning)
        remaining = card.left % 1000
        step = min(max(len(steps) - remaining, 0), max(len(steps) - 1, 0))
        due = (
            datetime.fromtimestamp(due_raw, UTC)
            if due_raw > 1_000_000_000
            else days.dlcards_due(due_raw)
        )
        return replace(
            base,
            phase="relearning" if relearning else "learning",
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=due,
            last_review=last,
            reps=card.reps,
            lapses=card.lapses,
            interval_days=0 if not relearning else base.interval_days,
        )
    return replace(
        base,
        phase="review",
        step=None,
        stability=stability,
        difficulty=difficulty,
        due=days.dlcards_due(due_raw),
        last_review=last,
        reps=card.reps,
        lapses=card.lapses,
        interval_days=max(card.ivl, 1),
    )


def write_state_to_card(card: Any, state: CardState, days: DayMap, settings: Settings) -> None:
    """Put dlcards' schedule of a card on an `anki.cards.Card` (not flushed)."""
    from anki.cards_pb2 import FsrsMemoryState

    if state.phase == "new" or state.due is None:
        return
    if state.phase == "review":
        ctype, queue, due = 2, 2, days.anki_day(state.due)
        ivl = max(state.interval_days, 1)
        left = 0
    else:
        ctype = 3 if state.phase == "relearning" else 1
        steps = _steps(settings, state.phase == "relearning")
        left = max(len(steps) - (state.step or 0), 1)
        secs = int(state.due.timestamp())
        if secs < days.day_cutoff:
            queue, due = 1, secs
        else:
            queue, due = 3, days.anki_day(state.due)
        ivl = state.interval_days if state.phase == "relearning" else 0
    card.type = ctype
    if card.queue >= 0:  # suspended / buried stay so (flags are synced separately)
        card.queue = queue
    if card.odid:
        card.odue = due
    else:
        card.due = due
    card.ivl = ivl
    card.left = left
    card.reps = state.reps
    card.lapses = state.lapses
    if state.stability is not None and state.difficulty is not None:
        card.memory_state = FsrsMemoryState(
            stability=float(state.stability), difficulty=float(state.difficulty)
        )
    if state.last_review is not None:
        card.last_review_time = int(state.last_review.timestamp())


def _queue_for(card: AnkiCardRow | Any) -> int:
    """The queue a card returns to when unsuspended / unburied."""
    if card.type == 0:
        return 0
    if card.type == 2:
        return 2
    return 1 if card.due > 1_000_000_000 else 3


def _revlog_ivl(state: CardState, when: datetime) -> int:
    """Anki's revlog interval: days for review cards, minus seconds while (re)learning."""
    if state.phase == "review":
        return max(state.interval_days, 1)
    if state.due is None:
        return 0
    return -max(int((state.due - when).total_seconds()), 1)


# ---- the engine -------------------------------------------------------------------------------


@dataclass
class SyncInput:
    target: str
    notes: list[Note]  # valid notes (parse/lint errors and missing media excluded)
    rendered: dict[str, RenderedNote]
    display: Callable[[str], str]
    settings: Settings
    calendar: StudyCalendar
    scheduler: Scheduler
    now: datetime
    prefer_markdown: bool = False
    dry_run: bool = False
    delete_orphans: frozenset[str] = frozenset()  # note ids `dlcards prune` deleted
    pause: Callable[[str], None] | None = None  # test hook: called at named points


def run_sync(col: Any, store: Store, inp: SyncInput) -> SyncReport:
    """One sync between an open Anki collection and the dlcards store (see the module doc)."""
    from dlcards.store.sync import SyncWrite, commit_sync

    started = time.perf_counter()
    report = SyncReport(target=inp.target, dry_run=inp.dry_run)
    write = SyncWrite(target=inp.target, now=inp.now)
    from dlcards.anki.options import curriculum_order

    order = curriculum_order(inp.notes)
    desired = desired_notes(inp.notes, inp.rendered, inp.display, order)
    engine = _Engine(col, store, inp, report, write, desired)
    engine.order = order
    engine.content()
    engine.reviews_and_schedule()
    engine.flags()
    engine.options()
    engine.flush_anki()
    report.seconds = time.perf_counter() - started
    write.summary = report.to_dict()
    if not inp.dry_run:
        if inp.pause is not None:
            inp.pause("anki-written")
        commit_sync(store, write)
    report.seconds = time.perf_counter() - started
    return report


class _Engine:
    def __init__(
        self,
        col: Any,
        store: Store,
        inp: SyncInput,
        report: SyncReport,
        write: Any,
        desired: list[Desired],
    ):
        from dlcards.store.sync import synced_cards, synced_notes

        self.col = col
        self.store = store
        self.inp = inp
        self.report = report
        self.write = write
        self.desired = desired
        self.by_guid = {d.guid: d for d in desired}
        self.base_notes = synced_notes(store, inp.target)
        self.base_cards = synced_cards(store, inp.target)
        self.mids = _our_notetypes(col)
        self.anki = read_notes(col, self.mids)
        self.note_updates: dict[int, Any] = {}  # nid -> anki Note (to flush)
        self.card_updates: dict[int, Any] = {}  # cid -> anki Card (to flush)
        self.revlog_rows: list[tuple[Any, ...]] = []
        self.deck_moves: dict[str, list[int]] = {}
        self.delete_nids: list[int] = []
        self.order: list[tuple[str, int]] = []  # (GUID, ordinal) in curriculum order
        self.cards: dict[int, list[AnkiCardRow]] = {}
        self.card_of: dict[str, AnkiCardRow] = {}  # dlcards card id -> Anki card
        self.note_of_card: dict[str, Desired] = {}
        self.today = inp.calendar.study_day(inp.now)
        sched = col.sched
        self.days = DayMap(int(sched.today), self.today, int(sched.day_cutoff), inp.calendar)

    # -- helpers --

    def _note(self, nid: int) -> Any:
        note = self.note_updates.get(nid)
        if note is None:
            note = self.note_updates[nid] = self.col.get_note(nid)
        return note

    def _card(self, cid: int) -> Any:
        card = self.card_updates.get(cid)
        if card is None:
            card = self.card_updates[cid] = self.col.get_card(cid)
        return card

    # -- 1. content --

    def content(self) -> None:
        from dlcards.store.sync import SyncedNote

        inp, report = self.inp, self.report
        to_add: list[Desired] = []
        for d in self.desired:
            row = self.anki.get(d.guid)
            if row is None:
                to_add.append(d)
                continue
            base = self.base_notes.get(d.note.id)
            fields, conflict = self._merge_fields(d, row, base)
            tags = self._merge_tags(row.tags, d.tags)
            changed = fields != row.fields or set(tags) != set(row.tags)
            if changed:
                report.updated += 1
                if not inp.dry_run:
                    note = self._note(row.nid)
                    note.fields = list(fields)
                    note.tags = list(tags)
            if DELETED_TAG in row.tags or (base is not None and base.orphaned):
                report.restored += 1
            self._deck(d, row, base)
            self.write.notes.append(
                SyncedNote(
                    d.note.id,
                    tuple(self._base_fields(d, row, fields, conflict, base)),
                    d.deck,
                    conflict,
                    False,
                )
            )
        report.added = len(to_add)
        if to_add and not inp.dry_run:
            self._add(to_add)
            self.mids = _our_notetypes(self.col)
            self.anki = read_notes(self.col, self.mids)
            for d in to_add:
                self.write.notes.append(SyncedNote(d.note.id, d.fields, d.deck, {}, False))
        self._orphans()
        self._notetypes()
        self.cards = read_cards(self.col, [r.nid for r in self.anki.values()])
        for d in self.desired:
            row = self.anki.get(d.guid)
            if row is None:
                continue
            for card in self.cards.get(row.nid, []):
                cid = d.card_id(card.ord)
                if cid is not None:
                    self.card_of[cid] = card
                    self.note_of_card[cid] = d
        # orphans too: their reviews still come in (prune imports a card's history first)
        from dlcards.core.model import cloze_card_id

        for guid, row in self.anki.items():
            if guid in self.by_guid or row.dlc_id is None:
                continue
            cloze = self.mids[row.mid][0] == "cloze"
            for card in self.cards.get(row.nid, []):
                cid = cloze_card_id(row.dlc_id, card.ord + 1) if cloze else row.dlc_id
                self.card_of.setdefault(cid, card)
        if self.deck_moves and not inp.dry_run:
            for name, cids in self.deck_moves.items():
                self.col.set_deck(cids, self.col.decks.id(name))

    def _merge_fields(
        self, d: Desired, row: AnkiNoteRow, base: Any
    ) -> tuple[list[str], dict[int, str]]:
        """Three-way merge per field: (the fields Anki should have, open conflicts)."""
        from dlcards.anki.notetypes import BASIC_FIELDS, CLOZE_FIELDS

        names = BASIC_FIELDS if d.note.kind == "basic" else CLOZE_FIELDS
        current = list(row.fields)
        if len(current) != len(d.fields):
            self.report.warnings.append(
                f"{d.location}: the Anki note has {len(current)} fields, dlcards' note type "
                f"{len(d.fields)}: left alone (do not edit the fields of dlcards' note types)"
            )
            return current, {}
        out = list(current)
        conflict: dict[int, str] = {}
        for i, (anki, want) in enumerate(zip(current, d.fields, strict=True)):
            if anki == want:
                continue
            synced = base.fields[i] if base is not None and i < len(base.fields) else None
            if synced is None or anki == synced:
                out[i] = want  # Anki unchanged since the last sync (or never synced): Markdown
                continue
            # the learner edited this field in Anki
            decided = i in base.conflict and base.conflict[i] != want  # Markdown edited since
            if self.inp.prefer_markdown or decided:
                out[i] = want
                self.report.conflicts.append(
                    Conflict(d.note.id, d.location, names[i], anki, want, resolved="markdown")
                )
            else:
                conflict[i] = base.conflict.get(i, want)
                self.report.conflicts.append(Conflict(d.note.id, d.location, names[i], anki, want))
        return out, conflict

    @staticmethod
    def _base_fields(
        d: Desired, row: AnkiNoteRow, fields: list[str], conflict: dict[int, str], base: Any
    ) -> list[str]:
        """The merge base for next time: what both sides agree on; for a field in conflict,
        the old base (so it stays a conflict until decided)."""
        out = list(fields)
        for i in conflict:
            out[i] = base.fields[i] if base is not None and i < len(base.fields) else row.fields[i]
        return out

    @staticmethod
    def _merge_tags(current: list[str], wanted: tuple[str, ...]) -> list[str]:
        own = [t for t in current if not managed(t)]
        return [*wanted, *own]

    def _deck(self, d: Desired, row: AnkiNoteRow, base: Any) -> None:
        """Move the note's cards when dlcards' deck for it changed since the last sync, or it
        leaves the orphans. (A deck the learner chose in Anki is kept otherwise.)"""
        orphan = DELETED_TAG in row.tags or (base is not None and base.orphaned)
        if not orphan and (base is None or base.deck == d.deck):
            return
        target = self.col.decks.id_for_name(d.deck)
        cards = read_cards(self.col, [row.nid]).get(row.nid, [])
        move = [c.cid for c in cards if target is None or (c.odid or c.did) != target]
        if move:
            self.report.moved += len(move)
            self.deck_moves.setdefault(d.deck, []).extend(move)

    def _add(self, notes: list[Desired]) -> None:
        """Add new notes through an .apkg import (note types with their fixed ids, media)."""
        from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest

        from dlcards.anki.builder import _stage
        from dlcards.anki.notetypes import AnkiNote, write_package

        with tempfile.TemporaryDirectory(prefix="dlcards-sync-") as tmp:
            media: dict[str, Any] = {}
            for d in notes:
                for ref in self.inp.rendered[d.note.id].media:
                    media.setdefault(ref.name, ref)
            staging = Path(tmp) / "media"
            staging.mkdir()
            files = [_stage(ref, staging) for ref in media.values()]
            anki_notes = [
                AnkiNote(
                    note_id=d.note.id,
                    kind=d.note.kind,
                    fields=d.fields,
                    tags=d.tags,
                    deck=d.deck,
                    due=d.position,
                    ords=(0,) if d.note.kind == "basic" else tuple(n - 1 for n in d.note.numbers),
                )
                for d in notes
            ]
            path = Path(tmp) / "new.apkg"
            write_package(anki_notes, files, str(path), self.inp.now)
            self.col.import_anki_package(
                ImportAnkiPackageRequest(
                    package_path=str(path),
                    options=ImportAnkiPackageOptions(with_scheduling=False),
                )
            )
        self.col.models._clear_cache()

    def _notetypes(self) -> None:
        """dlcards' templates and CSS into its two note types, when they changed in dlcards;
        a note type whose templates or CSS the learner changed in Anki is left alone."""
        import hashlib

        from dlcards.anki.notetypes import MODEL_IDS, models

        for kind, model in models().items():
            nt = self.col.models.get(MODEL_IDS[kind])
            if nt is None or len(nt["tmpls"]) != len(model.templates):
                continue
            ours = [model.css, *[(t["qfmt"], t["afmt"]) for t in model.templates]]
            theirs = [nt["css"], *[(t["qfmt"], t["afmt"]) for t in nt["tmpls"]]]
            key = f"{NOTETYPE_HASH_KEY}.{nt['id']}"
            digest = hashlib.sha256(json.dumps(ours).encode()).hexdigest()
            if ours == theirs:
                if self.col.get_config(key, None) != digest and not self.inp.dry_run:
                    self.col.set_config(key, digest)
                continue
            base = self.col.get_config(key, None)
            if base is not None and base != hashlib.sha256(json.dumps(theirs).encode()).hexdigest():
                self.report.warnings.append(
                    f"note type {nt['name']}: its templates or styling were changed in Anki; "
                    "kept (dlcards' own differ)"
                )
                continue
            self.report.notetypes += 1
            if self.inp.dry_run:
                continue
            nt["css"] = model.css
            for tmpl, (qfmt, afmt) in zip(nt["tmpls"], ours[1:], strict=True):
                tmpl["qfmt"], tmpl["afmt"] = qfmt, afmt
            self.col.models.update_dict(nt)
            self.col.set_config(key, digest)

    def _orphans(self) -> None:
        from dlcards.store.sync import SyncedNote

        inp, report = self.inp, self.report
        orphan_deck: int | None = None
        for guid, row in self.anki.items():
            if guid in self.by_guid or row.dlc_id is None:
                continue
            base = self.base_notes.get(row.dlc_id)
            if row.dlc_id in inp.delete_orphans:
                report.deleted += 1
                self.delete_nids.append(row.nid)
                self.write.forget_notes.append(row.dlc_id)
                continue
            tagged = DELETED_TAG in row.tags
            if not tagged:
                report.orphaned += 1
                if not inp.dry_run:
                    note = self._note(row.nid)
                    note.tags = [*row.tags, DELETED_TAG]
                    if orphan_deck is None:
                        orphan_deck = self.col.decks.id(ORPHAN_DECK)
                    cids = [c.cid for c in read_cards(self.col, [row.nid]).get(row.nid, [])]
                    self.col.set_deck(cids, orphan_deck)
            self.write.notes.append(
                SyncedNote(
                    row.dlc_id,
                    tuple(base.fields) if base else tuple(row.fields),
                    base.deck if base else ORPHAN_DECK,
                    {},
                    True,
                )
            )

    # -- 2 + 3. reviews and one schedule --

    def reviews_and_schedule(self) -> None:
        from dlcards.anki.reader import REVLOG_MANUAL, REVLOG_RESCHEDULED
        from dlcards.store.sync import known_revlog_ids, pending_reviews, review_links

        report = self.report
        cid_to_card = {c.cid: cid for cid, c in self.card_of.items()}
        all_ids = {int(r) for r in self.col.db.list("select id from revlog")}
        known = known_revlog_ids(self.store)
        links = review_links(self.store)
        rows = self.col.db.all("select id, cid, ease, time, type from revlog order by id")
        incoming: dict[str, list[tuple[int, int, int, int]]] = {}
        for rid, acid, ease, taken, rtype in rows:
            card_id = cid_to_card.get(int(acid))
            if card_id is None or int(rid) in known:
                continue
            if int(rtype) in (REVLOG_MANUAL, REVLOG_RESCHEDULED) or not 1 <= int(ease) <= 4:
                continue
            incoming.setdefault(card_id, []).append((int(rid), int(ease), int(taken), int(rtype)))
        outgoing: dict[str, list[tuple[int, ReviewEntry]]] = {}
        for review_id, entry in pending_reviews(self.store, all_ids):
            if entry.card_id in self.card_of:
                outgoing.setdefault(entry.card_id, []).append((review_id, entry))
        # an interrupted sync wrote these answers to Anki but did not record it: link them
        for card_id in list(incoming):
            mine = outgoing.get(card_id, [])
            keep = []
            for row in incoming[card_id]:
                match = next(
                    (
                        (rid, e)
                        for rid, e in mine
                        if int(e.rating) == row[1]
                        and 0 <= row[0] - int(e.time.timestamp() * 1000) < 1000
                    ),
                    None,
                )
                if match is None:
                    keep.append(row)
                    continue
                mine.remove(match)
                self.write.links[match[0]] = row[0]
                report.relinked += 1
            incoming[card_id] = keep
            if not keep:
                del incoming[card_id]
        taken_ids = all_ids | known
        states = self.store.states(set(incoming) | set(outgoing))
        for card_id in sorted(set(incoming) | set(outgoing)):
            ins, outs = incoming.get(card_id, []), outgoing.get(card_id, [])
            card = self.card_of[card_id]
            for review_id, entry in outs:
                if review_id in links and links[review_id] not in all_ids:
                    rid = links[review_id]  # the id it has in the other Anki collections
                else:
                    rid = int(entry.time.timestamp() * 1000)
                    while rid in taken_ids:
                        rid += 1
                    self.write.links[review_id] = rid
                taken_ids.add(rid)
                self.revlog_rows.append(
                    (
                        rid,
                        card.cid,
                        -1,
                        int(entry.rating),
                        _revlog_ivl(entry.after, entry.time),
                        _revlog_ivl(entry.before, entry.time) if entry.before.phase != "new" else 0,
                        round((entry.after.difficulty or 0) * 100),
                        min(int(entry.duration_ms), 60_000),
                        REVLOG_TYPE.get(entry.kind, 1),
                    )
                )
            report.reviews_out += len(outs)
            report.reviews_in += len(ins)
            if ins:
                state = self._merge_in(card_id, ins, card, both=bool(outs))
                if outs:
                    report.merged += 1
                    self._to_anki(card, state)
            else:
                state = states.get(card_id) or CardState(card_id=card_id)
                self._to_anki(card, state)

    def _merge_in(
        self, card_id: str, rows: list[tuple[int, int, int, int]], card: AnkiCardRow, *, both: bool
    ) -> CardState:
        """Append Anki's new rows to the card's history; its state from the merged replay (or
        Anki's own schedule when dlcards has no new answer of its own)."""
        existing = self.store.reviews([card_id])
        merged: list[tuple[datetime, Rating, int, int | None]] = [
            (e.time, e.rating, e.duration_ms, None) for e in existing
        ]
        merged += [
            (datetime.fromtimestamp(rid / 1000, UTC), Rating(ease), max(taken, 0), rid)
            for rid, ease, taken, _ in rows
        ]
        merged.sort(key=lambda m: m[0])
        # memory states as Anki's compute_memory_state gives them now (anki_days)
        from dlcards.review.anki_days import next_day_at

        state, entries = self.inp.scheduler.replay(
            card_id,
            [(t, rating, ms) for t, rating, ms, _ in merged],
            cutoff=next_day_at(self.inp.now, self.inp.calendar),
        )
        for (_, _, _, rid), entry in zip(merged, entries, strict=True):
            if rid is not None:
                self.write.reviews.append(replace(entry, source="anki", anki_revlog_id=rid))
        if not both:  # answered only in Anki: Anki's schedule is the one
            state = state_from_anki(card, state, self.days, self.inp.settings)
        self.write.states.append(state)
        return state

    def _to_anki(self, card: AnkiCardRow, state: CardState) -> None:
        if self.inp.dry_run:
            return
        write_state_to_card(self._card(card.cid), state, self.days, self.inp.settings)

    # -- 4. suspend, bury, flags, leech --

    def flags(self) -> None:
        from dlcards.store.sync import SyncedCard

        inp, report = self.inp, self.report
        dlc = self.store.flags(list(self.note_of_card))
        leech_notes: dict[int, bool] = {}
        for card_id, card in sorted(self.card_of.items()):
            d = self.note_of_card.get(card_id)
            if d is None:  # an orphan: its flags stay as they are on both sides
                continue
            row = self.anki[d.guid]
            current = self.card_updates.get(card.cid)
            queue = current.queue if current is not None else card.queue
            a = SyncedCard(
                card_id,
                queue == QUEUE_SUSPENDED,
                queue in (QUEUE_SIBLING_BURIED, QUEUE_MANUAL_BURIED),
                card.flags & 7,
                LEECH_TAG in row.tags,
            )
            f = dlc.get(card_id) or CardFlags(card_id=card_id)
            m = SyncedCard(
                card_id,
                f.suspended,
                bool(f.buried_until and f.buried_until > self.today),
                f.flag,
                f.leech,
            )
            base = self.base_cards.get(card_id) or SyncedCard(card_id)
            merged = SyncedCard(
                card_id,
                _three_way(base.suspended, a.suspended, m.suspended),
                _three_way(base.buried, a.buried, m.buried),
                _three_way(base.flag, a.flag, m.flag),
                _three_way(base.leech, a.leech, m.leech),
            )
            if merged != m:
                report.flags_in += 1
                buried_until = f.buried_until if m.buried else self.today + timedelta(days=1)
                self.write.flags.append(
                    CardFlags(
                        card_id,
                        suspended=merged.suspended,
                        buried_until=buried_until if merged.buried else None,
                        flag=merged.flag,
                        leech=merged.leech,
                    )
                )
            if (merged.suspended, merged.buried, merged.flag) != (a.suspended, a.buried, a.flag):
                report.flags_out += 1
                if not inp.dry_run:
                    c = self._card(card.cid)
                    if merged.suspended:
                        c.queue = QUEUE_SUSPENDED
                    elif merged.buried:
                        c.queue = QUEUE_MANUAL_BURIED
                    else:
                        c.queue = _queue_for(c)
                    c.flags = (c.flags & ~7) | merged.flag
            leech_notes[row.nid] = leech_notes.get(row.nid, False) or merged.leech
            if merged != base or card_id not in self.base_cards:
                self.write.cards.append(merged)
        for d in self.desired:
            found = self.anki.get(d.guid)
            if found is None or found.nid not in leech_notes:
                continue
            nid = found.nid
            tags = self._note(nid).tags if nid in self.note_updates else found.tags
            if (LEECH_TAG in tags) != leech_notes[nid] and not inp.dry_run:
                note = self._note(nid)
                note.tags = (
                    [*note.tags, LEECH_TAG]
                    if leech_notes[nid]
                    else [t for t in note.tags if t != LEECH_TAG]
                )

    # -- 5. options and positions --

    def options(self) -> None:
        """The dlcards deck-options preset on every deck root, new cards in curriculum order."""
        if self.inp.dry_run:
            return
        from dlcards.anki.options import apply_preset, set_new_positions

        self.flush_anki()  # the options code reads the collection
        roots = sorted({d.note.deck for d in self.desired})
        if roots:
            apply_preset(self.col, roots, self.inp.settings)
        order = [(g, o) for g, o in self.order if g in self.anki]
        self.report.repositioned = set_new_positions(self.col, order)

    # -- writing Anki --

    def flush_anki(self) -> None:
        if self.inp.dry_run:
            return
        col = self.col
        if self.note_updates:
            col.update_notes(list(self.note_updates.values()))
            self.note_updates.clear()
        if self.card_updates:
            col.update_cards(list(self.card_updates.values()))
            self.card_updates.clear()
        if self.revlog_rows:
            col.db.executemany(
                "insert or ignore into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, "
                "type) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self.revlog_rows,
            )
            self.revlog_rows = []
        if self.delete_nids:
            col.remove_notes(self.delete_nids)
            self.delete_nids = []
        if self.report.changed:
            # raw revlog inserts do not mark the collection modified; this does (so it syncs)
            # (a value never written before: an unchanged value would not count)
            col.set_config(LAST_SYNC_KEY, time.time_ns())


def _three_way(base: Any, anki: Any, mine: Any) -> Any:
    """The value after a sync: whichever side changed since the last sync; Anki when both did."""
    if anki == mine:
        return anki
    if anki != base:
        return anki
    return mine


def delete_orphans_in(col: Any, note_ids: Iterable[str]) -> int:
    """Delete the Anki notes of these dlcards note ids (for `dlcards prune`). Returns notes
    deleted. Call it through `app.sync.SyncService.prune_anki`, which first brings their
    reviews in."""
    wanted = set(note_ids)
    mids = _our_notetypes(col)
    nids = [row.nid for row in read_notes(col, mids).values() if row.dlc_id in wanted]
    if nids:
        col.remove_notes(nids)
    return len(nids)


# ---- a sync server -------------------------------------------------------------------------


def server_login(col: Any, server: str, user: str, password: str) -> tuple[str, str]:
    """(hkey, endpoint) for this user on this server. Wrong credentials or an unreachable
    server raise AnkiSyncError (the password is never in a message)."""
    try:
        auth = col.sync_login(user, password, server)
    except Exception as exc:
        raise _server_error(server, exc, login=True) from None
    return str(auth.hkey), str(auth.endpoint or server)


def _server_error(server: str, exc: Exception, *, login: bool = False) -> AnkiSyncError:
    """A clear message for a failed login or sync (never the password or the token)."""
    from anki.errors import NetworkError, SyncError, SyncErrorKind

    kind = getattr(exc, "kind", None)
    if isinstance(exc, SyncError) and kind == SyncErrorKind.AUTH:
        return AnkiSyncError(
            f"{server}: the server refused the user name or password",
            hint="check them and run `dlcards sync login` again; nothing was changed",
        )
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, NetworkError) or "connect" in text.lower():
        return AnkiSyncError(
            f"{server}: cannot reach the sync server ({text})",
            hint="check the address and that the server is running; nothing was changed",
        )
    return AnkiSyncError(
        f"{server}: the sync failed: {text}",
        hint="nothing was changed; run `dlcards sync` again later",
    )


def server_media(col: Any, hkey: str, endpoint: str, timeout: float = 120.0) -> bool:
    """Sync the mirror's media folder (images and sounds of the cards) with the server, when
    it has any. Returns whether a media sync ran."""
    from anki.sync import SyncAuth

    folder = Path(col.media.dir())
    if not folder.is_dir() or not any(folder.iterdir()):
        return False
    try:
        col.sync_media(SyncAuth(hkey=hkey, endpoint=endpoint))
        deadline = time.monotonic() + timeout
        while col.media_sync_status().active and time.monotonic() < deadline:
            time.sleep(0.05)
    except Exception as exc:
        raise _server_error(endpoint, exc) from None
    return True


def server_sync(col: Any, hkey: str, endpoint: str, *, phase: str) -> tuple[str, str | None]:
    """Sync the mirror with the server: (what happened, a new endpoint if the server moved).

    A full sync is needed when the mirror is new (download the server's collection, or upload
    when the server is empty) or after a change of note types (upload)."""
    from anki.sync import SyncAuth
    from anki.sync_pb2 import SyncCollectionResponse as Resp

    auth = SyncAuth(hkey=hkey, endpoint=endpoint)
    try:
        out = col.sync_collection(auth, False)
        new_endpoint = str(out.new_endpoint) if out.new_endpoint else None
        if new_endpoint:
            auth = SyncAuth(hkey=hkey, endpoint=new_endpoint)
        required = out.required
        if required in (Resp.NO_CHANGES, Resp.NORMAL_SYNC):
            return "synced", new_endpoint  # sync_collection did the normal sync itself
        # FULL_SYNC (both sides changed beyond a normal sync): before our changes the server
        # wins (the mirror holds nothing of its own), after them ours does
        upload = phase == "push" if required == Resp.FULL_SYNC else required == Resp.FULL_UPLOAD
        col.close_for_full_sync()
        try:
            col.full_upload_or_download(auth=auth, server_usn=out.server_media_usn, upload=upload)
        finally:
            col.reopen(after_full_sync=True)
        return ("full upload" if upload else "full download"), new_endpoint
    except AnkiSyncError:
        raise
    except Exception as exc:
        raise _server_error(endpoint, exc) from None


# ---- shared with `dlcards import-anki` -----------------------------------------------------


def drop_own_reviews(plan: ImportPlan, store: Store) -> tuple[ImportPlan, int]:
    """`import-anki` and `sync` share one review identity: a revlog row whose id dlcards
    already knows (imported before, or a dlcards answer that `sync` wrote to Anki) is not a new
    review. Returns the plan without those rows and how many were dropped."""
    from dlcards.store.sync import known_revlog_ids

    known = known_revlog_ids(store)
    dropped = 0
    matched: dict[str, list[AnkiReview]] = {}
    for card_id, rows in plan.matched.items():
        keep = [r for r in rows if r.revlog_id not in known]
        dropped += len(rows) - len(keep)
        if keep:
            matched[card_id] = keep
    return replace(plan, matched=matched), dropped
