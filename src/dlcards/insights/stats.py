"""Progress statistics over the review log and the cards. Pure: no I/O, `now` is a parameter.

Definitions (also shown by `dlcards stats --help`):

- A *study day* starts at `day_starts_at` local time (`dlcards.core.calendar`), as in Anki.
- *True retention* is Anki's (rslib `stats/graphs/retention.rs`): among reviews that rate a
  card which had an interval of at least one day (every `review`-kind entry, and any other
  rated entry whose card had an interval >= 1 day before it), only the FIRST such review of
  each card on each study day counts; Again is a fail, Hard/Good/Easy a pass. The review is
  *mature* when the card's interval before it was >= 21 days, else *young*. Periods end at
  the start of the next study day: today, yesterday, the last 7, 30 and 365 days, all time.
- A *lapse* is an Again on a card in the review phase.
- The forecast counts cards (not suspended, not new) whose due time falls in each of the next
  30 study days (overdue cards count on today), times the mean recorded duration of a review;
  new cards are added at `new_per_day` (less those already started today) times the mean
  total time spent learning a new card. The daily budget is `weekly_hours * 60 / 7` minutes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dlcards.core.calendar import day_start, study_day
from dlcards.core.model import Note
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry, require_utc

MATURE_DAYS = 21
FORECAST_DAYS = 30
HEATMAP_DAYS = 365
WEEKS_SHOWN = 12
DEFAULT_REVIEW_SECONDS = 10.0  # used only before any duration was recorded
FSRS6_DEFAULT_DECAY = 0.1542
RETENTION_PERIODS: tuple[tuple[str, int, int], ...] = (
    # name, first day offset (days before today, inclusive), last day offset (inclusive)
    ("today", 0, 0),
    ("yesterday", 1, 1),
    ("week", 6, 0),
    ("month", 29, 0),
    ("year", 364, 0),
)
STABILITY_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<1d", 0.0, 1.0),
    ("1-3d", 1.0, 3.0),
    ("3-7d", 3.0, 7.0),
    ("1-3w", 7.0, 21.0),
    ("3w-3mo", 21.0, 90.0),
    ("3mo-1y", 90.0, 365.0),
    (">1y", 365.0, math.inf),
)

Retrievability = Callable[[CardState, datetime], "float | None"]


# -- small helpers ----------------------------------------------------------------------------
def fsrs6_retrievability(
    state: CardState, now: datetime, decay: float = FSRS6_DEFAULT_DECAY
) -> float | None:
    """FSRS-6 forgetting curve with the default decay (used when no scheduler is given)."""
    if state.stability is None or state.last_review is None or state.stability <= 0:
        return None
    elapsed = max(0.0, (now - state.last_review).total_seconds() / 86400)
    factor = 0.9 ** (-1 / decay) - 1
    return float((1 + factor * elapsed / state.stability) ** (-decay))


def ratio(passed: int, failed: int) -> float | None:
    total = passed + failed
    return round(passed / total, 4) if total else None


def is_retention_review(entry: ReviewEntry) -> bool:
    """Anki's filter: rated, affects scheduling, and the card had an interval >= 1 day."""
    if entry.kind == "manual":
        return False
    return entry.kind == "review" or entry.before.interval_days >= 1


def is_lapse(entry: ReviewEntry) -> bool:
    return entry.rating == Rating.AGAIN and entry.before.phase == "review"


@dataclass
class PassFail:
    young_passed: int = 0
    young_failed: int = 0
    mature_passed: int = 0
    mature_failed: int = 0

    def add(self, entry: ReviewEntry) -> None:
        mature = entry.before.interval_days >= MATURE_DAYS
        failed = entry.rating == Rating.AGAIN
        if mature:
            if failed:
                self.mature_failed += 1
            else:
                self.mature_passed += 1
        elif failed:
            self.young_failed += 1
        else:
            self.young_passed += 1

    @property
    def passed(self) -> int:
        return self.young_passed + self.mature_passed

    @property
    def failed(self) -> int:
        return self.young_failed + self.mature_failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "young_passed": self.young_passed,
            "young_failed": self.young_failed,
            "young_retention": ratio(self.young_passed, self.young_failed),
            "mature_passed": self.mature_passed,
            "mature_failed": self.mature_failed,
            "mature_retention": ratio(self.mature_passed, self.mature_failed),
            "passed": self.passed,
            "failed": self.failed,
            "retention": ratio(self.passed, self.failed),
        }


