"""`dlcards sync`, wired to a collection: which Anki collection to sync, the login to a sync
server, and the order of the steps. The engine itself is `dlcards.anki.sync.run_sync`.

Two targets, one engine:

- a collection file (`--collection PATH/collection.anki2`, Anki closed). The path is
  remembered, so a later `dlcards sync` needs no option;
- a sync server (`dlcards sync login --server URL --user NAME`): dlcards keeps a mirror
  collection in its state folder (`anki-sync/<server+user>/collection.anki2`) and syncs it
  with the server before and after the engine runs, as a phone would. AnkiWeb and a
  self-hosted `python -m anki.syncserver` are the same code path.

Secrets: the password is only handed to the server; the server's token (`hkey`) is kept in
`anki-sync/login.json`, mode 0600, and nowhere else (not in the collection, the settings,
messages or the sync summary). `logout` deletes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dlcards.core.errors import DlcardsError, UsageError

if TYPE_CHECKING:
    from dlcards.anki.sync import SyncReport
    from dlcards.app.collection import Collection

SYNC_DIR = "anki-sync"
LOGIN_FILE = "login.json"
TARGET_FILE = "target.json"
PAUSE_ENV = "DLCARDS_TEST_SYNC_PAUSE"  # tests: stop at a named point (to kill -9 there)
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
SYNC_VERSION = "1"  # bump when a sync of unchanged inputs would write something new


@dataclass(frozen=True)
class Login:
    server: str
    user: str
    hkey: str
    endpoint: str

    @property
    def target(self) -> str:
        return f"server:{self.server}#{self.user}"

    def public(self) -> dict[str, str]:
        """What may be shown (never the token)."""
        return {"server": self.server, "user": self.user}


def sync_dir() -> Path:
    from dlcards.system.paths import state_dir

    return state_dir() / SYNC_DIR


def insecure_warning(server: str) -> str | None:
    """A warning for plain http:// to a host that is not this machine."""
    url = urlparse(server)
    if url.scheme == "http" and (url.hostname or "") not in LOOPBACK:
        return (
            f"{server} is plain http:// to another machine: your password and cards travel "
            "unencrypted; use https:// (a reverse proxy in front of the sync server)"
        )
    return None


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON file only the user can read (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(data).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_login() -> Login | None:
    path = sync_dir() / LOGIN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Login(data["server"], data["user"], data["hkey"], data["endpoint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remembered_collection() -> Path | None:
    try:
        data = json.loads((sync_dir() / TARGET_FILE).read_text(encoding="utf-8"))
        return Path(data["collection"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def normal_server(server: str) -> str:
    url = urlparse(server)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(
            f"{server}: not a sync server address",
            hint="e.g. --server https://sync.example.org/ (AnkiWeb: --server https://sync.ankiweb.net/)",
        )
    return server if server.endswith("/") else server + "/"


def _pause_hook() -> Callable[[str], None] | None:
    wanted = os.environ.get(PAUSE_ENV)
    if not wanted:
        return None

    def pause(name: str) -> None:
        if name == wanted:
            (sync_dir() / "paused").write_text(name)
            time.sleep(120)

    return pause


class SyncService:
    """Sync one dlcards collection with Anki; see the module docstring."""

    def __init__(self, collection: Collection):
        self.col = collection

    # -- login ---------------------------------------------------------------------------------

    def login(self, server: str, user: str, password: str) -> tuple[Login, list[str]]:
        """Log in to a sync server; keeps the token (0600). Returns warnings to show."""
        from dlcards.anki.sync import close_anki, open_anki, server_login

        server = normal_server(server)
        warnings = [w for w in (insecure_warning(server),) if w]
        folder = sync_dir()
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / "login-check.anki2"
        col = open_anki(scratch, create=True)
        try:
            hkey, endpoint = server_login(col, server, user, password)
        finally:
            close_anki(col)
            for extra in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(str(scratch) + extra).unlink()
        login = Login(server, user, hkey, endpoint)
        _write_private(
            folder / LOGIN_FILE,
            {"server": server, "user": user, "hkey": hkey, "endpoint": endpoint},
        )
        return login, warnings

    def logout(self) -> bool:
        """Forget the token. True when there was one."""
        path = sync_dir() / LOGIN_FILE
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def mirror_path(self, login: Login) -> Path:
        tag = hashlib.sha256(login.target.encode()).hexdigest()[:16]
        return sync_dir() / tag / "collection.anki2"

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from dlcards.store.sync import targets

        login = load_login()
        out: dict[str, Any] = {
            "login": login.public() if login else None,
            "collection": str(_remembered_collection() or "") or None,
            "targets": [],
        }
        if self.col.has_store():
            out["targets"] = [
                {"target": t, "last_sync": when.isoformat(), "summary": summary}
                for t, when, summary in targets(self.col.store)
            ]
        return out

    # -- sync ----------------------------------------------------------------------------------

    def sync(
        self,
        collection_path: Path | None = None,
        *,
        prefer_markdown: bool = False,
        dry_run: bool = False,
        delete_orphans: Iterable[str] = (),
        progress: Any = None,
        full: bool = False,
    ) -> SyncReport:
        """One sync with the collection file, else the logged-in server, else the collection
        file used last time. Raises DlcardsError (nothing changed) when none is set up.

        Incremental (only what changed since the last sync) when the last sync's cursor holds
        (`dlcards.anki.sync.incremental`); `full`: the whole of both sides, whatever it says."""
        from dlcards.anki.sync import close_anki, open_anki, server_media, server_sync
        from dlcards.store.sync import set_fingerprint

        started = time.perf_counter()
        login = None if collection_path is not None else load_login()
        if collection_path is None and login is None:
            collection_path = _remembered_collection()
            if collection_path is None:
                raise UsageError(
                    "no Anki collection to sync with",
                    hint="pass --collection PATH/collection.anki2 (Anki closed), or log in to "
                    "a sync server: dlcards sync login --server URL --user NAME",
                )
        if not dry_run:  # one writer at a time: before either side is touched
            self.col.take_lease("sync")
        delete = frozenset(delete_orphans)
        quick = not (dry_run or prefer_markdown or delete or full)
        run = functools.partial(
            self._run, dry_run=dry_run, prefer=prefer_markdown, delete=delete, progress=progress
        )
        if login is None:
            assert collection_path is not None
            path = collection_path.expanduser().resolve()
            target = f"file:{path}"
            # unchanged file, decks and store: nothing to do, without even opening Anki
            report = self._unchanged(target, {"file": _file_stamp(path)}) if quick else None
            if report is None:
                col = open_anki(path)
                try:
                    report = run(col, target, full=full)
                finally:
                    close_anki(col)
                if not dry_run:
                    fingerprint = self._fingerprint({"file": _file_stamp(path)})
                    set_fingerprint(self.col.store, target, fingerprint)
                    _write_private(sync_dir() / TARGET_FILE, {"collection": str(path)})
        else:
            target = login.target
            col = open_anki(self.mirror_path(login), create=True)
            try:
                t0 = time.perf_counter()
                pulled, endpoint = server_sync(col, login.hkey, login.endpoint, phase="pull")
                t_pull = time.perf_counter() - t0
                if endpoint:
                    login = Login(login.server, login.user, login.hkey, endpoint)
                    _write_private(sync_dir() / LOGIN_FILE, login.__dict__)
                report = self._unchanged(target, _anki_stamp(col)) if quick else None
                if report is None:
                    why = None
                    if pulled != "synced":
                        why = f"the server sync before it was a {pulled}"
                    report = run(col, target, full=full, why=why)
                    if not dry_run:
                        t0 = time.perf_counter()
                        pushed, _ = server_sync(col, login.hkey, login.endpoint, phase="push")
                        report.timings["push"] = time.perf_counter() - t0
                        if pushed != "synced":  # the mirror was reopened: not what it was
                            from dlcards.anki.sync.collection import _our_notetypes
                            from dlcards.anki.sync.incremental import anki_marks
                            from dlcards.store.sync import set_cursor_anki

                            mids = _our_notetypes(col)
                            marks = anki_marks(col, mids) if pushed == "full upload" else None
                            set_cursor_anki(self.col.store, target, marks)
                        report.server = [f"before: {pulled}", f"after: {pushed}"]
                        new_media = report.added or report.updated
                        if new_media and server_media(col, login.hkey, login.endpoint):
                            report.server.append("media synced")
                        set_fingerprint(self.col.store, target, self._fingerprint(_anki_stamp(col)))
                else:
                    report.server = [f"before: {pulled}"]
                report.timings["pull"] = t_pull
            finally:
                close_anki(col)
        report.seconds = time.perf_counter() - started
        return report

    def _run(
        self,
        col: Any,
        target: str,
        *,
        dry_run: bool,
        prefer: bool,
        delete: frozenset[str],
        progress: Any = None,
        full: bool = False,
        why: str | None = None,
    ) -> SyncReport:
        from dlcards.anki.sync import run_sync

        t0 = time.perf_counter()
        markdown = [0.0]

        def load(inp: Any) -> None:  # the Markdown side, when the run is a full one
            t = time.perf_counter()
            notes, rendered = self._markdown()
            inp.notes, inp.rendered = notes, rendered
            if not dry_run:
                self.col.sync_cards(self.col.now())
            markdown[0] = time.perf_counter() - t

        marker = _running_marker(target)
        if full:
            why = "--full"
        elif why is None and marker.exists():
            why = "the previous sync with this target was interrupted"
        inp = self._input(dry_run, prefer, delete)
        inp = dataclasses.replace(
            inp, target=target, digest=self._digest(), full=why, loader=load, progress=progress
        )
        self._prepare(dry_run)
        if not dry_run:  # until the store commits: a sync killed in between is seen next time
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(target)
        t1 = time.perf_counter()
        report = run_sync(col, self.col.store, inp)
        if not dry_run:
            marker.unlink(missing_ok=True)
        report.timings["markdown"] = markdown[0]
        report.timings["engine"] = time.perf_counter() - t1 - markdown[0]
        report.timings["prepare"] = t1 - t0
        return report

    def _fingerprint(self, anki: dict[str, Any]) -> dict[str, Any]:
        """What both sides look like now, cheaply: deck files, settings, the store's reviews
        and flags, the study day, and `anki` (the collection file's size and time, or the
        mirror's modification time)."""
        from dlcards.store.sync import store_fingerprint

        col = self.col
        return {
            "decks": self._digest(),
            "store": store_fingerprint(col.store),
            "day": col.today().isoformat(),
            **anki,
        }

    def _digest(self) -> str:
        """The Markdown side's digest: deck files, settings, and the versions of dlcards, the
        sync, the HTML and the note types' templates."""
        from dlcards import __version__
        from dlcards.anki import notetypes
        from dlcards.anki.html import RENDER_VERSION
        from dlcards.system.paths import deck_files

        col = self.col
        h = hashlib.sha256(f"{__version__}\0{SYNC_VERSION}\0{RENDER_VERSION}\0".encode())
        for part in (
            notetypes.BASE_CSS,
            notetypes.BASIC_QFMT,
            notetypes.BASIC_AFMT,
            notetypes.CLOZE_QFMT,
            notetypes.CLOZE_AFMT,
        ):
            h.update(part.encode() + b"\0")
        h.update(col.settings.model_dump_json().encode())
        for path in deck_files(col.root, col.paths):
            h.update(f"{path}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
        return h.hexdigest()

    def _unchanged(self, target: str, anki: dict[str, Any]) -> SyncReport | None:
        """A report of nothing to do when neither side changed since the last sync (the open
        conflicts are shown again); None when there may be something to do."""
        from dlcards.anki.sync import Conflict, SyncReport
        from dlcards.store.sync import last_sync

        if not self.col.has_store():
            return None
        found = last_sync(self.col.store, target)
        if found is None or found[1].get("fingerprint") != self._fingerprint(anki):
            return None
        summary = found[1]
        report = SyncReport(target=target, mode="unchanged", why="nothing changed on either side")
        report.conflicts = [Conflict(**c) for c in summary.get("conflicts", [])]
        return report

    def prune_anki(
        self, note_ids: Iterable[str], collection_path: Path | None = None
    ) -> SyncReport:
        """For `dlcards prune`: delete these orphaned notes in Anki, after a sync that brings
        their last reviews in (call it before deleting the cards from the store)."""
        return self.sync(collection_path, delete_orphans=note_ids)

    # -- internals -----------------------------------------------------------------------------

    def _prepare(self, dry_run: bool) -> None:
        if not dry_run:
            from dlcards.store.backup import list_backups

            self.col.take_lease("sync")  # one writer at a time: no review open meanwhile
            # today's backup, unless made already (a look at the folder: the backup opens a
            # second connection, which checks the file's pages while this one is open)
            today = self.col.today()
            keep = self.col.settings.backups_keep
            if keep and not any(b.day == today for b in list_backups(self.col.store_file())):
                self.col.daily_backup()

    def _markdown(self) -> tuple[list[Any], dict[str, Any]]:
        """The valid notes and their Anki HTML (a full sync's Markdown side)."""
        from dlcards.anki.builder import render_all, split_valid
        from dlcards.anki.rendercache import RenderCache, cache_file
        from dlcards.system.paths import state_dir

        col = self.col
        decks = col.decks
        problems = [p for p in col.problems if p.severity == "error"]
        valid, _, _ = split_valid(decks, problems)
        cache = RenderCache(cache_file(state_dir(), col.root))
        rendered, render_problems = render_all(decks, valid, cache)
        cache.save()
        if render_problems:
            valid = [n for n in valid if not rendered[n.id].problems]
        return valid, rendered

    def _input(self, dry_run: bool, prefer_markdown: bool, delete_orphans: Iterable[str]) -> Any:
        from dlcards.anki.sync import SyncInput

        col = self.col
        return SyncInput(
            target="",
            notes=[],
            rendered={},
            display=lambda path: col.decks.display_path(path),
            settings=col.settings,
            calendar=col.calendar,
            scheduler=col.scheduler,
            now=col.now(),
            prefer_markdown=prefer_markdown,
            dry_run=dry_run,
            delete_orphans=frozenset(delete_orphans),
            pause=_pause_hook(),
        )


def _running_marker(target: str) -> Path:
    """The file that says a sync with this target has started writing and not committed."""
    return sync_dir() / f"running-{hashlib.sha256(target.encode()).hexdigest()[:16]}"


def _file_stamp(path: Path) -> list[int]:
    """Size and modification time of a collection file and its write-ahead log."""
    out = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except FileNotFoundError:
            out += [-1, -1]
    return out


def _anki_stamp(col: Any) -> dict[str, Any]:
    return {"anki_mod": int(col.mod), "anki_today": int(col.sched.today)}


def sync_service(collection: Collection) -> SyncService:
    """The sync service of a collection (`Collection.sync()` may hand this out)."""
    return SyncService(collection)


__all__ = [
    "DlcardsError",
    "Login",
    "SyncService",
    "insecure_warning",
    "load_login",
    "sync_service",
]
