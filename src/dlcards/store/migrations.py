"""Named, ordered schema migrations. Append only: never edit or reorder a released migration.

`PRAGMA user_version` holds the number of applied migrations; the `migrations` table records
each one's name and when it ran, so `dlcards doctor` can show the history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import NamedTuple

from dlcards.store.compact_migration import prepare as _compact_prepare
from dlcards.store.lean_migration import prepare as _lean_prepare


class Migration(NamedTuple):
    version: int
    name: str
    sql: str
    # Python run in the same transaction just before `sql` (data the SQL cannot convert
    # exactly); `sql` alone must still build the full schema of an empty database.
    prepare: Callable[[sqlite3.Connection], None] | None = None
    vacuum: bool = False  # VACUUM after the commit (the migration freed many pages)


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
_STATE_NAMES = (
    "phase",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "interval_days",
)

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

# exact for the store's text (`...THH:MM:SS.ffffff+00:00`); the whole seconds come from the
# text without its fraction: SQLite's date functions round to milliseconds (.9996 s -> +1 s)
_US_FROM_TEXT = "(unixepoch(substr({c}, 1, 19)) * 1000000 + CAST(substr({c}, 21, 6) AS INTEGER))"
_TEXT_FROM_US = (
    "strftime('%Y-%m-%dT%H:%M:%S', ({x}) / 1000000, 'unixepoch') "
    "|| printf('.%06d+00:00', ({x}) % 1000000)"
)

# the lean review log's columns (migration 7; migration 11 adds `packed` after them)
_REVIEW_LOG_COLUMNS = """    id INTEGER PRIMARY KEY,
    card INTEGER NOT NULL REFERENCES cards (id),
    time INTEGER NOT NULL,
    info INTEGER NOT NULL CHECK (info BETWEEN 0 AND 127),
    duration_ms INTEGER NOT NULL DEFAULT 0,
    step INTEGER,
    stability REAL,
    difficulty REAL,
    due INTEGER,
    last_review INTEGER,
    reps INTEGER NOT NULL,
    lapses INTEGER NOT NULL,
    interval_days INTEGER NOT NULL,
    anki_revlog_id INTEGER,
    source TEXT,
    before TEXT
"""
_REVIEWS_VIEW = (
    """CREATE VIEW reviews AS
SELECT l.id AS id,
       c.card_id AS card_id,
       """
    + _TEXT_FROM_US.format(x="l.time")
    + """ AS time,
       (l.info & 3) + 1 AS rating,
       l.duration_ms AS duration_ms,
       CASE (l.info >> 2) & 7 WHEN 0 THEN 'learn' WHEN 1 THEN 'review' WHEN 2 THEN 'relearn'
                              WHEN 3 THEN 'manual' ELSE 'import' END AS kind,
       coalesce(l.source, 'dlcards') AS source,
       l.anki_revlog_id AS anki_revlog_id,
       CASE l.info >> 5 WHEN 0 THEN 'new' WHEN 1 THEN 'learning' WHEN 2 THEN 'review'
                        ELSE 'relearning' END AS after_phase,
       l.step AS after_step,
       l.stability AS after_stability,
       l.difficulty AS after_difficulty,
       """
    + _TEXT_FROM_US.format(x="l.time + l.due")
    + """ AS after_due,
       """
    + _TEXT_FROM_US.format(x="l.time + l.last_review")
    + """ AS after_last_review,
       l.reps AS after_reps,
       l.lapses AS after_lapses,
       l.interval_days AS after_interval_days
FROM review_log AS l JOIN cards AS c ON c.id = l.card;
"""
)

V7_LEAN_REVIEW_LOG = (
    """
