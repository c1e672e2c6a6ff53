"""Anki note types, GUIDs, deck names and tags: the decisions that must never drift.

Anki matches an imported note to the one it already has by GUID, and accepts the update only
when the note type has the same id *and the same fields* (names, order). So:

- the two note types below have fixed ids and frozen field lists (with a spare field each).
  Templates and CSS may change freely: Anki updates them in place when the package is newer.
  NEVER add, remove, rename or reorder a field: every existing note would then conflict;
- a note's GUID is `genanki.guid_for("dlcards", note_id)`, never genanki's default (a hash of
  all fields, which turns every edit into a duplicate note);
- a note's modification time is the time its content (note type, fields, tags) last changed,
  kept by dlcards (`dlcards.store.anki_notes`), never the build time: Anki updates a note only
  when the incoming one is newer, and an update it did not need is churn (sync pushes it,
  `edited:1` matches it, the learner's tags go). The note types' mtime likewise changes only
  with their templates/CSS;
- dlcards' tags are namespaced (`dlcards::week::03`, `dlcards::topic::softmax`,
  `dlcards::tag::<file tag>`, `dlcards::deleted`), so Anki's own (`marked`, `leech`, the
  learner's) are never dlcards'.

This module is the only one (with `package.py`) that imports genanki, and only inside
functions, so `dlcards --help` never loads it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from dlcards.core.model import Note

BASIC_MODEL_ID = 1_436_918_307
CLOZE_MODEL_ID = 1_732_044_451
BASIC_MODEL_NAME = "dlcards Basic"
CLOZE_MODEL_NAME = "dlcards Cloze"

# Frozen. See the module docstring before touching these two lists.
BASIC_FIELDS = ("Front", "Back", "Extra", "Context", "Source", "DlcId", "Spare")
CLOZE_FIELDS = ("Text", "Back Extra", "Context", "Source", "DlcId", "Spare")

GUID_NAMESPACE = "dlcards"
ROOT_TAG = "dlcards"
TAG_PREFIX = "dlcards::"
DELETED_TAG = "dlcards::deleted"
ORPHAN_DECK = "Orphaned"  # `<root>::Orphaned`: notes whose cards are gone from the Markdown
TAG_UNSAFE_RE = re.compile(r'[\s"]+')

_CONTEXT = '{{#Context}}<div class="dlc-context">{{Context}}</div>{{/Context}}\n'
_SOURCE = '{{#Source}}<div class="dlc-source">{{Source}}</div>{{/Source}}'
BASIC_QFMT = _CONTEXT + '<div class="dlc-front">{{Front}}</div>'
BASIC_AFMT = (
    "{{FrontSide}}\n<hr id=answer>\n"
    '<div class="dlc-back">{{Back}}</div>\n'
    '{{#Extra}}<div class="dlc-extra">{{Extra}}</div>{{/Extra}}\n' + _SOURCE
)
CLOZE_QFMT = _CONTEXT + '<div class="dlc-text">{{cloze:Text}}</div>'
CLOZE_AFMT = (
    _CONTEXT + '<div class="dlc-text">{{cloze:Text}}</div>\n'
    '{{#Back Extra}}<div class="dlc-extra">{{Back Extra}}</div>{{/Back Extra}}\n' + _SOURCE
)

BASE_CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: #1d1d1f; background: #fff;
  max-width: 46em; margin: 0 auto; padding: 0 0.5em; }
.nightMode.card, .night_mode .card { color: #e6e6e6; background: #1e1e1e; }
.dlc-context { font-size: 0.7em; color: #888; margin-bottom: 0.6em; }
.dlc-source { font-size: 0.6em; color: #999; margin-top: 1.2em; font-family: monospace; }
.dlc-extra { margin-top: 0.8em; }
.dlc-verified { display: inline-block; font-size: 0.65em; color: #1a7f37; border: 1px solid #1a7f37;
  border-radius: 0.8em; padding: 0.05em 0.6em; margin: 0.2em 0.3em 0.2em 0; }
.nightMode .dlc-verified { color: #56d364; border-color: #56d364; }
.dlc-label { font-size: 0.6em; color: #888; text-transform: uppercase; letter-spacing: 0.05em; }
.dlc-code pre { font-size: 0.8em; padding: 0.6em 0.8em; border-radius: 6px; overflow-x: auto;
  text-align: left; }
code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; font-size: 0.9em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; }
img { max-width: 100%; }
.cloze { font-weight: bold; color: #0550ae; } .nightMode .cloze { color: #79c0ff; }
"""


