"""Evaluation of the checked blocks (`check`, `shapes`, `torch`) for `dlcards check`.

The checkers themselves live in `dlcards.validate`; this module decides which blocks need
running (cache) and merges their problems with the structural ones.
"""

from __future__ import annotations

from dlcards.collection import Collection
from dlcards.errors import Problem, sort_problems


def run_checks(col: Collection, problems: list[Problem], *, strict: bool = False,
               no_exec: bool = False, no_cache: bool = False, quiet: bool = False) -> list[Problem]:
    """Return the structural problems plus those of every checked block (none yet)."""
    return sort_problems(problems)
