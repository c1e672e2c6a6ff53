"""A light path for `dlcards list` (issue 16, item 6): the card side of the rows from a cache,
so that an unchanged collection is listed without importing pydantic (the settings, the note
model) or the parser, and without fsrs.

What is cached (one JSON slot per collection, `system.cache` rules: the header carries the
code fingerprint and this schema): for every card, the row fields that come from the Markdown
(`ListRow` minus the schedule) and the text the filters read; the study calendar (zone and day
start); and, when a scheduler was built, its forgetting-curve constants. The key hashes every
input those depend on: the settings file's bytes, the `DLCARDS_*` and `TZ` variables, the
name, size and modification time of every deck file, and the working folder (the `where`
cells and the files' display paths are relative to it). The schedule (state, flags) is read from
the store on every run, as before; a change of adopted FSRS parameters (`dlcards optimize`)
changes a fingerprint of the `fsrs_params` table that is compared too.

Anything unusual (files named on the command line, a miss, a cache written without the
curve's constants while the store has states) falls back to the full path, which writes the
entry for the next run. `tests/test_list_cache.py` checks both paths give the same rows.

The plain table into a pipe goes one step further: `table_text` stores the printed lines
(`dlcards.app.list_lines`, keyed on the store's digest too) and redraws in place the rows
whose due or R cell the clock has moved (`refresh`, `_until`); `tests/test_list_lines.py`.
"""

from __future__ import annotations

import hashlib
import math
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

    parts: list[str | bytes] = [str(root), os.getcwd()]  # `where` cells: relative to the cwd
    config = root / CONFIG_FILE
    parts.append(config.read_bytes() if config.is_file() else b"")
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("DLCARDS_") or k == "TZ")
    # not DLCARDS_CACHE_OFF: it says which caches are used, not what they hold
    parts.append(repr([(k, v) for k, v in env if k not in ("DLCARDS_NOW", "DLCARDS_CACHE_OFF")]))
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
    light = _light_table(root, now_fn, None)
    return None if light is None else (light[0], light[1])


def _light_table(
    root: Path,
    now_fn: Callable[[], datetime],
    moving: list[tuple[int, int | None, int | None, float | None]] | None,
) -> tuple[dict[str, Sequence[Any]], datetime, str, list[float] | None] | None:
    """`fast_table`'s cells, its now, the store's `schedule_digest` at the read ("" without a
    store; with `moving` only, else "-") and the forgetting curve's constants (None without);
    `_cells` fills `moving`."""
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
    digest = "" if moving is not None else "-"
    path = store_file()
    if path.is_file():
        if moving is not None:
            from dlcards.store.state_columns import read_schedule_digest

            got = read_schedule_digest(path)
            if got is None:
                return None
            states, flags, params, digest = got
        else:
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
    return _cells(table, states, flags, now, moving), now, digest, table.get("curve")


# -- the printed lines (`dlcards list` to a pipe or a file, no option): `app.list_lines` -----
_NEVER = 2**62
_NO_TIME = -(2**63)


def table_text(
    root: Path,
    width: int,
    now_fn: Callable[[], datetime],
    known: tuple[str, str | None] | None = None,
) -> tuple[str, int] | None:
    """`dlcards list`'s plain table without colour in `width` columns (the header and one
    line a card, joined by newlines) and the number of cards, from the printed lines
    (`dlcards.app.list_lines`, rows moved by the clock redrawn) or the light path (which
    stores them; `known`: the static key and the digest `list_lines.cached` read before it
    found no entry); None when there is no card or the full path must run."""
    from dlcards.app import list_lines

    if not list_lines.enabled() or not _cache().enabled or not _table_cache().enabled:
        return None
    where = str(root)
    digest: str | None = None
    if known is not None:  # `list_lines.cached` read them, and found no entry
        static = known[0]
    else:
        try:
            static = list_lines.static_key(where)
        except OSError:
            return None
        digest = list_lines.store_digest()
    if digest is not None:
        entry_key = list_lines.key(static, digest, width)
        meta = list_lines.load(where, entry_key)
        if meta is not None:
            body = refresh(where, entry_key, meta, _micros_of(now_fn()))
            if body is not None:
                return body.decode(), int(meta["n"])
    moving: list[tuple[int, int | None, int | None, float | None]] = []
    light = _light_table(root, now_fn, moving)
    if light is None:
        return None
    cells, now, digest, curve = light
    if not cells["ids"]:
        return None
    from dlcards.app.listing import DUE_COLUMN, R_COLUMN, plain_lines, table_layout

    layout = table_layout(cells, width)
    text = "\n".join(plain_lines(layout, cells["questions"], width))
    n = len(cells["ids"])
    try:
        body = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: printed as the stream decides, not cached
        return text, n
    # a line cut at the width is not redrawn in place; click strips escapes from a pipe
    if layout.qwidth and text.count("\n") == n and "\x1b" not in text:
        from array import array

        now_us = _micros_of(now)
        factor, decay = curve or (0.0, 0.0)
        whens, rs = cells["whens"], cells["rs"]
        rows, dues, lasts = array("q"), array("q"), array("q")
        stabs, until = array("d"), array("q")
        for i, due, last, stability in moving:
            rows.append(i)
            dues.append(_NO_TIME if due is None else due)
            lasts.append(_NO_TIME if last is None else last)
            stabs.append(math.nan if stability is None else stability)
            until.append(_until(due, last, stability, factor, decay, now_us, whens[i], rs[i]))
        w_due, w_r = layout.widths[DUE_COLUMN], layout.widths[R_COLUMN]
        meta = {
            "token": os.urandom(8).hex(),
            "n": n,
            "at": now_us,
            "soonest": min(until, default=_NEVER),
            "offset": layout.offset(DUE_COLUMN),
            "widths": (w_due, w_r),
            # how many cells fill each moving column (a redrawn row must not shrink it)
            "full": (
                _full(whens, w_due, len(layout.headers[DUE_COLUMN])),
                _full(rs, w_r, len(layout.headers[R_COLUMN])),
            ),
            "curve": (float(factor), float(decay)),
        }
        stored = {
            "rows": rows.tobytes(),
            "dues": dues.tobytes(),
            "lasts": lasts.tobytes(),
            "stabs": stabs.tobytes(),
            "until": until.tobytes(),
        }
        entry_key = list_lines.key(static, digest, width)
        list_lines.save(where, entry_key, meta, body + b"\n", stored)
    return text, n


