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
        dlc = self.store.flags()  # the whole table: only cards with a flag have a row
        leech_notes: dict[int, bool] = {}
        no_flags = CardFlags(card_id="")
        today = self.today
        for card_id, card in sorted(self.card_of.items()):
            guid = self.guid_of_card.get(card_id)
            if guid is None:  # an orphan: its flags stay as they are on both sides
                continue
            row = self.anki[guid]
            current = self.card_updates.get(card.cid)
            queue = current.queue if current is not None else card.queue
            a_t = (
                queue == QUEUE_SUSPENDED,
                queue in (QUEUE_SIBLING_BURIED, QUEUE_MANUAL_BURIED),
                card.flags & 7,
                LEECH_TAG in row.tags,
            )
            f = dlc.get(card_id) or no_flags
            m_t = (
                f.suspended,
                bool(f.buried_until and f.buried_until > today),
                f.flag,
                f.leech,
            )
            base = self.base_cards.get(card_id)
            if base is not None and a_t == m_t == (
                base.suspended,
                base.buried,
                base.flag,
                base.leech,
            ):
                # nothing changed on either side
                leech_notes[row.nid] = leech_notes.get(row.nid, False) or base.leech
                continue
            a, m = SyncedCard(card_id, *a_t), SyncedCard(card_id, *m_t)
            f = dlc.get(card_id) or CardFlags(card_id=card_id)
            base = base or SyncedCard(card_id)
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
        if inp.dry_run:
            return
        has_leech = {r.nid: LEECH_TAG in r.tags for r in self.anki.values()}
        for nid, leech in leech_notes.items():
            tags = self._note(nid).tags if nid in self.note_updates else None
            if (LEECH_TAG in tags if tags is not None else has_leech[nid]) != leech:
                note = self._note(nid)
                note.tags = (
                    [*note.tags, LEECH_TAG] if leech else [t for t in note.tags if t != LEECH_TAG]
                )


def _three_way(base: Any, anki: Any, mine: Any) -> Any:
    """The value after a sync: whichever side changed since the last sync; Anki when both did."""
    if anki == mine:
        return anki
    if anki != base:
        return anki
    return mine
