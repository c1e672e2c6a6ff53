"""The browser service (`dlcards.app.browse`): rows the search language reads, built from a
real collection and its SQLite store, and the actions on a selection, each undoable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlcards.app.browse import Browser, clip, question_line
from dlcards.app.collection import Collection
from dlcards.core.search import SearchError
from dlcards.core.state import Rating
from tui_collection import NOW, make_collection

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collection]:
    monkeypatch.setenv("DLCARDS_NOW", NOW)
    root = make_collection(tmp_path / "col")
    with Collection.open(root) as c:
        yield c


def answer(col: Collection, card_id: str, rating: Rating, when: datetime) -> None:
    """Answer one card through the real review service and scheduler."""
    svc = col.review()
    session = svc.session
    session.current = card_id
    svc.apply(session.answer(rating, when, 1000))


def ids(rows: list) -> list[str]:  # type: ignore[type-arg]
    return [r.id for r in rows]


def test_rows_cover_every_card_and_read_no_database(col: Collection) -> None:
    b = Browser(col)
    assert ids(b.rows) == ["grad1", "soft1/c1", "soft1/c2", "code1", "attn1"]
    assert not col.has_store()  # reading never creates the database
    row = b.row("attn1")
    assert row is not None
    assert (row.week, row.topic, row.deck, row.state, row.flag) == (2, "attention", "DL", "new", 0)
    assert row.path.endswith("decks/week-02.md") and row.ratings == () and row.added is None


def test_questions_render_as_the_tui_does(col: Collection) -> None:
    b = Browser(col)
    grad = b.question(b.row("grad1"))  # type: ignore[arg-type]
    assert grad.startswith("What does ∇f(x) represent for f:ℝⁿ → ℝ?")
    assert "$" not in grad and "\\" not in grad
    assert b.question(b.row("soft1/c1")) == (  # type: ignore[arg-type]
        "Softmax is invariant to [...] to all logits."
    )
    assert b.question(b.row("soft1/c2")).endswith("to all [inputs].")  # type: ignore[arg-type]
    assert b.question(b.row("code1")) == "What does this evaluate to? [code]"  # type: ignore[arg-type]
    note = col.notes[-1]
    assert "QKᵀ" in question_line(note, 1)
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


def test_search_uses_the_shared_language(col: Collection) -> None:
    answer(col, "grad1", Rating.AGAIN, T0)
    answer(col, "attn1", Rating.EASY, T0 - timedelta(days=3))
    b = Browser(col)
    assert ids(b.search("week:2")) == ["attn1"]
    assert ids(b.search("softmax")) == ["soft1/c1", "soft1/c2"]
    assert ids(b.search("is:new")) == ["soft1/c1", "soft1/c2", "code1"]
    assert ids(b.search("is:learn")) == ["grad1"]
    assert ids(b.search("rated:1")) == ["grad1"]
    assert ids(b.search("rated:7:4")) == ["attn1"]
    assert ids(b.search("is:review prop:ivl>=1")) == ["attn1"]
    assert ids(b.search("rated:7 -rated:1")) == ["attn1"]
    assert ids(b.search("added:1")) == ids(b.rows)  # all first seen today
    assert ids(b.search("(week:2 or kind:cloze) -id:*/c2")) == ["soft1/c1", "attn1"]
    assert list(b.row("grad1").ratings) == [(T0.date(), 1)]  # type: ignore[union-attr]
    with pytest.raises(SearchError, match="did you mean 'due'"):
        b.search("is:deu")


def test_flag_suspend_bury_and_undo(col: Collection) -> None:
    b = Browser(col)
    assert b.set_flag(["grad1", "attn1"], 3) == "Flagged 2 cards green."
    assert ids(b.search("flag:3")) == ["grad1", "attn1"]
    assert ids(b.search("is:flagged")) == ["grad1", "attn1"]
    assert col.store.flags(["grad1"])["grad1"].flag == 3  # persisted
    assert b.set_suspended(["grad1"], True) == "Suspended 1 card."
    assert ids(b.search("is:suspended")) == ["grad1"]
    assert b.bury(["attn1"]) == "Buried 1 card until tomorrow."
    assert b.row("attn1").buried_until == T0.date() + timedelta(days=1)  # type: ignore[union-attr]
    assert ids(b.search("is:buried")) == ["attn1"]
    assert b.undo() == "Undone: buried 1 card until tomorrow."
    assert ids(b.search("is:buried")) == []
    assert b.undo() == "Undone: suspended 1 card."
    assert col.store.flags(["grad1"])["grad1"].suspended is False
    assert b.undo() == "Undone: flagged 2 cards green."
    assert ids(b.search("is:flagged")) == [] and col.store.flags() == {}
    assert b.undo() is None


def test_flags_and_suspension_survive_a_new_browser(col: Collection) -> None:
    Browser(col).set_flag(["soft1/c2"], 7)
    again = Browser(col)
    assert ids(again.search("flag:7")) == ["soft1/c2"]


def test_forget_is_logged_as_manual_and_undoable(col: Collection) -> None:
    answer(col, "grad1", Rating.GOOD, T0 - timedelta(days=10))
    answer(col, "grad1", Rating.GOOD, T0 - timedelta(days=9))
    before = col.store.states(["grad1"])["grad1"]
    assert before.phase == "review"
    b = Browser(col)
    assert b.forget(["grad1", "attn1"]) == "Reset 1 card to new."  # attn1 is new already
    assert b.row("grad1").state == "new"  # type: ignore[union-attr]
    assert col.store.states(["grad1"]) == {}
    log = col.store.reviews(["grad1"])
    assert len(log) == 3 and log[-1].kind == "manual"
    assert log[-1].before == before and log[-1].after.phase == "new"
    # the manual entry is no answer: rated: does not see it
    assert ids(b.search("rated:1")) == []
    assert b.undo() == "Undone: reset 1 card to new."
    assert col.store.states(["grad1"])["grad1"] == before
    assert [e.kind for e in col.store.reviews(["grad1"])][-1] != "manual"


def test_card_info_and_page(col: Collection, dlcards_home: Path) -> None:
    b = Browser(col)
    info = b.card_info("attn1")
    assert (info.card_id, info.week, info.in_decks) == ("attn1", 2, True)
    page = b.write_page(["grad1"])
    assert page.is_file() and page.is_relative_to(dlcards_home)
    html = page.read_text(encoding="utf-8")
    assert "<math" in html and "\\frac" not in html
    assert b.file_of("attn1") == (col.root / "decks" / "week-02.md", 10)
