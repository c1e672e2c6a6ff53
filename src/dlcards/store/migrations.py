"""Named, ordered schema migrations. Append only: never edit or reorder a released migration.

`PRAGMA user_version` holds the number of applied migrations; the `migrations` table records
each one's name and when it ran, so `dlcards doctor` can show the history.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


_STATE_COLUMNS = """
    {p}phase TEXT NOT NULL CHECK ({p}phase IN ('new', 'learning', 'review', 'relearning')),
    {p}step INTEGER,
    {p}stability REAL,
    {p}difficulty REAL,
    {p}due TEXT,
    {p}last_review TEXT,
    {p}reps INTEGER NOT NULL DEFAULT 0,
    {p}lapses INTEGER NOT NULL DEFAULT 0,
    {p}interval_days INTEGER NOT NULL DEFAULT 0"""

V1_INITIAL = (
    """
CREATE TABLE migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    applied_at TEXT NOT NULL
) STRICT;

-- Cards known to the collection. `present` = 0 once the id is gone from the Markdown; such
-- cards keep their history (orphans) until the user relinks or prunes them.
CREATE TABLE cards (
    card_id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    present INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1))
) STRICT;

-- Current scheduling state; a card without a row is new.
CREATE TABLE card_state (
    card_id TEXT PRIMARY KEY REFERENCES cards (card_id) ON UPDATE CASCADE ON DELETE CASCADE,"""
    + _STATE_COLUMNS.format(p="")
    + """
) STRICT;

-- Append-only review log: times are ISO 8601 UTC with microseconds (sortable as text).
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    card_id TEXT NOT NULL REFERENCES cards (card_id) ON UPDATE CASCADE,
    time TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    duration_ms INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL CHECK (kind IN ('learn', 'review', 'relearn', 'manual', 'import')),
    source TEXT NOT NULL DEFAULT 'dlcards',
    anki_revlog_id INTEGER,"""
    + _STATE_COLUMNS.format(p="before_")
    + ","
    + _STATE_COLUMNS.format(p="after_")
    + """
) STRICT;
CREATE INDEX reviews_card_time ON reviews (card_id, time);
CREATE INDEX reviews_time ON reviews (time);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"""
)

V2_FLAGS = """
-- User actions on a card, independent of its schedule.
CREATE TABLE card_flags (
    card_id TEXT PRIMARY KEY REFERENCES cards (card_id) ON UPDATE CASCADE ON DELETE CASCADE,
    suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
    buried_until TEXT,
    flag INTEGER NOT NULL DEFAULT 0 CHECK (flag BETWEEN 0 AND 7),
    leech INTEGER NOT NULL DEFAULT 0 CHECK (leech IN (0, 1))
) STRICT;

-- Imports from Anki are deduplicated by the revlog id.
CREATE UNIQUE INDEX reviews_anki_revlog_id ON reviews (anki_revlog_id) WHERE anki_revlog_id IS NOT NULL;

-- When a card left the Markdown (NULL while present): how long it has been an orphan.
ALTER TABLE cards ADD COLUMN gone_since TEXT;
"""

V3_ANKI_SYNC = """
-- `dlcards sync`: what each Anki target (a collection file, or the mirror of a sync server)
-- held after the last sync, for three-way merges of fields, decks and card flags.
CREATE TABLE sync_notes (
    target TEXT NOT NULL,
    note_id TEXT NOT NULL,
    fields TEXT NOT NULL, -- JSON list: the note's field values after the last sync
    conflict TEXT, -- JSON {field index: Markdown value} while a field edited in Anki is in conflict
    deck TEXT NOT NULL, -- the deck dlcards last put the note's cards in
    orphaned INTEGER NOT NULL DEFAULT 0 CHECK (orphaned IN (0, 1)),
    PRIMARY KEY (target, note_id)
) STRICT;

