"""What the Markdown wants in Anki: each valid note as a `Desired` (GUID, fields, dlcards'
managed tags, deck, curriculum position, `path:line`), in curriculum order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlcards.anki.sync.collection import MANAGED_PREFIX, ROOT_TAG

if TYPE_CHECKING:
    from dlcards.anki.html import RenderedNote
    from dlcards.core.model import Note

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
