"""What goes into one sync run (`SyncInput`) and what comes out (`SyncReport`, with each field
`Conflict` and its diff). Values only: nothing here touches Anki or the store."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlcards.anki.html import RenderedNote
    from dlcards.core.calendar import StudyCalendar
    from dlcards.core.model import Note
    from dlcards.review.scheduling import Scheduler
    from dlcards.system.config import Settings

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
    mode: str = "full"  # "full", "incremental" (`incremental.plan`) or "unchanged" (nothing to do)
    why: str = ""  # why this mode ran

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
            "mode": self.mode,
            "why": self.why,
        }


# ---- the input ----------------------------------------------------------------------------


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
    progress: Any = None  # `dlcards.app.verify.Progress`: start(total, label), advance()
    digest: str | None = None  # the Markdown's digest (deck files, settings): for the cursor
    full: str | None = None  # why the full sync must run (--full, an interrupted sync), if so
    # fills `notes` and `rendered` when a full run needs them (an incremental run reads no
    # Markdown); None: they are filled already
    loader: Callable[[SyncInput], None] | None = None

    def ensure_loaded(self) -> None:
        """The Markdown side read (`loader`), once."""
        loader, self.loader = self.loader, None
        if loader is not None:
            loader(self)
