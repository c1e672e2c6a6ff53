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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.system.cache import Cache, Schema

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.app.listing import ListQuery
    from dlcards.core.state import CardFlags, CardState
    from dlcards.insights.listing import ListRow
    from dlcards.insights.retention import CardMeta
    from dlcards.insights.stats_columns import Catalogue

SCHEMA = Schema("list-view", "1")
_STATIC = ("id", "note_id", "kind", "ordinal", "path", "line", "deck", "week", "topic")
# a cached row: the _STATIC values, then tags, question, blocks, and the note's file path when
# it differs from the displayed one (lists, not dicts: a third less JSON to decode)
_TAGS, _QUESTION, _BLOCKS, _FILE = range(len(_STATIC), len(_STATIC) + 4)
_ID, _KIND, _ORDINAL, _PATH, _LINE, _WEEK, _TOPIC = 0, 2, 3, 4, 5, 7, 8


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
    return _params_of(store.conn)


def _params_of(conn: Any) -> str:
    row = conn.execute(
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


# -- the plain table (`dlcards list` with no option, the common case) ---------------------------
# A second slot holds the table's columns that come from the Markdown, the question already
# rendered as the review screen shows it (`dlcards.app.browse.text_line`: pylatexenc, ~30 µs a
# card); it is derived from the row entry above (same key), on the first light run after it.
TABLE_SCHEMA = Schema("list-table", "1")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_QUERY_FIELDS = ("week", "topic", "tag", "kind", "file", "text", "due", "leech", "suspended")


def _table_cache() -> Cache[dict[str, Any]]:
    return Cache(TABLE_SCHEMA, lambda v: isinstance(v, dict) and "ids" in v, codec="pickle")


def _table_of(rows: list[list[Any]]) -> dict[str, Any]:
    from dlcards.app.browse import text_line

    questions = []
    for r in rows:
        try:
            questions.append(text_line(r[_QUESTION], r[_KIND], r[_ORDINAL]))
        except Exception:
            questions.append(r[_QUESTION])
    return {
        "ids": [r[_ID] for r in rows],
        "weeks": ["" if r[_WEEK] is None else str(r[_WEEK]) for r in rows],
        "topics": [r[_TOPIC] or "" for r in rows],
        "wheres": [f"{r[_PATH]}:{r[_LINE]}" for r in rows],
        "questions": questions,
    }


def fast_table(
    root: Path, query: ListQuery, now_fn: Callable[[], datetime]
) -> tuple[dict[str, Sequence[Any]], datetime] | None:
    """`dlcards list`'s plain table as columns of display cells (id, wk, state, due, R, flag,
    topic, where, question; `dlcards.cli.list.table_cells` makes the same from `ListRow`s),
    from the cache and one read of the store's states and flags; None when the query has any
    filter or the full path must run."""
    if any(getattr(query, f) for f in _NO_QUERY_FIELDS):
        return None
    cache, tables = _cache(), _table_cache()
    if not cache.enabled or not tables.enabled:
        return None
    try:
        key = _key(cache, root)
    except OSError:
        return None
    slot = _slot(root)
    table = tables.get(key, slot=slot)
    if table is None:  # derived from the row entry once
        entry = cache.get(key, slot=slot)
        if not isinstance(entry, dict) or "rows" not in entry:
            return None
        table = _table_of(entry["rows"])
        table["curve"], table["params"] = entry.get("curve"), entry.get("params")
        tables.put(key, table, slot=slot)
    now = now_fn()
    states: dict[str, tuple[Any, ...]] = {}
    flags: dict[str, tuple[Any, ...]] = {}
    path = store_file()
    if path.is_file():
        from dlcards.store.state_columns import read_schedule

        read = read_schedule(path)
        if read is None:
            return None
        states, flags, params = read
        if states and (table.get("curve") is None or table.get("params") != params):
            # the curve the table slot copied is missing or stale: the row entry may have a
            # newer one (a full run built the scheduler since)
            entry = cache.get(key, slot=slot)
            if not isinstance(entry, dict) or entry.get("curve") is None:
                return None
            if entry.get("params") != params:
                return None
            table["curve"], table["params"] = entry["curve"], params
            tables.put(key, table, slot=slot)
    return _cells(table, states, flags, now), now


def _cells(
    table: dict[str, Any],
    states: dict[str, tuple[Any, ...]],
    flags: dict[str, tuple[Any, ...]],
    now: datetime,
) -> dict[str, Sequence[Any]]:
    """The schedule cells of every row (`_when`, the R and state cells of `dlcards.cli.list`,
    from the stored values; most cards of a new collection: new, no flags, constants)."""
    ids = table["ids"]
    n = len(ids)
    phases, whens, rs, flag_cells = ["new"] * n, ["-"] * n, [""] * n, [0] * n
    index = {cid: i for i, cid in enumerate(ids)} if states or flags else {}
    if states:
        from dlcards.review.scheduling import format_interval as fmt

        curve = table.get("curve")
        factor, decay = curve if curve else (0.0, 0.0)
        d = now - _EPOCH
        now_us = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds  # exact
        at = index.get
        for cid, (phase, due, last, stability) in states.items():
            i = at(cid)
            if i is None:
                continue
            phases[i] = phase
            if due is not None:
                seconds = (due - now_us) / 1000000  # == (due - now).total_seconds()
                if seconds > 0:
                    whens[i] = fmt(seconds)
                else:
                    whens[i] = "now" if seconds > -60 else f"-{fmt(-seconds)}"
            if curve and stability is not None and last is not None:
                days = max((now_us - last) / 1000000 / 86400.0, 0.0)
                r = float((1 + factor * days / stability) ** decay)
                rs[i] = f"{100 * r:.0f}%"
    for cid, (suspended, leech, flag) in flags.items():
        i = index.get(cid)
        if i is None:
            continue
        mark = ("S" if suspended else "") + ("L" if leech else "")
        if mark:
            phases[i] = f"{phases[i]} [{mark}]"
        flag_cells[i] = flag
    return {
        "ids": ids,
        "weeks": table["weeks"],
        "states": phases,
        "whens": whens,
        "rs": rs,
        "flags": flag_cells,
        "topics": table["topics"],
        "wheres": table["wheres"],
        "questions": table["questions"],
    }


def card_columns(collection: Collection) -> Catalogue | None:
    """`card_catalogue` as columns (ids, topics, weeks: what the statistics group by) from a
    slot of their own (pickled, written with the row entry): no 50k `CardMeta`, no decoding of
    the whole row entry; None when not current."""
    from dlcards.insights.stats_columns import Catalogue

    cache, tables = _cache(), _table_cache()
    if not cache.enabled or not tables.enabled or collection.paths:
        return None
    try:
        key = _key(cache, collection.root)
    except OSError:
        return None
    value = tables.get(key, slot=_slot(collection.root) + "-catalogue")
    if value is None:
        return None
    return Catalogue(value["ids"], value["topics"], value["weeks"])


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


def remember(collection: Collection, now: datetime, *, table: bool = False) -> None:
    """Write the cache entry from a collection the full path has read (decks, settings, and
    the scheduler if it was built); with `table`, the plain table's slot too (its questions
    rendered: `dlcards list` asks for it, the statistics do not)."""
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
    catalogue = {
        "ids": [r[_ID] for r in rows],
        "topics": [r[_TOPIC] for r in rows],
        "weeks": [r[_WEEK] for r in rows],
    }
    tables = _table_cache()
    tables.put(key, catalogue, slot=_slot(root) + "-catalogue")
    if table:
        rendered = _table_of(rows)
        rendered["curve"], rendered["params"] = entry["curve"], entry["params"]
        tables.put(key, rendered, slot=_slot(root))
