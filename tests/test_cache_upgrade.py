"""The two cache bugs of issue 10, reproduced as an upgrade leaves them: an entry written by an
older dlcards (an object pickled before a field existed) sits under the very key today's code
computes. Both must be misses, never an AttributeError far from the cache (exit 3)."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

from dlcards.cli.main import main
from dlcards.core.model import Note
from dlcards.system.config import load_settings
from dlcards.system.decks import read_decks

DECK = (
    "---\nweek: 1\ntopic: basics\n---\n\n"
    "Q: What is the derivative of $x^2$?\nA: $2x$\n\n"
    "C: Softmax turns {{c1::logits}} into {{c2::probabilities}}.\n"
)


def _entries(home: Path, name: str) -> list[Path]:
    return sorted(p for p in (home / "cache" / name).rglob("*") if p.is_file())


def _replace_payload(entry: Path, value: Any) -> None:
    """Write `value` into a cache entry in place, keeping what names its key and schema (the
    header line, where the format has one): as the older dlcards would have left it."""
    data = entry.read_bytes()
    header = b"" if data.startswith(b"\x80") else data[: data.index(b"\n") + 1]
    entry.write_bytes(header + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _without(obj: Any, name: str) -> Any:
    """A copy of a pydantic model as its class looked before field `name` was added."""
    old = obj.model_copy()
    state = dict(old.__dict__)
    del state[name]
    object.__setattr__(old, "__dict__", state)
    return old


def _old_settings_entry(home: Path, root: Path) -> Path:
    """Where dlcards before issue 10 kept the pickled Settings of this configuration (and
    read them back unchecked): the hash of the file's bytes and the DLCARDS_* variables."""
    raw = (root / "dlcards.toml").read_bytes()
    relevant = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith("DLCARDS_") and k != "DLCARDS_NOW"
    )
    key = hashlib.sha256(raw + repr(relevant).encode()).hexdigest()
    return home / "cache" / "settings" / f"{key}.pickle"


def test_settings_pickled_before_a_setting_existed_are_not_served(
    collection: Path, dlcards_home: Path
) -> None:
    (collection / "decks" / "a.md").write_text(DECK, encoding="utf-8")
    (collection / "dlcards.toml").write_text("[dlcards]\nnew_per_day = 7\n", encoding="utf-8")
    fresh = load_settings(collection)
    # what an older dlcards left: its Settings, without the setting added since
    entry = _old_settings_entry(dlcards_home, collection)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_bytes(pickle.dumps(_without(fresh, "day_starts_at")))

    loaded = load_settings(collection)
    assert loaded.day_starts_at == 4 and loaded.new_per_day == 7
    assert loaded == fresh
    # and the command that used to crash with exit 3 runs
    assert main(["-C", str(collection), "list"]) == 0


def test_settings_are_read_fresh_each_time(collection: Path, dlcards_home: Path) -> None:
    """The settings cache was dropped (it saved nothing measurable): an edit is seen at once,
    and nothing is written under the cache folder for settings."""
    (collection / "dlcards.toml").write_text("[dlcards]\nnew_per_day = 7\n", encoding="utf-8")
    assert load_settings(collection).new_per_day == 7
    (collection / "dlcards.toml").write_text("[dlcards]\nnew_per_day = 8\n", encoding="utf-8")
    assert load_settings(collection).new_per_day == 8
    assert not (dlcards_home / "cache" / "settings").exists()


def test_notes_pickled_before_a_field_existed_are_a_miss(
    collection: Path, dlcards_home: Path
) -> None:
    (collection / "decks" / "a.md").write_text(DECK, encoding="utf-8")
    fresh = read_decks(collection).notes  # fills the parse cache
    assert len(fresh) == 2
    [entry] = _entries(dlcards_home, "parse")
    data = entry.read_bytes()
    parsed = pickle.loads(data if data.startswith(b"\x80") else data[data.index(b"\n") + 1 :])
    parsed.notes = [_without(n, "answer_line") for n in parsed.notes]
    _replace_payload(entry, parsed)

    notes = read_decks(collection).notes
    assert notes == fresh
    assert all(set(Note.model_fields) <= set(n.__dict__) for n in notes)
    assert notes[0].answer_line == 7