def _full(cells: Sequence[str], width: int, header: int) -> int:
    """How many of `cells` are `width` long (_NEVER when the header alone sets the width)."""
    if header >= width:
        return _NEVER
    return sum(1 for c in cells if len(c) == width)


def refresh(root: str, entry_key: str, meta: dict[str, Any], now_us: int) -> bytes | None:
    """The stored table (`dlcards.app.list_lines`, no final newline) at `now_us` (µs), the
    rows the clock moved redrawn in place (and stored again); None when the clock went back,
    a file is missing or a redrawn cell would change a column's width."""
    from dlcards.app import list_lines

    if now_us < meta["at"]:
        return None
    fh = list_lines.text_file(root, entry_key, meta)
    if fh is None:
        return None
    with fh:
        body: bytes = fh.read()[:-1]
    if now_us <= meta["soonest"]:
        return body
    stored = list_lines.rows(root, entry_key, meta)
    if stored is None:
        return None
    from array import array

    from dlcards.review.scheduling import format_interval as fmt

    until = array("q", stored["until"])
    rows, dues, lasts = array("q", stored["rows"]), array("q", stored["dues"]), array("q")
    lasts.frombytes(stored["lasts"])
    stabs = array("d", stored["stabs"])
    factor, decay = meta["curve"]
    start = meta["offset"]
    w_due, w_r = meta["widths"]
    full_due, full_r = meta["full"]
    end = start + w_due + 2 + w_r + 2
    lines = body.decode().split("\n")  # the header first: row i is line i + 1
    for k in [k for k, t in enumerate(until) if t < now_us]:
        i, due, last, stability = rows[k], dues[k], lasts[k], stabs[k]
        line = lines[i + 1]
        old_due = line[start : start + w_due].rstrip(" ")
        old_r = line[start + w_due + 2 : end - 2].rstrip(" ")
        when = "-" if due == _NO_TIME else _due_cell(due, now_us, fmt)
        r = _r_cell(last, stability, factor, decay, now_us) if old_r else old_r
        if len(when) > w_due or len(r) > w_r:
            return None
        if len(old_due) == w_due and len(when) < w_due:
            full_due -= 1
        if len(old_r) == w_r and len(r) < w_r:
            full_r -= 1
        if not full_due or not full_r:
            return None  # the column would shrink: every line changes
        lines[i + 1] = f"{line[:start]}{when.ljust(w_due)}  {r.ljust(w_r)}  {line[end:]}"
        until[k] = _until(
            None if due == _NO_TIME else due,
            None if last == _NO_TIME else last,
            None if math.isnan(stability) else stability,
            factor,
            decay,
            now_us,
            when,
            r,
        )
    body = "\n".join(lines).encode()
    meta.update(
        token=os.urandom(8).hex(),
        at=now_us,
        soonest=min(until, default=_NEVER),
        full=(full_due, full_r),
    )
    stored["until"] = until.tobytes()
    list_lines.save(root, entry_key, meta, body + b"\n", stored)
    return body


def _until(
    due: int | None,
    last: int | None,
    stability: float | None,
    factor: float,
    decay: float,
    now_us: int,
    when: str,
    r: str,
) -> int:
    """A time (µs) up to which a row's due cell `when` and R cell `r`, drawn at `now_us`, are
    known not to change: a boundary of the cell worked out from its formula, a margin short
    of it, then checked by drawing the cell there. Both cells are monotonic in time and each
    text is drawn on one interval of time, so equal cells at both ends mean equal cells
    between. `now_us` when nothing is known (redrawn at the next run)."""
    from dlcards.review.scheduling import format_interval as fmt

    out = _NEVER
    try:
        if due is not None:
            seconds = (due - now_us) / 1000000
            step = int((seconds - _due_low(seconds)) * 999_000) - 1_000_000
            out = _checked(now_us, step, when, lambda t: _due_cell(due, t, fmt))
        if r and last is not None and stability is not None:
            k = int(r[:-1])
            if k > 0:
                if not (factor > 0 and decay < 0 and stability > 0):
                    return now_us
                days = stability / factor * (((k - 0.5) / 100) ** (1 / decay) - 1)
                step = int((last + days * 86_400_000_000 - now_us) * 0.999) - 1_000_000
                cell = _checked(
                    now_us, step, r, lambda t: _r_cell(last, stability, factor, decay, t)
                )
                out = min(out, cell)
    except (ArithmeticError, ValueError):
        return now_us
    return out


