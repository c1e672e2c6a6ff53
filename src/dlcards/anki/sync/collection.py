"""The Anki collection as the sync engine sees it: dlcards' names in it (tags, the orphan deck,
config keys, queues), opening and closing it (a clear error when Anki holds it), and reading
dlcards' notes and their cards out of it. Also `delete_orphans_in`, the one deletion (for
`dlcards prune`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlcards.core.errors import DlcardsError

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


_CARD_COLUMNS = "id, nid, ord, did, odid, type, queue, due, ivl, left, reps, lapses, flags"


def read_cards_by_id(col: Any, cids: Iterable[int]) -> list[AnkiCardRow]:
    """These Anki cards (by card id), whole."""
    ids = sorted(set(cids))
    out = []
    for i in range(0, len(ids), 500):
        chunk = ",".join(str(n) for n in ids[i : i + 500])
        for row in col.db.all(f"select {_CARD_COLUMNS}, data from cards where id in ({chunk})"):
            values = [int(v) for v in row[:13]]
            out.append(AnkiCardRow(*values, data=str(row[13] or "")))  # type: ignore[arg-type,misc]
    return out


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
