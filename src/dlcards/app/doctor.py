"""`dlcards doctor`'s findings as data: the review database's integrity, schema, counts,
orphaned histories and backups, compared with the Markdown's card ids when there is a
collection. Never makes a backup and never writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def diagnose(db: Path, markdown_ids: set[str] | None) -> dict[str, Any]:
    """Everything doctor reports, as data (the --json output)."""
    from dlcards.core.errors import StoreError
    from dlcards.store import Store, list_backups
    from dlcards.store.migrations import LATEST

    report: dict[str, Any] = {
        "database": str(db),
        "exists": db.is_file(),
        "latest_schema_version": LATEST,
        "problems": [],
        "orphans": [],
        "counts": {},
        "migrations": [],
    }
    report["backups"] = [
        {"path": str(b.path), "day": b.day.isoformat(), "size": b.size} for b in list_backups(db)
    ]
    if not db.is_file():
        report["schema_version"] = None
        return report
    report["size"] = db.stat().st_size
    try:
        store = Store.open(db)
    except StoreError as exc:
        report["schema_version"] = None
        report["problems"].append(exc.message)
        return report
    with store:
        report["schema_version"] = store.schema_version
        report["migrated_from"] = store.migrated_from
        report["migrations"] = [
            {"version": v, "name": n, "applied_at": a} for v, n, a in store.applied_migrations()
        ]
        report["problems"].extend(store.integrity_check())
        if report["problems"]:
            return report  # counting a damaged database only adds confusing errors
        counts = store.counts()
        states = store.states()
        reviews_per_card: dict[str, int] = {}
        for entry in store.reviews():
            reviews_per_card[entry.card_id] = reviews_per_card.get(entry.card_id, 0) + 1
        if markdown_ids is not None:
            # Compare with the Markdown as it is now (nothing is written).
            known = {c.card_id: c for c in store.cards()}
            orphan_ids = sorted(
                cid for cid in set(states) | set(reviews_per_card) if cid not in markdown_ids
            )
            orphans = [known[cid] for cid in orphan_ids if cid in known]
            counts["present"] = len(markdown_ids)
            counts["orphans"] = len(orphans)
            counts["never_reviewed"] = len(markdown_ids - set(states))
        else:
            orphans = store.orphans()
        report["counts"] = counts
        for card in orphans:
            gone = store.gone_since(card.card_id)
            report["orphans"].append(
                {
                    "id": card.card_id,
                    "path": card.path,
                    "line": card.line,
                    "reviews": reviews_per_card.get(card.card_id, 0),
                    "gone_since": gone.isoformat() if gone else None,
                }
            )
    return report
