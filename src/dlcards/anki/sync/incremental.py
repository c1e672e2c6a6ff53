"""Incremental sync: a sync after a day of study costs what the day changed, not what the
collection holds.

Each sync that commits leaves a *cursor* with the target's summary in the store
(`store.sync.commit_sync`): what both sides looked like when it ended.

- Anki's side (`anki_marks`, read after the last write to Anki): the collection's creation
  time and schema stamp (`crt`, `scm`), its review log (rows, highest id, a checksum of the
  ids), a checksum of every note's id and modification time and of the note types, and the
  *card map* the run used (which Anki card is which dlcards card, and of which note; as a
  digest): with the notes unchanged, the next run can rebuild the map from the cards alone;
- dlcards' side (`store.sync.store_cursor`): the review log's highest id, its change counter
  (`log_changes`: anything but an append), the number of linked review ids, the schema;
- the Markdown's digest (deck files, settings, versions: `app.sync`), the deck roots and the
  Anki cards of dlcards notes that are no dlcards card (a cloze deletion gone from the
  Markdown).

The next sync (`plan`) runs incrementally when everything it can check says the cursor still
holds: the same Markdown digest, the same notes and note types in Anki, Anki's review log up
to the cursor's highest id unchanged (rows, checksum), dlcards' log only appended to since,
no other target linked reviews meanwhile, and the card map rebuilt from Anki's cards has the
same digest. Then it reads only Anki's revlog rows after the cursor, dlcards' reviews after
it, the cards those touch (whole), and every dlcards card's flags in one narrow scan (the
flags are compared three ways as in a full run: a day's suspensions and flags without a review
are found); it skips the content step (desired notes, the curriculum, the Markdown) and puts
new cards at the positions the last full content step recorded (`sync_notes.position`).

Anything else (no cursor, --full, --prefer markdown, a prune, a dry run, an interrupted
previous sync, a replaced or full-synced collection, a rewritten review log, a migration, a
Markdown or Anki note edit) runs the full sync, and the report says why. Both paths end in the
same state: tests/test_sync_incremental.py runs each on copies of the same state and compares
both collections and both stores."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dlcards.anki.sync.collection import AnkiCardRow, AnkiNoteRow, _our_notetypes

if TYPE_CHECKING:
    from dlcards.anki.sync.values import SyncInput
    from dlcards.store import Store

CURSOR_VERSION = 1
_P = 2_147_483_629  # a prime below 2**31: the checksums' modulus (SQLite sums stay in 64 bits)


@dataclass
class Plan:
    """An incremental run: where the last sync ended, and the card map rebuilt from Anki."""

    revlog_max: int  # Anki: rows above this id are new
    review_max: int  # dlcards: reviews above this id are new
    cursor: dict[str, Any]  # the last sync's cursor (carried forward: map, skip, roots)
    positions: dict[str, int]  # dlcards note id -> curriculum position (notes in the Markdown)
    card_of: dict[str, AnkiCardRow] = field(default_factory=dict)
    guid_of_card: dict[str, str] = field(default_factory=dict)
    anki: dict[str, AnkiNoteRow] = field(default_factory=dict)
    # what the skipped content step would report again: the open conflicts and its warnings
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---- what Anki looks like ------------------------------------------------------------------


def anki_marks(col: Any, mids: Iterable[int], *, revlog: bool = True) -> dict[str, Any]:
    """The checksums of the Anki side a cursor keeps (see the module doc); a few aggregate
    queries inside Anki's backend, nothing per row comes out. `revlog=False`: without the
    review log's (`plan` checks it up to the cursor's id instead)."""
    crt, scm = col.db.first("select crt, scm from col")
    log = _revlog_upto(col, None) if revlog else None
    ours = ",".join(str(int(m)) for m in mids) or "0"
    notes = col.db.first(  # dlcards' notes only: a note of the learner's own is no concern
        f"select count(), coalesce(sum(((id % {_P}) * 31 + mod) % {_P}), 0), "
        f"coalesce(max(mod), 0) from notes where mid in ({ours})"
    )
    notetypes = col.db.first(
        f"select count(), coalesce(sum(mtime_secs), 0), coalesce(sum(id % {_P}), 0) from notetypes"
    )
    return {
        "crt": int(crt),
        "scm": int(scm),
        "revlog": log,
        "notes": [int(v) for v in notes],
        "notetypes": [int(v) for v in notetypes],
    }


def _revlog_upto(col: Any, upto: int | None) -> list[int]:
    """(rows, max id, checksums) of the review log's rows up to id `upto` (None: all)."""
    sql = (
        f"select count(), coalesce(max(id), 0), coalesce(sum(id % {_P}), 0), "
        f"coalesce(sum((cid % {_P}) + ease * 7 + type * 131), 0) from revlog"
    )
    row = col.db.first(sql) if upto is None else col.db.first(sql + " where id <= ?", upto)
    return [int(v) for v in row]