CREATE TABLE sync_cards (
    target TEXT NOT NULL,
    card_id TEXT NOT NULL,
    suspended INTEGER NOT NULL DEFAULT 0,
    buried INTEGER NOT NULL DEFAULT 0,
    flag INTEGER NOT NULL DEFAULT 0,
    leech INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target, card_id)
) STRICT;

-- The Anki revlog id each dlcards review was written to Anki as (the same id on both sides,
-- so nothing comes back as new). Reviews that came from Anki keep theirs in reviews.anki_revlog_id.
CREATE TABLE sync_review_ids (
    review_id INTEGER PRIMARY KEY REFERENCES reviews (id) ON DELETE CASCADE,
    revlog_id INTEGER NOT NULL UNIQUE
) STRICT;

CREATE TABLE sync_targets (
    target TEXT PRIMARY KEY,
    last_sync TEXT NOT NULL,
    summary TEXT NOT NULL -- JSON: the last sync's summary
) STRICT;
"""

V4_FSRS_PARAMS = """
-- `dlcards optimize`: every FSRS-6 parameter set fitted or imported, with its scores. The newest
-- adopted row not rolled back is what scheduling uses (the setting `fsrs_parameters` overrides).
CREATE TABLE fsrs_params (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    parameters TEXT NOT NULL, -- JSON list of the 21 FSRS-6 weights
    source TEXT NOT NULL CHECK (source IN ('optimize', 'import', 'sync')),
    adopted INTEGER NOT NULL CHECK (adopted IN (0, 1)),
    rolled_back_at TEXT,
    items INTEGER, -- training items (reviews on a later day than the card's previous one)
    log_loss REAL, -- time-series split scores of these parameters
    rmse_bins REAL,
    previous_log_loss REAL, -- ... and of the parameters in use before, on the same split
    previous_rmse_bins REAL,
    note TEXT
) STRICT;

-- `dlcards import-reviews`: reviews of cards that are not dlcards cards (another app's history),
-- kept for the optimiser and the review-time estimate; never scheduled.
CREATE TABLE foreign_reviews (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL, -- the file they came from
    card_key TEXT NOT NULL, -- the other app's card id
    time TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    duration_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (card_key, time)
) STRICT;
"""

V5_ANKI_NOTES = """
-- `dlcards build`: what each note last looked like in an .apkg, and since when. A note's Anki
-- modification time is the time its content (note type, fields, tags) last changed, so a
-- rebuild without changes imports as "unchanged"; `fields`/`tags` let a note deleted from the
-- Markdown still be exported, tagged `dlcards::deleted`, while its cards are orphans.
CREATE TABLE anki_notes (
    note_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('basic', 'cloze')),
    root TEXT NOT NULL, -- deck root
    digest TEXT NOT NULL, -- sha256 of the content Anki receives
    mtime INTEGER NOT NULL, -- seconds since the epoch: when that content was first built
    fields TEXT NOT NULL, -- JSON list of field values
    tags TEXT NOT NULL, -- JSON list of dlcards' tags
    ords TEXT NOT NULL -- JSON list of card ordinals
) STRICT;

-- The same for the note types (templates and CSS): their mtime changes only with them.
CREATE TABLE anki_notetypes (
    model_id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    mtime INTEGER NOT NULL
) STRICT;
"""

V6_CARD_TEXT = """
-- The last known text of every card (question and answer as in the Markdown, raw), written when
-- the Markdown's cards are synced to the store, so an orphan stays readable: prune's relink
-- suggestion, card info and `dlcards info` show what the card asked.
CREATE TABLE card_text (
    card_id TEXT PRIMARY KEY REFERENCES cards (card_id) ON UPDATE CASCADE ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", V1_INITIAL),
    Migration(2, "card_flags_anki_dedupe_gone_since", V2_FLAGS),
    Migration(3, "anki_sync", V3_ANKI_SYNC),
    Migration(4, "fsrs_params_foreign_reviews", V4_FSRS_PARAMS),
    Migration(5, "anki_notes", V5_ANKI_NOTES),
    Migration(6, "card_text", V6_CARD_TEXT),
)

LATEST = MIGRATIONS[-1].version
