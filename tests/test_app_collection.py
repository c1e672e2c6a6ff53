"""The application layer (`dlcards.app.collection.Collection`): root discovery in one place,
settings -> calendar once, the store opened once (lazily) and closed, services that share it,
and front ends that stay thin (no front end wires the store, scheduler, calendar or root)."""

from __future__ import annotations

import ast
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dlcards.app.collection import Collection, locate_root
from dlcards.core.errors import CollectionError, UsageError
from dlcards.core.state import Rating
from dlcards.store import Store
from tui_collection import make_collection

SRC = Path(__file__).resolve().parent.parent / "src" / "dlcards"
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
NOW = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_collection(tmp_path / "col")


def test_root_is_found_from_a_subfolder_and_named_roots_are_checked(
    root: Path, tmp_path: Path
) -> None:
    (root / "decks" / "sub").mkdir()
    assert locate_root(cwd=root / "decks" / "sub") == root.resolve()
    assert locate_root(root) == root.resolve()
    with pytest.raises(CollectionError, match="no dlcards collection") as none:
        locate_root(cwd=tmp_path)
    assert none.value.exit_code == 2
    with pytest.raises(CollectionError, match="no such folder"):
        locate_root(tmp_path / "missing")
    with pytest.raises(CollectionError, match="not a dlcards collection"):
        locate_root(tmp_path)
    # deck files named without a collection around them: no root, no error
    assert locate_root(cwd=tmp_path, files_given=True) is None


def test_named_deck_files_outside_a_collection_are_read(tmp_path: Path) -> None:
    (tmp_path / "loose.md").write_text("Q: What is one? <!-- id: one -->\nA: 1.\n")
    with Collection.open(cwd=tmp_path, paths=[tmp_path / "loose.md"]) as col:
        assert col.root == tmp_path.resolve()
        assert [n.id for n in col.notes] == ["one"]


