"""A light path for `dlcards list` (issue 16, item 6): the card side of the rows from a cache,
so that an unchanged collection is listed without importing pydantic (the settings, the note
model) or the parser, and without fsrs.

What is cached (one JSON slot per collection, `system.cache` rules: the header carries the
code fingerprint and this schema): for every card, the row fields that come from the Markdown
(`ListRow` minus the schedule) and the text the filters read; the study calendar (zone and day
start); and, when a scheduler was built, its forgetting-curve constants. The key hashes every
input those depend on: the settings file's bytes, the `DLCARDS_*` and `TZ` variables, and the
name, size and modification time of every deck file. The schedule (state, flags) is read from
the store on every run, as before; a change of adopted FSRS parameters (`dlcards optimize`)
changes a fingerprint of the `fsrs_params` table that is compared too.

Anything unusual (files named on the command line, a miss, a cache written without the
curve's constants while the store has states) falls back to the full path, which writes the
entry for the next run. `tests/test_list_cache.py` checks both paths give the same rows.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.system.cache import Cache, Schema

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.app.listing import ListQuery
    from dlcards.core.state import CardFlags, CardState
    from dlcards.insights.listing import ListRow
    from dlcards.insights.retention import CardMeta

SCHEMA = Schema("list-view", "1")
_STATIC = ("id", "note_id", "kind", "ordinal", "path", "line", "deck", "week", "topic")
# a cached row: the _STATIC values, then tags, question, blocks, and the note's file path when
# it differs from the displayed one (lists, not dicts: a third less JSON to decode)
_TAGS, _QUESTION, _BLOCKS, _FILE = range(len(_STATIC), len(_STATIC) + 4)
_ID, _KIND, _PATH, _LINE, _WEEK, _TOPIC = 0, 2, 4, 5, 7, 8


def _cache() -> Cache[dict[str, Any]]:
    return Cache(SCHEMA, lambda v: isinstance(v, (dict, list)), codec="json")


def _slot(root: Path) -> str:
    return hashlib.sha256(str(root).encode()).hexdigest()[:24]


def _key(cache: Cache[dict[str, Any]], root: Path) -> str:
    """The inputs of the card side of the rows: settings file, variables, deck files."""
    from dlcards.system.paths import CONFIG_FILE, deck_files

    parts: list[str | bytes] = [str(root)]
    config = root / CONFIG_FILE
    parts.append(config.read_bytes() if config.is_file() else b"")
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("DLCARDS_") or k == "TZ")
    parts.append(repr([(k, v) for k, v in env if k not in ("DLCARDS_NOW",)]))
    files = []
    for path in deck_files(root, None):
        st = path.stat()
        files.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}")
    parts.append("\n".join(files))
    return cache.key(*parts)


def _params_fingerprint(store: Any) -> str:
    """Which FSRS parameters the store has adopted (a new optimisation, a rollback)."""
    row = store.conn.execute(
        "SELECT count(*), max(id), count(rolled_back_at) FROM fsrs_params"
    ).fetchone()
    return repr(tuple(row))


def fast_rows(
    root: Path, query: ListQuery, now_fn: Callable[[], datetime]
) -> tuple[list[ListRow], datetime] | None:
    """The rows from the cache and the store, or None when the full path must run."""
    from dlcards.core.calendar import StudyCalendar

    cache = _cache()
    if not cache.enabled:
        return None
    try:
        key = _key(cache, root)
    except OSError:
        return None
    entry = cache.get(key, slot=_slot(root))
    if not isinstance(entry, dict) or "rows" not in entry:
        return None
    from zoneinfo import ZoneInfo

    calendar = StudyCalendar(ZoneInfo(entry["zone"]), entry["day_starts_at"])
    now = now_fn()
    texts: list[str] | None = None
    if query.text:  # the searchable text is a slot of its own: most runs never read it
        texts = cache.get(key, slot=_slot(root) + "-text")  # type: ignore[assignment]
        if not isinstance(texts, list) or len(texts) != len(entry["rows"]):
            return None
    rows = [
        r
        for i, r in enumerate(entry["rows"])
        if _matches(r, query) and (texts is None or query.text.lower() in texts[i])  # type: ignore[union-attr]
    ]
    states: dict[str, CardState] = {}
    flags: dict[str, CardFlags] = {}
    path = store_file()
    if path.is_file():
        from dlcards.store import Store

        with Store.open(path) as store:
            ids = [r[_ID] for r in rows]
            states = store.states(ids)
            flags = store.flags(ids)
            if states and entry.get("curve") is None:
                return None
            if states and entry.get("params") != _params_fingerprint(store):
                return None
    curve = entry.get("curve")
    retrievability = _curve(*curve) if curve and states else None
    out = [_row(r, states.get(r[_ID]), flags.get(r[_ID]), retrievability, now) for r in rows]
    return _schedule_filters(out, query, calendar, now), now


def card_catalogue(collection: Collection) -> dict[str, CardMeta] | None:
    """What the statistics need of every card (id, file, line, topic, week, first question
    line) from the cache, when it is current for this collection; None otherwise (the caller
    reads the notes). Saves `dlcards stats` the note models: at 50k cards they are most of its
    memory."""
    from dlcards.insights.retention import CardMeta

    cache = _cache()
    if not cache.enabled or collection.paths:
        return None
    try:
        key = _key(cache, collection.root)
    except OSError:
        return None
    entry = cache.get(key, slot=_slot(collection.root))
    if not isinstance(entry, dict) or "rows" not in entry:
        return None
    out = {}
    for r in entry["rows"]:
        path = r[_FILE] if r[_FILE] is not None else r[_PATH]
        out[r[_ID]] = CardMeta(r[_ID], path, r[_LINE], r[_TOPIC], r[_WEEK], r[_QUESTION])
    return out


def store_file() -> Path:
    """`dlcards.store.default_path()` without importing the store (sqlite3) when there is none
    (tests/test_list_cache.py checks they agree)."""
    from dlcards.system.paths import state_dir

    return state_dir() / "dlcards.sqlite3"


def _matches(r: list[Any], q: ListQuery) -> bool:
    """`dlcards.app.listing.matching_notes`'s note filters, on a cached row."""
    if q.week is not None and r[_WEEK] != q.week:
        return False
    if q.topic and r[_TOPIC] != q.topic:
        return False
    if q.tag and q.tag not in r[_TAGS]:
        return False
    if q.kind and r[_KIND] != q.kind:
        return False
    file = r[_FILE] if r[_FILE] is not None else r[_PATH]
    return not (q.file and q.file not in file and q.file not in r[_PATH])


