"""The printed lines of `dlcards list` (no option, into a pipe or a file), cached (issue 16,
item 6: `dlcards list` starts in ≤ 8× `python -c pass`, at every collection size).

`dlcards.app.list_cache.table_text` renders the table from the list cache and the store (the
light path) and stores here the lines exactly as printed (UTF-8), for
- the inputs of the table's Markdown side, by name, size and modification time (`static_key`:
  dlcards' own source files, the settings file, the `DLCARDS_*`/`TZ` variables, every deck
  file, and the working folder the `where` cells are relative to), as the list cache's key
  does;
- the store's `dlcards.store.list_digest` (every state and flag the table shows, the adopted
  FSRS parameters), read in the same transaction as the schedule the lines show;
- the terminal width.
The clock moves two cells only (due, R): each moving row keeps its stored values and the time
until which its two cells are known not to change; `list_cache.refresh` redraws the rows past
it in place. The entry follows `dlcards.system.cache`'s rules (a header line with the schema
and the key, compared before the payload is decoded; any damage is a miss; atomic writes;
`DLCARDS_CACHE_OFF=list-lines` or `all` turns it off); its payload is `marshal`, and this
module imports neither pathlib nor typing: it runs before anything else of dlcards.
"""

from __future__ import annotations

import os
import sys
from hashlib import sha256  # OpenSSL's: 5x the built-in module's speed on the digest's MBs

TYPE_CHECKING = False  # no `typing` import: this module runs first (mypy reads this idiom)
if TYPE_CHECKING:
    from typing import Any, BinaryIO

NAME, VERSION = "list-lines", "1"
MAGIC = b"dlcards-cache"
CONFIG_FILE, DECKS_DIR = "dlcards.toml", "decks"  # dlcards.system.paths
DB_NAME = "dlcards.sqlite3"  # dlcards.store.db.DB_NAME


def enabled() -> bool:
    """`dlcards.system.cache.disabled(NAME)`, negated."""
    raw = os.environ.get("DLCARDS_CACHE_OFF", "")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    return "all" not in names and NAME not in names


def state_dir() -> str:
    """`dlcards.system.paths.state_dir()` as a string (the same folder: a folder that differs
    only makes every run a miss, since the entry's key holds the real store's digest)."""
    home = os.environ.get("DLCARDS_HOME")
    if home:
        return os.path.expanduser(home)
    if sys.platform == "linux":  # platformdirs' user_data_dir (XDG), without its ~15 ms import
        base = os.environ.get("XDG_DATA_HOME", "")
        if not base.strip():
            base = os.path.expanduser("~/.local/share")
        return os.path.join(base, "dlcards")
    from dlcards.system.paths import state_dir as real

    return str(real())


def find_root(start: str) -> str | None:
    """`dlcards.system.paths.find_root` on a string."""
    here = os.path.realpath(start)
    while True:
        if os.path.isdir(os.path.join(here, DECKS_DIR)) or os.path.isfile(
            os.path.join(here, CONFIG_FILE)
        ):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def locate(given: str | None) -> str | None:
    """The collection's root, as `dlcards.app.root.locate_root` finds it: `given` (-C) when it
    holds `decks/` or the settings file, else the nearest such folder at or above the working
    folder; None where `locate_root` would raise (the click command reports it)."""
    if given is None:
        return find_root(os.getcwd())
    root = os.path.realpath(given)
    if os.path.isdir(os.path.join(root, DECKS_DIR)) or os.path.isfile(
        os.path.join(root, CONFIG_FILE)
    ):
        return root
    return None


def _walk(folder: str, suffix: str, out: list[str]) -> None:
    """Every `*suffix` file under `folder` as `path size mtime_ns` (symlinked files followed,
    symlinked folders not, as `dlcards.system.paths.markdown_files`). Raises OSError."""
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.name.endswith(suffix) and entry.is_file():
                    st = entry.stat()
                    out.append(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}")


def static_key(root: str) -> str:
    """The inputs of the table's Markdown side (see the module's docstring), hashed. Raises
    OSError."""
    code: list[str] = []
    _walk(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".py", code)
    decks: list[str] = []
    base = os.path.join(root, DECKS_DIR)
    if os.path.isdir(base):
        _walk(base, ".md", decks)
    try:
        with open(os.path.join(root, CONFIG_FILE), "rb") as fh:
            config = fh.read()
    except FileNotFoundError:
        config = b""
    env = sorted(
        (k, v)
        for k, v in os.environ.items()
        if (k.startswith("DLCARDS_") and k not in ("DLCARDS_NOW", "DLCARDS_CACHE_OFF")) or k == "TZ"
    )
    h = sha256()
    for part in (
        MAGIC,
        NAME.encode(),
        VERSION.encode(),
        sys.version.encode(),
        "\n".join(sorted(code)).encode(errors="surrogateescape"),
        root.encode(errors="surrogateescape"),
        os.getcwd().encode(errors="surrogateescape"),  # `where` cells are relative to it
        config,
        repr(env).encode(errors="surrogateescape"),
        "\n".join(sorted(decks)).encode(errors="surrogateescape"),
    ):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return str(h.hexdigest())


def key(static: str, digest: str, width: int) -> str:
    return str(sha256(f"{static}\0{digest}\0{width}".encode()).hexdigest())


