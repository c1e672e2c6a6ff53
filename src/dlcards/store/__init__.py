"""The review database (SQLite). Only this package imports sqlite3.

The names below are loaded from `dlcards.store.db` on first use (PEP 562), so that a light
reader of one module of the package (`dlcards list` reads `dlcards.store.state_columns`) does
not import the whole store."""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: `dlcards list` reads `store.list_digest` first thing
if TYPE_CHECKING:
    from typing import Any

    from dlcards.store.db import (
        DB_NAME,
        BackupInfo,
        CardInfo,
        Store,
        card_infos,
        card_rows,
        default_path,
        list_backups,
    )

__all__ = [
    "DB_NAME",
    "BackupInfo",
    "CardInfo",
    "Store",
    "card_infos",
    "card_rows",
    "default_path",
    "list_backups",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dlcards.store import db

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