-- Issue 16: the review log about four times smaller. Each review is a row of numbers: the card
-- by its number in `cards`, times in microseconds since 1970 UTC, the answer, its kind and the
-- phase after it packed in `info` ((rating - 1) | kind << 2 | phase << 5; kinds learn, review,
-- relearn, manual, import = 0..4; phases new, learning, review, relearning = 0..3), and the
-- card's state after it (`due`, `last_review` in microseconds after `time`). The state before
-- it is the card's previous review's state after it (a new card's for the first review) and is
-- stored (`before`, JSON) only where it is not. `source` NULL = 'dlcards'.
-- `reviews` becomes a read-only view with the old columns but `before_*` (sqlite3 shell, scripts).
-- Runs with foreign keys off (dlcards.store.schema); dlcards.store.lean_migration prepares the
-- rows first, in the same transaction.
CREATE TEMP TABLE IF NOT EXISTS lean_before (id INTEGER PRIMARY KEY, state TEXT NOT NULL);
CREATE TEMP TABLE lean_check (ok INTEGER NOT NULL);

CREATE TABLE cards_v7 (
    id INTEGER PRIMARY KEY,
    card_id TEXT NOT NULL UNIQUE,
    note_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    present INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1)),
    gone_since TEXT
) STRICT;
INSERT INTO cards_v7 (id, card_id, note_id, kind, path, line, content_hash, first_seen, present,
                      gone_since)
SELECT rowid, card_id, note_id, kind, path, line, content_hash, first_seen, present, gone_since
FROM cards ORDER BY rowid;

CREATE TABLE review_log (
"""
    + _REVIEW_LOG_COLUMNS
    + """) STRICT;
INSERT INTO review_log (id, card, time, info, duration_ms, step, stability, difficulty, due,
                        last_review, reps, lapses, interval_days, anki_revlog_id, source, before)
SELECT r.id, c.id, """
    + _US_FROM_TEXT.format(c="r.time")
    + """,
       (r.rating - 1)
       | (CASE r.kind WHEN 'learn' THEN 0 WHEN 'review' THEN 1 WHEN 'relearn' THEN 2
                      WHEN 'manual' THEN 3 ELSE 4 END << 2)
       | (CASE r.after_phase WHEN 'new' THEN 0 WHEN 'learning' THEN 1 WHEN 'review' THEN 2
                             ELSE 3 END << 5),
       r.duration_ms, r.after_step, r.after_stability, r.after_difficulty, """
    + _US_FROM_TEXT.format(c="r.after_due")
    + " - "
    + _US_FROM_TEXT.format(c="r.time")
    + ", "
    + _US_FROM_TEXT.format(c="r.after_last_review")
    + " - "
    + _US_FROM_TEXT.format(c="r.time")
    + """,
       r.after_reps, r.after_lapses, r.after_interval_days, r.anki_revlog_id,
       nullif(r.source, 'dlcards'), b.state
FROM reviews AS r JOIN cards_v7 AS c ON c.card_id = r.card_id
LEFT JOIN temp.lean_before AS b ON b.id = r.id
ORDER BY r.id;

-- nothing lost, every time exact: a NULL here fails the NOT NULL and rolls everything back
INSERT INTO temp.lean_check
SELECT CASE WHEN (SELECT count(*) FROM reviews) = (SELECT count(*) FROM review_log) THEN 1 END;
INSERT INTO temp.lean_check
SELECT CASE WHEN count(*) = 0 THEN 1 END
FROM reviews AS r JOIN review_log AS l ON l.id = r.id
WHERE r.time IS NOT """
    + _TEXT_FROM_US.format(x="l.time")
    + " OR r.after_due IS NOT "
    + _TEXT_FROM_US.format(x="l.time + l.due")
    + " OR r.after_last_review IS NOT "
    + _TEXT_FROM_US.format(x="l.time + l.last_review")
    + """;
DROP TABLE temp.lean_check;
DROP TABLE temp.lean_before;

CREATE TABLE sync_review_ids_v7 (
    review_id INTEGER PRIMARY KEY REFERENCES review_log (id) ON DELETE CASCADE,
    revlog_id INTEGER NOT NULL UNIQUE
) STRICT;
INSERT INTO sync_review_ids_v7 (review_id, revlog_id)
SELECT review_id, revlog_id FROM sync_review_ids;
DROP TABLE sync_review_ids;
ALTER TABLE sync_review_ids_v7 RENAME TO sync_review_ids;
DROP TABLE reviews;
DROP TABLE cards;
ALTER TABLE cards_v7 RENAME TO cards;

