"""Consent to run a collection's code cards, remembered in the state folder (like `direnv allow`).

Consent lives in `state_dir()/trust.json`, keyed by the collection's resolved absolute path, and
never in the collection itself, so a cloned or downloaded deck cannot grant itself consent.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from dlcards.system.paths import state_dir

TRUST_FILE = "trust.json"


def _file() -> Path:
    return state_dir() / TRUST_FILE


def _key(root: Path) -> str:
    return str(Path(root).resolve())


def _load() -> dict[str, Any]:
    try:
        data = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(data: dict[str, Any]) -> None:
    from dlcards.system.fsutil import replace_file

    replace_file(_file(), (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def is_trusted(root: Path) -> bool:
    """Whether the user allowed the collection at `root` to run code."""
    entry = _load().get("collections", {}).get(_key(root))
    return isinstance(entry, dict)


def trust(root: Path, when: datetime) -> bool:
    """Record consent for `root`; False if it was already trusted."""
    data = _load()
    cols = data.setdefault("collections", {})
    key = _key(root)
    if key in cols:
        return False
    cols[key] = {"trusted_at": when.isoformat()}
    _save(data)
    return True


def untrust(root: Path) -> bool:
    """Withdraw consent for `root`; False if it was not trusted."""
    data = _load()
    cols = data.get("collections", {})
    if cols.pop(_key(root), None) is None:
        return False
    _save(data)
    return True
