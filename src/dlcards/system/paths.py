"""Where things are: the state folder, the collection root, its deck files.

Deliberately light (no pydantic, no markdown parser): the fast paths (`--help`, a no-change
`check`) use it before deciding whether anything heavier is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from dlcards.core.errors import CollectionError

CONFIG_FILE = "dlcards.toml"
DECKS_DIR = "decks"


def state_dir() -> Path:
    """Where dlcards keeps its state: `DLCARDS_HOME`, else the platform's user data folder."""
    home = os.environ.get("DLCARDS_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("dlcards", appauthor=False))


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding `decks/` or `dlcards.toml`."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / DECKS_DIR).is_dir() or (folder / CONFIG_FILE).is_file():
            return folder
    return None


def markdown_files(folder: Path) -> list[Path]:
    """`folder/**/*.md`, sorted, like `Path.rglob` (symlinked files followed, symlinked folders
    not) but a folder that cannot be read is an error, not silently skipped: its cards would
    vanish from review (issue 17 item 13)."""
    out: list[Path] = []
    pending = [folder]
    while pending:
        here = pending.pop()
        try:
            with os.scandir(here) as it:
                entries = list(it)
        except OSError as exc:
            raise CollectionError(
                f"{here}: cannot read this folder ({exc.strerror or exc}); its cards would be "
                "missing",
                hint="make it readable (e.g. `chmod u+rx`), or move it out of the decks folder",
            ) from None
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.name.endswith(".md") and entry.is_file():
                    out.append(Path(entry.path))
            except OSError:
                continue
    return sorted(out)


def deck_files(root: Path, paths: list[Path] | None) -> list[Path]:
    """The collection's `decks/**/*.md`, or the named files and folders (deduplicated)."""
    if not paths:
        base = root / DECKS_DIR
        return markdown_files(base) if base.is_dir() else []
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(markdown_files(p))
        elif p.is_file():
            out.append(p)
        else:
            raise CollectionError(f"{p}: no such file or folder", hint="pass deck files or folders")
    seen: set[Path] = set()
    unique = []
    for p in out:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(r)
    return unique
