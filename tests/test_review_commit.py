"""An answer and what it implies (the burial of its siblings) are ONE transaction: one COMMIT
(one fsync) per answer, and a failed burial never loses the answer (issue 16, item 3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from dlcards.app.collection import Collection
from dlcards.app.review import ReviewService
from dlcards.core.state import Rating
from dlcards.review.effects import SetBuried
from tui_collection import NOW, make_collection


@pytest.fixture
def svc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReviewService]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    with Collection.open(make_collection(tmp_path / "col")) as col:
        yield col.review()


def _to_cloze(svc: ReviewService, now: datetime) -> None:
    """Answer Good until the first cloze card is current."""
    for _ in range(10):
        cid = svc.session.next_card(now)
        if cid == "soft1/c1":
            return
        assert cid is not None
        svc.apply(svc.session.answer(Rating.GOOD, now))
    raise AssertionError("the cloze card never came")


def _commits_during(svc: ReviewService, action: object) -> int:
    seen: list[str] = []
    conn = svc.store.conn
    conn.set_trace_callback(seen.append)
    try:
        action()  # type: ignore[operator]
    finally:
        conn.set_trace_callback(None)
    return sum(1 for sql in seen if sql.strip().upper().startswith("COMMIT"))


def test_an_answer_that_buries_its_sibling_commits_once(svc: ReviewService) -> None:
    now = svc.now()
    _to_cloze(svc, now)
    before = len(svc.store.reviews())
    outcome = svc.session.answer(Rating.GOOD, now)
    assert any(isinstance(e, SetBuried) for e in outcome.effects)  # the sibling is due today
    assert _commits_during(svc, lambda: svc.apply(outcome)) == 1
    assert len(svc.store.reviews()) == before + 1
    assert svc.store.flags(["soft1/c2"])["soft1/c2"].buried_until is not None
    assert svc.write_errors == []


def test_a_failed_burial_keeps_the_answer(
    svc: ReviewService, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = svc.now()
    _to_cloze(svc, now)
    before = len(svc.store.reviews())

    def broken(*args: object) -> None:
        raise OSError("disk says no")

    monkeypatch.setattr(svc.store, "set_buried", broken)
    svc.apply(svc.session.answer(Rating.GOOD, now))
    assert len(svc.store.reviews()) == before + 1  # the answer is committed on its own
    assert svc.pending is None
    assert any("disk says no" in str(e) for e in svc.write_errors)
