"""The review database (SQLite). Only this package imports sqlite3."""

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