def _checked(now_us: int, step: int, cell: str, draw: Callable[[int], str]) -> int:
    for _ in range(3):
        if step <= 0:
            return now_us
        if draw(now_us + step) == cell:
            return now_us + step
        step //= 4
    return now_us


def _due_low(seconds: float) -> float:
    """About where (in seconds to the due time, which only falls) the due cell of `seconds`
    changes: the lower end of its interval (`format_interval`'s rounding and units)."""
    if seconds > 0:
        return 0.0 if seconds < 60 else _low(seconds)
    if seconds > -60:
        return -60.0
    return -_high(-seconds)


def _parts(x: float) -> tuple[float, float, float]:
    """`format_interval(x)`'s unit (s), shown value and the bounds of the unit's range."""
    minutes = x / 60
    if minutes < 59.5:
        return 60.0, float(math.floor(minutes + 0.5)), 60.0
    hours = minutes / 60
    if hours < 23.5:
        return 3600.0, float(math.floor(hours + 0.5)), 59.5 * 60
    days = hours / 24
    if days < 29.5:
        return 86400.0, float(math.floor(days + 0.5)), 23.5 * 3600
    months = days / 30.0
    if months < 11.95:
        return 30 * 86400.0, float(f"{months:.1f}"), 29.5 * 86400
    return 365 * 86400.0, float(f"{days / 365.0:.1f}"), 11.95 * 30 * 86400


_HALF = {60.0: 0.5, 3600.0: 0.5, 86400.0: 0.5}  # whole units; tenths otherwise (0.05)
_TOP = {
    60.0: 59.5 * 60,
    3600.0: 23.5 * 3600,
    86400.0: 29.5 * 86400,
    30 * 86400.0: 11.95 * 30 * 86400,
}


def _low(x: float) -> float:
    unit, shown, floor = _parts(x)
    return max(floor, (shown - _HALF.get(unit, 0.05)) * unit)


def _high(x: float) -> float:
    unit, shown, _ = _parts(x)
    return min(_TOP.get(unit, math.inf), (shown + _HALF.get(unit, 0.05)) * unit)


def _due_cell(due: int, now_us: int, fmt: Callable[[float], str]) -> str:
    """`dlcards.cli.list._when` on stored microseconds."""
    seconds = (due - now_us) / 1000000  # == (due - now).total_seconds()
    if seconds > 0:
        return fmt(seconds)
    return "now" if seconds > -60 else f"-{fmt(-seconds)}"


def _r_cell(last: int, stability: float, factor: float, decay: float, now_us: int) -> str:
    """The R cell: `Scheduler.retrievability`'s expression on stored microseconds."""
    days = max((now_us - last) / 1000000 / 86400.0, 0.0)
    r = float((1 + factor * days / stability) ** decay)
    return f"{100 * r:.0f}%"


def _micros_of(now: datetime) -> int:
    d = now - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds  # exact


def _cells(
    table: dict[str, Any],
    states: dict[str, tuple[Any, ...]],
    flags: dict[str, tuple[Any, ...]],
    now: datetime,
    moving: list[tuple[int, int | None, int | None, float | None]] | None = None,
) -> dict[str, Sequence[Any]]:
    """The schedule cells of every row (`_when`, the R and state cells of `dlcards.cli.list`,
    from the stored values; most cards of a new collection: new, no flags, constants). With
    `moving`, the rows whose due or R cell moves with the clock are appended to it as (row,
    due µs, last review µs, stability)."""
    ids = table["ids"]
    n = len(ids)
    phases, whens, rs, flag_cells = ["new"] * n, ["-"] * n, [""] * n, [0] * n
    index = {cid: i for i, cid in enumerate(ids)} if states or flags else {}
    if states:
        from dlcards.review.scheduling import format_interval as fmt

        curve = table.get("curve")
        factor, decay = curve if curve else (0.0, 0.0)
        now_us = _micros_of(now)
        at = index.get
        for cid, (phase, due, last, stability) in states.items():
            i = at(cid)
            if i is None:
                continue
            phases[i] = phase
            if due is not None:
                whens[i] = _due_cell(due, now_us, fmt)
            if curve and stability is not None and last is not None:
                days = max((now_us - last) / 1000000 / 86400.0, 0.0)
                r = float((1 + factor * days / stability) ** decay)
                rs[i] = f"{100 * r:.0f}%"  # _r_cell, inlined
            if moving is not None and (due is not None or rs[i]):
                moving.append((i, due, last, stability))
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
