"""Step 1 of a sync, content: Markdown notes into Anki. New notes go in through an `.apkg`
import; a field changes only where the Markdown changed and Anki did not (else a `Conflict`);
dlcards' tags are replaced, the learner's kept; cards follow a changed deck; notes gone from
the Markdown become orphans; dlcards' note-type templates and CSS are updated."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from dlcards.anki.sync.base import _EngineBase
from dlcards.anki.sync.collection import (
    DELETED_TAG,
    NOTETYPE_HASH_KEY,
    ORPHAN_DECK,
    AnkiNoteRow,
    _our_notetypes,
    read_cards,
    read_notes,
)
from dlcards.anki.sync.desired import Desired, managed
from dlcards.anki.sync.values import Conflict


class _Content(_EngineBase):
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
                    d.position,
                )
            )
        report.added = len(to_add)
        if to_add and not inp.dry_run:
            self._add(to_add)
            self.mids = _our_notetypes(self.col)
            self.anki = read_notes(self.col, self.mids)
            for d in to_add:
                self.write.notes.append(
                    SyncedNote(d.note.id, d.fields, d.deck, {}, False, d.position)
                )
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
                    self.guid_of_card[cid] = d.guid
                else:
                    self.skip_cids.append(card.cid)
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

        from dlcards.anki.build_write import _stage
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
