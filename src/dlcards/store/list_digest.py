"""A digest of everything `dlcards list`'s table shows of the store (issue 16, item 6): the
list cache's printed lines (`dlcards.app.list_lines`) are served only while it is unchanged.

Light on purpose (sqlite3 and SHA-256, no pathlib, no typing): it runs at the start of every
`dlcards list` into a pipe. One scan of `card_state` in SQLite's C, column by column
(`group_concat` of each column costs a few ms at 45k states; concatenating the columns of each
row first costs three times that), then `card_flags` and the adopted FSRS parameters.
Stability is taken at 2⁻³² of a day (the text of a REAL costs more than the rest together):
two stabilities closer than that draw the same R cell unless R sits on a rounding boundary
within ~1e-10.
"""

from __future__ import annotations

import sqlite3
from hashlib import sha256  # OpenSSL's: 5x the built-in module's speed on the digest's MBs

_SEP = "char(30)"
_STATES = ", ".join(
    f"CAST(group_concat({column}, {_SEP}) AS BLOB)"
    for column in (
        "card_id",
        "phase",
        "ifnull(due, '')",
        "ifnull(last_review, '')",
        "ifnull(CAST(stability * 4294967296 AS INTEGER), '')",
    )
)
DIGEST = f"""
SELECT {_STATES}, count(*),
  (SELECT CAST(group_concat(card_id || char(31) || suspended || leech || flag, {_SEP}) AS BLOB)
   FROM card_flags),
  (SELECT count(*) || ',' || ifnull(max(id), '') || ',' || count(rolled_back_at)
   FROM fsrs_params)
FROM card_state"""


def digest(conn: sqlite3.Connection) -> str:
    """The digest, read through `conn` (inside the caller's read transaction, if any)."""
    h = sha256()
    for part in conn.execute(DIGEST).fetchone():
        data = part if isinstance(part, bytes) else repr(part).encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return str(h.hexdigest())


def connect_read(path: str) -> sqlite3.Connection:
    """A connection that only reads the live store at `path` (absolute). Not `mode=ro`: a
    read-only connection can neither checkpoint nor remove the -wal and -shm files it makes,
    so the store would no longer look closed cleanly and its next open would run
    `PRAGMA quick_check` (~0.3 s at 50k cards). `query_only` keeps this one from writing;
    where the file cannot be opened for writing, `mode=ro` it is."""
    try:
        conn = sqlite3.connect(f"file:{_uri_path(path)}?mode=rw", uri=True)
    except sqlite3.Error:
        return sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True)
    conn.execute("PRAGMA query_only = 1")
    return conn


def schedule_digest(path: str) -> str | None:
    """`digest` of the store file at `path` (read only); None on any SQLite error."""
    try:
        conn = connect_read(path)
        try:
            return digest(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _uri_path(path: str) -> str:
    """An absolute path quoted for a `file:` URI (as `Path.as_uri`, without pathlib)."""
    if path.isascii() and not any(c in path for c in "?#%"):
        return path
    from urllib.parse import quote

    return quote(path)