def store_digest() -> str | None:
    """The store's `list_digest` ("" without a store file, None when it cannot be read)."""
    path = os.path.abspath(os.path.join(state_dir(), DB_NAME))
    if not os.path.isfile(path):
        return ""
    from dlcards.store.list_digest import schedule_digest

    return schedule_digest(path)


def entry_path(root: str, part: str) -> str:
    """The entry's file `part` ("meta": the small header, "text": the printed table,
    "rows": what a redraw needs)."""
    slot = sha256(root.encode(errors="surrogateescape")).hexdigest()[:24]
    return os.path.join(state_dir(), "cache", NAME, f"{slot}.{part}")


def _header(entry_key: str, token: str) -> bytes:
    return b" ".join((MAGIC, NAME.encode(), VERSION.encode(), entry_key.encode(), token.encode()))


def _open(root: str, part: str, entry_key: str, token: str) -> BinaryIO | None:
    """The file `part` of the entry, read past its header; None unless the header is this
    entry's (key and token: the three files are written one after the other)."""
    try:
        fh = open(entry_path(root, part), "rb")  # noqa: SIM115 (returned open)
    except OSError:
        return None
    try:
        if fh.readline() == _header(entry_key, token) + b"\n":
            return fh
    except OSError:
        pass
    fh.close()
    return None


def _marshalled(fh: BinaryIO | None) -> dict[str, Any] | None:
    import marshal

    if fh is None:
        return None
    try:
        with fh:
            value = marshal.loads(fh.read())
    except Exception:  # damaged, another Python's marshal: only a miss
        return None
    return value if isinstance(value, dict) else None


def load(root: str, entry_key: str) -> dict[str, Any] | None:
    """The entry's small part (number of cards, times, layout, its token) stored for `root`
    under `entry_key`; None on any miss."""
    meta = _marshalled(_open(root, "meta", entry_key, ""))
    return meta if meta is not None and isinstance(meta.get("token"), str) else None


def text_file(root: str, entry_key: str, meta: dict[str, Any]) -> BinaryIO | None:
    """The printed table of the entry `meta` (open, past its header; it ends in a newline)."""
    return _open(root, "text", entry_key, str(meta["token"]))


def rows(root: str, entry_key: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    """The moving rows' stored values of the entry `meta` (`list_cache.refresh`)."""
    return _marshalled(_open(root, "rows", entry_key, str(meta["token"])))


def save(
    root: str,
    entry_key: str,
    meta: dict[str, Any],
    text: bytes | None = None,
    moving: dict[str, Any] | None = None,
) -> None:
    """Store an entry atomically, file by file (`dlcards.system.fsutil.write_cache`): the
    table and the rows first (when given), then `meta`, which names their token."""
    import marshal
    from pathlib import Path

    from dlcards.system.fsutil import write_cache

    token = str(meta["token"])
    try:
        files = [
            *([("text", token, text)] if text is not None else []),
            *([("rows", token, marshal.dumps(moving))] if moving is not None else []),
            ("meta", "", marshal.dumps(meta)),
        ]
    except ValueError:  # not marshallable: not cached
        return
    for part, tag, data in files:
        write_cache(Path(entry_path(root, part)), _header(entry_key, tag) + b"\n" + data)


def copy_out(fh: BinaryIO, out: BinaryIO) -> None:
    """The rest of `fh` onto `out` (flushed): `os.sendfile` (the kernel copies), or a read
    and a write where it cannot."""
    with fh:
        out.flush()
        offset = fh.tell()
        size = os.fstat(fh.fileno()).st_size - offset
        try:
            while size > 0:
                sent = os.sendfile(out.fileno(), fh.fileno(), offset, size)
                if not sent:
                    break
                offset += sent
                size -= sent
        except BrokenPipeError:
            raise
        except (OSError, ValueError, AttributeError):  # not for these two files: copied below
            pass
        if size > 0:
            fh.seek(offset)
            out.write(fh.read())
            out.flush()


def now_micros() -> int | None:
    """`dlcards.system.clock.now()` in microseconds since the epoch; None when DLCARDS_NOW is
    set to something `clock.now` would refuse (it reports the error)."""
    raw = os.environ.get("DLCARDS_NOW")
    if not raw:
        import time

        return time.time_ns() // 1000
    from datetime import UTC, datetime

    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))  # core.state.parse_utc
        if value.tzinfo is None:
            return None
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if not 1971 <= value.year <= 9000:  # dlcards.system.clock.NOW_YEARS
        return None
    d = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def cached(root: str, width: int, now_us: int) -> tuple[BinaryIO, int] | tuple[str, str] | None:
    """The printed table (header and lines, UTF-8, ending in a newline: an open file past its
    header) and its number of cards, when the entry for these inputs holds and no row has
    moved since; else, when there is no entry at all, the static key and the digest read
    (`list_cache.table_text` need not read them again); else None."""
    if not enabled():
        return None
    try:
        static = static_key(root)
    except OSError:
        return None
    digest = store_digest()
    if digest is None:
        return None
    entry_key = key(static, digest, width)
    meta = load(root, entry_key)
    if meta is None:
        return static, digest
    if not meta["at"] <= now_us <= meta["soonest"]:
        return None
    fh = text_file(root, entry_key, meta)
    return None if fh is None else (fh, meta["n"])
