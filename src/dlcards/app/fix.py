"""`dlcards fix`: pin derived ids into the Markdown files (and new ids for duplicates).

Only the id comments are inserted; every other byte stays as it was. Each file is written
atomically and only if it still holds the bytes it was read with (`write_atomic` on the
snapshot), so an editor saving in between is never overwritten: that file is reported as
failed and the others are written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from dlcards.core.errors import FileChangedError
from dlcards.core.identity import IdWrite, apply_id_writes
from dlcards.system import fsutil
from dlcards.system.decks import Decks


@dataclass(frozen=True)
class PinnedId:
    display: str  # the file as the user names it
    line: int
    new_id: str
    duplicate: bool  # a fresh id for a card that reused another card's id


@dataclass
class FixReport:
    cards: int
    ids: list[PinnedId] = field(default_factory=list)
    files: int = 0  # files that needed an id
    written: int = 0  # ids written
    failed: list[FileChangedError] = field(default_factory=list)
    dry_run: bool = False


def pin_ids(decks: Decks, *, dry_run: bool = False) -> FixReport:
    """Write every missing id into its file (nothing when `dry_run`)."""
    by_file: dict[str, list[IdWrite]] = defaultdict(list)
    for w in decks.writes:
        by_file[w.path].append(w)
    report = FixReport(cards=len(decks.notes), files=len(by_file), dry_run=dry_run)
    if not dry_run:
        for deck_file in decks.files:  # what a killed `fix` left behind
            fsutil.remove_stale_temps(deck_file.path)
    for rel, writes in sorted(by_file.items()):
        deck_file = decks.file(rel)
        report.ids += [PinnedId(deck_file.display, w.line, w.new_id, w.replace) for w in writes]
        if dry_run:
            continue
        text = deck_file.snapshot.data.decode("utf-8")
        try:
            fsutil.write_atomic(deck_file.snapshot, apply_id_writes(text, writes).encode("utf-8"))
            report.written += len(writes)
        except FileChangedError as exc:
            report.failed.append(exc)
    return report
