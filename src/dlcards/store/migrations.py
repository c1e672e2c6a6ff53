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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", V1_INITIAL),
    Migration(2, "card_flags_anki_dedupe_gone_since", V2_FLAGS),
)

LATEST = MIGRATIONS[-1].version