def map_digest(card_of: dict[str, AnkiCardRow], guid_of_card: dict[str, str]) -> str:
    """A digest of the card map: (Anki card id, dlcards card id, note GUID or none)."""
    h = hashlib.sha256()
    for cid, card_id in sorted((c.cid, card_id) for card_id, c in card_of.items()):
        h.update(f"{cid}\t{card_id}\t{guid_of_card.get(card_id, '')}\n".encode())
    return h.hexdigest()


def new_cursor(col: Any, engine: Any, inp: SyncInput, plan: Plan | None) -> dict[str, Any] | None:
    """The cursor a run leaves (its Anki side; the store adds its own in the commit). None
    when the run cannot be started from (no Markdown digest given)."""
    if inp.digest is None:
        return None
    if plan is not None:
        carried = {k: plan.cursor[k] for k in ("map", "skip", "roots")}
    else:
        carried = {
            "map": map_digest(engine.card_of, engine.guid_of_card),
            "skip": sorted(engine.skip_cids),
            "roots": sorted({d.note.deck for d in engine.desired}),
        }
    _next_second(col)
    mids = _our_notetypes(col)
    marks = anki_marks(col, mids, revlog=plan is None)
    if plan is not None:
        marks["revlog"] = _revlog_after_run(col, plan, engine.written_revlog)
    return {"version": CURSOR_VERSION, "digest": inp.digest, "anki": marks, **carried}


def _revlog_after_run(col: Any, plan: Plan, written: list[tuple[int, int, int, int]]) -> list[int]:
    """The review log's checksums after an incremental run, without reading it all: the rows
    up to the old cursor were checked equal to its checksums (`plan`); since then only this
    run wrote rows there (Anki is closed while it runs): the old ones, plus this run's rows
    at or below the old cursor, plus every row above it (one range read)."""
    old_n, old_max, old_s1, old_s2 = plan.cursor["anki"]["revlog"]
    upto = plan.revlog_max
    low = [r for r in written if r[0] <= upto]
    n, top, s1, s2 = (
        int(v)
        for v in col.db.first(
            f"select count(), coalesce(max(id), 0), coalesce(sum(id % {_P}), 0), "
            f"coalesce(sum((cid % {_P}) + ease * 7 + type * 131), 0) from revlog where id > ?",
            upto,
        )
    )
    if not n:
        top = max([int(old_max), *(r[0] for r in low)])
    return [
        int(old_n) + len(low) + n,
        top,
        int(old_s1) + sum(r[0] % _P for r in low) + s1,
        int(old_s2) + sum((r[1] % _P) + r[2] * 7 + r[3] * 131 for r in low) + s2,
    ]


def _next_second(col: Any) -> None:
    """Anki keeps notes' and note types' modification times in seconds: an edit within the
    second of this run's last write to one would leave the checksum as it is. When this run
    wrote one in the current second, wait for the next (a run that wrote no note waits not)."""
    latest = col.db.scalar(
        "select max(m) from (select max(mod) as m from notes "
        "union all select max(mtime_secs) as m from notetypes)"
    )
    now = time.time()
    if latest is not None and int(latest) == int(now):  # (a time ahead of the clock: no wait)
        time.sleep(int(now) + 1 - now)


# ---- can this run start from the cursor? ---------------------------------------------------


def plan(col: Any, store: Store, inp: SyncInput, mids: dict[int, Any]) -> Plan | str:
    """The incremental plan, or why the full sync runs."""
    from dlcards.store.sync import CURSOR_KEY, last_sync, store_cursor, synced_note_index

    if inp.full is not None:
        return inp.full
    if inp.prefer_markdown:
        return "--prefer markdown"
    if inp.delete_orphans:
        return "prune deletes notes in Anki"
    if inp.dry_run:
        return "dry run"
    if inp.digest is None:
        return "no digest of the Markdown"
    found_last = last_sync(store, inp.target)
    summary = found_last[1] if found_last is not None else {}
    cursor = summary.get(CURSOR_KEY)
    if not isinstance(cursor, dict):
        return "first sync with this target (or by an older dlcards)"
    if cursor.get("version") != CURSOR_VERSION:
        return "the last sync left an older cursor"
    if cursor.get("digest") != inp.digest:
        return "the Markdown (or the settings) changed"
    mine = cursor.get("store") or {}
    now = store_cursor(store.conn)
    if mine.get("schema") != now["schema"]:
        return "the review database was migrated"
    if mine.get("log_changes") != now["log_changes"]:
        return "dlcards' review log changed other than by new answers"
    if mine.get("links") != now["links"]:
        return "another target's sync linked reviews"
    if now["review_max"] < int(mine.get("review_max", -1)):
        return "dlcards' review log is older than at the last sync"
    was, marks = cursor.get("anki") or {}, anki_marks(col, mids, revlog=False)
    if (was.get("crt"), was.get("scm")) != (marks["crt"], marks["scm"]):
        return "a different or replaced Anki collection (or its schema changed)"
    if was.get("notetypes") != marks["notetypes"]:
        return "Anki's note types changed"
    if was.get("notes") != marks["notes"]:
        return "notes changed in Anki"
    revlog = was.get("revlog") or [0, 0, 0, 0]
    if _revlog_upto(col, int(revlog[1])) != revlog:
        return "Anki's review log changed before the cursor (a sync from a server, an import)"
    index = synced_note_index(store, inp.target)
    positions: dict[str, int] = {}
    for note_id, (orphaned, position) in index.items():
        if not orphaned:
            if position is None:
                return "no curriculum positions recorded"
            positions[note_id] = position
    found = _scan(col, mids, set(positions), set(cursor.get("skip") or ()))
    if isinstance(found, str):
        return found
    card_of, guid_of_card, anki = found
    if map_digest(card_of, guid_of_card) != cursor.get("map"):
        return "Anki's cards changed (added, deleted or moved between notes)"
    return Plan(
        revlog_max=int(revlog[1]),
        review_max=int(mine["review_max"]),
        cursor=cursor,
        positions=positions,
        card_of=card_of,
        guid_of_card=guid_of_card,
        anki=anki,
        conflicts=list(summary.get("conflicts") or []),
        warnings=[str(w) for w in summary.get("warnings") or []],
    )


