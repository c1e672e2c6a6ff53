"""Issue 14, item 4's rough edges: the store keeps each card's last known text (orphans stay
readable), card info / `info` / prune / `stats --week --markdown` show the whole question with
math rendered and local times, flags in seven colours, prune's `d` asks, the done screen shows
tomorrow's load. Real collection files, real SQLite store, real Textual pilot."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.app.collection import Collection
from dlcards.cli.main import main
from dlcards.core.state import CardState, parse_utc
from dlcards.store import Store
from dlcards.store.card_text import last_known_text, last_known_texts
from test_stats_tui import NOW, build_collection, run_async

TOKYO = ZoneInfo("Asia/Tokyo")
OLD_Q = "Why subtract the max logit?"
OLD_A = "For numerical stability; the result is unchanged."
NEW_Q = "Why subtract the largest logit $\\max_j z_j$ before $\\exp$?"


@pytest.fixture
def edges_root(collection: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stats collection in Tokyo time; its cards synced through the collection (texts
    kept), then `sm-max` re-identified as `sm-max2` with a new question: an orphan."""
    monkeypatch.setenv("DLCARDS_NOW", NOW.isoformat())
    root = build_collection(collection)
    (root / "dlcards.toml").write_text('[dlcards]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    with Collection.open(root) as col:
        col.sync_cards()
        col.store.set_flag("sm-max", 5)  # pink
        col.store.set_flag("gr-part", 2)  # orange
    soft = root / "decks" / "softmax.md"
    soft.write_text(
        soft.read_text(encoding="utf-8")
        .replace("<!-- id: sm-max -->", "<!-- id: sm-max2 -->")
        .replace(OLD_Q, NEW_Q),
        encoding="utf-8",
    )
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


# -- the store keeps the text --------------------------------------------------------------
def test_store_keeps_the_last_known_text_of_an_orphan(edges_root: Path) -> None:
    with Collection.open(edges_root) as col:
        col.sync_cards()  # the file now has sm-max2, not sm-max
        store = col.store
        assert store.schema_version >= 6
        old = last_known_text(store, "sm-max")
        assert old is not None and (old.question, old.answer) == (OLD_Q, OLD_A)
        assert "sm-max" in {o.card_id for o in store.orphans()}
        new = last_known_texts(store, ["sm-max2", "nope"])
        assert list(new) == ["sm-max2"] and new["sm-max2"].question == NEW_Q
        # a cloze card keeps its note's text, markers included
        assert "{{c1::adding a constant}}" in last_known_texts(store)["sm-inv/c1"].question
    with Store.open() as store:  # written, not only cached: a fresh connection sees it
        assert last_known_text(store, "sm-max") == old


# -- info of an orphan, local times, flags --------------------------------------------------
def test_info_of_an_orphan_shows_its_last_known_text_in_local_time(
    edges_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "-C", str(edges_root), "info", "sm-max")
    assert code == 0, out
    assert out.startswith("Card sm-max  decks/softmax.md:10  (orphaned: no longer in any deck")
    assert "⚑ pink flag" in out.splitlines()[0]
    assert f"Last known text:\nQ: {OLD_Q}\nA: {OLD_A}" in out
    with Store.open() as store:
        first = store.reviews(["sm-max"])[0].time
    local = first.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    assert first.strftime("%Y-%m-%d %H:%M") != local  # the test can tell the zones apart
    assert "time (Asia/Tokyo)" in out and f"\n{local} " in out and "UTC" not in out


def test_info_renders_math_and_the_whole_question(
    edges_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "-C", str(edges_root), "info", "sm-max2")
    assert code == 0, out
    assert "Q: Why subtract the largest logit max" in out and "before exp?" in out
    assert "$" not in out and "\\max" not in out


def test_info_and_prune_json_carry_the_flag(
    edges_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "-C", str(edges_root), "info", "gr-part", "--json")
    info = json.loads(out)
    assert code == 0 and info["flag"] == 2 and info["timezone"] == "Asia/Tokyo"
    code, out = run(capsys, "-C", str(edges_root), "info", "sm-max", "--json")
    orphan = json.loads(out)
    assert (orphan["in_decks"], orphan["question"], orphan["answer"], orphan["flag"]) == (
        False,
        OLD_Q,
        OLD_A,
        5,
    )
    code, out = run(capsys, "-C", str(edges_root), "prune", "--json")
    items = {it["card_id"]: it for it in json.loads(out)["items"]}
    assert code == 0
    assert items["sm-max"]["flag"] == 5 and items["gr-part"]["flag"] == 2
    assert items["sm-max"]["question"] == OLD_Q
    assert (items["sm-max"]["relink_to"], items["sm-max"]["relink_question"]) == (
        "sm-max2",
        NEW_Q,
    )


def test_prune_text_shows_both_questions_of_a_relink(
    edges_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "-C", str(edges_root), "prune", "--text")
    assert code == 0, out
    block = out[out.index("sm-max  was at decks/softmax.md:") :]
    assert "⚑ pink" in block.splitlines()[0]
    assert f"       was: {OLD_Q}\n" in block
    assert "       now sm-max2: Why subtract the largest logit max" in block
    assert "$" not in block.split("- orphan")[0]


# -- TUI: card info of an orphan, flag colours in prune ------------------------------------
@run_async
async def test_prune_card_info_of_an_orphan_shows_its_last_known_text(edges_root: Path) -> None:
    from dlcards.tui.prune_app import build_prune_app
    from dlcards.tui.screens.card_info import CardInfoScreen
    from test_prune_tui import select

    app = build_prune_app(Collection.open(edges_root))
    async with app.run_test(size=(80, 30)) as pilot:
        await select(pilot, app, "sm-max")
        from textual.widgets import DataTable

        row = app.screen.query_one(DataTable).get_row("sm-max")
        assert str(row[2]) == "sm-max ⚑"  # flagged cards are marked in the list too
        detail = str(app.screen.query_one("#prune-detail").render())
        assert f"was: {OLD_Q}" in detail and "now sm-max2: Why subtract the largest" in detail
        assert "⚑ pink" in detail
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, CardInfoScreen)
        head = str(app.screen.query_one("#info-head").render())
        assert "orphaned" in head and "last known text" in head and "⚑ pink" in head
        assert f"Q: {OLD_Q}" in head and f"A: {OLD_A}" in head
        assert "(Asia/Tokyo)" in head
        table = app.screen.query_one("#history")
        assert "Asia/Tokyo" in str(table.ordered_columns[0].label)
    app.workspace.col.close()