-- keyed by the card id: stored once, in the key (no row id plus a second index of the id);
-- measured: 8% smaller. (anki_notes, with longer rows, grew that way: it keeps its row id.)
CREATE TABLE card_text_v7 (
    card_id TEXT PRIMARY KEY REFERENCES cards (card_id) ON UPDATE CASCADE ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID, STRICT;
INSERT INTO card_text_v7 (card_id, question, answer, updated_at)
SELECT card_id, question, answer, updated_at FROM card_text;
DROP TABLE card_text;
ALTER TABLE card_text_v7 RENAME TO card_text;

-- per card (the rows of a card are few: no time in this index), per second (4-byte keys; the
-- store bounds `time / 1000000`, then `time`), Anki's dedupe
CREATE INDEX review_log_card ON review_log (card);
CREATE INDEX review_log_time ON review_log (time / 1000000);
CREATE UNIQUE INDEX review_log_anki_revlog_id ON review_log (anki_revlog_id)
    WHERE anki_revlog_id IS NOT NULL;

"""
    + _REVIEWS_VIEW
    + """"""
)

V8_DUE_INDEX = """
-- Issue 16, item 2: today's review queue by an index (dlcards.store.queue_queries): the due
-- cards of a phase in (due, card id) order, a page at a time, instead of every card's state.
CREATE INDEX card_state_phase_due ON card_state (phase, due, card_id);
"""

V9_LOG_CHANGES = """
-- Issue 16, item 1: the review log is appended to; anything else that changes it (an undo,
-- a relink, an import that re-derives a stored `before`, a deleted card) counts here, so the
-- statistics can keep the columns of the rows they have read and scan only the new ones
-- (dlcards.store.stats_queries). Triggers: raw SQL is counted too.
-- `instance`: this database's own random name (copies share it; another collection has another).
CREATE TABLE log_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL,
    instance TEXT NOT NULL
) STRICT;
INSERT INTO log_changes (id, n, instance) VALUES (1, 0, lower(hex(randomblob(12))));
CREATE TRIGGER review_log_updated AFTER UPDATE ON review_log
BEGIN
    UPDATE log_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER review_log_deleted AFTER DELETE ON review_log
BEGIN
    UPDATE log_changes SET n = n + 1 WHERE id = 1;
END;
"""

V10_COMPACT_TEXT = (
    """
