"""The Anki note types and GUIDs are a promise to every user's Anki collection: pinned here.

If one of these tests fails, you changed something Anki uses to match notes on import. Adding,
removing, renaming or reordering a field, changing a note type id, or changing the GUID recipe
makes every existing note in every user's Anki conflict or duplicate on the next import.
Revert the change; templates and CSS may change freely.
"""

from __future__ import annotations

import genanki

from dlcards.anki import notetypes as anki


def test_note_type_ids_and_fields_are_frozen() -> None:
    assert (anki.BASIC_MODEL_ID, anki.CLOZE_MODEL_ID) == (1_436_918_307, 1_732_044_451)
    assert anki.BASIC_FIELDS == ("Front", "Back", "Extra", "Context", "Source", "DlcId", "Spare")
    assert anki.CLOZE_FIELDS == ("Text", "Back Extra", "Context", "Source", "DlcId", "Spare")
    models = anki.models()
    assert [f["name"] for f in models["basic"].fields] == list(anki.BASIC_FIELDS)
    assert [f["name"] for f in models["cloze"].fields] == list(anki.CLOZE_FIELDS)
    assert models["cloze"].model_type == genanki.Model.CLOZE
    assert (
        models["basic"].model_id == anki.BASIC_MODEL_ID
        and models["cloze"].model_id == anki.CLOZE_MODEL_ID
    )


def test_field_values_follow_the_frozen_order() -> None:
    from dlcards.core.parse import parse_text

    basic, cloze = parse_text(
        "# Ctx\n\nQ: q <!-- id: b1 -->\nA: a\n\nC: {{c1::x}} <!-- id: c1 -->\n", "decks/f.md"
    ).notes
    b = dict(
        zip(
            anki.BASIC_FIELDS,
            anki.anki_fields(basic, {"front": "F", "back": "B", "extra": "E"}, "S"),
            strict=True,
        )
    )
    assert b == {
        "Front": "F",
        "Back": "B",
        "Extra": "E",
        "Context": "Ctx",
        "Source": "S",
        "DlcId": "b1",
        "Spare": "",
    }
    c = dict(
        zip(
            anki.CLOZE_FIELDS,
            anki.anki_fields(cloze, {"text": "T", "extra": "X"}, "S"),
            strict=True,
        )
    )
    assert c == {
        "Text": "T",
        "Back Extra": "X",
        "Context": "Ctx",
        "Source": "S",
        "DlcId": "c1",
        "Spare": "",
    }


def test_guid_depends_on_the_card_id_only() -> None:
    assert anki.note_guid("7kq2m9xd") == genanki.guid_for("dlcards", "7kq2m9xd")
    assert anki.note_guid("7kq2m9xd") != anki.note_guid("7kq2m9xe")


def test_deck_names_and_tags() -> None:
    from dlcards.core.parse import parse_text

    head = "---\ndeck: Deep Learning\nweek: 3\ntopic: softmax\ntags: [classification]\n---\n\nQ: q\nA: a\n"
    note = parse_text(head, "decks/f.md").notes[0]
    assert anki.deck_name(note) == "Deep Learning::Week 03 · softmax"
    assert anki.note_tags(note) == (
        "dlcards",
        "dlcards::week::03",
        "dlcards::topic::softmax",
        "dlcards::tag::classification",
    )
    assert anki.safe_tag('two words"') == "two_words_"
    only_root = parse_text("Q: q\nA: a\n", "decks/g.md", default_deck="Mine").notes[0]
    assert anki.deck_name(only_root) == "Mine"