class Calendar:
    """Study-day arithmetic for one collection."""

    def __init__(self, tz: ZoneInfo, day_starts_at: int):
        self.tz = tz
        self.day_starts_at = day_starts_at

    def day(self, t: datetime) -> date:
        return study_day(t, self.tz, self.day_starts_at)

    def start(self, d: date) -> datetime:
        return day_start(d, self.tz, self.day_starts_at)


def first_retention_reviews(
    reviews: Iterable[ReviewEntry], cal: Calendar
) -> list[tuple[date, ReviewEntry]]:
    """The first retention review of each (card, study day), in time order."""
    seen: set[tuple[str, date]] = set()
    out: list[tuple[date, ReviewEntry]] = []
    for entry in sorted(reviews, key=lambda e: e.time):
        if not is_retention_review(entry):
            continue
        d = cal.day(entry.time)
        key = (entry.card_id, d)
        if key in seen:
            continue
        seen.add(key)
        out.append((d, entry))
    return out


@dataclass(frozen=True)
class CardMeta:
    card_id: str
    path: str | None
    line: int | None
    topic: str | None
    week: int | None
    question: str


def card_meta(notes: Iterable[Note]) -> dict[str, CardMeta]:
    out: dict[str, CardMeta] = {}
    for note in notes:
        for cid in note.card_ids():
            out[cid] = CardMeta(
                cid, note.path, note.line, note.meta.topic, note.meta.week, note.first_question_line
            )
    return out


def _histogram(values: list[float], edges: list[tuple[str, float, float]]) -> list[dict[str, Any]]:
    counts = [0] * len(edges)
    for v in values:
        for i, (_, lo, hi) in enumerate(edges):
            if lo <= v < hi or (i == len(edges) - 1 and v == hi):
                counts[i] += 1
                break
    return [{"label": label, "count": c} for (label, _, _), c in zip(edges, counts, strict=True)]


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "mean": None, "median": None}
    s = sorted(values)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"count": n, "mean": round(sum(s) / n, 4), "median": round(median, 4)}


