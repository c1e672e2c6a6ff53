"""The one cache of dlcards, with one rule for every entry.

1. **Every key carries the code and the schema.** `key()` hashes the dlcards code fingerprint
   (`versions.code_fingerprint`, read once per process), the cache's `Schema` (a name and a
   version of what it stores) and the caller's inputs. An upgrade, or any edit of dlcards'
   own files, makes every old entry unreachable: nothing pickled by older code is served.
2. **Every load is defensive.** An entry is a one-line JSON header (schema, version, code
   fingerprint, key) and then the payload (JSON or pickle). The header is compared before the
   payload is decoded; the decoded value must pass the cache's `accept` check (its type, and
   for pickled models that every field is present). Anything wrong, whatever it raises
   (`AttributeError`/`ImportError`/`TypeError` from unpickling a class that changed, a
   truncated file, a permission error), is only a miss.
3. **Writes are atomic** (`fsutil.write_cache`: a temporary file renamed over the entry), and
   a cache that cannot be written only costs time.
4. **Nothing that depends on the machine's speed is a verdict.** `put(..., cacheable=False)`
   stores nothing (and removes what the same key or slot held): a proof that ran out of its
   budget or a snippet that timed out is computed again next run.

Entries live under `state_dir()/cache/<schema name>/`: by key
(`<code generation>/<key[:2]>/<key>`; the first write of a process deletes other code
versions' folders, so an upgrade leaves no garbage), or in a *slot* (one file per
collection, e.g. the previous build) whose header must hold the key.

`DLCARDS_CACHE_OFF` (comma-separated schema names, or `all`) turns caches off, for measuring
what each one saves; `--no-cache` on `check` and `build` does the same for one run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import pickle
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

T = TypeVar("T")
Codec = Literal["json", "pickle"]

OFF_VARIABLE = "DLCARDS_CACHE_OFF"
MAGIC = "dlcards-cache"


@functools.cache
def code_fingerprint() -> str:
    """Fingerprint of all of dlcards' own source files (names, sizes, mtimes), once per process."""
    from dlcards.system.versions import code_fingerprint as fingerprint

    return fingerprint(".")


def _generation() -> str:
    """The folder of this code version's keyed entries (every key holds the fingerprint too)."""
    return code_fingerprint()[:16]


# folders a sweep may delete: other code versions' (16 hex digits), and the layout used before
# issue 10 (2-hex-digit shards, the check cache's index)
_STALE_DIR = re.compile(r"[0-9a-f]{16}|[0-9a-f]{2}|index")
_SWEPT: set[Path] = set()


@dataclass(frozen=True)
class Schema:
    """What a cache stores: a name (also its folder) and a version bumped when the shape of
    the stored value changes in a way the code fingerprint would not show (e.g. a library's
    objects inside it)."""

    name: str
    version: str


def disabled(name: str) -> bool:
    """Whether `DLCARDS_CACHE_OFF` turns the cache `name` off."""
    raw = os.environ.get(OFF_VARIABLE, "")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    return "all" in names or name in names


def key_of(schema: Schema, *parts: str | bytes) -> str:
    """The key of an entry: code fingerprint, schema and the caller's inputs, hashed.

    Also for fingerprints kept elsewhere (the review store's 'synced with' marker)."""
    h = hashlib.sha256()
    for part in (MAGIC, code_fingerprint(), schema.name, schema.version, *parts):
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def cache_root() -> Path:
    from dlcards.system.paths import state_dir

    return state_dir() / "cache"


def _model_fields(cls: type) -> tuple[str, ...] | None:
    """Names of the fields of a dataclass or pydantic model class (None for other classes)."""
    fields = getattr(cls, "__pydantic_fields__", None)
    if isinstance(fields, dict):
        return tuple(fields)
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return None


_FIELDS: dict[type, tuple[str, ...] | None] = {}
_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})


def complete(value: Any, depth: int = 8) -> bool:
    """Whether every dataclass / pydantic model in `value` (recursively, through lists,
    tuples and dicts) has all the fields its class declares today: an object pickled by an
    older class lacks the fields added since, and would fail later, far from the cache."""
    cls = type(value)
    if cls in _PLAIN or depth < 0:
        return True
    if cls is list or cls is tuple:
        return all(type(v) in _PLAIN or complete(v, depth - 1) for v in value)
    if cls is dict:
        return all(type(v) in _PLAIN or complete(v, depth - 1) for v in value.values())
    if cls not in _FIELDS:
        _FIELDS[cls] = _model_fields(cls)
    names = _FIELDS[cls]
    if names is None:
        return True
    state = getattr(value, "__dict__", None)
    if state is None:
        return all(hasattr(value, n) for n in names)
    for n in names:
        if n not in state:
            return False
        v = state[n]
        if type(v) not in _PLAIN and not complete(v, depth - 1):
            return False
    return True