# -- the done screen: tomorrow's load, no alphabetical waiting list ------------------------
@run_async
async def test_done_screen_shows_tomorrows_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.app.review import Limits
    from dlcards.tui.app import build_review_app
    from dlcards.tui.screens.done import DoneScreen
    from tui_collection import NOW as TUI_NOW
    from tui_collection import make_collection

    monkeypatch.setenv("DLCARDS_NOW", TUI_NOW)
    now = parse_utc(TUI_NOW)  # 09:00 UTC; study days start at 04:00
    root = make_collection(tmp_path / "col")
    with Collection.open(root) as col:
        col.sync_cards()
        col.store.set_states(
            [
                CardState(  # a review due tomorrow
                    "grad1", "review", None, 10.0, 5.0, now + timedelta(days=1), now, 3, 0, 10
                ),
                CardState(  # relearning, due tomorrow
                    "soft1/c2", "relearning", 0, 1.0, 7.0, now + timedelta(hours=25), now, 4, 1, 0
                ),
                CardState(  # due in a month: not tomorrow
                    "soft1/c1", "review", None, 30.0, 5.0, now + timedelta(days=30), now, 3, 0, 30
                ),
            ]
        )
        # code1 and attn1 are new: none today (--new-limit 0), up to 20 tomorrow
        app = build_review_app(col, limits=Limits(new=0))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, DoneScreen)
            summary = str(app.screen.query_one("#summary").render())
            assert "Tomorrow: 1 due + 1 learning + 2 new = 4 cards." in summary
            assert "wait until you start" not in summary and ".." not in summary


