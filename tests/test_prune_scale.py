"""`dlcards prune` at scale (issue 16): the ranking from the review log's per-card figures and
the states and flags as columns (`prune_report_of`, what `PruneWorkspace` runs) is the ranking
of the object path (`prune_report` over every review as an object: the oracle), item for item
and number for number, on a random history in a real SQLite store (orphans, suspended, flagged
and leech cards, several calendars)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.app.collection import Collection
from dlcards.core.calendar import StudyCalendar
from dlcards.core.parse import parse_text
from dlcards.core.state import CardState
from dlcards.insights.prune import prune_report, prune_report_of
from dlcards.store import CardInfo, Store
from dlcards.store.state_columns import flag_arrays, state_arrays
from dlcards.store.stats_queries import log_figures
from test_stats_sql import random_history

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
N_CARDS = 90


def deck_text(rng: random.Random) -> tuple[str, str]:
    """Two deck files holding most of the history's cards (the others are orphans), some cards
    never reviewed, a near-duplicate pair, a long answer and a three-item answer."""
    a, b = ["---\nweek: 2\ntopic: t\n---\n"], ["---\nweek: 1\n---\n"]
    for c in range(N_CARDS):
        if c % 11 == 5:
            continue  # an orphan: history under an id no file has
        out = a if c % 3 else b
        if c % 7:
            out.append(
                f"Q: What is fact number {c} about {rng.choice(['x', 'y'])}? <!-- id: card-{c:03d} -->\n"
            )
            out.append(f"A: It is answer {c}.\n\n")
        else:
            out.append(f"C: The {{{{c1::fact {c}}}}} holds. <!-- id: note-{c:03d} -->\n\n")
    for i in range(6):  # never reviewed, week 1
        b.append(f"Q: Which unseen thing {i} is there? <!-- id: unseen-{i} -->\nA: Thing {i}.\n\n")
    a.append("Q: What does softmax do to the attention logits? <!-- id: d1 -->\n")
    a.append("A: It turns them into weights that sum to one.\n\n")
    b.append("Q: What does softmax do to attention logits? <!-- id: d2 -->\n")
    b.append("A: It turns them into weights that sum to 1.\n\n")
    a.append("Q: Why so long? <!-- id: long -->\nA: " + " ".join(["word"] * 60) + "\n\n")
    a.append("Q: Which three? <!-- id: three -->\nA:\n- one\n- two\n- three\n")
    return "".join(a), "".join(b)


def fill(store: Store, rng: random.Random) -> None:
    store.import_reviews(random_history(11, N_CARDS, 150, NOW))
    ids = [f"card-{c:03d}" if c % 7 else f"note-{c:03d}/c1" for c in range(N_CARDS)]
    states = []
    for cid in ids:
        last = NOW - timedelta(days=rng.uniform(0, 200), microseconds=rng.randint(0, 999999))
        states.append(
            CardState(
                cid,
                phase=rng.choice(["learning", "review", "review", "relearning"]),  # type: ignore[arg-type]
                stability=rng.uniform(0.5, 300),
                difficulty=rng.choice([rng.uniform(1, 10), 8.0, 9.5, None]),
                due=last + timedelta(days=rng.uniform(0, 30)),
                last_review=rng.choice([last, last, None]),
                reps=rng.randint(1, 30),
                lapses=rng.randint(0, 9),
                interval_days=rng.choice([0, 1, 5, 30]),
            )
        )
    store.set_states(states)
    store.set_suspended(rng.sample(ids, 12), True)
    for cid in rng.sample(ids, 6):
        store.set_leech(cid, True)
    for cid in rng.sample(ids, 8):
        store.set_flag(cid, rng.randint(1, 7))
    store.set_suspended(["unseen-0"], True)


@pytest.mark.parametrize(
    ("zone", "day_starts_at", "threshold"),
    [("UTC", 4, 8), ("Europe/Berlin", 4, 6), ("America/New_York", 0, 12)],
)
def test_columnar_ranking_equals_the_object_ranking(
    tmp_path: Path, zone: str, day_starts_at: int, threshold: int
) -> None:
    rng = random.Random(zone)
    text_a, text_b = deck_text(rng)
    notes = parse_text(text_a, "decks/a.md").notes + parse_text(text_b, "decks/b.md").notes
    cal = StudyCalendar(ZoneInfo(zone), day_starts_at)
    with Store.open(tmp_path / "d.sqlite3") as store:
        fill(store, rng)
        orphans = [
            CardInfo(f"card-{c:03d}", f"card-{c:03d}", "basic", "decks/a.md", 3 * c, "0" * 16)
            for c in range(N_CARDS)
            if c % 11 == 5
        ]
        args = {
            "now": NOW,
            "answer_word_limit": 40,
            "leech_threshold": threshold,
            "orphans": orphans,
            "orphan_texts": {orphans[0].card_id: "What is fact number 5 about x?"},
            "kept": [("d1", "duplicate"), (orphans[1].card_id, "orphan")],
            "retrievability": lambda s, t: None if s.stability is None else s.stability / 1000,
        }
        old = prune_report(
            notes, store.reviews(), store.states(), store.flags(), calendar=cal, **args
        )
        new = prune_report_of(
            notes,
            log_figures(store.conn, cal).cards,
            state_arrays(store.conn),
            flag_arrays(store.conn),
            **args,
        )
    assert [it.to_dict() for it in new] == [it.to_dict() for it in old]
    codes = {c for it in old for c in it.codes}
    assert codes >= {
        "leech",
        "difficult",
        "low-retention",
        "long-suspended",
        "never-reviewed",
        "orphan",
        "long-answer",
        "several-facts",
        "duplicate",
    }, codes
    assert any(it.flag for it in old) and len(old) > 40


def test_workspace_ranks_as_the_object_path(
    collection: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dlcards prune --json` (the workspace, columnar) == the object ranking of the same
    collection, store and journal."""
    from dlcards.cli.main import main

    monkeypatch.setenv("DLCARDS_NOW", NOW.isoformat())
    rng = random.Random(3)
    text_a, text_b = deck_text(rng)
    (collection / "decks" / "a.md").write_text(text_a, encoding="utf-8")
    (collection / "decks" / "b.md").write_text(text_b, encoding="utf-8")
    with Collection.open(collection) as col:
        fill(col.store, rng)
        col.sync_cards(NOW)
        s = col.settings
        old = prune_report(
            col.notes,
            col.store.reviews(),
            col.store.states(),
            col.store.flags(),
            now=NOW,
            calendar=col.calendar,
            answer_word_limit=s.answer_word_limit,
            leech_threshold=s.leech_threshold,
            orphans=col.store.orphans(),
            retrievability=col.scheduler.retrievability,
        )
    capsys.readouterr()
    assert main(["-C", str(collection), "prune", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["items"]
    assert got == json.loads(json.dumps([it.to_dict() for it in old]))
    assert any(it["orphan"] for it in got) and len(got) > 40
