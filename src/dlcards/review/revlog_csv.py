"""Review logs from other apps, as CSV: parsing and validation. Pure (text in, rows out).

Three layouts are recognised by their header (names are case-insensitive, extra columns
are ignored):

* **py-fsrs** (its test data, and dlcards' `tests/fixtures/reviews`):
  `card_id, review_rating, review_time, review_duration` — the time in ISO 8601 with a zone,
  the duration in milliseconds (optional column).
* **FSRS optimizer / benchmark** (`revlog.csv` of fsrs4anki and fsrs-rs):
  `card_id, review_time, review_rating, review_state, review_duration` — the time in
  milliseconds since 1970 (UTC).
* **Anki's revlog table** (a CSV dump of it, e.g. `sqlite3 -csv -header collection.anki2
  "select * from revlog"`): `id, cid, usn, ease, ivl, lastIvl, factor, time, type` — the
  review time is the id (ms since 1970), the duration `time` (ms). Manual and reschedule
  entries (`type` 4 or 5, or `ease` 0) are not reviews and are skipped, as Anki's optimiser does.

Every bad row is reported as a `Problem` (`file:line: error: ...`) and nothing is returned for
the file then: the caller imports all of it or none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dlcards.core.errors import Problem, SourceLocation

_FORMATS_HINT = (
    "expected a header of py-fsrs (card_id,review_rating,review_time,review_duration), "
    "the FSRS optimizer (card_id,review_time,review_rating,review_state,review_duration) "
    "or Anki's revlog table (id,cid,ease,time,type)"
)


@dataclass(frozen=True)
class RevlogRow:
    """One review read from a CSV file."""

    line: int
    card_key: str
    time: datetime  # aware UTC
    rating: int  # 1..4
    duration_ms: int
    revlog_id: int | None = None  # Anki's revlog id, when the file has one


@dataclass
class RevlogFile:
    """What a CSV file holds: its layout, the reviews, skipped non-reviews and the problems."""

    layout: str  # "py-fsrs", "fsrs-optimizer" or "anki-revlog"
    rows: list[RevlogRow] = field(default_factory=list)
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


def _problem(path: str, line: int, message: str, hint: str | None = None) -> Problem:
    return Problem(SourceLocation(path, line), "error", "import-reviews", message, hint)


def _int(text: str) -> int | None:
    t = text.strip()
    if t.lstrip("-").isdigit():
        return int(t)
    try:
        value = float(t)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def _epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _parse_time(text: str) -> datetime | str:
    """An aware UTC time, or the reason it is not one."""
    t = text.strip()
    if t.isdigit():
        return _epoch_ms(int(t))
    try:
        value = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return f"review_time {t!r} is not an ISO 8601 time or milliseconds since 1970"
    if value.tzinfo is None:
        return f"review_time {t!r} has no time zone"
    return value.astimezone(UTC)


def parse_revlog_csv(text: str, path: str) -> RevlogFile:
    """Read a review-log CSV (`path` is only used in messages). Problems are collected per
    row; `rows` is emptied when there is any, so a file is taken whole or not at all."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header: list[str] | None = None
    for fields in reader:
        if any(f.strip() for f in fields):
            header = [f.strip().lower() for f in fields]
            break
    if header is None:
        out = RevlogFile("unknown")
        out.problems.append(_problem(path, 1, "the file is empty", _FORMATS_HINT))
        return out
    header_line = reader.line_num
    col = {name: i for i, name in enumerate(header)}
    if {"id", "cid", "ease"} <= col.keys():
        layout = "anki-revlog"
    elif {"card_id", "review_rating", "review_time"} <= col.keys():
        layout = "py-fsrs"
    else:
        out = RevlogFile("unknown")
        out.problems.append(
            _problem(
                path, header_line, f"unknown review-log columns: {', '.join(header)}", _FORMATS_HINT
            )
        )
        return out
    out = RevlogFile(layout)
    width = len(header)
    first_time_kind: str | None = None
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != width:
            out.problems.append(
                _problem(
                    path,
                    line,
                    f"expected {width} fields ({', '.join(header)}), got {len(fields)}",
                    "each review is one line with a value for every column of the header",
                )
            )
            continue
        errors: list[str] = []
        if layout == "anki-revlog":
            row = _anki_row(fields, col, line, errors)
            if row == "skip":
                out.skipped += 1
                continue
        else:
            row = _fsrs_row(fields, col, line, errors)
            if isinstance(row, RevlogRow):
                kind = "ms" if fields[col["review_time"]].strip().isdigit() else "iso"
                first_time_kind = first_time_kind or kind
                if first_time_kind == "ms" and kind == "ms":
                    out.layout = "fsrs-optimizer"
        for message in errors:
            out.problems.append(_problem(path, line, message, _hint_for(message)))
        if isinstance(row, RevlogRow) and not errors:
            out.rows.append(row)
    if out.problems:
        out.rows = []
    return out


def _hint_for(message: str) -> str | None:
    if "rating" in message or "ease" in message:
        return "ratings are 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)"
    if "time zone" in message:
        return "write the time with its offset, e.g. 2024-03-29T20:32:32+00:00"
    if "review_time" in message:
        return "e.g. 2024-03-29T20:32:32.250000+00:00, or 1711744352250 (ms since 1970)"
    if "duration" in message or "`time`" in message:
        return "the time spent answering, in milliseconds (0 if unknown)"
    return None


def _rating(text: str, name: str, errors: list[str]) -> int | None:
    value = _int(text)
    if value is None or not 1 <= value <= 4:
        errors.append(f"{name} must be 1, 2, 3 or 4, not {text.strip()!r}")
        return None
    return value


def _duration(text: str, name: str, errors: list[str]) -> int:
    if not text.strip():
        return 0
    value = _int(text)
    if value is None or value < 0:
        errors.append(f"{name} must be a whole number of milliseconds >= 0, not {text.strip()!r}")
        return 0
    return value


def _fsrs_row(
    fields: list[str], col: dict[str, int], line: int, errors: list[str]
) -> RevlogRow | None:
    card = fields[col["card_id"]].strip()
    if not card:
        errors.append("card_id is empty")
    rating = _rating(fields[col["review_rating"]], "review_rating", errors)
    when = _parse_time(fields[col["review_time"]])
    if isinstance(when, str):
        errors.append(when)
    duration = (
        _duration(fields[col["review_duration"]], "review_duration", errors)
        if "review_duration" in col
        else 0
    )
    if errors or rating is None or isinstance(when, str):
        return None
    return RevlogRow(line, card, when, rating, duration)


def _anki_row(
    fields: list[str], col: dict[str, int], line: int, errors: list[str]
) -> RevlogRow | str | None:
    kind = _int(fields[col["type"]]) if "type" in col else 0
    ease = _int(fields[col["ease"]])
    if kind in (4, 5) or ease == 0:
        return "skip"
    revlog_id = _int(fields[col["id"]])
    if revlog_id is None or revlog_id <= 0:
        errors.append(f"id {fields[col['id']].strip()!r} is not a revlog id (ms since 1970)")
    card = fields[col["cid"]].strip()
    if not card:
        errors.append("cid is empty")
    rating = _rating(fields[col["ease"]], "ease", errors)
    duration = _duration(fields[col["time"]], "`time`", errors) if "time" in col else 0
    if errors or rating is None or revlog_id is None:
        return None
    return RevlogRow(line, card, _epoch_ms(revlog_id), rating, duration, revlog_id)
