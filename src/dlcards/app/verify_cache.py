"""The check result cache: `ResultCache` (one entry per block on `system.cache`, keyed by
the checker's version) and `cacheable`, which says which results are verdicts worth storing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlcards.system.cache import Cache, Schema, any_speed_dependent

# one JSON list of block-relative problem dicts per block (failures too); the checker's own
# version is part of the key, dlcards' code fingerprint is part of every key
CHECKS_SCHEMA = Schema("checks", "2")


def _problem_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, dict) and isinstance(d.get("code"), str) for d in value
    )


class ResultCache:
    """Check results on `system.cache`: one entry per block (failures too), keyed by the
    checker's version, the block's text and the libraries' versions (and, as every key,
    dlcards' code fingerprint and the schema).

    A result that depended on the machine's speed (a proof out of its budget, a snippet that
    timed out: `system.cache.speed_dependent`) or that says nothing about the block (an
    internal error, code that could not run) is never stored: it is computed again next run.
    (An index of each collection's last results, read as one file, was measured to save
    nothing over reading one small file per block, and was dropped.)
    """

    def __init__(self, *, read: bool = True, folder: Path | None = None):
        self.read = read  # False (--no-cache): every block runs; results are stored anew
        self.entries: Cache[list[dict[str, Any]]] = Cache(
            CHECKS_SCHEMA, _problem_list, codec="json", folder=folder
        )

    def key(self, *parts: str) -> str:
        from dlcards.app import verify  # CHECKER_VERSION as it is now (tests bump it there)

        return self.entries.key(verify.CHECKER_VERSION, *parts)

    def get(self, key: str) -> list[dict[str, Any]] | None:
        return self.entries.get(key) if self.read else None

    def put(self, key: str, problems: list[dict[str, Any]]) -> None:
        self.entries.put(key, problems, cacheable=cacheable(problems))


def cacheable(result: list[dict[str, Any]]) -> bool:
    """Whether a block's result is a verdict: not a checker bug or code that did not run
    (`checks.common.cacheable`: also a proof out of its CPU budget, a snippet that timed
    out), and nothing else that depended on the machine's speed (`system.cache`)."""
    from dlcards.checks.common import cacheable as checker_says

    if any(d.get("code") in ("internal", "code-not-run") for d in result):
        return False
    return checker_says(result) and not any_speed_dependent(result)
