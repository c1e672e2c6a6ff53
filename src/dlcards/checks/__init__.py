"""Checkers of the machine-checked blocks: `math` (check), `shapes`, `code` (torch).

`check_block(kind, text)` runs the pure checkers (sympy is imported only here, lazily).
"""

from __future__ import annotations

from dlcards.checks.common import BlockProblem

__all__ = ["BlockProblem", "check_block", "preload"]


def preload() -> None:
    """Import sympy now (before forking workers, so they share it)."""
    import sympy  # noqa: F401


def check_block(kind: str, text: str) -> list[BlockProblem]:
    """Problems of one `check` or `shapes` block (offsets relative to its first line)."""
    try:
        if kind == "check":
            from dlcards.checks.math import check_math

            return check_math(text)
        if kind == "shapes":
            from dlcards.checks.shapes import check_shapes

            return check_shapes(text)
    except Exception as exc:  # a checker bug must not hide the other problems
        return [
            BlockProblem(
                0,
                "error",
                "internal",
                f"internal error while checking this block: {type(exc).__name__}: {exc}",
                "please report this with the block attached",
            )
        ]
    raise ValueError(f"not a pure block kind: {kind}")
