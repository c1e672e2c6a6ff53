"""Consent to run a collection's code cards, remembered in the state folder (like `direnv allow`).

Consent lives in `state_dir()/trust.json`, never in the collection itself, so a cloned or
downloaded deck cannot grant itself consent. It is bound to the collection's identity, not
only to its path (issue 17 item 6): replacing the folder with another collection (another
`git clone` at the same path) must ask again. At `trust` time dlcards records

- the resolved path;
- a random id (128 bits), kept in the state folder and written into the collection's local,
  never-shared area (`.git/dlcards-trust-id` in a git work tree, else `.dlcards-trust-id`):
  a new clone or a fresh copy lacks it, and a deck cannot ship it because it cannot guess it;
- the git remote (`origin`'s URL), when the collection is a git repository: another
  repository copied over the folder (marker included) differs there.

`is_trusted` holds only when all of them still match; `trust_status` also says what differs.
Editing decks, committing and pulling keep consent.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from dlcards.system.paths import state_dir

TRUST_FILE = "trust.json"
MARKER = "dlcards-trust-id"


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


def _marker_path(root: Path) -> Path:
    git = Path(root) / ".git"
    return git / MARKER if git.is_dir() else Path(root) / f".{MARKER}"


def _read_marker(root: Path) -> str | None:
    try:
        text = _marker_path(root).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def git_identity(root: Path) -> dict[str, Any] | None:
    """The git remote `origin` URL of a collection, read from `.git/config` without running
    git; None when it is not a git work tree."""
    git = Path(root) / ".git"
    if not git.is_dir():
        return None
    remote = None
    try:
        section = ""
        for line in (git / "config").read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == '[remote "origin"]' and line.startswith("url"):
                remote = line.partition("=")[2].strip()
    except OSError:
        pass
    return {"remote": remote}


def trust_status(root: Path) -> tuple[bool, str]:
    """(trusted, why not): whether the user allowed *this* collection at `root` to run code."""
    entry = _load().get("collections", {}).get(_key(root))
    if not isinstance(entry, dict):
        return False, "this collection has no consent to run code here"
    token = entry.get("id")
    if not isinstance(token, str) or not token:
        return False, "consent was given before dlcards bound it to the collection; trust it again"
    if _read_marker(root) != token:
        return False, "this folder holds a different collection than the one you trusted"
    recorded = entry.get("git")
    if recorded is not None and git_identity(root) != recorded:
        return False, "this collection's git remote differs from the one you trusted"
    return True, ""


def is_trusted(root: Path) -> bool:
    """Whether the user allowed the collection at `root` (this very one) to run code."""
    return trust_status(root)[0]


def trust(root: Path, when: datetime) -> bool:
    """Record consent for the collection at `root`; False if it was already trusted.

    Raises OSError when the collection's marker cannot be written (a read-only folder)."""
    if is_trusted(root):
        return False
    data = _load()
    cols = data.setdefault("collections", {})
    # a marker already there (another state folder's trust, e.g. a second user or
    # DLCARDS_HOME) is reused, so trusting here never revokes consent given elsewhere; a deck
    # cannot profit from shipping one, since it cannot guess the id recorded in trust.json
    token = _read_marker(root) or secrets.token_hex(16)
    marker = _marker_path(root)
    if _read_marker(root) != token:
        marker.write_text(token + "\n", encoding="utf-8")
    cols[_key(root)] = {
        "trusted_at": when.isoformat(),
        "id": token,
        "git": git_identity(root),
    }
    _save(data)
    return True


def untrust(root: Path) -> bool:
    """Withdraw consent for `root`; False if it was not trusted."""
    data = _load()
    cols = data.get("collections", {})
    if cols.pop(_key(root), None) is None:
        return False
    _save(data)  # the marker stays: other state folders may still trust this collection
    return True
