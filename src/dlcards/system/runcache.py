"""The whole-run cache of `dlcards check`.

A check whose inputs are all unchanged (deck bytes, settings, DLCARDS_* variables, consent,
library versions, dlcards' own code, flags, working folder) prints the previous result without
importing pydantic, the Markdown parser or any checker: the no-change check is the one an
author runs most often (e.g. from an editor hook or pre-commit), so it should cost little more
than starting Python. Any change falls through to the full check, whose per-file and
per-block caches then make it cheap too.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from dlcards.system.cache import Cache, Schema, any_speed_dependent
from dlcards.system.paths import CONFIG_FILE, deck_files, find_root, state_dir

# the printed outcome of one run: problems as dicts, notes, file and card counts (JSON)
RUN_SCHEMA = Schema("runs", "2")
KEEP = 20  # entries kept: one per recent state of the decks is plenty


def _valid(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("problems"), list)
        and all(isinstance(d, dict) for d in data["problems"])
        and isinstance(data.get("notes"), list)
        and isinstance(data.get("files"), int)
        and isinstance(data.get("cards"), int)
    )


def _cache() -> Cache[dict[str, Any]]:
    return Cache(RUN_SCHEMA, _valid, codec="json")


def check_key(root: Path | None, paths: list[Path], flags: dict[str, Any]) -> str | None:
    """The fingerprint of everything a check's outcome depends on; None if it can't be had."""
    from dlcards.system.versions import mpmath_version, sympy_version, torch_version

    cwd = Path.cwd().resolve()
    try:
        base = root.resolve() if root is not None else find_root(cwd)
        if base is None:
            base = cwd if paths else None
        if base is None:
            return None
        files = deck_files(base, paths or None)
        h = hashlib.sha256()
        h.update(f"{cwd}\0{base}\0{sys.version_info[:3]}\0{sorted(flags.items())}\0".encode())
        h.update(f"{sympy_version()}\0{mpmath_version()}\0{torch_version()}\0".encode())
        env = sorted(
            (k, v) for k, v in os.environ.items() if k.startswith("DLCARDS_") and k != "DLCARDS_NOW"
        )
        h.update(repr(env).encode())
        for extra in (base / CONFIG_FILE, state_dir() / "trust.json"):
            h.update(extra.read_bytes() if extra.is_file() else b"-")
        for f in files:
            h.update(f"\0{f}\0".encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
        return _cache().key(h.hexdigest())  # + the code fingerprint and the schema
    except Exception:  # unreadable file, anything odd: the full check will explain it
        return None


def load(key: str) -> dict[str, Any] | None:
    return _cache().get(key)


def save(key: str, data: dict[str, Any], *, cacheable: bool = True) -> None:
    """Remember a run's outcome; `cacheable=False` (a failure to run) stores nothing, and nor
    does a run with a result that depended on the machine's speed (a time-out)."""
    cache = _cache()
    speed = any_speed_dependent(data.get("problems", []))
    cache.put(key, data, cacheable=cacheable and not speed)
    cache.prune(KEEP)