def test_tomorrows_new_cards_are_capped_by_the_review_limit() -> None:
    """Anki v3: the review limit caps new cards too."""
    from dlcards.review.cards import SessionCard
    from dlcards.review.limits import Policy
    from dlcards.review.session import Session
    from dlcards.tui.screens.done import tomorrow_load

    now = parse_utc("2026-01-05T09:00:00Z")
    due = now + timedelta(days=1)
    cards = [SessionCard(f"r{i}", f"r{i}", (1, i)) for i in range(3)]
    cards += [SessionCard(f"n{i}", f"n{i}", (2, i)) for i in range(5)]
    states = [CardState(f"r{i}", "review", None, 5.0, 5.0, due, now, 2, 0, 5) for i in range(3)]
    session = Session(
        cards,
        {s.card_id: s for s in states},
        {},
        [],
        None,
        Policy(),
        now,  # type: ignore[arg-type]
    )
    assert tomorrow_load(session, new_per_day=20, reviews_per_day=200).total == 8
    load = tomorrow_load(session, new_per_day=20, reviews_per_day=4)
    assert (load.reviews, load.learning, load.new) == (3, 0, 1)
    load = tomorrow_load(session, new_per_day=2, reviews_per_day=2)
    assert (load.reviews, load.new) == (2, 0)


# -- stats --week --markdown: the whole question --------------------------------------------
def test_week_markdown_shows_the_whole_question() -> None:
    from dlcards.insights.week import HardCard, week_markdown, week_summary

    empty = week_summary([], [], {}, week=3, now=NOW)
    question = (
        "Given $y = \\mathrm{softmax}(z)$, what is the\n"
        "```check\ndiff(x, x) == 1\n```\n"
        "Jacobian $\\partial y_i / \\partial z_j$ of {{c1::the output}}?"
    )
    summary = dataclasses.replace(
        empty, hardest_cards=(HardCard("sm-j", 4, 3, 8.5, question, "decks/a.md:3", "softmax"),)
    )
    md = week_markdown(summary)
    assert "- 3 × Again in 4 reviews, difficulty 8.5:" in md
    assert "  Given $y = \\mathrm{softmax}(z)$, what is the\n" in md  # math kept for a blog
    assert "  Jacobian $\\partial y_i / \\partial z_j$ of **the output**?" in md
    assert "check" not in md and "{{" not in md


def test_readable_opens_cloze_and_renders_math() -> None:
    from dlcards.insights.cardinfo import readable

    text = readable("Softmax is invariant to {{c1::adding $c$::what}} to every\nlogit $z_i$.")
    assert text == "Softmax is invariant to adding c to every\nlogit zᵢ."


@run_async
async def test_review_flags_in_seven_colours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`f` opens the colour picker (1-7, 0 none, escape keeps); Ctrl+1..7 set a colour at once."""
    from dlcards.tui.app import build_review_app
    from dlcards.tui.screens.confirm import FlagScreen
    from tui_collection import NOW as TUI_NOW
    from tui_collection import make_collection

    monkeypatch.setenv("DLCARDS_NOW", TUI_NOW)
    with Collection.open(make_collection(tmp_path / "col")) as col:
        app = build_review_app(col)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            scr = app.screen
            card = scr.card_id  # type: ignore[attr-defined]
            await pilot.press("f")
            await pilot.pause()
            assert isinstance(app.screen, FlagScreen)
            picker = str(app.screen.query_one("#flag-picker").render())
            assert "1 ⚑ red" in picker and "7 ⚑ purple" in picker
            await pilot.press("7")
            await pilot.pause()
            assert app.screen is scr and col.store.flags()[card].flag == 7
            await pilot.press("ctrl+6")
            await pilot.pause()
            assert col.store.flags()[card].flag == 6
            code, out = 0, json.dumps(col.card_info(card).to_dict())
            assert code == 0 and json.loads(out)["flag"] == 6
