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
5. deck options preset and new-card positions (curriculum order: each new card at its note's
   curriculum position, so answering a card moves no other);
6. the dlcards side is written in ONE store transaction (`store.sync.commit_sync`), with the
   cursor the next run starts from.

After the first sync a run is *incremental* when the last run's cursor still holds
(`incremental`): it reads Anki's revlog rows and dlcards' reviews after the cursor, every
card's flags in one narrow scan, and skips step 1 (and the Markdown) altogether; anything it
cannot trust runs the full sync above (`SyncReport.mode`, `.why`). Both end in the same state.

Nothing here prints; the report is a value (`SyncReport`).

The parts, in the order data flows through a run:

- `collection`: dlcards' names in Anki; opening, reading and (prune) deleting from a collection;
- `desired`: what the Markdown wants in Anki (`Desired`, in curriculum order);
- `values`: the run's input and report (`SyncInput`, `SyncReport`, `Conflict`);
- `schedule`: Anki's schedule <-> dlcards' `CardState` (`DayMap`);
- `base`: the engine's shared state and the one writer of Anki (`flush_anki`);
- `content` (step 1), `reviews` (steps 2 and 3), `flags` (step 4): the engine's steps;
- `engine`: `run_sync`, the steps in order, step 5 and the one store commit;
- `incremental`: the cursor a run leaves and the plan of an incremental run;
- `server`: a sync server (login, collection and media sync).
"""

from dlcards.anki.sync.collection import (
    DELETED_TAG,
    LAST_SYNC_KEY,
    LEECH_TAG,
    MANAGED_PREFIX,
    NOTETYPE_HASH_KEY,
    ORPHAN_DECK,
    QUEUE_MANUAL_BURIED,
    QUEUE_SIBLING_BURIED,
    QUEUE_SUSPENDED,
    REVLOG_TYPE,
    ROOT_TAG,
    AnkiCardRow,
    AnkiLockedError,
    AnkiNoteRow,
    AnkiSyncError,
    close_anki,
    delete_orphans_in,
    open_anki,
    read_cards,
    read_notes,
)
from dlcards.anki.sync.desired import Desired, desired_notes, managed, managed_tags
from dlcards.anki.sync.engine import run_sync
from dlcards.anki.sync.reviews import drop_own_reviews
from dlcards.anki.sync.schedule import DayMap, state_from_anki, write_state_to_card
from dlcards.anki.sync.server import server_login, server_media, server_sync
from dlcards.anki.sync.values import Conflict, SyncInput, SyncReport

__all__ = [
    "DELETED_TAG",
    "LAST_SYNC_KEY",
    "LEECH_TAG",
    "MANAGED_PREFIX",
    "NOTETYPE_HASH_KEY",
    "ORPHAN_DECK",
    "QUEUE_MANUAL_BURIED",
    "QUEUE_SIBLING_BURIED",
    "QUEUE_SUSPENDED",
    "REVLOG_TYPE",
    "ROOT_TAG",
    "AnkiCardRow",
    "AnkiLockedError",
    "AnkiNoteRow",
    "AnkiSyncError",
    "Conflict",
    "DayMap",
    "Desired",
    "SyncInput",
    "SyncReport",
    "close_anki",
    "delete_orphans_in",
    "desired_notes",
    "drop_own_reviews",
    "managed",
    "managed_tags",
    "open_anki",
    "read_cards",
    "read_notes",
    "run_sync",
    "server_login",
    "server_media",
    "server_sync",
    "state_from_anki",
    "write_state_to_card",
]
