"""The application layer for one collection: `Collection`.

A `Collection` owns what every front end would otherwise wire up again: the collection's root
(found once, here), its settings, its study calendar (built once, from the settings), the
parsed decks, the review database (opened lazily, once; closed by `close()` or `with`), the
FSRS scheduler (built lazily, once) and the clock (`now_fn`). The services the front ends use
come from it: the review session, stats, card info, the prune workspace, list rows,
suspend/unsuspend, Anki import and build, verify (all checks). The CLI commands, the TUI and
the scripts only ask it and print.

Start-up stays light: this module imports neither pydantic nor the parser, sqlite3, fsrs or
textual at import time (`dlcards --help`, and `dlcards trust` and the no-change build use
`locate_root` alone); each of those is imported by the method that needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dlcards.app.root import locate_root
from dlcards.core.errors import UsageError

if TYPE_CHECKING:
    from dlcards.anki.reader import ImportPlan, MergeResult
    from dlcards.app.listing import ListQuery
    from dlcards.app.prune_workspace import PruneWorkspace
    from dlcards.app.reports import StatsData
    from dlcards.app.review import Limits, ReviewService
    from dlcards.app.verify import CheckReport, Progress
    from dlcards.core.calendar import StudyCalendar
    from dlcards.core.errors import Problem
    from dlcards.core.model import Note
    from dlcards.insights.cardinfo import CardInfoReport
    from dlcards.insights.listing import ListRow
    from dlcards.insights.stats import StatsReport
    from dlcards.insights.week import WeekSummary
    from dlcards.review.scheduling import Scheduler
    from dlcards.review.session import Filters
    from dlcards.store import Store
    from dlcards.store.card_text import CardText
    from dlcards.store.lease import WriteLease
    from dlcards.store.rows import CardRow
    from dlcards.system.config import Settings
    from dlcards.system.decks import Decks

__all__ = ["Collection", "NowFn", "SuspendResult", "locate_root"]

NowFn = Callable[[], datetime]


def _system_now() -> datetime:
    from dlcards.system.clock import now

    return now()


@dataclass(frozen=True)
class SuspendResult:
    """What `Collection.set_suspended` did: the cards named, and those whose flag changed."""

    cards: list[str]
    changed: list[str]


class Collection:
    """One collection's settings, calendar, decks, store and scheduler, and its services."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        *,
        cwd: Path | None = None,
        paths: list[Path] | None = None,
        store_path: Path | None = None,
        now_fn: NowFn | None = None,
        lint: bool = False,
        use_cache: bool = True,
        decks: Decks | None = None,
    ):
        from dlcards.app.settings import calendar_of

        self.root = root
        self.settings = settings
        self.calendar: StudyCalendar = calendar_of(settings)
        self.cwd = (cwd or Path.cwd()).resolve()
        self.paths = list(paths) if paths else None
        self.store_path = store_path
        self.now_fn: NowFn = now_fn or _system_now
        self.lint = lint
        self.use_cache = use_cache
        self._decks = decks
        self._store: Store | None = None
        self._scheduler: Scheduler | None = None
        self._lease: WriteLease | None = None
        self._lock = threading.Lock()
        self._adopted: tuple[float, ...] | None = None
        self._adopted_read = False

    @classmethod
    def open(
        cls,
        root: Path | None = None,
        *,
        cwd: Path | None = None,
        paths: list[Path] | None = None,
        store_path: Path | None = None,
        now_fn: NowFn | None = None,
        lint: bool = False,
        use_cache: bool = True,
    ) -> Collection:
        """The collection at `root` (None: found from `cwd`, default the working folder).
        With `paths` (deck files or folders) only those are read, and they need no collection
        around them. Reads the settings (ConfigError on a bad one); the decks, the store and
        the scheduler are read or built when first used."""
        from dlcards.system.config import load_settings

        here = (cwd or Path.cwd()).resolve()
        found = locate_root(root, cwd=here, files_given=bool(paths))
        base = found if found is not None else here
        return cls(
            base,
            load_settings(base),
            cwd=here,
            paths=paths,
            store_path=store_path,
            now_fn=now_fn,
            lint=lint,
            use_cache=use_cache,
        )

    # -- owned state ----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The time now, by this collection's clock (aware UTC)."""
        return self.now_fn()

    def today(self, now: datetime | None = None) -> date:
        """The study day `now` (default: now) falls in."""
        return self.calendar.study_day(now if now is not None else self.now_fn())

    @property
    def decks(self) -> Decks:
        """The parsed deck files (read on first use; `reload_decks` reads them again)."""
        if self._decks is None:
            self._decks = self._read_decks()
        return self._decks

    def reload_decks(self, *, use_cache: bool | None = None) -> Decks:
        """Read the deck files again (after an edit) and return them."""
        self._decks = self._read_decks(use_cache)
        return self._decks

    def take_decks(self) -> tuple[Decks, bool]:
        """The parsed decks, and whether they are the caller's own: the collection's when it
        holds them (kept; the caller changes nothing in them), else read now for the caller
        alone and not kept (it may let their notes go as it is done with them: the review's
        cold start, issue 16)."""
        if self._decks is not None:
            return self._decks, False
        return self._read_decks(), True

    def drop_decks(self) -> None:
        """Forget the parsed decks: the next use reads them again (review start-up, issue 16:
        the review's catalogue reads them only when a deck file changed)."""
        self._decks = None

    def _read_decks(self, use_cache: bool | None = None) -> Decks:
        from dlcards.system.decks import read_decks

        return read_decks(
            self.root,
            self.paths,
            cwd=self.cwd,
            settings=self.settings,
            use_cache=self.use_cache if use_cache is None else use_cache,
            lint=self.lint,
        )

    @property
    def notes(self) -> list[Note]:
        return self.decks.notes

    @property
    def problems(self) -> list[Problem]:
        return self.decks.problems

    def store_file(self) -> Path:
        """Where the review database is (it may not exist yet)."""
        from dlcards.store import default_path

        return self.store_path if self.store_path is not None else default_path()

    def has_store(self) -> bool:
        """Whether the review database exists (reading commands do not create it)."""
        return self._store is not None or self.store_file().is_file()

    @property
    def store(self) -> Store:
        """The review database, opened (created, migrated) on first use and kept open."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from dlcards.store import Store

                    self._store = Store.open(
                        self.store_file(),
                        backups_keep=self.settings.backups_keep,
                        now_fn=self.now_fn,
                    )
        return self._store

    def daily_backup(self) -> Path | None:
        """Today's backup of the review database, if not made yet (at most one per study day,
        keeping `backups_keep`). Uses its own connection, so it may run in a thread while
        answers are written (WAL: a consistent snapshot)."""
        from dlcards.store import Store

        with Store.open(self.store_file(), now_fn=self.now_fn) as store:
            return store.backup(self.today(), self.settings.backups_keep)

    @property
    def scheduler(self) -> Scheduler:
        """The FSRS scheduler of the settings, built (and fsrs imported) on first use."""
        if self._scheduler is None:
            adopted = self.adopted_parameters()  # before the lock: it may open the store
            with self._lock:
                if self._scheduler is None:
                    from dlcards.app.settings import scheduler_config
                    from dlcards.review.scheduling import Scheduler

                    self._scheduler = Scheduler(
                        scheduler_config(self.settings, self.calendar, adopted)
                    )
        return self._scheduler

    def sync_cards(self, now: datetime | None = None) -> None:
        """Tell the store which cards the Markdown has now (absent ones become orphans)."""
        import gc

        from dlcards.store import card_rows
        from dlcards.store.card_text import texts_of

        notes = self.notes
        # plain rows, no object per card; the cyclic GC paused meanwhile (~10^5 new objects,
        # all garbage after: issue 16, cold start)
        was = gc.isenabled()
        gc.disable()
        try:
            self.sync_card_rows(card_rows(notes), lambda: texts_of(notes), now)
        finally:
            if was:
                gc.enable()

    def sync_card_rows(
        self,
        rows: list[CardRow],
        texts: Callable[[], list[CardText]],
        now: datetime | None = None,
    ) -> None:
        """`sync_cards` of the notes' `store.card_rows` and (made after the rows are written
        and dropped) their `card_text.texts_of`: the review's cold start makes them and frees
        the notes before the store is written (issue 16). Takes `rows` over (emptied)."""
        from dlcards.store.card_text import remember_card_texts

        when = now if now is not None else self.now()
        self.store.sync_card_rows(rows, when)
        rows.clear()
        # the last known question and answer of every card: orphans stay readable (issue 14)
        remember_card_texts(self.store, texts(), when)

    def take_lease(self, command: str, *, wait: float = 0.0) -> WriteLease:
        """Hold the collection's write lease (one writer at a time: a review session, an
        import, a sync, a prune); kept until `close()`. Raises `LeaseBusy` naming the holder
        (`dlcards.store.lease`)."""
        lease = self._lease
        if lease is None or not lease.held:
            from dlcards.store.lease import WriteLease

            lease = WriteLease.acquire(self.store_file(), command, self.now(), wait=wait)
            self._lease = lease
        return lease

    def close(self) -> None:
        """Close the review database if it was opened, and give back the write lease."""
        store, self._store = self._store, None
        if store is not None:
            store.close()
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.release()

    def __enter__(self) -> Collection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- services -------------------------------------------------------------------------------
    @property
    def built_scheduler(self) -> Scheduler | None:
        """The scheduler if something already built it (never builds one: fsrs stays unimported)."""
        return self._scheduler

    def forget_scheduler(self) -> None:
        """Drop the cached scheduler and parameters (new parameters were adopted)."""
        with self._lock:
            self._scheduler = None
            self._adopted_read = False

    def adopted_parameters(self) -> tuple[float, ...] | None:
        """The optimiser's adopted FSRS parameters (`dlcards.app.optimize`), read once."""
        if not self._adopted_read:
            from dlcards.app.optimize import adopted_parameters

            self._adopted = adopted_parameters(self)
            self._adopted_read = True
        return self._adopted

    def review(self, filters: Filters | None = None, limits: Limits | None = None) -> ReviewService:
        """Today's review session over this collection (see `dlcards.app.review`)."""
        from dlcards.app.review import ReviewService

        # read here, on the caller's thread: the scheduler is built later in a warm-up thread,
        # which then never touches the store connection the answers are written on
        self.adopted_parameters()
        return ReviewService(self, filters, limits)

    def deck_error_count(self) -> int:
        """How many error problems the deck files have: from the review's cached catalogue
        when it is current (no deck read; issue 16), else from the decks."""
        from dlcards.app.review_catalogue import load

        catalogue = load(self)
        return catalogue.errors if catalogue is not None else len(self.decks.errors)

    def check_filters(self, filters: Filters) -> None:
        """Raise UsageError when `filters` match no card (naming the topics there are)."""
        if not filters.describe():
            return
        from dlcards.app.review_catalogue import load

        catalogue = load(self)  # the review's cached catalogue: no deck read (issue 16)
        if catalogue is not None and any(filters.matches(c) for c in catalogue.cards.values()):
            return
        from dlcards.review.session import note_session_cards

        if not any(filters.matches(sc) for sc, _, _ in note_session_cards(self.notes)):
            from dlcards.app.custom_study import no_match_error  # names the filter, did-you-mean

            raise no_match_error(self.notes, filters)

    def stats_data(self, now: datetime | None = None) -> StatsData:
        """What the stats figures are computed from, read once from the decks and the store."""
        from dlcards.app.reports import StatsData

        store = self.store
        return StatsData(
            self.root,
            self.settings,
            self.notes,
            store.reviews(),
            store.states(),
            store.flags(),
            now if now is not None else self.now(),
            self.calendar,
        )

    def stats_report(self, now: datetime | None = None) -> StatsReport:
        """The full `dlcards stats --json` report at `now` (default: now); the review log is
        aggregated in the store, not read as objects (`reports.stats_report_from_store`)."""
        from dlcards.app.reports import stats_report_from_store

        return stats_report_from_store(self, now if now is not None else self.now())

    def week_summary(
        self, week: int, start: date | None = None, now: datetime | None = None
    ) -> WeekSummary:
        """The summary of study week `week` (`dlcards stats --week N`), from that week's
        reviews only (`reports.week_summary_from_store`)."""
        from dlcards.app.reports import week_summary_from_store

        return week_summary_from_store(self, week, start, now if now is not None else self.now())

    def card_info(self, card_id: str, now: datetime | None = None) -> CardInfoReport:
        """One card's info and history (`dlcards info`). Raises UnknownCardError."""
        from dlcards.app.reports import card_info_from

        return card_info_from(self, card_id, now if now is not None else self.now())

    def prune_workspace(self, *, backup: bool = True) -> PruneWorkspace:
        """The prune workspace over this collection (reads the decks without the parse cache).
        With `backup`, today's database backup is made first."""
        from dlcards.app.prune_workspace import PruneWorkspace

        if backup:  # the writing prune (the TUI, --undo-last): one writer at a time
            self.take_lease("prune")
            self.daily_backup()
        return PruneWorkspace(self)

    def list_rows(self, query: ListQuery, now: datetime | None = None) -> list[ListRow]:
        """The rows `dlcards list` prints (see `dlcards.app.listing.ListQuery`)."""
        from dlcards.app.listing import list_rows

        return list_rows(self, query, now)

    def card_ids_of(self, ids: Iterable[str]) -> list[str]:
        """Card ids for the given card or note ids (a note id: all its cards). UsageError names
        the unknown ones."""
        by_note: dict[str, list[str]] = {}
        known: set[str] = set()
        for note in self.notes:
            cards = note.card_ids()
            by_note[note.id] = cards
            known.update(cards)
        out: list[str] = []
        unknown = []
        for given in ids:
            if given in known:
                out.append(given)
            elif given in by_note:
                out.extend(by_note[given])
            else:
                unknown.append(given)
        if unknown:
            raise UsageError(
                f"no card with id {', '.join(repr(u) for u in unknown)} in the decks",
                hint="`dlcards list` shows card ids (a cloze card's id ends in /c1, /c2, ...)",
            )
        return list(dict.fromkeys(out))

    def set_suspended(self, ids: Iterable[str], suspended: bool) -> SuspendResult:
        """Suspend or unsuspend cards (card or note ids)."""
        cards = self.card_ids_of(ids)
        self.sync_cards()
        before = self.store.flags(cards)
        self.store.set_suspended(cards, suspended)
        changed = [c for c in cards if bool(before.get(c) and before[c].suspended) != suspended]
        return SuspendResult(cards, changed)

    def markdown_ids(self) -> set[str]:
        """Every card id in the Markdown now."""
        return {cid for note in self.notes for cid in note.card_ids()}

    def diagnose_store(self, db: Path | None = None) -> dict[str, Any]:
        """`dlcards doctor`'s report on the review database, compared with the Markdown."""
        from dlcards.app.doctor import diagnose
        from dlcards.core.errors import DlcardsError

        try:
            scheduler = self.scheduler  # may open the store (adopted parameters)
        except DlcardsError:
            scheduler = None  # a damaged store: diagnose says why
        return diagnose(db or self.store_file(), self.markdown_ids(), scheduler)

    def import_anki(
        self, path: Path, *, dry_run: bool = False, progress: Progress | None = None
    ) -> tuple[MergeResult, ImportPlan]:
        """Merge the review history of an Anki collection into the store (`import-anki`)."""
        from dlcards.app.anki_io import import_anki

        return import_anki(self, path, dry_run=dry_run, progress=progress)

    def verify(
        self, *, strict: bool = False, no_exec: bool = False, no_cache: bool = False
    ) -> list[Problem]:
        """Every problem of the decks, the checked blocks evaluated (quietly; `build` uses it)."""
        from dlcards.app.verify import run_checks

        decks = self.decks
        return run_checks(
            decks,
            list(decks.problems),
            strict=strict,
            no_exec=no_exec,
            no_cache=no_cache,
            quiet=True,
        )

    def check(
        self,
        *,
        strict: bool = False,
        no_exec: bool = False,
        no_cache: bool = False,
        quiet: bool = False,
        progress: Progress | None = None,
    ) -> CheckReport:
        """`dlcards check`: the decks' problems plus every checked block's, as one report."""
        from dlcards.app.verify import check_report

        return check_report(
            self.decks,
            strict=strict,
            no_exec=no_exec,
            no_cache=no_cache,
            quiet=quiet,
            progress=progress,
        )

    def build(self, out_dir: Path | None = None, **options: Any) -> Any:
        """Write the Anki packages (`dlcards build`; see `dlcards.app.anki_io.build`)."""
        from dlcards.app.anki_io import build

        return build(self, out_dir, **options)
