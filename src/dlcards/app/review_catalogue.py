"""The review session's card catalogue, cached (issue 16, item 2): start-up that does not read
every deck file.

What a review needs of the Markdown before the first card is shown is, per card, what a
`SessionCard` holds (id, note, curriculum order, topic, requires, week, deck, tags, file) and
the line it is on. That is kept in columns in curriculum order (`CardCatalogue`), pickled
(plain lists, tuples and strings only) in one `system.cache` slot per collection, with the
store-sync fingerprint of the deck files it was made from (`review.collection_fingerprint`).

The key follows the cache's one rule (code fingerprint, schema) plus every input of the cards:
the collection root, the settings file's bytes, the `DLCARDS_*`/`TZ` variables, and each deck
file's path, size, modification time (ns), inode and change time. An edited, added, removed or
renamed deck file, a new `dlcards.toml` or new code is a miss: the decks are read and parsed as
before and the entry is written again. The Markdown stays the source of truth; the cache only
saves reading it when nothing changed. `DLCARDS_CACHE_OFF=review-catalogue` (or `all`) turns it
off, as does `Collection(use_cache=False)`.

The cards actually shown are read from their own file (`card_note`), through the parse cache.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.review.queue import CardCatalogue
from dlcards.system.cache import Cache, Schema

if TYPE_CHECKING:
    from dlcards.app.collection import Collection
    from dlcards.core.model import Note
    from dlcards.review.cards import SessionCard
    from dlcards.system.decks import Decks

SCHEMA = Schema("review-catalogue", "1")
FileStat = tuple[int, int, int, int]  # size, mtime_ns, inode, ctime_ns


@dataclass
class Catalogue:
    """The cards (in curriculum order), the deck files' stats they were read with, and
    the store-sync fingerprint of those files."""

    cards: CardCatalogue
    files: dict[str, FileStat]
    fingerprint: str
    from_cache: bool
    errors: int = 0  # error problems in the decks (`Decks.errors`)
    code_cards: bool = False  # whether a card has a `torch` block (the runner may start)


def _cache() -> Cache[dict[str, Any]]:
    return Cache(SCHEMA, lambda v: isinstance(v, dict) and isinstance(v.get("cards"), dict))


def _slot(root: Path) -> str:
    return hashlib.sha256(str(root).encode()).hexdigest()[:24]


def _stat(path: Path) -> FileStat:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def _inputs(root: Path, lint: bool) -> tuple[list[str | bytes], dict[str, FileStat]]:
    from dlcards.system.paths import CONFIG_FILE, deck_files

    parts: list[str | bytes] = [str(root), "lint" if lint else ""]
    config = root / CONFIG_FILE
    parts.append(config.read_bytes() if config.is_file() else b"")
    env = sorted(
        (k, v)
        for k, v in os.environ.items()
        if (k.startswith("DLCARDS_") or k == "TZ")
        and k not in ("DLCARDS_NOW", "DLCARDS_CACHE_OFF")  # which caches, not what they hold
    )
    parts.append(repr(env))
    files: dict[str, FileStat] = {}
    for path in deck_files(root, None):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        files[rel] = _stat(path)
    parts.append(repr(sorted(files.items())))
    return parts, files


def session_cards_of(decks: Decks) -> list[tuple[SessionCard, Note, int]]:
    """(session card, note, ordinal) of every card of the decks, files in their order:
    `review.cards.note_session_cards(decks.notes, file order)`, with what depends only on a
    note's front matter (week, topic, requires, tags) worked out once per file (issue 16:
    50,000 cards in ~0.1 s instead of ~0.2 s; tests/test_parse_fast_startup.py compares)."""
    from dlcards.core.model import cloze_card_id
    from dlcards.review.cards import NO_WEEK, SessionCard

    order = {f.rel: i for i, f in enumerate(decks.files)}
    per_meta: dict[int, tuple[Any, ...]] = {}
    out: list[tuple[SessionCard, Note, int]] = []
    append = out.append
    for note in decks.notes:
        meta = note.meta
        known = per_meta.get(id(meta))
        if known is None or known[0] is not meta:
            week = meta.week
            known = (
                meta,
                week,
                NO_WEEK if week is None else week,
                meta.topic,
                tuple(meta.requires),
                tuple(note.tags),
            )
            per_meta[id(meta)] = known
        _, week, wk, topic, requires, tags = known
        path = note.path
        fo = order.get(path, 0)
        nid = note.id
        index = note.index
        deck = note.deck
        if note.kind == "basic":
            sc = SessionCard(
                nid, nid, (wk, fo, path, index, 1), topic, requires, week, deck, tags, path
            )
            append((sc, note, 1))
            continue
        for n in note.numbers:
            sc = SessionCard(
                cloze_card_id(nid, n),
                nid,
                (wk, fo, path, index, n),
                topic,
                requires,
                week,
                deck,
                tags,
                path,
            )
            append((sc, note, n))
    return out


def catalogue_of(decks: Decks) -> CardCatalogue:
    """`CardCatalogue.of` the cards of `session_cards_of(decks)` (with their notes' lines),
    made in columns straight from the notes: no object per card, no sort of the cards (issue
    16: a cold start's peak memory; ~12 MB and ~0.1 s less at 50,000 cards).

    The catalogue's order is (curriculum order, id), the curriculum order (week, file order,
    path, index in the file, ordinal). A file's notes come together in `decks.notes`, in their
    order in the file, with one front matter (one week): so the files are sorted by (week,
    file order, path) and their cards follow in the notes' order, each note's ordinals in
    turn. That is checked on the way (each run of notes of one path: one week, indexes
    rising; no path twice; no card id twice); anything else is made the general way
    (`CardCatalogue.of`)."""
    from dlcards.core.model import cloze_card_id
    from dlcards.review.cards import NO_WEEK

    notes = decks.notes
    order = {f.rel: i for i, f in enumerate(decks.files)}
    runs: list[tuple[tuple[int, int, str], int, int]] = []  # (week, file order, path), [lo, hi)
    lo = 0
    n = len(notes)
    while lo < n:
        first = notes[lo]
        path, meta = first.path, first.meta
        week = meta.week
        index = first.index
        hi = lo + 1
        while hi < n:
            note = notes[hi]
            if note.path != path:
                break
            if note.meta.week != week or note.index <= index:
                return _catalogue_of_cards(decks)
            index = note.index
            hi += 1
        runs.append(((NO_WEEK if week is None else week, order.get(path, 0), path), lo, hi))
        lo = hi
    if len({key for key, _, _ in runs}) != len(runs):
        return _catalogue_of_cards(decks)
    runs.sort(key=lambda run: run[0])
    group_of: dict[tuple[Any, ...], int] = {}
    tags_of: dict[tuple[str, ...], int] = {}
    per_meta: dict[int, tuple[Any, ...]] = {}
    ids: list[str] = []
    note_col: list[str | None] = []
    groups: list[int] = []
    index_col: list[int] = []
    ordinals: list[int] = []
    line_col: list[int] = []
    tag_col: list[int] = []
    for (wk, fo, path), lo, hi in runs:
        for i in range(lo, hi):
            note = notes[i]
            basic = note.kind == "basic"
            numbers = () if basic else note.numbers
            if not basic and not numbers:
                continue  # a cloze note without a deletion has no card (nor group, nor tags)
            meta = note.meta
            known = per_meta.get(id(meta))
            if known is None or known[0] is not meta:
                tags = tuple(note.tags)
                known = (
                    meta,
                    meta.topic,
                    tuple(meta.requires),
                    tags_of.setdefault(tags, len(tags_of)),
                )
                per_meta[id(meta)] = known
            _, topic, requires, tag = known
            group = group_of.setdefault(
                (wk, fo, path, meta.week, topic, requires, note.deck, path), len(group_of)
            )
            nid = note.id
            if basic:
                ids.append(nid)
                note_col.append(None)
                ordinals.append(1)
                count = 1
            else:
                count = len(numbers)
                for number in numbers:
                    ids.append(cloze_card_id(nid, number))
                    note_col.append(nid)
                    ordinals.append(number)
            groups.extend([group] * count)
            index_col.extend([note.index] * count)
            line_col.extend([note.line] * count)
            tag_col.extend([tag] * count)
    catalogue = CardCatalogue(
        {
            "ids": ids,
            "notes": note_col,
            "groups": groups,
            "index": index_col,
            "ordinals": ordinals,
            "lines": line_col,
            "tags": tag_col,
            "group_values": list(group_of),
            "tag_values": list(tags_of),
        }
    )
    if len(catalogue.pos) != len(ids):  # a card id twice (never after `assign_ids`)
        return _catalogue_of_cards(decks)
    return catalogue


def _catalogue_of_cards(decks: Decks) -> CardCatalogue:
    """The general way: every card's `SessionCard`, sorted (`CardCatalogue.of`)."""
    triples = session_cards_of(decks)
    return CardCatalogue.of([t[0] for t in triples], {t[0].id: t[1].line for t in triples})


def load(collection: Collection) -> Catalogue | None:
    """The cached catalogue when it is current for this collection, else None."""
    cache = _cache()
    if not cache.enabled or not collection.use_cache or collection.paths:
        return None
    root = collection.root
    try:
        parts, files = _inputs(root, collection.lint)
    except OSError:
        return None
    entry = cache.get(cache.key(*parts), slot=_slot(root))
    if entry is None or entry.get("files") != files:
        return None
    try:
        cards = CardCatalogue(entry["cards"])
    except (KeyError, TypeError):
        return None
    return Catalogue(
        cards,
        files,
        str(entry["fingerprint"]),
        True,
        int(entry.get("errors", 0)),
        bool(entry.get("code_cards", False)),
    )


def build(
    collection: Collection,
    decks: Decks,
    triples: list[tuple[SessionCard, Note, int]] | None = None,
) -> Catalogue:
    """The catalogue of decks just read (written to the cache for the next start);
    `triples`: their `session_cards_of`, when the caller has them."""
    from dlcards.app.review import collection_fingerprint

    if triples is None:
        cards = catalogue_of(decks)
    else:
        cards = CardCatalogue.of([t[0] for t in triples], {t[0].id: t[1].line for t in triples})
    fingerprint = collection_fingerprint(decks)
    files = {f.rel: _stat(f.path) for f in decks.files}
    errors = len(decks.errors)
    code = any(b.kind == "torch" for note in decks.notes for b in note.blocks)
    cache = _cache()
    if cache.enabled and collection.use_cache and not collection.paths:
        try:
            parts, now_files = _inputs(collection.root, collection.lint)
        except OSError:
            now_files = None
        # only what was read: a file that changed while it was being read is not cached
        if now_files == files:
            entry = {
                "cards": cards.payload(),
                "files": files,
                "fingerprint": fingerprint,
                "errors": errors,
                "code_cards": code,
            }
            cache.put(cache.key(*parts), entry, slot=_slot(collection.root))
    return Catalogue(cards, files, fingerprint, False, errors, code)


def card_note(collection: Collection, catalogue: Catalogue, card_id: str) -> Note | None:
    """The note of a catalogued card, read from its own file (through the parse cache), or
    None when the file changed since the catalogue was made (the caller reads the decks)."""
    from dlcards.system.decks import read_decks

    cards = catalogue.cards
    i = cards.pos.get(card_id)
    if i is None:
        return None
    rel, line, note_id = cards[card_id].path, cards.lines[i], cards.note_at(i)
    path = collection.root / rel
    try:
        if _stat(path) != catalogue.files.get(rel):
            return None
    except OSError:
        return None
    decks = read_decks(
        collection.root,
        [path],
        cwd=collection.cwd,
        settings=collection.settings,
        use_cache=collection.use_cache,
        lint=False,
    )
    for note in decks.notes:
        if note.path == rel and note.line == line:
            # ids are given across all files (a colliding derived id is salted): the
            # catalogue's is the collection's
            return note if note.id == note_id else note.model_copy(update={"id": note_id})
    return None
