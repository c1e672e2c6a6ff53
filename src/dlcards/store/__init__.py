"""The review database (SQLite). Only this package imports sqlite3.

The names below are loaded from `dlcards.store.db` on first use (PEP 562), so that a light
reader of one module of the package (`dlcards list` reads `dlcards.store.state_columns`) does
not import the whole store."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlcards.store.db import (
        DB_NAME,
        BackupInfo,
        CardInfo,
        Store,
        card_infos,
        default_path,
        list_backups,
    )

__all__ = [
    "DB_NAME",
    "BackupInfo",
    "CardInfo",
    "Store",
    "card_infos",
    "default_path",
    "list_backups",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dlcards.store import db

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