def test_store_is_opened_once_lazily_and_closed(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path | None] = []
    real_open = Store.open.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Store], path: Path | None = None, **kw: object) -> Store:
        opened.append(path)
        return real_open(cls, path, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(Store, "open", classmethod(counting))
    col = Collection.open(root, now_fn=lambda: NOW)
    assert opened == []  # nothing opened until a service needs it
    assert not col.has_store()
    first = col.store
    assert col.store is first and len(opened) == 1
    col.set_suspended(["grad1"], True)
    col.card_info("grad1")
    col.stats_report()
    assert len(opened) == 1  # every service shares the one connection
    assert col.scheduler is col.scheduler
    col.close()
    with pytest.raises(Exception, match="closed"):
        first.flags()
    with col:  # reopened on demand, closed by the context manager
        assert col.store.flags(["grad1"])["grad1"].suspended
    assert len(opened) == 2


def test_calendar_comes_from_the_settings_once(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "dlcards.toml").write_text("[dlcards]\n")  # no timezone: the system's
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    col = Collection.open(root)
    assert col.calendar.tz == ZoneInfo("Asia/Tokyo") and col.calendar.day_starts_at == 4
    (root / "dlcards.toml").write_text(
        '[dlcards]\ntimezone = "America/New_York"\nday_starts_at = 6\n'
    )
    col = Collection.open(root, now_fn=lambda: NOW)
    assert col.calendar.tz == ZoneInfo("America/New_York") and col.calendar.day_starts_at == 6
    # 20:00 UTC is 15:00 in New York: still 5 January there
    assert col.today() == date(2026, 1, 5)
    assert col.scheduler.config.calendar == col.calendar


def test_daily_backup_is_named_by_the_collections_study_day(root: Path, dlcards_home: Path) -> None:
    (root / "dlcards.toml").write_text('[dlcards]\ntimezone = "Asia/Tokyo"\n')
    with Collection.open(root, now_fn=lambda: NOW) as col:  # 05:00 on the 6th in Tokyo
        made = col.daily_backup()
        assert made is not None and made.name == "dlcards-2026-01-06.sqlite3"
        assert col.daily_backup() is None  # one per study day
        assert [b.day for b in col.store.backups()] == [date(2026, 1, 6)]


def test_suspend_resolves_note_ids_and_refuses_unknown_ones_without_a_database(
    root: Path, dlcards_home: Path
) -> None:
    with Collection.open(root, now_fn=lambda: NOW) as col:
        with pytest.raises(UsageError, match="nope"):
            col.set_suspended(["nope"], True)
        assert not (dlcards_home / "dlcards.sqlite3").exists()
        done = col.set_suspended(["soft1"], True)  # a cloze note: both of its cards
        assert done.cards == done.changed == ["soft1/c1", "soft1/c2"]
        again = col.set_suspended(["soft1/c1"], True)
        assert again.cards == ["soft1/c1"] and again.changed == []
        # the cards were synced with the collection's clock: no placeholder rows
        rows = col.store.conn.execute("SELECT card_id, first_seen FROM cards").fetchall()
        assert {cid for cid, _ in rows} >= {"soft1/c1", "grad1"}
        assert {seen for _, seen in rows} == {NOW.isoformat(timespec="microseconds")}


def test_review_service_answers_through_the_collections_store(root: Path) -> None:
    with Collection.open(root, now_fn=lambda: NOW) as col:
        service = col.review()
        assert service.store is col.store and service.calendar is col.calendar
        cid = service.session.next_card(NOW)
        assert cid is not None
        service.apply(service.session.answer(Rating.GOOD, NOW, 1500))
        assert service.write_errors == []
        assert [e.card_id for e in col.store.reviews()] == [cid]
    # a second open sees the committed answer and starts today's counters from it
    with Collection.open(root, now_fn=lambda: NOW) as col:
        assert cid in col.review().session.new_done


def test_list_rows_read_without_creating_the_database(root: Path, dlcards_home: Path) -> None:
    from dlcards.app.listing import ListQuery

    with Collection.open(root, now_fn=lambda: NOW) as col:
        rows = col.list_rows(ListQuery(topic="basics"))
        assert [r.id for r in rows] == ["grad1", "soft1/c1", "soft1/c2", "code1"]
        assert {r.state for r in rows} == {"new"} and not col.has_store()
    assert not (dlcards_home / "dlcards.sqlite3").exists()


def test_import_anki_dry_run_creates_no_database(
    root: Path, dlcards_home: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "collection.anki2"
    conn = sqlite3.connect(fake)  # not an Anki collection: the reader says so
    conn.close()
    with Collection.open(root) as col, pytest.raises(Exception):  # noqa: B017
        col.import_anki(fake, dry_run=True)
    assert not (dlcards_home / "dlcards.sqlite3").exists()


# -- thin front ends ----------------------------------------------------------------------

WIRING = {
    "Store.open": "opens the review database",
    "Scheduler(": "builds the FSRS scheduler",
    "SchedulerConfig": "configures the scheduler",
    "scheduler_config(": "configures the scheduler",
    "policy_of(": "builds the session policy",
    "find_root(": "looks for the collection root",
    "read_decks": "reads the deck files",
    "open_collection": "reads the deck files",
    "StudyCalendar(": "builds a study calendar",
    "calendar_of(": "builds a study calendar",
    "local_zone(": "reads the system time zone",
    "zone(": "builds a time zone",
    "load_settings(": "reads the settings",
}


def _code_of(path: Path) -> str:
    """The module's code without its docstrings and comments (ast round trip)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0] = ast.Pass()
    return ast.unparse(tree)


FRONT_ENDS = sorted(
    [
        *(SRC / "cli").rglob("*.py"),
        *(SRC / "tui").rglob("*.py"),
        SCRIPTS / "bench_review.py",
        SCRIPTS / "gen_collection.py",
    ]
)


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: p.relative_to(p.parents[2]).as_posix())
def test_front_ends_do_no_wiring_of_their_own(path: Path) -> None:
    # datetime.astimezone and click.Context.find_root are not zone lookups or root discovery
    code = _code_of(path).replace(".astimezone(", ".").replace("ctx.find_root(", "ctx.")
    found = [f"{needle!r} ({why})" for needle, why in WIRING.items() if needle in code]
    assert not found, (
        f"{path.name} {', '.join(found)}: ask `dlcards.app.collection.Collection` instead"
    )


def test_the_thin_front_end_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('"""Store.open in a docstring is fine."""\nstore = Store.open()\n')
    assert "Store.open" in _code_of(bad)
    bad.write_text('"""Store.open in a docstring is fine."""\n# Store.open in a comment\nx = 1\n')
    assert "Store.open" not in _code_of(bad)
