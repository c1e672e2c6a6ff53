"""Versions of the libraries whose behaviour decides check results, read without importing them
(importing sympy costs ~150 ms and torch over a second)."""

from __future__ import annotations

import functools
import re
from pathlib import Path


def package_version(name: str, version_file: str, pattern: str) -> str:
    """A package's version without importing it ('' when it is not installed)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.submodule_search_locations:
        return ""
    for folder in spec.submodule_search_locations:
        try:
            text = (Path(folder) / version_file).read_text(encoding="utf-8")
        except OSError:
            continue
        m = re.search(pattern, text)
        if m:
            return m.group(1)
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "unknown"


_VERSION_RE = r"__version__\s*=\s*['\"]([^'\"]+)"


def sympy_version() -> str:
    return package_version("sympy", "release.py", _VERSION_RE)


def mpmath_version() -> str:
    return package_version("mpmath", "__init__.py", _VERSION_RE)


def torch_version() -> str:
    return package_version("torch", "version.py", _VERSION_RE)


@functools.cache
def code_fingerprint(*parts: str) -> str:
    """A digest of dlcards' own source files under `parts` (relative to the package), by name,
    size and modification time: a changed checker or runner invalidates cached results
    without anyone remembering to bump a version. Computed once per process (a few hundred
    `stat` calls): the code does not change under a running process that matters."""
    import hashlib

    base = Path(__file__).resolve().parent.parent  # the dlcards package
    h = hashlib.sha256()
    for part in parts:
        target = base / part
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            h.update(f"{f.relative_to(base)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:16]
