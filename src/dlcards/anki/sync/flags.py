"""Step 4 of a sync: suspend, bury, flag and leech, both ways, each a three-way merge against
the values of the last sync (Anki wins when both sides changed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dlcards.anki.sync.base import _EngineBase
from dlcards.anki.sync.collection import (
    LEECH_TAG,
    QUEUE_MANUAL_BURIED,
    QUEUE_SIBLING_BURIED,
    QUEUE_SUSPENDED,
)
from dlcards.anki.sync.schedule import _queue_for
from dlcards.core.state import CardFlags


class _Flags(_EngineBase):
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


def _three_way(base: Any, anki: Any, mine: Any) -> Any:
    """The value after a sync: whichever side changed since the last sync; Anki when both did."""
    if anki == mine:
        return anki
    if anki != base:
        return anki
    return mine
