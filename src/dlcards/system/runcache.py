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
import json
import os
import sys
from pathlib import Path
from typing import Any

from dlcards.system.paths import CONFIG_FILE, deck_files, find_root, state_dir

VERSION = "1"


def check_key(root: Path | None, paths: list[Path], flags: dict[str, Any]) -> str | None:
    """The fingerprint of everything a check's outcome depends on; None if it can't be had."""
    from dlcards.system.versions import (
        code_fingerprint,
        mpmath_version,
        sympy_version,
        torch_version,
    )

    cwd = Path.cwd().resolve()
    try:
        base = root.resolve() if root is not None else find_root(cwd)
        if base is None:
            base = cwd if paths else None
        if base is None:
            return None
        files = deck_files(base, paths or None)
        h = hashlib.sha256()
        h.update(
            f"{VERSION}\0{cwd}\0{base}\0{sys.version_info[:3]}\0{sorted(flags.items())}\0".encode()
        )
        h.update(code_fingerprint(".").encode())
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
    except OSError:
        return None
    except Exception:  # anything odd: the full check will explain it
        return None
    return h.hexdigest()


def _path(key: str) -> Path:
    return state_dir() / "cache" / "runs" / f"{key}.json"


def load(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_path(key).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


def save(key: str, data: dict[str, Any]) -> None:
    from dlcards.system.fsutil import write_cache

    path = _path(key)
    try:  # keep the folder small: one entry per recent state is plenty
        old = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for stale in old[:-20]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass
    write_cache(path, json.dumps({"version": VERSION, **data}).encode("utf-8"))
