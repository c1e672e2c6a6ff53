"""One study week, for the learner's blog post (`dlcards stats --week N [--markdown]`). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from typing_extensions import TypedDict

from dlcards.core.calendar import StudyCalendar
from dlcards.core.comments import strip_html_comments
from dlcards.core.model import Note
from dlcards.core.state import CardState, Rating, ReviewEntry, require_utc
from dlcards.insights.retention import (
    CardMeta,
    GroupRow,
    GroupRowDict,
    PassFail,
    RetentionDict,
    card_meta,
    first_retention_reviews,
    group_retention,
    is_lapse,
    weakest_first,
)


class HardCardDict(TypedDict):
    card_id: str
    reviews: int
    again: int
    difficulty: float | None
    question: str
    where: str | None
    topic: str | None


@dataclass(frozen=True, slots=True)
class HardCard:
    card_id: str
    reviews: int
    again: int
    difficulty: float | None
    question: str
    where: str | None
    topic: str | None

    def to_dict(self) -> HardCardDict:
        return {
            "card_id": self.card_id,
            "reviews": self.reviews,
            "again": self.again,
            "difficulty": self.difficulty,
            "question": self.question,
            "where": self.where,
            "topic": self.topic,
        }


WeekSummaryDict = TypedDict(
    "WeekSummaryDict",
    {
        "week": int,
        "from": str,
        "to": str,
        "cards_in_week_files": int,
        "cards_started": int,
        "reviews": int,
        "study_days": int,
        "minutes": float,
        "lapses": int,
        "retention": RetentionDict,
        "hardest_cards": list[HardCardDict],
        "weakest_topics": list[GroupRowDict],
    },
)


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """What happened in one study week (`.to_dict()` is `dlcards stats --week N --json`)."""

    week: int
    first: date
    last: date
    cards_in_week_files: int
    cards_started: int
    reviews: int
    study_days: int
    minutes: float
    lapses: int
    retention: PassFail
    hardest_cards: tuple[HardCard, ...]
    weakest_topics: tuple[GroupRow, ...]

    def to_dict(self) -> WeekSummaryDict:
        return {
            "week": self.week,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "cards_in_week_files": self.cards_in_week_files,
            "cards_started": self.cards_started,
            "reviews": self.reviews,
            "study_days": self.study_days,
            "minutes": self.minutes,
            "lapses": self.lapses,
            "retention": self.retention.to_dict(),
            "hardest_cards": [h.to_dict() for h in self.hardest_cards],
            "weakest_topics": [t.to_dict() for t in self.weakest_topics],
        }


def week_start(
    week: int,
    meta: dict[str, CardMeta],
    reviews: list[ReviewEntry],
    cal: StudyCalendar,
    now: datetime,
) -> date:
    """The study day of the first review of a card from a file with `week: N`; if none was
    reviewed yet, the first review day overall plus 7*(N-1) days; with no reviews, today."""
    of_week = [e for e in reviews if (m := meta.get(e.card_id)) is not None and m.week == week]
    if of_week:
        return cal.study_day(of_week[0].time)
    if reviews:
        return cal.study_day(reviews[0].time) + timedelta(days=7 * (week - 1))
    return cal.study_day(now)


def hardest_cards(
    in_week: list[ReviewEntry],
    states: dict[str, CardState],
    meta: dict[str, CardMeta],
    questions: dict[str, str] | None = None,
) -> list[HardCard]:
    """Cards failed in the week or of difficulty >= 7: most Agains first, then the hardest.
    `questions`: each card's whole question (else the first line from `meta`)."""
    counts: dict[str, list[int]] = {}  # card -> [reviews, again]
    for e in in_week:
        c = counts.setdefault(e.card_id, [0, 0])
        c[0] += 1
        c[1] += int(e.rating == Rating.AGAIN)
    out = []
    for cid, (n, again) in counts.items():
        st = states.get(cid)
        m = meta.get(cid)
        difficulty = None if st is None or st.difficulty is None else round(st.difficulty, 2)
        if again == 0 and (difficulty or 0) < 7:
            continue
        out.append(
            HardCard(
                cid,
                n,
                again,
                difficulty,
                (questions or {}).get(cid)
                or (m.question if m else "(card no longer in the decks)"),
                f"{m.path}:{m.line}" if m else None,
                m.topic if m else None,
            )
        )
    out.sort(key=lambda h: (-h.again, -(h.difficulty or 0), h.card_id))
    return out