def instance_of(cls: type | tuple[type, ...], depth: int = 2) -> Callable[[Any], bool]:
    """An `accept` check: the value is an instance of `cls` with all its fields, down to
    `depth` levels (2: the value and the items of its lists, e.g. a parsed file's notes).
    Shallow on purpose: the key's code fingerprint already keeps entries of older code out,
    so this is a second guard, and a deep walk costs more than the cache saves (~60k calls
    for the shipped decks' parse cache at full depth)."""
    return lambda value: isinstance(value, cls) and complete(value, depth)


class Cache(Generic[T]):
    """One cache: a schema, a payload codec and what a loaded value must look like."""

    def __init__(
        self,
        schema: Schema,
        accept: Callable[[Any], bool],
        *,
        codec: Codec = "pickle",
        enabled: bool = True,
        folder: Path | None = None,
    ):
        self.schema = schema
        self.accept = accept
        self.codec: Codec = codec
        self.enabled = enabled and not disabled(schema.name)
        self._folder = folder

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._folder = cache_root() / self.schema.name
        return self._folder

    def key(self, *parts: str | bytes) -> str:
        return key_of(self.schema, *parts)

    def path(self, key: str, slot: str | None = None) -> Path:
        if slot is not None:
            return self.folder / f"{slot}.{self.codec}"
        return self.folder / _generation() / key[:2] / f"{key}.{self.codec}"

    def _sweep(self) -> None:
        """Delete the keyed entries of other code versions (unreachable since an upgrade or an
        edit of dlcards' files): once per process and folder, before its first write."""
        if self.folder in _SWEPT:
            return
        _SWEPT.add(self.folder)
        current = _generation()
        with contextlib.suppress(OSError):
            for child in self.folder.iterdir():
                if child.is_dir() and child.name != current and _STALE_DIR.fullmatch(child.name):
                    shutil.rmtree(child, ignore_errors=True)

    def _header(self, key: str) -> bytes:
        head = [MAGIC, self.schema.name, self.schema.version, code_fingerprint(), key]
        return json.dumps(head).encode("utf-8") + b"\n"

    def get(self, key: str, slot: str | None = None) -> T | None:
        """The value stored under `key` (in `slot`, if given); None on any miss."""
        if not self.enabled:
            return None
        try:
            with self.path(key, slot).open("rb") as fh:
                if fh.readline() != self._header(key):
                    return None  # another schema, code version or key: not even decoded
                payload = fh.read()
            value = pickle.loads(payload) if self.codec == "pickle" else json.loads(payload)
            if not self.accept(value):
                return None
        except Exception:  # damaged, unreadable, from an older class: only a miss
            return None
        return cast(T, value)

    def put(self, key: str, value: T, *, slot: str | None = None, cacheable: bool = True) -> None:
        """Store `value` atomically. `cacheable=False` (a result that depends on the machine's
        speed, or on something else than the key) stores nothing and forgets the old entry."""
        if not self.enabled:
            return
        path = self.path(key, slot)
        if not cacheable:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return
        from dlcards.system.fsutil import write_cache

        if slot is None:
            self._sweep()
        try:
            if self.codec == "pickle":
                payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            else:
                payload = json.dumps(value).encode("utf-8")
        except Exception:  # not serialisable: not cached
            return
        write_cache(path, self._header(key) + payload)

    def prune(self, keep: int) -> None:
        """Keep only the `keep` most recently written keyed entries (slots are not touched)."""
        try:
            entries = sorted(
                (self.folder / _generation()).glob(f"*/*.{self.codec}"),
                key=lambda p: p.stat().st_mtime_ns,
            )
            for stale in entries[: max(0, len(entries) - keep)]:
                stale.unlink(missing_ok=True)
        except OSError:
            pass


# Problem codes that say a result depends on the machine's speed: the checkers' `proof-budget`
# (a proof out of its CPU-time budget) and `code-timeout` (a snippet that ran out of time), and
# any future code naming a time-out, a budget or an undecided claim. A checker may also mark a
# problem dict with `"speed_dependent": true`.
SPEED_CODE_MARKERS = ("timeout", "budget", "undecided")


def speed_dependent(problem: Mapping[str, Any]) -> bool:
    """Whether a problem (as a dict with a `code`) came from a time-out or an exhausted
    budget: such a result is never cached as a verdict."""
    if problem.get("speed_dependent"):
        return True
    code = str(problem.get("code", ""))
    return any(marker in code for marker in SPEED_CODE_MARKERS)


def any_speed_dependent(problems: Iterable[Mapping[str, Any]]) -> bool:
    return any(speed_dependent(p) for p in problems)
