#!/usr/bin/env python
"""Benchmark `dlcards sync` on the shipped decks against a real Anki sync server.

    python scripts/bench_sync.py [--root .] [--reviews 40] [--repeat 3]

Starts `python -m anki.syncserver` on 127.0.0.1 (a free port, temporary SYNC_BASE and user),
uses a temporary DLCARDS_HOME (cold parse and render caches) and measures `dlcards sync` as
the learner runs it (a subprocess: start-up included):

- first sync: every note added to the mirror collection, full upload (target <= 5 s);
- a sync with nothing to do (target <= 1 s), best of --repeat;
- a sync after one day of study: a phone (an `anki` collection synced with the same server)
  answers --reviews cards through Anki's scheduler, dlcards answers --reviews others through
  its review service (target <= 2 s).

The same three against a collection file (`--collection`, Anki's desktop profile) follow.
Prints a table; exits 1 when a target is missed (so CI can run it as a check).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGETS = {"first sync": 5.0, "nothing to do": 1.0, "one day of study": 2.0}
PASSWORD = "bench-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(
        SYNC_BASE=str(base),
        SYNC_HOST="127.0.0.1",
        SYNC_PORT=str(port),
        SYNC_USER1=f"bench:{PASSWORD}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "anki.syncserver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the sync server did not start")


def dlcards(root: Path, env: dict[str, str], *args: str) -> tuple[float, float, dict[str, Any]]:
    """Run `dlcards sync ... --json` as a subprocess: (wall seconds, CPU seconds, summary)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "dlcards", "-C", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"dlcards {' '.join(args)} failed:\n{out.stderr}")
    return wall, cpu, json.loads(out.stdout) if "--json" in args else {}


def phone_day(phone_path: Path, server: str | None, n: int) -> None:
    """The phone: sync (when a server is given), answer n cards with Anki's scheduler, sync."""
    from anki.collection import Collection
    from anki.scheduler.v3 import CardAnswer
    from anki.sync_pb2 import SyncCollectionResponse as Resp

    col: Any = Collection(str(phone_path))
    try:

        def sync() -> None:
            assert server is not None
            auth = col.sync_login("bench", PASSWORD, server)
            out = col.sync_collection(auth, False)
            if out.required not in (Resp.NO_CHANGES, Resp.NORMAL_SYNC):
                col.close_for_full_sync()
                col.full_upload_or_download(
                    auth=auth,
                    server_usn=out.server_media_usn,
                    upload=out.required == Resp.FULL_UPLOAD,
                )
                col.reopen(after_full_sync=True)

        if server:
            sync()
        cids = col.db.list(
            "select c.id from cards c join notes n on n.id = c.nid where c.queue = 0 "
            "order by c.due desc limit ?",
            n,
        )
        for cid in cids:
            card = col.get_card(cid)
            card.start_timer()
            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(
                col.sched.build_answer(card=card, states=states, rating=CardAnswer.GOOD)
            )
        if server:
            sync()
    finally:
        col.close()


def terminal_day(root: Path, home: Path, n: int) -> None:
    """dlcards answers n cards through its review service."""
    os.environ["DLCARDS_HOME"] = str(home)
    from dlcards.app.collection import Collection
    from dlcards.core.state import Rating

    with Collection.open(root) as col:
        service = col.review()
        now = datetime.now(UTC)
        for _ in range(n):
            if service.session.next_card(now) is None:
                break
            service.apply(service.session.answer(Rating.GOOD, now, 3000))
            now += timedelta(seconds=2)


def bench(
    root: Path, reviews: int, repeat: int, server_mode: bool
) -> dict[str, tuple[float, float, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="dlcards-bench-sync-"))
    home = tmp / "home"
    # a day of study: enough new cards a day for `reviews` answers on each side
    os.environ["DLCARDS_NEW_PER_DAY"] = str(max(reviews, 20))
    env = dict(os.environ, DLCARDS_HOME=str(home), DLCARDS_SYNC_PASSWORD=PASSWORD)
    env.pop("DLCARDS_NOW", None)
    proc = None
    results: dict[str, tuple[float, float, str]] = {}
    try:
        from anki.collection import Collection

        if server_mode:
            proc, url = start_server(tmp / "server")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "dlcards",
                    "-C",
                    str(root),
                    "sync",
                    "login",
                    "--server",
                    url,
                    "--user",
                    "bench",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            args: tuple[str, ...] = ("sync", "--json")
            phone = tmp / "phone" / "collection.anki2"
            phone.parent.mkdir()
        else:
            url = None
            desk = tmp / "desk" / "collection.anki2"
            desk.parent.mkdir()
            Collection(str(desk)).close()
            args = ("sync", "--json", "--collection", str(desk))
            phone = desk
        wall, cpu, summary = dlcards(root, env, *args)
        steps = ", ".join(f"{k} {v:.2f}" for k, v in summary["timings"].items())
        results["first sync"] = (wall, cpu, f"{summary['notes']['added']} notes added; {steps}")
        runs = [dlcards(root, env, *args) for _ in range(repeat)]
        results["nothing to do"] = (min(r[0] for r in runs), min(r[1] for r in runs), "")
        phone_day(phone, url, reviews)
        terminal_day(root, home, reviews)
        wall, cpu, summary = dlcards(root, env, *args)
        r = summary["reviews"]
        steps = ", ".join(f"{k} {v:.2f}" for k, v in summary["timings"].items())
        results["one day of study"] = (wall, cpu, f"{r['in']} reviews in, {r['out']} out; {steps}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--reviews", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    missed = 0
    for mode, server_mode in (("sync server", True), ("collection file", False)):
        results = bench(opts.root.resolve(), opts.reviews, opts.repeat, server_mode)
        print(f"\n{mode} (shipped decks, {opts.reviews} reviews per side)")
        print(f"{'case':<20} {'wall s':>7} {'cpu s':>6} {'target':>7}  note")
        for case, (seconds, cpu, note) in results.items():
            target = TARGETS[case]
            flag = "" if seconds <= target else "  MISSED"
            missed += seconds > target
            print(f"{case:<20} {seconds:>7.2f} {cpu:>6.2f} {target:>7.1f}  {note}{flag}")
    print(f"\n(load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
