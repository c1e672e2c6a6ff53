"""Schema migrations: from an empty database and from every earlier schema version, with a
frozen v1 fixture (tests/fixtures/store/v1.sql) holding real-looking data."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import FIXTURES
from dlcards.core.state import Rating, ReviewEntry
from dlcards.store import Store
from dlcards.store.migrations import LATEST, MIGRATIONS

V1 = FIXTURES / "store" / "v1.sql"


def schema(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(
            conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )
    finally:
        conn.close()


def test_migrations_are_named_and_ordered() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


def test_from_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        assert store.schema_version == LATEST
        assert [(v, n) for v, n, _ in store.applied_migrations()] == [
            (m.version, m.name) for m in MIGRATIONS
        ]
        assert store.migrated_from == 0
        assert store.integrity_check() == []
    with Store.open(path) as store:  # a second open applies nothing
        assert store.migrated_from is None
    assert not (tmp_path / "backups").exists()  # nothing to save before migrating an empty file


@pytest.mark.parametrize("version", range(1, LATEST))
def test_from_every_earlier_version_gives_the_fresh_schema(tmp_path: Path, version: int) -> None:
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old)
    for m in MIGRATIONS[:version]:
        conn.executescript(m.sql)
        conn.execute(
            "INSERT INTO migrations VALUES (?, ?, '2026-01-01T00:00:00+00:00')", (m.version, m.name)
        )
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    with Store.open(old) as store:
        assert store.schema_version == LATEST and store.migrated_from == version
    with Store.open(tmp_path / "fresh.sqlite3"):
        pass
    assert schema(old) == schema(tmp_path / "fresh.sqlite3")


def test_v1_fixture_migrates_with_data_intact(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1.read_text())
    conn.close()
    with Store.open(path) as store:
        assert store.migrated_from == 1 and store.schema_version == LATEST
        assert store.integrity_check() == []
        states = store.states()
        assert set(states) == {"abcd1234", "gone0000"}
        assert states["abcd1234"].phase == "review" and states["abcd1234"].interval_days == 2
        assert states["abcd1234"].due == datetime(2026, 1, 4, 4, tzinfo=UTC)
        log = store.reviews(["abcd1234"])
        assert [e.kind for e in log] == ["import", "learn", "learn"]  # time order
        assert log[0].anki_revlog_id == 1733047200000
        assert [c.card_id for c in store.orphans()] == ["gone0000"]
        assert store.get_setting("fsrs_parameters_fitted_at") == "2026-01-01"
        assert store.flags() == {}
        # new in v2: flags and deduplicated imports
        store.set_suspended(["abcd1234"], True)
        assert store.flags()["abcd1234"].suspended
        assert store.import_reviews(
            [
                ReviewEntry(
                    "abcd1234",
                    log[0].time,
                    Rating.GOOD,
                    0,
                    log[0].before,
                    log[0].after,
                    kind="import",
                    source="anki",
                    anki_revlog_id=1733047200000,
                )
            ]
        ) == (0, 1)
    # the v1 database was saved before migrating
    saved = tmp_path / "backups" / f"dlcards-before-v{LATEST}.sqlite3"
    conn = sqlite3.connect(saved)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 4
    conn.close()


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dlcards.core.errors import StoreError
    from dlcards.store import migrations, schema

    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1.read_text())
    conn.close()
    broken = (
        *migrations.MIGRATIONS[:1],
        migrations.Migration(
            2, "broken", "CREATE TABLE half (x INTEGER) STRICT; SELECT nope FROM nowhere;"
        ),
    )
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    with pytest.raises(StoreError):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0
    conn.close()