# -- the report -------------------------------------------------------------------------------
def compute_stats(
    notes: list[Note],
    reviews: list[ReviewEntry],
    states: dict[str, CardState],
    flags: dict[str, CardFlags],
    *,
    now: datetime,
    tz: ZoneInfo,
    day_starts_at: int = 4,
    weekly_hours: float = 9.0,
    new_per_day: int = 20,
    retrievability: Retrievability | None = None,
    forecast_days: int = FORECAST_DAYS,
    heatmap_days: int = HEATMAP_DAYS,
) -> dict[str, Any]:
    """Every figure of `dlcards stats`, as a JSON-ready dict."""
    now = require_utc(now)
    cal = Calendar(tz, day_starts_at)
    today = cal.day(now)
    r_of = retrievability or fsrs6_retrievability
    meta = card_meta(notes)
    card_ids = list(meta)
    reviews = sorted(reviews, key=lambda e: e.time)
    by_day: dict[date, list[ReviewEntry]] = defaultdict(list)
    for e in reviews:
        by_day[cal.day(e.time)].append(e)
    retained = first_retention_reviews(reviews, cal)

    # durations
    review_durations = [e.duration_ms for e in reviews if e.kind == "review" and e.duration_ms > 0]
    any_durations = [e.duration_ms for e in reviews if e.duration_ms > 0]
    if review_durations:
        avg_review_s = sum(review_durations) / len(review_durations) / 1000
    elif any_durations:
        avg_review_s = sum(any_durations) / len(any_durations) / 1000
    else:
        avg_review_s = DEFAULT_REVIEW_SECONDS
    learn_ms: dict[str, int] = defaultdict(int)
    for e in reviews:
        if e.kind == "learn":
            learn_ms[e.card_id] += e.duration_ms
    avg_new_s = (sum(learn_ms.values()) / len(learn_ms) / 1000) if learn_ms else 3 * avg_review_s

    # today
    todays = by_day.get(today, [])
    new_today = len({e.card_id for e in todays if e.kind == "learn" and e.before.phase == "new"})
    today_block = {
        "day": today.isoformat(),
        "reviews": len(todays),
        "cards": len({e.card_id for e in todays}),
        "new_cards": new_today,
        "again": sum(1 for e in todays if e.rating == Rating.AGAIN),
        "by_kind": {
            k: sum(1 for e in todays if e.kind == k) for k in ("learn", "review", "relearn")
        },
        "minutes": round(sum(e.duration_ms for e in todays) / 60000, 2),
    }

    # streak
    studied = sorted(by_day)
    studied_set = set(studied)
    current = 0
    d = today if today in studied_set else today - timedelta(days=1)
    while d in studied_set:
        current += 1
        d -= timedelta(days=1)
    longest = run = 0
    prev: date | None = None
    for d in studied:
        run = run + 1 if prev is not None and (d - prev).days == 1 else 1
        longest = max(longest, run)
        prev = d
    streak = {
        "current": current,
        "longest": longest,
        "studied_days": len(studied),
        "studied_today": today in studied_set,
    }

    # time
    def minutes_between(first: date, last: date) -> float:
        return round(
            sum(e.duration_ms for day, es in by_day.items() if first <= day <= last for e in es)
            / 60000,
            2,
        )

    budget_day = weekly_hours * 60 / 7
    time_block = {
        "today_minutes": today_block["minutes"],
        "week_minutes": minutes_between(today - timedelta(days=6), today),
        "total_minutes": round(sum(e.duration_ms for e in reviews) / 60000, 2),
        "weekly_budget_minutes": round(weekly_hours * 60, 2),
        "daily_budget_minutes": round(budget_day, 2),
        "avg_seconds_per_review": round(avg_review_s, 2),
        "avg_seconds_per_new_card": round(avg_new_s, 2),
    }

    # true retention per period
    periods: list[dict[str, Any]] = []
    for name, first_off, last_off in RETENTION_PERIODS:
        pf = PassFail()
        lo, hi = today - timedelta(days=first_off), today - timedelta(days=last_off)
        for day, e in retained:
            if lo <= day <= hi:
                pf.add(e)
        periods.append(
            {"period": name, "from": lo.isoformat(), "to": hi.isoformat(), **pf.to_dict()}
        )
    pf_all = PassFail()
    for _, e in retained:
        pf_all.add(e)
    periods.append(
        {
            "period": "all_time",
            "from": studied[0].isoformat() if studied else None,
            "to": today.isoformat(),
            **pf_all.to_dict(),
        }
    )

    # card counts
    known = set(card_ids)
    suspended = {cid for cid, f in flags.items() if f.suspended and cid in known}
    counts = {
        "cards": len(card_ids),
        "new": 0,
        "learning": 0,
        "young": 0,
        "mature": 0,
        "suspended": len(suspended),
        "leeches": sum(1 for cid, f in flags.items() if f.leech and cid in known),
    }
    for cid in card_ids:
        st = states.get(cid)
        if st is None or st.phase == "new":
            counts["new"] += 1
        elif st.phase in ("learning", "relearning"):
            counts["learning"] += 1
        elif st.interval_days >= MATURE_DAYS:
            counts["mature"] += 1
        else:
            counts["young"] += 1

    # forecast
    due_per_day = [0] * forecast_days
    for cid in card_ids:
        st = states.get(cid)
        if cid in suspended or st is None or st.phase == "new" or st.due is None:
            continue
        offset = max(0, (cal.day(st.due) - today).days)
        if offset < forecast_days:
            due_per_day[offset] += 1
    new_left = sum(
        1
        for cid in card_ids
        if cid not in suspended and (states.get(cid) is None or states[cid].phase == "new")
    )
    forecast_rows: list[dict[str, Any]] = []
    for offset in range(forecast_days):
        quota = max(0, new_per_day - new_today) if offset == 0 else new_per_day
        new_n = min(quota, new_left)
        new_left -= new_n
        review_min = due_per_day[offset] * avg_review_s / 60
        new_min = new_n * avg_new_s / 60
        total = review_min + new_min
        forecast_rows.append(
            {
                "day": (today + timedelta(days=offset)).isoformat(),
                "offset": offset,
                "due": due_per_day[offset],
                "review_minutes": round(review_min, 2),
                "new": new_n,
                "new_minutes": round(new_min, 2),
                "minutes": round(total, 2),
                "over_budget": total > budget_day + 1e-9,
            }
        )
    forecast = {
        "daily_budget_minutes": round(budget_day, 2),
        "days": forecast_rows,
        "total_due": sum(due_per_day),
        "total_minutes": round(sum(r["minutes"] for r in forecast_rows), 2),
        "days_over_budget": sum(1 for row in forecast_rows if row["over_budget"]),
    }

    # heatmap
    first_heat = today - timedelta(days=heatmap_days - 1)
    heatmap = {
        "from": first_heat.isoformat(),
        "to": today.isoformat(),
        "days": [
            {
                "day": d.isoformat(),
                "reviews": len(by_day[d]),
                "minutes": round(sum(e.duration_ms for e in by_day[d]) / 60000, 2),
            }
            for d in studied
            if first_heat <= d <= today
        ],
    }

    # distributions of the memory state (cards with one, not suspended)
    stab: list[float] = []
    diff: list[float] = []
    retr: list[float] = []
    for cid in card_ids:
        st = states.get(cid)
        if st is None or st.phase == "new" or cid in suspended:
            continue
        if st.stability is not None:
            stab.append(st.stability)
        if st.difficulty is not None:
            diff.append(st.difficulty)
        r = r_of(st, now)
        if r is not None:
            retr.append(r)
    diff_edges = [(f"{i}-{i + 1}", float(i), float(i + 1)) for i in range(1, 10)]
    retr_edges = [(f"{i * 10}-{i * 10 + 10}%", i / 10, (i + 1) / 10) for i in range(10)]
    distributions = {
        "stability": {**_summary(stab), "buckets": _histogram(stab, list(STABILITY_BUCKETS))},
        "difficulty": {**_summary(diff), "buckets": _histogram(diff, diff_edges)},
        "retrievability": {**_summary(retr), "buckets": _histogram(retr, retr_edges)},
    }

    # retention and lapses per calendar week (7 study days ending today) and per group
    weeks = []
    for w in range(WEEKS_SHOWN - 1, -1, -1):
        hi = today - timedelta(days=7 * w)
        lo = hi - timedelta(days=6)
        pf = PassFail()
        for day, e in retained:
            if lo <= day <= hi:
                pf.add(e)
        in_week = [e for d2, es in by_day.items() if lo <= d2 <= hi for e in es]
        weeks.append(
            {
                "from": lo.isoformat(),
                "to": hi.isoformat(),
                "reviews": len(in_week),
                "lapses": sum(1 for e in in_week if is_lapse(e)),
                "passed": pf.passed,
                "failed": pf.failed,
                "retention": ratio(pf.passed, pf.failed),
            }
        )

    topics = group_retention(meta, reviews, retained, states, lambda m: m.topic)
    study_weeks = group_retention(meta, reviews, retained, states, lambda m: m.week)

    return {
        "now": now.isoformat(),
        "today": today_block,
        "streak": streak,
        "time": time_block,
        "counts": counts,
        "true_retention": periods,
        "forecast": forecast,
        "heatmap": heatmap,
        "distributions": distributions,
        "weekly": weeks,
        "study_weeks": sorted(study_weeks, key=_weakest_first),
        "topics": sorted(topics, key=_weakest_first),
    }


