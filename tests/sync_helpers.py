"""Real components for the `dlcards sync` tests: an Anki sync server on 127.0.0.1, Anki
collections playing "desktop" and "phone", and the dlcards command line."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES

USERS = 8  # one sync-server user per test (the server is shared by a module)
PASSWORD = "secret-pass"


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    next_user: int = 0

    def user(self) -> str:
        """A fresh user (an empty server-side collection) for one test."""
        self.next_user += 1
        assert self.next_user <= USERS, "raise USERS in sync_helpers.py"
        return f"user{self.next_user}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the sync server did not start on port {port}")


@pytest.fixture(scope="module")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m anki.syncserver` on 127.0.0.1 (a free port, a temporary SYNC_BASE)."""
    pytest.importorskip("anki.syncserver", reason="the anki package is not installed")
    base = tmp_path_factory.mktemp("syncserver")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(SYNC_BASE=str(base), SYNC_HOST="127.0.0.1", SYNC_PORT=str(port))
    for i in range(1, USERS + 1):
        env[f"SYNC_USER{i}"] = f"user{i}:{PASSWORD}"
    log = (base / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "anki.syncserver"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port)
        yield Server(f"http://127.0.0.1:{port}/", port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def make_root(tmp_path: Path) -> Path:
    """A dlcards collection with the example decks (UTC study days)."""
    root = tmp_path / "cards"
    shutil.copytree(EXAMPLES, root / "decks")
    (root / "dlcards.toml").write_text('[dlcards]\ndeck = "Deep Learning"\ntimezone = "UTC"\n')
    return root


def dlcards(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    from dlcards.cli.main import main

    capsys.readouterr()
    code = main(["-C", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def new_anki(path: Path) -> Any:
    from anki.collection import Collection

    path.parent.mkdir(parents=True, exist_ok=True)
    col = Collection(str(path))
    return col


def phone_sync(col: Any, server: Server, user: str) -> str:
    """Sync a phone collection as AnkiDroid would (a full download when it is new)."""
    from anki.sync_pb2 import SyncCollectionResponse as Resp

    auth = col.sync_login(user, PASSWORD, server.url)
    out = col.sync_collection(auth, False)
    if out.required in (Resp.NO_CHANGES, Resp.NORMAL_SYNC):
        return "normal"
    upload = out.required == Resp.FULL_UPLOAD
    col.close_for_full_sync()
    col.full_upload_or_download(auth=auth, server_usn=out.server_media_usn, upload=upload)
    col.reopen(after_full_sync=True)
    col.models._clear_cache()
    return "upload" if upload else "download"


def anki_answer(col: Any, card_id: int, ease: int = 3) -> None:
    """Answer one card through Anki's own (v3) scheduler, as the phone's buttons do."""
    from anki.scheduler.v3 import CardAnswer

    card = col.get_card(card_id)
    card.start_timer()
    states = col._backend.get_scheduling_states(card.id)
    ratings = {1: CardAnswer.AGAIN, 2: CardAnswer.HARD, 3: CardAnswer.GOOD, 4: CardAnswer.EASY}
    col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=ratings[ease]))


def dlc_cards(col: Any) -> dict[str, int]:
    """dlcards card id -> Anki card id, for every card of dlcards' note types."""
    from dlcards.core.model import cloze_card_id

    out = {}
    for cid, ord_, flds, name in col.db.all(
        "select c.id, c.ord, n.flds, m.name from cards c join notes n on n.id = c.nid "
        "join notetypes m on m.id = n.mid where m.name like 'dlcards %'"
    ):
        fields = flds.split("\x1f")
        if name == "dlcards Basic":
            out[fields[5]] = cid
        else:
            out[cloze_card_id(fields[4], ord_ + 1)] = cid
    return out


def store_snapshot() -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    from dlcards.store import Store

    with Store.open() as store:
        return store.reviews(), store.states(), store.flags()


def kill_sync_at(root: Path, home: Path, pause: str = "anki-written") -> None:
    """Run `dlcards sync` in a child (the real CLI), and SIGKILL it once it reaches the pause
    point `pause` (`DLCARDS_TEST_SYNC_PAUSE`: e.g. Anki written, the store not yet
    committed). The pause marker is removed; the killed run's own traces are left."""
    env = dict(os.environ, DLCARDS_TEST_SYNC_PAUSE=pause)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent / "src")
    marker = home / "anki-sync" / "paused"
    child = subprocess.Popen(
        [sys.executable, "-m", "dlcards", "-C", str(root), "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the sync never reached the pause point"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        if child.stderr is not None:
            child.stderr.close()
    marker.unlink()
