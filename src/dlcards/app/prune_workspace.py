"""The prune workspace: the I/O side of `dlcards prune`, shared by the command and the TUI.

`PruneWorkspace` (used by `dlcards.cli.prune` and `dlcards.tui.prune_app`)
it reads the collection and the store, ranks with the pure `dlcards.insights.prune.prune_report`, and
applies the learner's choices:

- delete: removes exactly the note's lines (and one adjoining blank line) from its Markdown
  file, planned by `dlcards.core.edit.plan_delete`, written with `fsutil.write_atomic`; refused when
  the file changed on disk since the collection was read;
- suspend / unsuspend, relink an orphan's history to a new card (store);
- keep: remember that the listed reasons were seen and accepted;
- edits made in `$EDITOR` from the prune screen are recorded as well.

Every action is appended to a JSON-lines journal under
`state_dir()/prune/<collection key>/journal.jsonl` (with the removed text and the text around
it), so it can be undone from the TUI (`u`) or later with `dlcards prune --undo-last`; kept
reasons are read back from the same journal.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.core.errors import DlcardsError, FileChangedError
from dlcards.system.fsutil import write_cache

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.insights.cardinfo import CardInfoReport
    from dlcards.insights.prune import PruneItem, PruneReport


class PruneError(DlcardsError):
    """A prune action cannot be done (nothing was changed)."""


def collection_key(root: Path) -> str:
    return hashlib.sha256(str(root.resolve()).encode("utf-8")).hexdigest()[:16]


def journal_path(root: Path) -> Path:
    from dlcards.system.paths import state_dir

    return state_dir() / "prune" / collection_key(root) / "journal.jsonl"


def remember_texts(root: Path, notes: list[Any]) -> dict[str, str]:
    """Questions of the cards, remembered across runs (the store keeps no card text), so that an
    orphan can later be matched to its new card by text. Returns every remembered question."""
    path = journal_path(root).with_name("questions.json")
    try:
        known: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    current = {cid: note.question for note in notes for cid in note.card_ids()}
    if any(known.get(cid) != q for cid, q in current.items()):
        known.update(current)
        write_cache(path, json.dumps(known, ensure_ascii=False).encode("utf-8"))  # a relink hint
    return known


def _never_written(anchored: Any, text: str, entry: dict[str, Any]) -> bool:
    """Whether a journalled delete never reached the file: the file is not the one written
    after it, and the removed text still stands at its place between the same context."""
    from dlcards.core.edit import digest

    if digest(text) == entry.get("digest_after"):
        return False
    edit = anchored.edit
    at, removed = edit.offset, edit.removed
    return bool(removed) and (
        text[at : at + len(removed)] == removed
        and text[max(0, at - len(anchored.before)) : at] == anchored.before
        and text[at + len(removed) : at + len(removed) + len(anchored.after)] == anchored.after
    )


class Journal:
    """Append-only JSON lines: one object per action, and `{"action": "undo", "of": id}` rows."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out = []
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash is skipped
        return out

    def append(self, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
        entries = self.entries()
        entry = {
            "id": max((e.get("id", 0) for e in entries), default=0) + 1,
            "time": now.isoformat(),
            **entry,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return entry

    def undone(self) -> set[int]:
        return {int(e["of"]) for e in self.entries() if e.get("action") == "undo"}

    def active(self) -> list[dict[str, Any]]:
        undone = self.undone()
        return [
            e for e in self.entries() if e.get("action") != "undo" and e.get("id") not in undone
        ]

    def last_undoable(self) -> dict[str, Any] | None:
        active = self.active()
        return active[-1] if active else None

    def kept(self) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for e in self.active():
            if e["action"] == "keep":
                out.update((e["card_id"], code) for code in e.get("reasons", []))
            elif e["action"] == "delete":
                out.update((cid, "orphan") for cid in e.get("card_ids", []))
        return out


def describe(entry: dict[str, Any]) -> str:
    action = entry.get("action")
    if action == "delete":
        return f"deleted card {entry['card_id']} from {entry['path']}"
    if action == "edit":
        return f"edited {entry['path']} (card {entry['card_id']})"
    if action == "suspend":
        return f"{'suspended' if entry['suspended'] else 'unsuspended'} card {entry['card_id']}"
    if action == "relink":
        return f"moved {entry['moved']} reviews of {entry['old_id']} to {entry['new_id']}"
    if action == "keep":
        return f"kept card {entry['card_id']} ({', '.join(entry.get('reasons', []))})"
    return str(action)


class PruneWorkspace:
    """The journal of one prune run over a collection (its decks and store): built by
    `Collection.prune_workspace()`; closing it closes nothing of the collection."""

    def __init__(self, collection: Collection):
        self.col = collection
        self.now_fn = collection.now_fn
        self.root = collection.root
        self.store = collection.store
        # deck files are read again: deletes are planned on these bytes (the parse cache is
        # keyed by the bytes read, so a hit is the parse of exactly these bytes)
        self.collection = collection.reload_decks()
        self.journal = Journal(journal_path(self.root))
        self.items: list[PruneItem] = []
        self._rank()

    # -- reading ----------------------------------------------------------------------------
    def close(self) -> None:
        """Nothing to release: the collection owns the store (kept for `with` callers)."""

    def __enter__(self) -> PruneWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def settings(self) -> Any:
        return self.col.settings

    def reload(self) -> None:
        self.collection = self.col.reload_decks()
        self._rank()

    def card_info(self, card_id: str) -> CardInfoReport:
        """The card's info now (the prune screen's `i`)."""
        return self.col.card_info(card_id, self.now_fn())

    def _rank(self) -> None:
        """Rank from the review log's per-card figures and the states and flags as columns
        (issue 16: no review object; `prune_report` over objects is the tested oracle)."""
        from dlcards.insights.prune import prune_report_of
        from dlcards.store.state_columns import flag_arrays, state_arrays
        from dlcards.store.stats_queries import log_figures

        s = self.settings
        now = self.now_fn()
        self.col.sync_cards(now)
        conn = self.store.conn
        self.items = prune_report_of(
            self.collection.notes,
            log_figures(conn, self.col.calendar).cards,
            state_arrays(conn),
            flag_arrays(conn),
            now=now,
            answer_word_limit=s.answer_word_limit,
            leech_threshold=s.leech_threshold,
            orphans=self.store.orphans(),
            orphan_texts=self._orphan_texts(),
            kept=self.journal.kept(),
            retrievability=self.col.scheduler.retrievability,
        )

    def _orphan_texts(self) -> dict[str, str]:
        """Questions the cards had: the store's last known text (written by `sync_cards`) over
        the older remembered-questions file."""
        from dlcards.store.card_text import last_known_texts

        texts = remember_texts(self.root, self.collection.notes)
        texts.update({cid: t.question for cid, t in last_known_texts(self.store).items()})
        return texts

    def note_of(self, card_id: str) -> Any:
        for note in self.collection.notes:
            if card_id in note.card_ids():
                return note
        return None

    def item(self, card_id: str) -> PruneItem:
        for it in self.items:
            if it.card_id == card_id:
                return it
        raise PruneError(f"card {card_id} is not in the prune list")

    def file_and_line(self, card_id: str) -> tuple[Path, int] | None:
        note = self.note_of(card_id)
        return None if note is None else (self.root / note.path, note.line)

    def report(self) -> PruneReport:
        """The ranked list now (`.to_dict()` is `dlcards prune --json`)."""
        from dlcards.insights.prune import PruneReport

        return PruneReport(self.now_fn(), tuple(self.items))

    # -- actions ----------------------------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> dict[str, Any]:
        return self.journal.append(entry, self.now_fn())

    def delete(self, card_id: str) -> dict[str, Any]:
        """Remove the card's note from its file (refused if the file changed since read)."""
        from dlcards.core.edit import AnchoredEdit, decode, digest, encode, plan_delete
        from dlcards.system.fsutil import read_snapshot, write_atomic

        note = self.note_of(card_id)
        if note is None:
            raise PruneError(
                f"card {card_id} is in no deck file", hint="orphans can be relinked or kept"
            )
        deck = self.collection.file(note.path)
        fresh = read_snapshot(deck.path)
        if fresh.data != deck.snapshot.data:
            raise FileChangedError(
                f"{deck.display} changed on disk since it was read; nothing deleted",
                hint="the list was reloaded; try again",
            )
        text = decode(fresh.data)
        edit = plan_delete(text, note.line, note.end_line)
        new = edit.apply(text)
        # journal first (issue 17 item 10): the removed text is on disk before it leaves the
        # deck; a write that fails voids the entry, so undo never replays a delete not done
        entry = self._record(
            {
                "action": "delete",
                "card_id": card_id,
                "card_ids": note.card_ids(),
                "path": note.path,
                "line": note.line,
                "edit": AnchoredEdit.of(text, edit).to_dict(),
                "digest_after": digest(new),
            }
        )
        try:
            write_atomic(fresh, encode(new))
        except BaseException:
            self._record({"action": "undo", "of": entry["id"], "what": "not deleted"})
            raise
        self.reload()
        return entry

    def record_edit(self, card_id: str, path: Path, before: bytes) -> dict[str, Any] | None:
        """After `$EDITOR` closed: record what changed in `path` (None when nothing did)."""
        from dlcards.core.edit import AnchoredEdit, decode, diff_edit, digest

        after = path.read_bytes()
        entry = None
        if after != before:
            b, a = decode(before), decode(after)
            rel = (
                path.relative_to(self.root).as_posix()
                if path.is_relative_to(self.root)
                else str(path)
            )
            entry = self._record(
                {
                    "action": "edit",
                    "card_id": card_id,
                    "path": rel,
                    "edit": AnchoredEdit.of(b, diff_edit(b, a)).to_dict(),
                    "digest_after": digest(a),
                }
            )
        self.reload()
        return entry

    def suspend(self, card_id: str) -> dict[str, Any]:
        """Suspend the card (or unsuspend an already suspended one)."""
        flags = self.store.flags([card_id]).get(card_id)
        before = bool(flags and flags.suspended)
        self.store.set_suspended([card_id], not before)
        entry = self._record(
            {"action": "suspend", "card_id": card_id, "suspended": not before, "before": before}
        )
        self._rank()
        return entry

    def relink(self, card_id: str, new_id: str | None = None) -> dict[str, Any]:
        """Move an orphan's whole history to `new_id` (default: the suggested card)."""
        item = self.item(card_id)
        target = new_id or item.relink_to
        if not item.orphan or not target:
            raise PruneError(f"card {card_id} has no card to relink its history to")
        if self.note_of(target) is None:
            raise PruneError(f"card {target} is in no deck file")
        moved = self.store.relink(card_id, target)
        entry = self._record(
            {
                "action": "relink",
                "card_id": card_id,
                "old_id": card_id,
                "new_id": target,
                "moved": moved,
            }
        )
        self._rank()
        return entry

    def keep(self, card_id: str) -> dict[str, Any]:
        """Accept the card as it is: its current reasons are not listed again."""
        item = self.item(card_id)
        entry = self._record({"action": "keep", "card_id": card_id, "reasons": item.codes})
        self._rank()
        return entry

    def undo_last(self) -> dict[str, Any] | None:
        """Undo the newest action not yet undone; None when there is none."""
        entry = self.journal.last_undoable()
        if entry is None:
            return None
        self.undo(entry)
        return entry

    def undo(self, entry: dict[str, Any]) -> None:
        from dlcards.core.edit import AnchoredEdit, EditError, decode, encode
        from dlcards.system.fsutil import read_snapshot, write_atomic

        action = entry["action"]
        if action in ("delete", "edit"):
            path = self.root / entry["path"]
            try:
                snap = read_snapshot(path)
            except FileNotFoundError:
                raise PruneError(
                    f"{entry['path']} no longer exists; cannot undo: {describe(entry)}",
                    hint=f"the removed text is in {self.journal.path}",
                ) from None
            anchored = AnchoredEdit.from_dict(entry["edit"])
            if action == "delete" and _never_written(anchored, decode(snap.data), entry):
                # killed between the journal and the write (issue 17 chaos suite): the note
                # is still there, so undoing must not insert it a second time
                self._record({"action": "undo", "of": entry["id"], "what": "not deleted"})
                self.reload()
                return
            try:
                new = anchored.undo_in(decode(snap.data))
            except EditError as exc:
                raise PruneError(
                    f"{entry['path']}: {exc.message}; cannot undo: {describe(entry)}",
                    hint=f"the removed text is in {self.journal.path}",
                ) from None
            write_atomic(snap, encode(new))
        elif action == "suspend":
            self.store.set_suspended([entry["card_id"]], bool(entry["before"]))
        elif action == "relink":
            self.store.relink(entry["new_id"], entry["old_id"])
        self._record({"action": "undo", "of": entry["id"], "what": describe(entry)})
        self.reload()
