"""dlcards' scheduling choices, written into an Anki collection: a deck-options preset and the
new cards' positions. Each function takes an open `anki.collection.Collection`.

- `apply_preset`: a preset named "dlcards" with FSRS on, the desired retention, learning and
  relearning steps, maximum interval, daily new/review limits and (when set) the FSRS
  parameters from dlcards' settings, assigned to the dlcards deck roots and all their
  sub-decks. New cards are gathered by position and not re-sorted by template, so Anki shows
  them in the order of the positions the sync gives them (`anki.sync.incremental`).
- `curriculum_order`: the order dlcards introduces new cards (week, file, position in the
  file, cloze number; a file that `requires` topics comes after the first card of each, as
  the review session holds it back until they are started), as (note GUID, Anki ordinal).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dlcards.core.model import Note

PRESET_NAME = "dlcards"
GATHER_LOWEST_POSITION = 1  # NewCardGatherPriority.NEW_CARD_GATHER_PRIORITY_LOWEST_POSITION
SORT_NO_SORT = 1  # NewCardSortOrder.NEW_CARD_SORT_ORDER_NO_SORT: keep the gather order


@dataclass(frozen=True)
class PresetValues:
    """The settings a preset carries, as plain values (steps in seconds)."""

    desired_retention: float = 0.9
    learning_steps: tuple[float, ...] = (60.0, 600.0)
    relearning_steps: tuple[float, ...] = (600.0,)
    maximum_interval: int = 36500
    new_per_day: int = 20
    reviews_per_day: int = 200
    fsrs_parameters: tuple[float, ...] | None = None
    leech_threshold: int | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> PresetValues:
        """From dlcards' Settings (or anything with the same attribute names; steps as "10m")."""
        from dlcards.system.config import parse_step

        def steps(values: Iterable[Any]) -> tuple[float, ...]:
            return tuple(
                float(v) if isinstance(v, int | float) else parse_step(str(v)) for v in values
            )

        params = getattr(settings, "fsrs_parameters", None)
        return cls(
            desired_retention=float(settings.desired_retention),
            learning_steps=steps(settings.learning_steps),
            relearning_steps=steps(settings.relearning_steps),
            maximum_interval=int(settings.maximum_interval),
            new_per_day=int(settings.new_per_day),
            reviews_per_day=int(settings.reviews_per_day),
            fsrs_parameters=tuple(float(p) for p in params) if params else None,
            leech_threshold=getattr(settings, "leech_threshold", None),
        )


def _minutes(steps: Sequence[float]) -> list[float]:
    return [round(s / 60.0, 4) for s in steps]


def apply_preset(col: Any, deck_names: str | Sequence[str], values: PresetValues | Any) -> int:
    """Create or update the "dlcards" preset and assign it to these decks and their sub-decks
    (created when missing); FSRS is switched on for the collection. Returns the preset id.
    Writes only what differs, so applying it twice changes nothing the second time."""
    if not isinstance(values, PresetValues):
        values = PresetValues.from_settings(values)
    names = [deck_names] if isinstance(deck_names, str) else list(deck_names)
    conf = next((c for c in col.decks.all_config() if c["name"] == PRESET_NAME), None)
    if conf is None:
        conf = col.decks.get_config(col.decks.add_config_returning_id(PRESET_NAME))
    wanted: dict[tuple[str, ...], Any] = {
        ("new", "perDay"): values.new_per_day,
        ("rev", "perDay"): values.reviews_per_day,
        ("new", "delays"): _minutes(values.learning_steps),
        ("lapse", "delays"): _minutes(values.relearning_steps),
        ("rev", "maxIvl"): values.maximum_interval,
        ("desiredRetention",): values.desired_retention,
        ("newGatherPriority",): GATHER_LOWEST_POSITION,
        ("newSortOrder",): SORT_NO_SORT,
    }
    if values.leech_threshold is not None:
        wanted[("lapse", "leechFails")] = values.leech_threshold
    if values.fsrs_parameters is not None:
        wanted[("fsrsParams6",)] = list(values.fsrs_parameters)
    changed = False
    for path, value in wanted.items():
        holder = conf
        for key in path[:-1]:
            holder = holder[key]
        if not _close(holder.get(path[-1]), value):
            holder[path[-1]] = value
            changed = True
    if changed:
        col.decks.update_config(conf)
    if not col.get_config("fsrs", False):
        col.set_config("fsrs", True)
    for name in names:
        for did in col.decks.deck_and_child_ids(col.decks.id(name)):
            deck = col.decks.get(did)
            if deck and not deck.get("dyn") and deck.get("conf") != conf["id"]:
                deck["conf"] = conf["id"]
                col.decks.save(deck)
    return int(conf["id"])


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-6
    return bool(a == b)


def curriculum_order(notes: Iterable[Note]) -> list[tuple[str, int]]:
    """(note GUID, Anki card ordinal) of every card, in the order dlcards introduces them.

    The review session's order (week, file, position, cloze number), with `requires` made
    static: a card whose file requires a topic of the collection waits until the first card of
    that topic has been placed (the session starts a topic with its first card). Cycles are
    placed at the end, in session order.
    """
    from dlcards.anki.notetypes import note_guid

    guids: dict[str, str] = {}
    out = []
    for note, ord_ in _curriculum(notes):
        guid = guids.get(note.id)
        if guid is None:
            guid = guids[note.id] = note_guid(note.id)
        out.append((guid, ord_))
    return out


def note_positions(notes: Iterable[Note]) -> dict[str, int]:
    """Each note's position (from 1) in `curriculum_order`: its first card's."""
    out: dict[str, int] = {}
    for position, (note, _) in enumerate(_curriculum(notes), start=1):
        out.setdefault(note.id, position)
    return out


def _curriculum(notes: Iterable[Note]) -> list[tuple[Note, int]]:
    """(note, Anki ordinal) of every card in curriculum order (see `curriculum_order`)."""
    from dlcards.review.cards import note_session_cards

    cards = note_session_cards(notes)
    known = {sc.topic for sc, _, _ in cards if sc.topic}
    ready: list[tuple[tuple[Any, ...], int]] = []
    waiting: list[tuple[tuple[Any, ...], int, set[str]]] = []
    for i, (sc, _, _) in enumerate(cards):
        needs = {t for t in sc.requires if t in known and t != sc.topic}
        if needs:
            waiting.append((sc.order, i, needs))
        else:
            ready.append((sc.order, i))
    heapq.heapify(ready)
    started: set[str] = set()
    out: list[tuple[Note, int]] = []
    while ready or waiting:
        if not ready:  # a cycle: place the rest in session order
            waiting.sort()
            for order, i, _ in waiting:
                heapq.heappush(ready, (order, i))
            waiting = []
        _, i = heapq.heappop(ready)
        sc, note, ordinal = cards[i]
        out.append((note, 0 if note.kind == "basic" else ordinal - 1))
        if sc.topic and sc.topic not in started:
            started.add(sc.topic)
            if waiting:
                still = []
                for order, j, needs in waiting:
                    needs.discard(sc.topic)
                    if needs:
                        still.append((order, j, needs))
                    else:
                        heapq.heappush(ready, (order, j))
                waiting = still
    return out
