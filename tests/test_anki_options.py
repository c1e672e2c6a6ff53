"""The deck-options preset and new-card positions, in a real Anki collection (PyPI `anki`).

The example decks are built and imported; then `apply_preset` must leave a preset that Anki's
own deck-options reader shows with FSRS on, dlcards' limits and steps, and new cards at
positions in `curriculum_order` (what the sync writes: each note's cards at its note's
position) must make Anki's own queue (`col.sched.get_queued_cards()`) serve them in dlcards'
curriculum order, `requires` included.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES

anki_collection = pytest.importorskip(
    "anki.collection", reason="the `anki` package is not installed"
)

from dlcards.anki import options  # noqa: E402

WHEN = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


def at_positions(col: Any, card_ids: list[int]) -> None:
    """New cards at positions 1, 2, ... by note, in this order (a note's cards share its
    position; Anki shows siblings by ordinal): what the sync's options step writes."""
    rank: dict[int, int] = {}
    rows = []
    for cid in card_ids:
        nid = col.get_card(cid).nid
        rows.append((rank.setdefault(nid, len(rank) + 1), cid))
    col.db.executemany("update cards set due = ? where id = ? and type = 0", rows)


def write_deck(root: Path, name: str, front: str, cards: list[str]) -> None:
    body = "".join(f"Q: {q}?\nA: {q}.\n\n" for q in cards)
    (root / "decks" / name).write_text(f"---\n{front}---\n\n{body}", "utf-8")


def imported(tmp_path: Path, root: Path) -> tuple[Any, list[Any]]:
    from anki.import_export_pb2 import ImportAnkiPackageRequest

    from dlcards.app.collection import Collection

    with Collection.open(root, lint=False) as dl:
        result = dl.build(tmp_path / "out", when=WHEN, single=True)
        notes = list(dl.notes)
    assert result.written
    (tmp_path / "anki").mkdir()
    col = anki_collection.Collection(str(tmp_path / "anki" / "collection.anki2"))
    col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(tmp_path / "out" / "dlcards.apkg"))
    )
    col.models._clear_cache()
    return col, notes


def test_apply_preset_configures_fsrs_limits_and_steps(tmp_path: Path) -> None:
    from dlcards.system.config import Settings

    root = tmp_path / "cards"
    shutil.copytree(EXAMPLES, root / "decks")
    col, _ = imported(tmp_path, root)
    params = [round(0.2 + i / 50, 4) for i in range(21)]
    settings = Settings(
        new_per_day=10,
        reviews_per_day=40,
        desired_retention=0.87,
        learning_steps=["2m", "15m", "1h"],
        relearning_steps=["5m"],
        maximum_interval=365,
        fsrs_parameters=params,
    )
    assert not col.get_config("fsrs", False)
    conf_id = options.apply_preset(
        col, "Deep Learning", options.PresetValues.from_settings(settings)
    )
    col.close()
    col = anki_collection.Collection(str(tmp_path / "anki" / "collection.anki2"))  # read back

    assert col.get_config("fsrs") is True
    names = [n for n in col.decks.all_names_and_ids() if n.name.startswith("Deep Learning")]
    assert len(names) >= 4  # the root and the week/topic sub-decks
    for entry in names:
        assert col.decks.config_dict_for_deck_id(entry.id)["id"] == conf_id
    default = col.decks.config_dict_for_deck_id(col.decks.id("Default"))
    assert default["id"] != conf_id  # decks that are not dlcards' keep theirs

    # what Anki's deck-options screen shows (the backend's own view of the preset)
    configs = {
        c.config.id: c.config for c in col.decks.get_deck_configs_for_update(names[0].id).all_config
    }
    cfg = configs[conf_id].config
    assert cfg.new_per_day == 10 and cfg.reviews_per_day == 40
    assert list(cfg.learn_steps) == pytest.approx([2.0, 15.0, 60.0])
    assert list(cfg.relearn_steps) == pytest.approx([5.0])
    assert cfg.maximum_review_interval == 365
    assert cfg.desired_retention == pytest.approx(0.87)
    assert list(cfg.fsrs_params_6) == pytest.approx(params, rel=1e-6)

    # applying it again changes nothing
    before = col.db.scalar("select mtime_secs from deck_config where id = ?", conf_id)
    assert options.apply_preset(col, ["Deep Learning"], settings) == conf_id
    assert col.db.scalar("select mtime_secs from deck_config where id = ?", conf_id) == before
    col.close()


def test_new_cards_come_in_curriculum_order_in_ankis_queue(tmp_path: Path) -> None:
    root = tmp_path / "cards"
    (root / "decks").mkdir(parents=True)
    # file names sort against the curriculum: week first, then `requires`
    write_deck(root, "a-late.md", "deck: Course\nweek: 2\ntopic: late\n", ["late one", "late two"])
    write_deck(
        root,
        "b-needs.md",
        "deck: Course\nweek: 1\ntopic: needs\nrequires: [base]\n",
        ["needs one", "needs two"],
    )
    write_deck(root, "c-base.md", "deck: Course\nweek: 1\ntopic: base\n", ["base one", "base two"])
    (root / "decks" / "d-cloze.md").write_text(
        "---\ndeck: Course\nweek: 1\ntopic: zz\n---\n\nC: {{c2::second}} and {{c1::first}}\n",
        "utf-8",
    )
    col, notes = imported(tmp_path, root)
    order = options.curriculum_order(notes)
    fronts = {n.id: n.question for n in notes}
    from dlcards.anki.notetypes import note_guid

    text_of = {note_guid(i): q for i, q in fronts.items()}
    expected = [
        ("base one", 0),
        ("needs one", 0),  # b-needs.md waits for base's first card, then comes in file order
        ("needs two", 0),
        ("base two", 0),
        ("{{c2::second}} and {{c1::first}}", 0),
        ("{{c2::second}} and {{c1::first}}", 1),
        ("late one", 0),
        ("late two", 0),
    ]
    assert [(text_of[g].rstrip("?"), o) for g, o in order] == expected

    # scramble Anki's positions, then set them
    cids = list(col.find_cards(""))
    col.sched.reposition_new_cards(
        card_ids=cids, starting_from=1, step_size=1, randomize=True, shift_existing=False
    )
    options.apply_preset(col, "Course", options.PresetValues(new_per_day=100))
    by_key = {(col.get_card(c).note().guid, col.get_card(c).ord): c for c in cids}
    at_positions(col, [by_key[k] for k in order])

    col.decks.select(col.decks.id("Course"))
    queued = col.sched.get_queued_cards(fetch_limit=100).cards
    got = []
    for q in queued:
        card = col.get_card(q.card.id)
        got.append((card.note().guid, card.ord))
    assert got == order
    # the queue follows the positions, not the cards' creation
    reversed_ids = [by_key[k] for k in reversed(order)]
    at_positions(col, reversed_ids)
    col.decks.select(col.decks.id("Course"))
    first = col.sched.get_queued_cards(fetch_limit=1).cards[0].card.id
    assert first == reversed_ids[0]
    col.close()