def _weakest_first(row: dict[str, Any]) -> tuple[Any, ...]:
    r = row["retention"]
    return (r is None, r if r is not None else 0.0, -row["lapses"], str(row["group"]))


def group_retention(
    meta: dict[str, CardMeta],
    reviews: list[ReviewEntry],
    retained: list[tuple[date, ReviewEntry]],
    states: dict[str, CardState],
    key: Callable[[CardMeta], Any],
) -> list[dict[str, Any]]:
    """Retention, lapses and mean difficulty per group (topic or study week) of cards."""
    groups: dict[Any, dict[str, Any]] = {}

    def group(cid: str) -> dict[str, Any] | None:
        m = meta.get(cid)
        if m is None:
            return None
        g = key(m)
        if g not in groups:
            groups[g] = {
                "group": g,
                "cards": 0,
                "reviews": 0,
                "lapses": 0,
                "pf": PassFail(),
                "diff": [],
            }
        return groups[g]

    for cid in meta:
        g = group(cid)
        assert g is not None
        g["cards"] += 1
        st = states.get(cid)
        if st is not None and st.difficulty is not None and st.phase != "new":
            g["diff"].append(st.difficulty)
    for e in reviews:
        g = group(e.card_id)
        if g is not None:
            g["reviews"] += 1
            g["lapses"] += int(is_lapse(e))
    for _, e in retained:
        g = group(e.card_id)
        if g is not None:
            g["pf"].add(e)
    out = []
    for g in groups.values():
        pf: PassFail = g.pop("pf")
        diffs: list[float] = g.pop("diff")
        g.update(
            passed=pf.passed,
            failed=pf.failed,
            retention=ratio(pf.passed, pf.failed),
            mean_difficulty=round(sum(diffs) / len(diffs), 2) if diffs else None,
        )
        out.append(g)
    return out


