"""`dlcards info CARD_ID`: a card's full review history and its current retrievability.

`card_info` is shared with the TUI (`dlcards.tui.screens.card_info.CardInfoScreen`).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from dlcards.commands._common import root_of
from dlcards.errors import DlcardsError


class UnknownCardError(DlcardsError):
    """No card with that id in the decks or the review database."""


def history_rows(reviews: list[Any]) -> list[dict[str, Any]]:
    """One row per review: time, rating, kind, duration and the state it left (interval,
    stability, difficulty), plus the days elapsed since the previous review."""
    rows = []
    prev: datetime | None = None
    for e in reviews:
        elapsed = None if prev is None else round((e.time - prev).total_seconds() / 86400, 2)
        prev = e.time
        a = e.after
        rows.append({
            "time": e.time.isoformat(), "rating": int(e.rating), "rating_name": e.rating.name.title(),
            "kind": e.kind, "source": e.source, "duration_s": round(e.duration_ms / 1000, 1),
            "elapsed_days": elapsed, "interval_days": a.interval_days,
            "due": a.due.isoformat() if a.due else None,
            "stability": None if a.stability is None else round(a.stability, 3),
            "difficulty": None if a.difficulty is None else round(a.difficulty, 3),
            "phase": a.phase,
        })
    return rows


def card_info_of(card_id: str, note: Any, state: Any, flags: Any, reviews: list[Any], now: datetime,
                 retrievability: Any, orphan: Any = None) -> dict[str, Any]:
    """The info dict from already-read parts (pure)."""
    r = retrievability(state, now) if state is not None else None
    where = None
    if note is not None:
        where = {"path": note.path, "line": note.line, "end_line": note.end_line}
    elif orphan is not None:
        where = {"path": orphan.path, "line": orphan.line, "end_line": None}
    passed = sum(1 for e in reviews if int(e.rating) > 1)
    return {
        "card_id": card_id,
        "in_decks": note is not None,
        "where": where,
        "kind": note.kind if note is not None else (orphan.kind if orphan is not None else None),
        "topic": note.meta.topic if note is not None else None,
        "week": note.meta.week if note is not None else None,
        "question": note.question if note is not None else None,
        "answer": note.answer if note is not None else None,
        "state": None if state is None else state.to_dict(),
        "suspended": bool(flags and flags.suspended),
        "leech": bool(flags and flags.leech),
        "retrievability": None if r is None else round(r, 4),
        "reviews": len(reviews),
        "again": len(reviews) - passed,
        "total_minutes": round(sum(e.duration_ms for e in reviews) / 60000, 2),
        "history": history_rows(reviews),
    }


def card_info(root: Path | None, card_id: str, now: datetime, *, store_path: Path | None = None,
              collection: Any = None, store: Any = None) -> dict[str, Any]:
    """Read the card from the decks and the store. Raises UnknownCardError."""
    from dlcards.scheduling import Scheduler, SchedulerConfig

    if collection is None:
        from dlcards.collection import open_collection

        collection = open_collection(root, lint=False)
    note = next((n for n in collection.notes if card_id in n.card_ids()), None)
    own_store = store is None
    if store is None:
        from dlcards.days import zone
        from dlcards.store import Store

        s = collection.settings
        store = Store.open(store_path, tz=zone(s.timezone), day_starts_at=s.day_starts_at)
    try:
        state = store.states([card_id]).get(card_id)
        flags = store.flags([card_id]).get(card_id)
        reviews = store.reviews([card_id])
        orphan = None if note is not None else next((o for o in store.orphans() if o.card_id == card_id), None)
    finally:
        if own_store:
            store.close()
    if note is None and orphan is None and not reviews and state is None:
        raise UnknownCardError(f"no card with id {card_id!r}",
                               hint="`dlcards list` shows the ids; a cloze card's id ends in /c1, /c2, ...")
    scheduler = Scheduler(SchedulerConfig.from_settings(collection.settings))
    return card_info_of(card_id, note, state, flags, reviews, now, scheduler.retrievability, orphan)


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def text_info(info: dict[str, Any]) -> str:
    from dlcards.scheduling import format_interval

    w = info["where"]
    lines = [f"Card {info['card_id']}" + (f"  {w['path']}:{w['line']}" if w else "")
             + ("" if info["in_decks"] else "  (orphaned: no longer in any deck file)")]
    if info["question"]:
        lines.append(f"Q: {info['question'].splitlines()[0]}")
    st = info["state"]
    r = info["retrievability"]
    if st:
        lines.append(f"Phase {st['phase']}, interval {st['interval_days']} d, stability "
                     f"{_num(st['stability'])} d, difficulty {_num(st['difficulty'])}, "
                     f"retrievability {'–' if r is None else f'{r * 100:.1f}%'}, due {st['due'] or '–'}")
        lines.append(f"Reps {st['reps']}, lapses {st['lapses']}"
                     + (", suspended" if info["suspended"] else "") + (", leech" if info["leech"] else ""))
    else:
        lines.append("New: never reviewed.")
    if info["history"]:
        lines.append("")
        lines.append(f"{'time (UTC)':<17} {'rating':<6} {'kind':<8} {'time':>6} {'ivl':>6} {'stab':>7} {'diff':>5}")
        for h in info["history"]:
            ivl = format_interval(h["interval_days"] * 86400) if h["interval_days"] else "–"
            lines.append(f"{h['time'][:16].replace('T', ' '):<17} {h['rating_name']:<6} {h['kind']:<8} "
                         f"{h['duration_s']:>5.0f}s {ivl:>6} {_num(h['stability']):>7} {_num(h['difficulty']):>5}")
    return "\n".join(lines)


@click.command("info")
@click.argument("card_id")
@click.option("--json", "as_json", is_flag=True, help="Print the card's info and history as JSON.")
@click.option("--tui", is_flag=True, help="Show it in a terminal screen.")
@click.pass_context
def command(ctx: click.Context, card_id: str, as_json: bool, tui: bool) -> None:
    """A card's full history (every review: rating, time, interval, stability, difficulty) and
    its current retrievability."""
    from dlcards.clock import now as clock_now

    info = card_info(root_of(ctx), card_id, clock_now())
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    elif tui:
        from dlcards.tui.stats_app import CardInfoApp

        CardInfoApp(info).run()
    else:
        click.echo(text_info(info))