def _schedule_filters(
    rows: list[ListRow], q: ListQuery, calendar: Any, now: datetime
) -> list[ListRow]:
    if q.due:
        end = calendar.next_day_start(now)
        rows = [r for r in rows if r.is_due(now, end)]
    if q.leech:
        rows = [r for r in rows if r.leech]
    if q.suspended:
        rows = [r for r in rows if r.suspended]
    return rows


def _curve(factor: float, decay: float) -> Callable[[CardState, datetime], float | None]:
    """`Scheduler.retrievability` with the scheduler's own constants (the same expression)."""

    def retrievability(state: CardState, now: datetime) -> float | None:
        if state.stability is None or state.last_review is None:
            return None
        days = max((now - state.last_review).total_seconds() / 86400.0, 0.0)
        return float((1 + factor * days / state.stability) ** decay)

    return retrievability


def _row(
    r: list[Any],
    state: CardState | None,
    flag: CardFlags | None,
    retrievability: Callable[[CardState, datetime], float | None] | None,
    now: datetime,
) -> ListRow:
    from dlcards.insights.listing import ListRow

    if state is None and flag is None:  # most cards: new, no flags
        return ListRow(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
            tuple(r[_TAGS]), r[_QUESTION], tuple(r[_BLOCKS]),
            "new", None, None, None, None, 0, 0, False, False, None,
        )  # fmt: skip
    return ListRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
        tuple(r[_TAGS]), r[_QUESTION], tuple(r[_BLOCKS]),
        state=state.phase if state else "new",
        due=state.due if state else None,
        stability=state.stability if state else None,
        difficulty=state.difficulty if state else None,
        retrievability=retrievability(state, now) if retrievability and state else None,
        reps=state.reps if state else 0,
        lapses=state.lapses if state else 0,
        suspended=bool(flag and flag.suspended),
        leech=bool(flag and flag.leech),
        buried_until=flag.buried_until if flag else None,
        flag=flag.flag if flag else 0,
    )  # fmt: skip


def remember(collection: Collection, now: datetime) -> None:
    """Write the cache entry from a collection the full path has read (decks, settings, and
    the scheduler if it was built)."""
    from dlcards.insights.listing import list_rows

    cache = _cache()
    if not cache.enabled or collection.paths:
        return
    root = collection.root
    try:
        key = _key(cache, root)
    except OSError:
        return
    decks = collection.decks
    rows = []
    texts = []
    notes = decks.notes
    display = {f.rel: f.display for f in decks.files}  # Decks.display_path scans the files
    for note in notes:
        text = (note.question + "\n" + note.answer).lower()
        for row in list_rows(
            [note], {}, {}, None, now, display_path=lambda rel: display.get(rel, rel)
        ):
            cached: list[Any] = [getattr(row, k) for k in _STATIC]
            file = None if note.path == row.path else note.path
            cached += [list(row.tags), row.question, list(row.blocks), file]
            rows.append(cached)
            texts.append(text)
    entry: dict[str, Any] = {
        "zone": collection.calendar.tz.key,
        "day_starts_at": collection.calendar.day_starts_at,
        "rows": rows,
        "curve": None,
        "params": None,
    }
    sched = collection.built_scheduler  # only when the full path built one
    if sched is not None and collection.has_store():
        entry["curve"] = list(sched.curve)
        entry["params"] = _params_fingerprint(collection.store)
    cache.put(key, entry, slot=_slot(root))
    cache.put(key, texts, slot=_slot(root) + "-text")  # type: ignore[arg-type]