def week_summary(
    notes: list[Note],
    reviews: list[ReviewEntry],
    states: dict[str, CardState],
    *,
    week: int,
    now: datetime,
    tz: ZoneInfo | None = None,
    day_starts_at: int = 4,
    calendar: StudyCalendar | None = None,
    start: date | None = None,
    top: int = 5,
) -> WeekSummary:
    """What happened in study week `week`: 7 study days from `start` (default: `week_start`)."""
    now = require_utc(now)
    cal = calendar or StudyCalendar(tz or ZoneInfo("UTC"), day_starts_at)
    meta = card_meta(notes)
    reviews = sorted(reviews, key=lambda e: e.time)
    if start is None:
        start = week_start(week, meta, reviews, cal, now)
    end = start + timedelta(days=6)
    in_week = [e for e in reviews if start <= cal.study_day(e.time) <= end]
    retained = [(d, e) for d, e in first_retention_reviews(reviews, cal) if start <= d <= end]
    topics = group_retention(meta, in_week, retained, states, lambda m: m.topic)
    topics = sorted((t for t in topics if t.reviews > 0), key=weakest_first)
    return WeekSummary(
        week=week,
        first=start,
        last=end,
        cards_in_week_files=sum(1 for m in meta.values() if m.week == week),
        cards_started=len({e.card_id for e in in_week if e.before.phase == "new"}),
        reviews=len(in_week),
        study_days=len({cal.study_day(e.time) for e in in_week}),
        minutes=round(sum(e.duration_ms for e in in_week) / 60000, 2),
        lapses=sum(1 for e in in_week if is_lapse(e)),
        retention=PassFail.of(e for _, e in retained),
        hardest_cards=tuple(
            hardest_cards(
                in_week,
                states,
                meta,
                {cid: n.question.strip() for n in notes for cid in n.card_ids()},
            )[:top]
        ),
        weakest_topics=tuple(topics[:top]),
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::[^{}]*)?\}\}", re.S)


def blog_text(markdown: str) -> str:
    """A card's whole question as Markdown for a blog: math kept as `$…$`, cloze deletions
    shown in bold, `check`/`shapes` blocks and comments dropped."""
    from dlcards.core.render import HIDDEN_BLOCKS, fenced_blocks

    lines = strip_html_comments(_CLOZE.sub(r"**\1**", markdown)).split("\n")
    for block in reversed(fenced_blocks(lines)):
        if block.info in HIDDEN_BLOCKS:
            del lines[block.start : block.end]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _list_item(text: str) -> str:
    """`text` as the body of a Markdown list item (continuation lines indented)."""
    first, *rest = text.split("\n")
    return "\n".join([first, *(f"  {ln}" if ln.strip() else "" for ln in rest)])


def week_markdown(summary: WeekSummary) -> str:
    """A short Markdown summary of a study week, to paste into a blog post."""
    s, r = summary, summary.retention
    lines = [
        f"## Week {s.week} in review ({s.first.isoformat()} – {s.last.isoformat()})",
        "",
        f"- Cards in this week's decks: **{s.cards_in_week_files}**; "
        f"new cards started: **{s.cards_started}**",
        f"- Reviews: **{s.reviews}** on {s.study_days} "
        f"day{'s' if s.study_days != 1 else ''}, "
        f"{s.minutes:.0f} minutes of study",
        f"- True retention: **{_pct(r.retention)}** "
        f"(young {_pct(r.young_retention)} of {r.young_passed + r.young_failed}, "
        f"mature {_pct(r.mature_retention)} of {r.mature_passed + r.mature_failed}); "
        f"lapses: {s.lapses}",
    ]
    if s.hardest_cards:
        lines += ["", "### Hardest cards", ""]
        for h in s.hardest_cards:
            diff = "" if h.difficulty is None else f", difficulty {h.difficulty:.1f}"
            tally = f"{h.again} × Again in {h.reviews} review{'s' if h.reviews != 1 else ''}{diff}"
            body = blog_text(h.question)
            if "\n" in body:  # a multi-line question: the numbers first, then the question
                lines.append(f"- {tally}:")
                lines.append("")
                lines.append("  " + _list_item(body))
                lines.append("")
            else:
                lines.append(f"- {body} — {tally}")
    if s.weakest_topics:
        lines += ["", "### Weakest topics", ""]
        for t in s.weakest_topics:
            name = t.group or "(no topic)"
            lines.append(
                f"- {name}: retention {_pct(t.retention)}, {t.lapses} "
                f"lapse{'s' if t.lapses != 1 else ''}, {t.reviews} reviews"
            )
    return "\n".join(lines) + "\n"