# -- one study week, for the learner's blog post ------------------------------------------------
def week_summary(
    notes: list[Note],
    reviews: list[ReviewEntry],
    states: dict[str, CardState],
    *,
    week: int,
    now: datetime,
    tz: ZoneInfo,
    day_starts_at: int = 4,
    start: date | None = None,
    top: int = 5,
) -> dict[str, Any]:
    """What happened in study week `week`: 7 study days from `start`.

    Without `start`, the week begins on the study day of the first review of a card from a
    file with `week: N`; if none was reviewed yet, on the first review day overall plus
    7*(N-1) days; with no reviews at all, today.
    """
    now = require_utc(now)
    cal = Calendar(tz, day_starts_at)
    meta = card_meta(notes)
    reviews = sorted(reviews, key=lambda e: e.time)
    if start is None:
        of_week = [e for e in reviews if (m := meta.get(e.card_id)) is not None and m.week == week]
        if of_week:
            start = cal.day(of_week[0].time)
        elif reviews:
            start = cal.day(reviews[0].time) + timedelta(days=7 * (week - 1))
        else:
            start = cal.day(now)
    end = start + timedelta(days=6)
    in_week = [e for e in reviews if start <= cal.day(e.time) <= end]
    retained = [(d, e) for d, e in first_retention_reviews(reviews, cal) if start <= d <= end]
    pf = PassFail()
    for _, e in retained:
        pf.add(e)
    week_cards = [cid for cid, m in meta.items() if m.week == week]
    started = {e.card_id for e in in_week if e.before.phase == "new"}

    per_card: dict[str, dict[str, Any]] = {}
    for e in in_week:
        row = per_card.setdefault(e.card_id, {"card_id": e.card_id, "reviews": 0, "again": 0})
        row["reviews"] += 1
        row["again"] += int(e.rating == Rating.AGAIN)
    hardest = []
    for cid, row in per_card.items():
        st = states.get(cid)
        m = meta.get(cid)
        hardest.append(
            {
                **row,
                "difficulty": None
                if st is None or st.difficulty is None
                else round(st.difficulty, 2),
                "question": m.question if m else "(card no longer in the decks)",
                "where": f"{m.path}:{m.line}" if m else None,
                "topic": m.topic if m else None,
            }
        )
    hardest = [h for h in hardest if h["again"] > 0 or (h["difficulty"] or 0) >= 7]
    hardest.sort(key=lambda h: (-h["again"], -(h["difficulty"] or 0), h["card_id"]))

    topics = group_retention(meta, in_week, retained, states, lambda m: m.topic)
    topics = [t for t in topics if t["reviews"] > 0]
    topics.sort(key=_weakest_first)
    return {
        "week": week,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "cards_in_week_files": len(week_cards),
        "cards_started": len(started),
        "reviews": len(in_week),
        "study_days": len({cal.day(e.time) for e in in_week}),
        "minutes": round(sum(e.duration_ms for e in in_week) / 60000, 2),
        "lapses": sum(1 for e in in_week if is_lapse(e)),
        "retention": pf.to_dict(),
        "hardest_cards": hardest[:top],
        "weakest_topics": topics[:top],
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def week_markdown(summary: dict[str, Any]) -> str:
    """A short Markdown summary of a study week, to paste into a blog post."""
    r = summary["retention"]
    lines = [
        f"## Week {summary['week']} in review ({summary['from']} – {summary['to']})",
        "",
        f"- Cards in this week's decks: **{summary['cards_in_week_files']}**; "
        f"new cards started: **{summary['cards_started']}**",
        f"- Reviews: **{summary['reviews']}** on {summary['study_days']} "
        f"day{'s' if summary['study_days'] != 1 else ''}, "
        f"{summary['minutes']:.0f} minutes of study",
        f"- True retention: **{_pct(r['retention'])}** "
        f"(young {_pct(r['young_retention'])} of {r['young_passed'] + r['young_failed']}, "
        f"mature {_pct(r['mature_retention'])} of {r['mature_passed'] + r['mature_failed']}); "
        f"lapses: {summary['lapses']}",
    ]
    if summary["hardest_cards"]:
        lines += ["", "### Hardest cards", ""]
        for h in summary["hardest_cards"]:
            diff = "" if h["difficulty"] is None else f", difficulty {h['difficulty']:.1f}"
            lines.append(
                f"- {h['question']} — {h['again']} × Again in {h['reviews']} "
                f"review{'s' if h['reviews'] != 1 else ''}{diff}"
            )
    if summary["weakest_topics"]:
        lines += ["", "### Weakest topics", ""]
        for t in summary["weakest_topics"]:
            name = t["group"] or "(no topic)"
            lines.append(
                f"- {name}: retention {_pct(t['retention'])}, {t['lapses']} "
                f"lapse{'s' if t['lapses'] != 1 else ''}, {t['reviews']} reviews"
            )
    return "\n".join(lines) + "\n"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC time (a convenience for tests and simulations)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