-- Issue 16, item 5 (session 4): the per-card tables leaner, nothing dropped.
-- * `card_texts` replaces the table `card_text`: keyed by the card's number in `cards` (the id
--   string is not repeated), `updated_at` in microseconds since 1970 UTC; the text stays plain
--   (the learner's own Markdown). `card_text` becomes a read-only view with the old columns.
-- * `anki_notes` (what `dlcards build` last exported: derived HTML) keeps `fields` and `tags`
--   packed in `content` and the sha256 `digest` as 32 bytes (dlcards.store.packing), and is
--   keyed by its note id alone (WITHOUT ROWID).
-- * `card_state` is WITHOUT ROWID: the card id is stored once, in the key (same columns; the
--   index of migration 8 is rebuilt).
-- Runs with foreign keys off (dlcards.store.schema); dlcards.store.compact_migration prepares
-- the rows first, in the same transaction, and the checks below roll everything back on any
-- difference.
CREATE TEMP TABLE IF NOT EXISTS packed_notes
    (note_id TEXT PRIMARY KEY, digest ANY NOT NULL, content BLOB NOT NULL) STRICT;
CREATE TEMP TABLE compact_check (ok INTEGER NOT NULL);

CREATE TABLE card_texts (
    card INTEGER PRIMARY KEY REFERENCES cards (id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO card_texts (card, question, answer, updated_at)
SELECT c.id, t.question, t.answer, """
    + _US_FROM_TEXT.format(c="t.updated_at")
    + """
FROM card_text AS t JOIN cards AS c ON c.card_id = t.card_id ORDER BY c.id;
INSERT INTO temp.compact_check
SELECT CASE WHEN (SELECT count(*) FROM card_text) = (SELECT count(*) FROM card_texts) THEN 1 END;
INSERT INTO temp.compact_check
SELECT CASE WHEN count(*) = 0 THEN 1 END
FROM card_text AS t JOIN cards AS c ON c.card_id = t.card_id JOIN card_texts AS n ON n.card = c.id
WHERE t.question IS NOT n.question OR t.answer IS NOT n.answer OR t.updated_at IS NOT """
    + _TEXT_FROM_US.format(x="n.updated_at")
    + """;
DROP TABLE card_text;
CREATE VIEW card_text AS
SELECT c.card_id AS card_id, t.question AS question, t.answer AS answer,
       """
    + _TEXT_FROM_US.format(x="t.updated_at")
    + """ AS updated_at
FROM card_texts AS t JOIN cards AS c ON c.id = t.card;

CREATE TABLE anki_notes_v10 (
    note_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('basic', 'cloze')),
    root TEXT NOT NULL, -- deck root
    digest ANY NOT NULL, -- sha256 of the content Anki receives: 32 bytes (text if not hex)
    mtime INTEGER NOT NULL, -- seconds since the epoch: when that content was first built
    content BLOB NOT NULL, -- the field values and dlcards' tags, packed (dlcards.store.packing)
    ords TEXT NOT NULL -- JSON list of card ordinals
) WITHOUT ROWID, STRICT;
INSERT INTO anki_notes_v10 (note_id, kind, root, digest, mtime, content, ords)
SELECT a.note_id, a.kind, a.root, p.digest, a.mtime, p.content, a.ords
FROM anki_notes AS a JOIN temp.packed_notes AS p ON p.note_id = a.note_id ORDER BY a.note_id;
INSERT INTO temp.compact_check
SELECT CASE WHEN (SELECT count(*) FROM anki_notes) = (SELECT count(*) FROM anki_notes_v10)
            THEN 1 END;
DROP TABLE anki_notes;
ALTER TABLE anki_notes_v10 RENAME TO anki_notes;
DROP TABLE temp.packed_notes;

CREATE TABLE card_state_v10 (
    card_id TEXT PRIMARY KEY REFERENCES cards (card_id) ON UPDATE CASCADE ON DELETE CASCADE,"""
    + _STATE_COLUMNS.format(p="")
    + """
) WITHOUT ROWID, STRICT;
INSERT INTO card_state_v10 (card_id, """
    + ", ".join(_STATE_NAMES)
    + """)
SELECT card_id, """
    + ", ".join(_STATE_NAMES)
    + """ FROM card_state ORDER BY card_id;
INSERT INTO temp.compact_check
SELECT CASE WHEN (SELECT count(*) FROM card_state) = (SELECT count(*) FROM card_state_v10)
            THEN 1 END;
DROP TABLE card_state;
ALTER TABLE card_state_v10 RENAME TO card_state;
CREATE INDEX card_state_phase_due ON card_state (phase, due, card_id);
DROP TABLE temp.compact_check;
"""
)

# Issue 16, item 1 (session 5): what the statistics read of each review, packed into one
# integer when the review is written (a STORED generated column: every writer, raw SQL
# included, gets it right), so the first statistics run of a long log converts two integers a
# row to text instead of evaluating ~20 operators a row (at 1M reviews: 0.41 -> 0.30 s CPU in
# SQLite; +3% file size). Frozen layout (dlcards.store.stats_queries decodes it):
#   bits  0-23  the card's number (`cards.id`; the statistics check every number < 2**24)
#   bits 24-28  the stored `before` state: 0 none, else 1 | phase << 1 | interval class << 3
#   bits 29-35  `info` (rating - 1, kind << 2, phase after << 5)
#   bits 36-37  the interval class after: 2 if interval_days >= 21 (mature), 1 if >= 1, else 0
#   bits 38-    `duration_ms` (signed), when -2**24 <= duration_ms < 2**24; NULL otherwise
#               (the statistics then read that part of the log column by column)
PACKED_MATURE_DAYS = 21  # the interval class's "mature" (dlcards.insights.retention.MATURE_DAYS)
PACKED_DURATION_SHIFT = 38
_CLASS_SQL = "(CASE WHEN {ivl} >= 21 THEN 2 WHEN {ivl} >= 1 THEN 1 ELSE 0 END)"
# bits 0-37 of `packed`, from a row's columns (also how the statistics read a row that has none)
PACKED_LOW_SQL = (
    "(card | ((CASE WHEN before IS NULL THEN 0 ELSE 1 | (json_extract(before, '$[0]') << 1)"
    " | (" + _CLASS_SQL.format(ivl="json_extract(before, '$[8]')") + " << 3) END) << 24)"
    " | (info << 29) | (" + _CLASS_SQL.format(ivl="interval_days") + " << 36))"
)
_PACKED_SQL = (
    "CASE WHEN duration_ms >= -16777216 AND duration_ms < 16777216 THEN "
    + PACKED_LOW_SQL
    + " | (duration_ms << 38) END"
)
_REVIEW_LOG_NAMES = (
    "id, card, time, info, duration_ms, step, stability, difficulty, due, last_review, reps, "
    "lapses, interval_days, anki_revlog_id, source, before"
)
V11_PACKED_REVIEW_LOG = (
    """
-- the view and the triggers name the table: dropped first, made again below
DROP VIEW reviews;
DROP TRIGGER review_log_updated;
DROP TRIGGER review_log_deleted;
CREATE TEMP TABLE packed_check (ok INTEGER NOT NULL);
CREATE TABLE review_log_v11 (
"""
    + _REVIEW_LOG_COLUMNS.rstrip("\n")
    + ",\n    packed INTEGER GENERATED ALWAYS AS ("
    + _PACKED_SQL
    + """) STORED
) STRICT;
INSERT INTO review_log_v11 ("""
    + _REVIEW_LOG_NAMES
    + """)
SELECT """
    + _REVIEW_LOG_NAMES
    + """ FROM review_log ORDER BY id;
-- nothing lost: a NULL here fails the NOT NULL and rolls everything back
INSERT INTO temp.packed_check
SELECT CASE WHEN (SELECT count(*) FROM review_log) = (SELECT count(*) FROM review_log_v11)
            THEN 1 END;
DROP TABLE review_log;
ALTER TABLE review_log_v11 RENAME TO review_log;
DROP TABLE temp.packed_check;
CREATE INDEX review_log_card ON review_log (card);
CREATE INDEX review_log_time ON review_log (time / 1000000);
CREATE UNIQUE INDEX review_log_anki_revlog_id ON review_log (anki_revlog_id)
    WHERE anki_revlog_id IS NOT NULL;
CREATE TRIGGER review_log_updated AFTER UPDATE ON review_log
BEGIN
    UPDATE log_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER review_log_deleted AFTER DELETE ON review_log
BEGIN
    UPDATE log_changes SET n = n + 1 WHERE id = 1;
END;
"""
    + _REVIEWS_VIEW
)

V12_SYNC_POSITIONS = """
-- Issue 16, incremental sync (session 5): each note's curriculum position as the last sync
-- gave it to the target, so a sync that skips the curriculum (nothing in the Markdown changed)
-- still puts a card that became new again at its place (dlcards.anki.sync.incremental).
ALTER TABLE sync_notes ADD COLUMN position INTEGER;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", V1_INITIAL),
    Migration(2, "card_flags_anki_dedupe_gone_since", V2_FLAGS),
    Migration(3, "anki_sync", V3_ANKI_SYNC),
    Migration(4, "fsrs_params_foreign_reviews", V4_FSRS_PARAMS),
    Migration(5, "anki_notes", V5_ANKI_NOTES),
    Migration(6, "card_text", V6_CARD_TEXT),
    Migration(7, "lean_review_log", V7_LEAN_REVIEW_LOG, prepare=_lean_prepare, vacuum=True),
    Migration(8, "card_state_due_index", V8_DUE_INDEX),
    Migration(9, "log_changes", V9_LOG_CHANGES),
    Migration(10, "compact_text_tables", V10_COMPACT_TEXT, prepare=_compact_prepare, vacuum=True),
    Migration(11, "packed_review_log", V11_PACKED_REVIEW_LOG, vacuum=True),
    Migration(12, "sync_note_positions", V12_SYNC_POSITIONS),
)

LATEST = MIGRATIONS[-1].version
