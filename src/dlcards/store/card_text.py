"""The last known text of every card (table `card_texts`, migrations 6 and 10).

Written when the Markdown's cards are synced to the store (`Collection.sync_cards`), so a card
that left the Markdown (an orphan) stays readable: prune's relink suggestion, card info and
`dlcards info` show what it asked. The text is the raw Markdown of the note (a cloze card keeps
its note's text with the `{{cN::…}}` markers); front ends render it. It is kept as plain text
(readable in the sqlite3 shell: it is the learner's own writing).

A row is keyed by the card's number in `cards` (`card`), `updated_at` in microseconds since
1970 UTC; the view `card_text` shows the old columns (card id, ISO time) read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from dlcards.store.rows import _us

if TYPE_CHECKING:
    from dlcards.core.model import Note
    from dlcards.store.db import Store


_SELECT = (
    "SELECT c.card_id, t.question, t.answer FROM card_texts AS t JOIN cards AS c ON c.id = t.card"
)


class CardText(NamedTuple):
    card_id: str
    question: str
    answer: str


def texts_of(notes: Iterable[Note]) -> list[CardText]:
    """The text of every card of these notes (what `remember_card_texts` takes)."""
    return [CardText(cid, n.question, n.answer) for n in notes for cid in n.card_ids()]


def remember_card_texts(store: Store, texts: Iterable[CardText], now: datetime) -> int:
    """Keep these cards' text (cards the store knows only; unchanged rows are not rewritten).
    Returns the number of rows written."""
    stamp = _us(now)
    rows = [(t.card_id, t.question, t.answer, stamp) for t in texts]
    if not rows:
        return 0
    with store._tx() as conn:
        before = conn.total_changes
        conn.executemany(
            "INSERT INTO card_texts (card, question, answer, updated_at) "
            "SELECT id, ?2, ?3, ?4 FROM cards WHERE card_id = ?1 "
            "ON CONFLICT (card) DO UPDATE SET question = excluded.question, "
            "answer = excluded.answer, updated_at = excluded.updated_at "
            "WHERE card_texts.question IS NOT excluded.question "
            "OR card_texts.answer IS NOT excluded.answer",
            rows,
        )
        return conn.total_changes - before


def last_known_text(store: Store, card_id: str) -> CardText | None:
    """The card's last known question and answer, or None when the store never saw its text."""
    row = store.conn.execute(_SELECT + " WHERE c.card_id = ?", (card_id,)).fetchone()
    return None if row is None else CardText(*row)


def last_known_texts(store: Store, card_ids: Iterable[str] | None = None) -> dict[str, CardText]:
    """The last known text of these cards (all when None), by card id."""
    if card_ids is None:
        return {r[0]: CardText(*r) for r in store.conn.execute(_SELECT)}
    out: dict[str, CardText] = {}
    for cid in dict.fromkeys(card_ids):
        row = store.conn.execute(_SELECT + " WHERE c.card_id = ?", (cid,)).fetchone()
        if row is not None:
            out[cid] = CardText(*row)
    return out
