"""Where the collection is: the one place collection-root discovery is written.

Light on purpose (no pydantic, no parser): `dlcards trust` and the no-change build use it
without opening the collection.
"""

from __future__ import annotations

from pathlib import Path

from dlcards.core.errors import CollectionError


def locate_root(
    root: Path | None = None,
    *,
    cwd: Path | None = None,
    files_given: bool = False,
    files_allowed: bool = True,
) -> Path | None:
    """The collection's root: `root` (checked) if given, else the nearest folder at or above
    `cwd` holding `decks/` or `dlcards.toml`. Raises CollectionError (exit 2) when there is
    none; with `files_given` (deck files named on the command line) a missing collection is
    not an error and None is returned (the files are read on their own). `files_allowed`
    False: the command takes no deck files, so the hint does not suggest naming them.

    The one place collection-root discovery is written."""
    from dlcards.system.paths import CONFIG_FILE, DECKS_DIR, find_root

    here = (cwd or Path.cwd()).resolve()
    if root is not None:
        found = root.resolve()
        if not found.is_dir():
            raise CollectionError(
                f"{found}: no such folder", hint="pass an existing collection with -C PATH"
            )
        if (
            not files_given
            and not (found / DECKS_DIR).is_dir()
            and not (found / CONFIG_FILE).is_file()
        ):
            raise CollectionError(
                f"{found} is not a dlcards collection (no decks/ folder)",
                hint="run `dlcards init` there first",
            )
        return found
    found_up = find_root(here)
    if found_up is None and not files_given:
        raise CollectionError(
            f"no dlcards collection in {here} or its parents (no decks/ folder or dlcards.toml)",
            hint="run `dlcards init` to create one, pass -C PATH"
            + (", or name deck files" if files_allowed else ""),
        )
    return found_up
