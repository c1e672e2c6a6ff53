"""Start-up that does not grow with the collection (issue 16, item 2).

1. The indexed queue (`Session.indexed`: a card catalogue, states and flags pulled from a real
   SQLite store by indexed queries, page by page) behaves exactly like the all-cards queue
   (`Session(cards, states, flags, ...)`) on random collections: the same cards in the same
   order, the same counts and limits, through answers, suspends, buries, flags, undo, study
   more, leeches, bury siblings, learning steps, custom-study filters and day rollovers in
   non-UTC zones. Small pages make the paging itself part of every run.
2. A warm start reads no deck file (the catalogue is cached, keyed by the files' stats and
   the code); the card shown is read from its own file only; an edited file is seen.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import dlcards.review.queue as queue_mod
from dlcards.app.collection import Collection
from dlcards.app.review import StoreSource
from dlcards.app.settings import scheduler_config
from dlcards.core.calendar import StudyCalendar
from dlcards.core.errors import UsageError
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry
from dlcards.review.queue import CardCatalogue
from dlcards.review.scheduling import Scheduler
from dlcards.review.session import (
    Filters,
    Policy,
    RecordReview,
    Session,
    SessionCard,
    UndoReview,
    apply_effects,
)
from dlcards.store import Store
from dlcards.store.rows import CardInfo
from dlcards.system.config import Settings
from tui_collection import make_collection

SCHED = Scheduler(scheduler_config(Settings(timezone="UTC", fuzz=False)))
ZONES = [("UTC", 4), ("America/New_York", 0), ("Asia/Kolkata", 23), ("Europe/Berlin", 3)]


# -- a random collection ----------------------------------------------------------------------
def random_world(rng: random.Random, now: datetime) -> dict[str, Any]:
    files = [
        ("decks/a.md", 1, "ta", ()),
        ("decks/b.md", 2, "tb", ("ta",)),
        ("decks/c.md", None, "tc", ()),
    ]
    if rng.random() < 0.3:
        files[2] = ("decks/c.md", None, "tc", ("zz",))  # requires an unknown topic: never waits
    notes: list[list[SessionCard]] = []
    for fo, (path, week, topic, requires) in enumerate(files):
        for index in range(rng.randint(1, 14)):
            nid = f"{path[6]}{index:02d}"
            ordinals = [1] if rng.random() < 0.6 else list(range(1, rng.randint(2, 4) + 1))
            tags = tuple(rng.sample(["x", "y", "z"], rng.randint(0, 2)))
            deck = rng.choice(["DL", "DL::sub", "Other"])
            note = []
            for o in ordinals:
                cid = nid if len(ordinals) == 1 else f"{nid}/c{o}"
                order = (week if week is not None else 10**6, fo, path, index, o)
                note.append(SessionCard(cid, nid, order, topic, requires, week, deck, tags, path))
            notes.append(note)
    rng.shuffle(notes)  # any note order in: the catalogue sorts (a note's cards stay in order)
    cards = [c for note in notes for c in note]
    states: dict[str, CardState] = {}
    flags: dict[str, CardFlags] = {}
    for c in cards:
        r = rng.random()
        hours = rng.uniform(-72, 72)
        if r < 0.4:
            pass  # new
        elif r < 0.45:  # forgotten: new again, with reps
            states[c.id] = CardState(c.id, reps=3, lapses=1)
        elif r < 0.6:
            due = now + timedelta(minutes=rng.uniform(-120, 60 * 30))
            states[c.id] = CardState(
                c.id,
                phase=rng.choice(["learning", "relearning"]),
                step=0,
                stability=rng.uniform(0.5, 3),
                difficulty=rng.uniform(2, 8),
                due=due,
                last_review=due - timedelta(minutes=10),
                reps=rng.randint(1, 6),
                lapses=rng.randint(0, 3),
            )
        else:
            due = now + timedelta(hours=hours)
            if rng.random() < 0.1:  # the same due as another card: ordered by id
                due = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
            states[c.id] = CardState(
                c.id,
                phase="review",
                stability=rng.uniform(1, 40),
                difficulty=rng.uniform(2, 9),
                due=due,
                last_review=due - timedelta(days=rng.randint(1, 30)),
                reps=rng.randint(2, 20),
                lapses=rng.randint(0, 4),
                interval_days=rng.randint(1, 30),
            )
        f = rng.random()
        if f < 0.25:
            today = now.date()
            flags[c.id] = CardFlags(
                c.id,
                suspended=rng.random() < 0.3,
                buried_until=rng.choice(
                    [None, today, today + timedelta(days=1), today - timedelta(days=1)]
                ),
                flag=rng.randint(0, 7),
                leech=rng.random() < 0.2,
            )
    return {"cards": cards, "states": states, "flags": flags}


def today_log(
    rng: random.Random, world: dict[str, Any], policy: Policy, now: datetime
) -> list[ReviewEntry]:
    """Answers given earlier today (they count against the limits), some of unknown cards."""
    start = policy.calendar.day_start(policy.day(now))
    log = []
    ids = [c.id for c in world["cards"]] + ["gone-card"]
    for _ in range(rng.randint(0, 8)):
        cid = rng.choice(ids)
        t = start + (now - start) * rng.random()
        before = (
            CardState(cid)
            if rng.random() < 0.5
            else CardState(
                cid,
                phase="review",
                reps=3,
                stability=5,
                difficulty=5,
                due=t,
                last_review=t - timedelta(days=5),
                interval_days=5,
            )
        )
        kind = rng.choice(["learn", "review", "manual"])
        log.append(ReviewEntry(cid, t, Rating.GOOD, 1000, before, before, kind))  # type: ignore[arg-type]
    return log


def store_with(tmp: Path, world: dict[str, Any], now: datetime) -> Store:
    store = Store.open(tmp / "queue.sqlite3")
    infos = [CardInfo(c.id, c.note_id, "basic", c.path, 1, "h") for c in world["cards"]]
    infos.append(CardInfo("orphan", "orphan", "basic", "decks/gone.md", 1, "h"))
    store.sync_cards(infos, now)
    store.set_states(list(world["states"].values()))
    # an orphan due now: the store has it, the Markdown does not
    store.set_states(
        [
            CardState(
                "orphan",
                phase="review",
                stability=3,
                difficulty=5,
                due=now - timedelta(days=1),
                last_review=now - timedelta(days=4),
                reps=2,
                interval_days=3,
            )
        ]
    )
    for f in world["flags"].values():
        if f.suspended:
            store.set_suspended([f.card_id], True)
        if f.buried_until is not None:
            store.set_buried([f.card_id], f.buried_until)
        if f.flag:
            store.set_flag(f.card_id, f.flag)
        if f.leech:
            store.set_leech(f.card_id, True)
    return store


def random_filters(rng: random.Random, cards: list[SessionCard]) -> Filters:
    pick = rng.random()
    if pick < 0.5:
        return Filters()
    if pick < 0.6:
        return Filters(week=rng.choice([1, 2]))
    if pick < 0.7:
        return Filters(topic=rng.choice(["ta", "tb", "tc"]))
    if pick < 0.8:
        return Filters(tag="x")
    if pick < 0.9:
        return Filters(deck="DL")

    class Ids(Filters):  # custom study: a query's ids
        def matches(self, card: SessionCard) -> bool:
            return card.id in chosen

    chosen = {c.id for c in cards if rng.random() < 0.5}
    return Ids()


def effect_view(effects: list[Any]) -> list[Any]:
    out = []
    for e in effects:
        if isinstance(e, RecordReview):
            out.append(("record", e.entry))
        elif isinstance(e, UndoReview):
            out.append(("undo", e.record.entry))
        else:
            out.append(e)
    return out


def check_same(old: Session, new: Session, now: datetime) -> None:
    assert old.counts(now) == new.counts(now)
    assert old.limits_reached() == new.limits_reached()
    assert old.new_limit_left == new.new_limit_left
    assert old.review_limit_left == new.review_limit_left


@pytest.mark.parametrize("seed", range(40))
def test_indexed_queue_equals_the_all_cards_queue(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(queue_mod, "PAGE", rng.choice([1, 2, 3, 7, 256]))
    monkeypatch.setattr(queue_mod, "BULK_AFTER", rng.choice([2, 5, 256]))
    zone, starts = ZONES[seed % len(ZONES)]
    calendar = StudyCalendar(ZoneInfo(zone), starts)
    # near the day's end now and then, so that the session rolls over into the next study day
    day_start = calendar.day_start(calendar.study_day(datetime(2026, 3, 28, 12, tzinfo=UTC)))
    now = day_start + timedelta(hours=rng.choice([2, 12, 23.5]))
    world = random_world(rng, now)
    policy = Policy(
        new_per_day=rng.randint(0, 6),
        reviews_per_day=rng.randint(0, 10),
        leech_threshold=rng.randint(2, 4),
        leech_action=rng.choice(["suspend", "tag"]),
        bury_siblings=rng.random() < 0.7,
        calendar=calendar,
    )
    log = today_log(rng, world, policy, now)
    filters = random_filters(rng, world["cards"])
    study_more = rng.choice([(0, 0), (0, 0), (2, 3)])
    store = store_with(tmp_path, world, now)
    try:
        old = Session(
            world["cards"], dict(world["states"]), dict(world["flags"]), log, SCHED, policy, now,
            filters=filters, study_more=study_more,
        )  # fmt: skip
        new = Session.indexed(
            CardCatalogue.of(world["cards"]), StoreSource(store), log, SCHED, policy, now,
            filters=filters, study_more=study_more,
        )  # fmt: skip
        assert old.started == new.started and old.known_topics == new.known_topics
        ids = [c.id for c in world["cards"]]
        for _step in range(70):
            check_same(old, new, now)
            action = rng.random()
            a = old.next_card(now)
            b = new.next_card(now)
            assert a == b, f"step {_step}"
            if a is not None:
                assert old.states[a] == new.states[a] and old.flags[a] == new.flags[a]
                assert old.preview(now) == new.preview(now)
                assert old.queue_of(a) == new.queue_of(a)
            if action < 0.5 and a is not None:
                rating = Rating(rng.choice([1, 1, 2, 3, 3, 3, 4]))
                o1, o2 = old.answer(rating, now, 2000), new.answer(rating, now, 2000)
            elif action < 0.58:
                cid = rng.choice([a, rng.choice(ids)]) or rng.choice(ids)
                value = rng.random() < 0.6
                o1, o2 = old.suspend(now, cid, value), new.suspend(now, cid, value)
            elif action < 0.64:
                cid = a or rng.choice(ids)
                o1, o2 = old.bury(now, cid), new.bury(now, cid)
            elif action < 0.68:
                cid = rng.choice(ids)
                flag = rng.randint(0, 7)
                o1, o2 = old.set_flag(flag, cid), new.set_flag(flag, cid)
            elif action < 0.8:
                o1, o2 = old.undo(), new.undo()
            elif action < 0.85:
                o1, o2 = old.study_more(), new.study_more()
            else:
                now += timedelta(minutes=rng.choice([1, 11, 30, 90, 60 * 9]))
                continue
            assert effect_view(o1.effects) == effect_view(o2.effects)
            assert o1.notice == o2.notice and o1.card_id == o2.card_id
            apply_effects(store, o2.effects)  # the indexed one reads the store: keep it current
        check_same(old, new, now)
        assert old.next_due(now) == new.next_due(now)
        assert old.waiting_for() == new.waiting_for()
        for cid in ids:
            assert old.states[cid] == new.states[cid] and old.flags[cid] == new.flags[cid]
    finally:
        store.close()


def test_the_indexed_queue_reads_only_what_the_limits_show(tmp_path: Path) -> None:
    """300 due reviews, a limit of 5: one page of states is read, not 300."""
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    cards = [SessionCard(f"r{i:03d}", f"r{i:03d}", (1, 0, "decks/a.md", i, 1)) for i in range(300)]
    states = {
        c.id: CardState(
            c.id,
            phase="review",
            stability=5,
            difficulty=5,
            due=now - timedelta(hours=i),
            last_review=now - timedelta(days=9),
            reps=3,
            interval_days=5,
        )
        for i, c in enumerate(cards)
    }
    store = store_with(tmp_path, {"cards": cards, "states": states, "flags": {}}, now)
    source = StoreSource(store)
    pulled: list[int] = []
    real = source.due_reviews

    def counting(day_end: datetime, after: Any, limit: int) -> Any:
        page = real(day_end, after, limit)
        pulled.append(len(page))
        return page

    source.due_reviews = counting  # type: ignore[method-assign]
    policy = Policy(new_per_day=0, reviews_per_day=5, calendar=StudyCalendar(ZoneInfo("UTC"), 4))
    try:
        s = Session.indexed(CardCatalogue.of(cards), source, [], SCHED, policy, now)
        assert s.counts(now).review == 5
        assert s.next_card(now) == "r299"  # the oldest due first
        assert sum(pulled) <= queue_mod.PAGE and len(dict.keys(s.states)) <= queue_mod.PAGE + 1
        # the done screen's figures still see every card
        assert s.next_due(now) is None  # every card is due now
        assert len(dict.keys(s.states)) >= 300
    finally:
        store.close()


# -- the review service: no deck file read on a warm start ----------------------------------
def test_a_warm_start_reads_no_deck_file_and_an_edit_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dlcards.system.decks as decks_mod

    root = make_collection(tmp_path / "col")
    reads: list[list[Path] | None] = []
    real = decks_mod.read_decks

    def counting(root_: Path, paths: list[Path] | None = None, **kw: Any) -> Any:
        reads.append(paths)
        return real(root_, paths, **kw)

    monkeypatch.setattr(decks_mod, "read_decks", counting)
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)

    def first(root_: Path) -> tuple[str | None, str]:
        with Collection.open(root_, now_fn=lambda: now) as col:
            svc = col.review()
            cid = svc.session.next_card(now)
            card = svc.card(cid)
            assert card is not None and svc.file_of(cid) == (
                root_.resolve() / card.note.path,
                card.note.line,
            )
            return cid, card.note.question

    cid, question = first(root)
    # the first start reads the decks (and writes the catalogue), lets their notes go, and
    # reads the card shown from its own file (issue 16: a cold start's peak memory)
    assert reads[0] is None and [len(r or ()) for r in reads[1:]] == [1]
    reads.clear()
    assert first(root) == (cid, question)
    # warm: no deck read for the queue; the card shown is read from its own file only
    assert len(reads) == 1 and reads[0] is not None and len(reads[0]) == 1
    reads.clear()
    with Collection.open(root, now_fn=lambda: now) as col:
        svc = col.review()
        col.check_filters(Filters(week=2))  # `review --week 2` is checked from the catalogue
        assert col.deck_error_count() == svc.deck_errors
        assert reads == []  # what the front ends ask before the first card: no deck read
        with pytest.raises(UsageError, match="no week 9"):
            col.check_filters(Filters(week=9))
        errors, code = svc.deck_errors, svc.has_code_cards()
        assert (errors, code) == (
            len(col.decks.errors),
            any(b.kind == "torch" for n in col.notes for b in n.blocks),
        )
    reads.clear()
    path = root / "decks" / "week-01.md"
    path.write_text(
        path.read_text().replace("What does $\\nabla f(x)$ represent", "What is $\\nabla f(x)$"),
        encoding="utf-8",
    )
    _, edited = first(root)
    assert None in reads  # the edited file was seen: the decks were read again
    assert edited != question or cid != "grad1"
    with Collection.open(root, now_fn=lambda: now) as col:
        svc = col.review()
        assert svc.card("grad1") is not None
        assert svc.card("grad1").note.question.startswith("What is $\\nabla f(x)$")  # type: ignore[union-attr]


def test_the_service_queue_equals_the_all_cards_queue_on_a_real_collection(tmp_path: Path) -> None:
    """Through `Collection.review`: the same first cards and counts as a session built from
    every card of the parsed notes (the old path), after answers persisted in the store."""
    from dlcards.review.session import note_session_cards

    root = make_collection(tmp_path / "col")
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for step in range(4):
        with Collection.open(root, now_fn=lambda now=now: now) as col:  # type: ignore[misc]
            svc = col.review()
            decks = col.decks
            order = {f.rel: i for i, f in enumerate(decks.files)}
            cards = [sc for sc, _, _ in note_session_cards(decks.notes, order)]
            start = col.calendar.day_start(col.today(now))
            log = col.store.reviews_on_day(start, col.calendar.next_day_start(now))
            old = Session(cards, col.store.states(), col.store.flags(), log, SCHED, svc.policy, now)
            assert old.counts(now) == svc.session.counts(now)
            cid = old.next_card(now)
            assert cid == svc.session.next_card(now)
            if cid is None:
                break
            svc.apply(svc.session.answer(Rating.GOOD if step % 2 else Rating.AGAIN, now, 1500))
        now += timedelta(minutes=3)


def test_flags_of_a_card_never_queued_are_read_when_asked(tmp_path: Path) -> None:
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    cards = [SessionCard("a", "a", (1, 0, "p", 0, 1)), SessionCard("b", "b", (1, 0, "p", 1, 1))]
    store = store_with(tmp_path, {"cards": cards, "states": {}, "flags": {}}, now)
    store.set_flag("b", 4)
    store.set_buried(["b"], date(2026, 1, 4))
    try:
        s = Session.indexed(CardCatalogue.of(cards), StoreSource(store), [], SCHED, Policy(), now)
        assert s.flags.get("b") == CardFlags("b", buried_until=date(2026, 1, 4), flag=4)
        assert s.flags.get("nope") is None and "nope" not in s.states
        assert s.states["b"] == CardState("b")
    finally:
        store.close()


def test_deck_errors_and_code_cards_come_from_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dlcards.system.decks as decks_mod

    root = make_collection(tmp_path / "col")
    (root / "decks" / "dup.md").write_text(
        "Q: Same id twice? <!-- id: grad1 -->\nA: Yes.\n", encoding="utf-8"
    )
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with Collection.open(root, now_fn=lambda: now) as col:
        expected = len(col.decks.errors)
        col.review()  # writes the catalogue
    assert expected > 0
    reads: list[Any] = []
    real = decks_mod.read_decks
    monkeypatch.setattr(decks_mod, "read_decks", lambda *a, **k: reads.append(a) or real(*a, **k))
    with Collection.open(root, now_fn=lambda: now) as col:
        assert col.deck_error_count() == expected
        svc = col.review()
        assert svc.deck_errors == expected and svc.has_code_cards()
        assert reads == []