@dataclass(frozen=True)
class AnkiNote:
    """Everything Anki needs for one note, before genanki is involved."""

    note_id: str
    kind: str  # "basic" | "cloze"
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str
    due: int
    ords: tuple[int, ...]  # Anki card ordinals: (0,) for basic, cloze number - 1 for cloze
    mtime: int = 0  # seconds: when this content was first built (0: the package's time)

    @property
    def digest(self) -> str:
        return content_digest(self.kind, self.fields, self.tags)


def content_digest(kind: str, fields: tuple[str, ...], tags: tuple[str, ...]) -> str:
    """What Anki receives of a note (note type, fields, tags), hashed."""
    return hashlib.sha256("\x1f".join((kind, *fields, "\0tags", *tags)).encode()).hexdigest()


def note_guid(note_id: str) -> str:
    """The Anki GUID of a dlcards note: stable for the note's life, whatever its text."""
    import genanki

    return str(genanki.guid_for(GUID_NAMESPACE, note_id))


def deck_name(note: Note) -> str:
    """`Root::Week 03 · softmax` (or `Root::Week 03`, `Root::softmax`, `Root`)."""
    week, topic = note.meta.week, note.meta.topic
    if week is not None and topic:
        return f"{note.deck}::Week {week:02d} · {topic}"
    if week is not None:
        return f"{note.deck}::Week {week:02d}"
    if topic:
        return f"{note.deck}::{topic}"
    return note.deck


def deck_id(name: str) -> int:
    """A stable deck id from the deck's name (Anki matches decks by name on import anyway)."""
    digest = hashlib.sha256(f"dlcards-deck\0{name}".encode()).digest()
    return (1 << 40) + int.from_bytes(digest[:5], "big")


def safe_tag(tag: str) -> str:
    """Anki tags cannot contain spaces (or quotes)."""
    return TAG_UNSAFE_RE.sub("_", tag.strip()) or "_"


def note_tags(note: Note) -> tuple[str, ...]:
    """dlcards' tags of a note: `dlcards`, `dlcards::week::NN`, `dlcards::topic::<topic>`,
    `dlcards::tag::<tag>` per file tag. All under `dlcards::`: Anki's own are never touched."""
    meta = note.meta
    return _tags_for(tuple(meta.tags), meta.week, meta.topic)


@lru_cache(maxsize=1024)
def _tags_for(tags: tuple[str, ...], week: int | None, topic: str | None) -> tuple[str, ...]:
    # tags depend only on the file's front matter (as `Note.tags`), so they are computed per file
    own = [ROOT_TAG]
    if week is not None:
        own.append(f"{TAG_PREFIX}week::{week:02d}")
    if topic:
        own.append(f"{TAG_PREFIX}topic::{safe_tag(topic)}")
    own += [f"{TAG_PREFIX}tag::{safe_tag(t)}" for t in tags]
    return tuple(dict.fromkeys(own))


def source_text(display_path: str, line: int | None = None) -> str:
    """The Source field: the deck file (and the line, when given). `dlcards build` gives the
    file only: a line number would change, and update the note in Anki, whenever a card above
    it in the file gains or loses a line."""
    from dlcards.anki.html import escape

    return escape(display_path if line is None else f"{display_path}:{line}")


def context_text(note: Note) -> str:
    return _context(note.context)


@lru_cache(maxsize=4096)
def _context(headings: tuple[str, ...]) -> str:
    from dlcards.anki.html import escape

    return " › ".join(escape(h) for h in headings if h)


def anki_fields(note: Note, html: dict[str, str], source: str) -> tuple[str, ...]:
    """The field values in the frozen order of the note's type."""
    context = context_text(note)
    if note.kind == "basic":
        # same order as BASIC_FIELDS
        return (html["front"], html["back"], html["extra"], context, source, note.id, "")
    # same order as CLOZE_FIELDS
    return (html["text"], html["extra"], context, source, note.id, "")


def css() -> str:
    from dlcards.anki.html import pygments_css

    return BASE_CSS + pygments_css()


MODEL_IDS = {"basic": BASIC_MODEL_ID, "cloze": CLOZE_MODEL_ID}


def model_digests() -> dict[int, str]:
    """Per note type id, a hash of everything a note type carries (name, fields, templates,
    CSS, kind): its modification time changes only when this does."""
    import json

    out = {}
    for kind, model in models().items():
        payload = json.dumps(
            [
                model.name,
                model.fields,
                model.templates,
                model.css,
                model.model_type,
                model.sort_field_index,
            ],
            sort_keys=True,
            default=str,
        )
        out[MODEL_IDS[kind]] = hashlib.sha256(payload.encode()).hexdigest()
    return out


