"""Undoing the answer that started a topic un-starts it: the cards that `require` it wait
again, and the counts are what they were before the answer (found by helper C, session 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcards.app.collection import Collection
from dlcards.core.state import Rating
from tui_collection import NOW, make_collection


@pytest.mark.parametrize("apply", [True, False], ids=["service", "session"])
def test_undo_of_a_topics_first_answer_blocks_its_dependents_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apply: bool
) -> None:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    with Collection.open(make_collection(tmp_path / "col")) as col:
        svc = col.review()
        session, now = svc.session, svc.now()
        assert session.next_card(now) == "grad1"
        before = session.counts(now)
        waiting_before = set(session.new_waiting)
        assert "attn1" in waiting_before  # week 2 requires basics, not started yet
        outcome = session.answer(Rating.GOOD, now)
        if apply:
            svc.apply(outcome)
        assert "attn1" not in session.new_waiting  # basics started: attention is ready
        if apply:
            svc.undo()
        else:
            session.undo()
        assert "basics" not in session.started
        assert set(session.new_waiting) == waiting_before
        assert session.counts(now) == before
        assert session.next_card(now) == "grad1"