def dlc_field_sql(mids: dict[int, Any]) -> str:
    """SQL for a note's DlcId field (the backend's `field_at_index`), by note type."""
    cases = " ".join(
        f"when {int(mid)} then {list(names).index('DlcId')}" for mid, (_, names) in mids.items()
    )
    return f"field_at_index(n.flds, case n.mid {cases} end)"


def _scan(
    col: Any, mids: dict[int, Any], desired: set[str], skip: set[int]
) -> tuple[dict[str, AnkiCardRow], dict[str, str], dict[str, AnkiNoteRow]] | str:
    """Every card of dlcards' note types in one narrow read (no fields, no memory state):
    the card map as a full run builds it (notes in the Markdown first, then the orphans),
    and each note's leech tag."""
    from dlcards.core.model import cloze_card_id

    if not mids:
        return {}, {}, {}
    marks = ",".join(str(int(m)) for m in mids)
    try:
        rows = col.db.all(
            "select c.id, c.nid, c.ord, c.queue, c.flags, n.mid, n.guid, "
            f"{dlc_field_sql(mids)}, instr(' ' || n.tags || ' ', ' leech ') > 0 "
            f"from cards c join notes n on n.id = c.nid where n.mid in ({marks})"
        )
    except Exception as exc:  # an Anki without field_at_index: the full path reads fields
        return f"cannot read the card map incrementally ({exc})"
    card_of: dict[str, AnkiCardRow] = {}
    guid_of_card: dict[str, str] = {}
    anki: dict[str, AnkiNoteRow] = {}
    orphans: list[tuple[str, AnkiCardRow]] = []
    for cid, nid, ord_, queue, flags, mid, guid, dlc, leech in rows:
        # only what the map and the flags read: the cards of reviews are read whole later
        card = AnkiCardRow(cid, nid, ord_, 0, 0, 0, queue, 0, 0, 0, 0, 0, flags, "")
        dlc = str(dlc or "").strip()
        if guid not in anki:
            anki[guid] = AnkiNoteRow(nid, guid, mid, [], ["leech"] if leech else [], dlc or None)
        if not dlc:
            continue
        cloze = mids[mid][0] == "cloze"
        card_id = cloze_card_id(dlc, card.ord + 1) if cloze else dlc
        if dlc in desired:
            if card.cid in skip:
                continue
            if card_id in card_of:
                return "two Anki cards for one dlcards card"
            card_of[card_id] = card
            guid_of_card[card_id] = guid
        else:
            orphans.append((card_id, card))
    for card_id, card in orphans:
        if card_id in card_of:
            return "two Anki cards for one dlcards card"
        card_of[card_id] = card
    return card_of, guid_of_card, anki


def new_card_positions(
    col: Any, mids: dict[int, Any], want: Any, skip: Iterable[int] = ()
) -> list[tuple[int, int]]:
    """(card id, position) of the new cards of dlcards' notes that are not where the
    curriculum puts them; `want(guid, dlcards note id)` is a note's position (None: leave)."""
    if not mids:
        return []
    marks = ",".join(str(int(m)) for m in mids)
    out = []
    skipped = set(skip)
    for cid, due, guid, dlc in col.db.all(
        f"select c.id, c.due, n.guid, {dlc_field_sql(mids)} from cards c "
        f"join notes n on n.id = c.nid where c.type = 0 and c.odid = 0 and n.mid in ({marks})"
    ):
        if int(cid) in skipped:
            continue
        position = want(str(guid), str(dlc or "").strip())
        if position is not None and int(due) != position:
            out.append((int(cid), int(position)))
    return out
