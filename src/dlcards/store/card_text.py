"""The last known text of every card (table `card_text`, migration 6).

Written when the Markdown's cards are synced to the store (`Collection.sync_cards`), so a card
that left the Markdown (an orphan) stays readable: prune's relink suggestion, card info and
`dlcards info` show what it asked. The text is the raw Markdown of the note (a cloze card keeps
its note's text with the `{{cN::…}}` markers); front ends render it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from dlcards.store.rows import _ts

if TYPE_CHECKING:
    from dlcards.core.model import Note
    from dlcards.store.db import Store


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
    stamp = _ts(now)
    rows = [(t.card_id, t.question, t.answer, stamp) for t in texts]
    if not rows:
        return 0
    with store._tx() as conn:
        before = conn.total_changes
        conn.executemany(
            "INSERT INTO card_text (card_id, question, answer, updated_at) "
            "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM cards WHERE card_id = ?1) "
            "ON CONFLICT (card_id) DO UPDATE SET question = excluded.question, "
            "answer = excluded.answer, updated_at = excluded.updated_at "
            "WHERE card_text.question IS NOT excluded.question "
            "OR card_text.answer IS NOT excluded.answer",
            rows,
        )
        return conn.total_changes - before


def last_known_text(store: Store, card_id: str) -> CardText | None:
    """The card's last known question and answer, or None when the store never saw its text."""
    row = store.conn.execute(
        "SELECT card_id, question, answer FROM card_text WHERE card_id = ?", (card_id,)
    ).fetchone()
    return None if row is None else CardText(*row)


def last_known_texts(store: Store, card_ids: Iterable[str] | None = None) -> dict[str, CardText]:
    """The last known text of these cards (all when None), by card id."""
    sql = "SELECT card_id, question, answer FROM card_text"
    if card_ids is None:
        return {r[0]: CardText(*r) for r in store.conn.execute(sql)}
    out: dict[str, CardText] = {}
    for cid in dict.fromkeys(card_ids):
        row = store.conn.execute(sql + " WHERE card_id = ?", (cid,)).fetchone()
        if row is not None:
            out[cid] = CardText(*row)
    return out