def models(mtimes: dict[int, int] | None = None) -> dict[str, Any]:
    """The two genanki models (note types), keyed by note kind; `mtimes` (per note type id,
    seconds) replaces the package time as their modification time."""
    import genanki

    class DlcardsModel(genanki.Model):
        def to_json(self, timestamp: float, deck_id: int) -> dict[str, Any]:
            mtime = (mtimes or {}).get(self.model_id)
            return dict(super().to_json(timestamp if mtime is None else mtime, deck_id))

    style = css()
    basic = DlcardsModel(
        BASIC_MODEL_ID,
        BASIC_MODEL_NAME,
        fields=[{"name": name} for name in BASIC_FIELDS],
        templates=[{"name": "Card 1", "qfmt": BASIC_QFMT, "afmt": BASIC_AFMT}],
        css=style,
        model_type=genanki.Model.FRONT_BACK,
        sort_field_index=0,
    )
    cloze = DlcardsModel(
        CLOZE_MODEL_ID,
        CLOZE_MODEL_NAME,
        fields=[{"name": name} for name in CLOZE_FIELDS],
        templates=[{"name": "Cloze", "qfmt": CLOZE_QFMT, "afmt": CLOZE_AFMT}],
        css=style,
        model_type=genanki.Model.CLOZE,
        sort_field_index=0,
    )
    return {"basic": basic, "cloze": cloze}


def _note_class() -> Any:
    """genanki.Note, minus work that is redundant for notes we generate ourselves.

    genanki re-derives each note's cards with regexes over the fields, and scans every field
    for "invalid HTML" (warning on MathJax like `\\(a<b\\)`): we know the cards (one per cloze
    number) and produce the HTML, so both are skipped. The rows written are the same.
    """
    import genanki

    class DlcardsNote(genanki.Note):
        def __init__(
            self,
            model: Any,
            fields: list[str],
            tags: list[str],
            guid: str,
            due: int,
            ords: list[int],
            mtime: int = 0,
        ):
            self.model = model
            self.mtime = mtime
            self.fields = fields
            self._sort_field = fields[0]
            self._tags = tags
            self.due = due
            self._guid = guid
            self.cards = [genanki.Card(o) for o in ords]

        @property
        def tags(self) -> list[str]:
            return self._tags

        @tags.setter
        def tags(self, value: list[str]) -> None:
            self._tags = list(value)

        def _check_invalid_html_tags_in_fields(self) -> None:
            return None

        def write_to_db(self, cursor: Any, timestamp: float, deck_id: int, id_gen: Any) -> None:
            # the note's (and its cards') modification time: when its content last changed
            super().write_to_db(cursor, self.mtime or timestamp, deck_id, id_gen)

    return DlcardsNote


def write_package(
    notes: list[AnkiNote],
    media_files: list[str],
    out_path: str,
    when: datetime,
    model_mtimes: dict[int, int] | None = None,
) -> None:
    """Write one .apkg with these notes (grouped into their decks) and media files.

    `media_files` are paths whose basenames are the names the fields use. Each note carries its
    own modification time (`AnkiNote.mtime`; `when` for 0), the note types theirs
    (`model_mtimes`, else `when`). The file is written next to `out_path` first and renamed
    over it, so a failed build never leaves half a file.
    """
    import contextlib
    import os
    import tempfile
    import warnings

    import genanki

    kinds = models(model_mtimes)
    note_class = _note_class()
    decks: dict[str, Any] = {}
    for n in notes:
        deck = decks.get(n.deck)
        if deck is None:
            deck = decks[n.deck] = genanki.Deck(deck_id(n.deck), n.deck)
        deck.add_note(
            note_class(
                kinds[n.kind],
                list(n.fields),
                list(n.tags),
                genanki.guid_for(GUID_NAMESPACE, n.note_id),
                n.due,
                list(n.ords),
                n.mtime,
            )
        )
    folder = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(prefix=".dlcards-", suffix=".apkg.tmp", dir=folder)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # our fields are HTML we produced; genanki's heuristic flags MathJax like `\(a<b\)`
            warnings.filterwarnings("ignore", module="genanki")
            warnings.filterwarnings(
                "ignore", message="^Field contained the following invalid HTML tags"
            )
            genanki.Package(
                [decks[name] for name in sorted(decks)], media_files=media_files
            ).write_to_file(tmp, timestamp=when.timestamp())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
