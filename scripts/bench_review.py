#!/usr/bin/env python
"""Benchmark `dlcards review` on a large synthetic collection.

    python scripts/bench_review.py [--dir DIR] [--cards 10000] [--reviews 100000] [--grades 400]

Generates (once, into DIR) a collection and a review history with scripts/gen_collection.py,
then measures:

1. start-up: wall time from launching the real `dlcards review` in an 80x24 tmux pane to the
   first card on screen (polling capture-pane every 5 ms), for a cold start (no parse cache,
   cards not yet synced, first run of the day: backup) and warm starts;
2. memory: peak RSS (VmHWM) of that process after answering cards with send-keys;
3. grade -> next card rendered: in-process with the real app (headless Textual pilot), the
   time from the grade key's action to the end of the screen refresh that shows the next
   card, over --grades answers; p50 / p99 / max.

Targets (issue 3): start-up <= 1 s, grade -> next p99 <= 16 ms, memory <= 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-01-05T09:00:00Z"
ROOT = Path(__file__).resolve().parent.parent


def generate(base: Path, cards: int, reviews: int) -> tuple[Path, Path]:
    col, home = base / "collection", base / "home"
    if not (home / "dlcards.sqlite3").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "gen_collection.py"),
                str(col),
                "--cards",
                str(cards),
                "--reviews",
                str(reviews),
                "--home",
                str(home),
                "--now",
                NOW,
            ],
            check=True,
        )
    return col, home


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (load-independent start-up cost)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tmux_start(col: Path, home: Path, sock: str, name: str, cold: bool) -> tuple[float, int, float]:
    if cold:
        shutil.rmtree(home / "cache", ignore_errors=True)
        shutil.rmtree(home / "backups", ignore_errors=True)
        # forget the sync fingerprint so the cards are synced again
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from pathlib import Path\n"
                "from dlcards.app.collection import Collection\n"
                f"with Collection.open(Path({str(col)!r})) as c:\n"
                " c.store.conn.execute(\"DELETE FROM settings WHERE key LIKE 'review.%'\")",
            ],
            env={**os.environ, "DLCARDS_HOME": str(home)},
            check=True,
        )
    env = f"DLCARDS_HOME={home} DLCARDS_NOW={NOW} TZ=UTC TERM=xterm-256color"
    cmd = f"cd {col} && exec env {env} {sys.executable} -m dlcards review"
    t0 = time.perf_counter()
    subprocess.run(
        ["tmux", "-S", sock, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", cmd],
        check=True,
    )
    while True:
        out = subprocess.run(
            ["tmux", "-S", sock, "capture-pane", "-p", "-t", name], capture_output=True, text=True
        ).stdout
        if "show answer" in out:
            elapsed = time.perf_counter() - t0
            break
        if time.perf_counter() - t0 > 30:
            raise SystemExit("the first card never appeared:\n" + out)
        time.sleep(0.005)
    pid = int(
        subprocess.run(
            ["tmux", "-S", sock, "display", "-p", "-t", name, "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    return elapsed, pid, cpu_seconds(pid)


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def startup_and_memory(col: Path, pristine: Path, runs: int, answers: int) -> dict[str, object]:
    if shutil.which("tmux") is None:
        return {"skipped": "tmux not installed"}
    # a fresh copy of the generated database: answers given here must not change later runs
    home = pristine.parent / "run-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    shutil.copy(pristine / "dlcards.sqlite3", home / "dlcards.sqlite3")
    sock = tempfile.mktemp(prefix="bench-tmux-")
    results: dict[str, object] = {}
    warm: list[float] = []
    warm_cpu: list[float] = []
    # a session that outlives the measured ones keeps the tmux server up between runs
    subprocess.run(
        [
            "tmux",
            "-S",
            sock,
            "new-session",
            "-d",
            "-s",
            "keep",
            "-x",
            "80",
            "-y",
            "24",
            "sleep 3600",
        ],
        check=True,
    )
    try:
        for i in range(runs + 1):
            name = f"b{i}"
            elapsed, pid, cpu = tmux_start(col, home, sock, name, cold=i == 0)
            if i == 0:
                results["startup_cold_s"] = round(elapsed, 3)
                results["startup_cold_cpu_s"] = round(cpu, 3)
            else:
                warm.append(elapsed)
                warm_cpu.append(cpu)
            if i == runs:
                screen = subprocess.run(
                    ["tmux", "-S", sock, "capture-pane", "-p", "-t", name],
                    capture_output=True,
                    text=True,
                ).stdout
                results["screen"] = screen
                for _ in range(answers):
                    subprocess.run(
                        ["tmux", "-S", sock, "send-keys", "-t", name, "Space"], check=True
                    )
                    time.sleep(0.02)
                    subprocess.run(["tmux", "-S", sock, "send-keys", "-t", name, "3"], check=True)
                    time.sleep(0.02)
                time.sleep(0.5)
                results["peak_rss_mb"] = round(vm_hwm_mb(pid), 1)
            subprocess.run(["tmux", "-S", sock, "send-keys", "-t", name, "q"], check=True)
            time.sleep(0.3)
            subprocess.run(["tmux", "-S", sock, "kill-session", "-t", name], capture_output=True)
        results["startup_warm_s"] = [round(x, 3) for x in warm]
        results["startup_warm_median_s"] = round(statistics.median(warm), 3)
        results["startup_warm_cpu_median_s"] = round(statistics.median(warm_cpu), 3)
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], capture_output=True)
    return results


def grade_latency(col: Path, home: Path, grades: int) -> dict[str, object]:
    os.environ["DLCARDS_HOME"] = str(home)
    os.environ["DLCARDS_NOW"] = NOW
    import shutil as _sh

    # work on a copy of the database: the benchmark's answers must not pile up
    work = Path(tempfile.mkdtemp(prefix="bench-home-"))
    _sh.copy(home / "dlcards.sqlite3", work / "dlcards.sqlite3")
    os.environ["DLCARDS_HOME"] = str(work)

    from dlcards.app.collection import Collection
    from dlcards.app.review import Limits
    from dlcards.tui.app import build_review_app
    from dlcards.tui.screens.review import ReviewScreen

    samples: list[float] = []
    cpu: list[float] = []
    original = ReviewScreen.action_grade

    def timed(self: ReviewScreen, rating: int) -> None:
        if not self.revealed:
            original(self, rating)
            return
        t0, c0 = time.perf_counter(), time.thread_time()

        def done() -> None:
            samples.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)

        original(self, rating)
        self.app.call_after_refresh(done)

    setattr(ReviewScreen, "action_grade", timed)  # noqa: B010 - a timing wrapper

    import gc

    def ready() -> None:  # as `dlcards review` does: GC paused for start-up, then frozen
        gc.freeze()
        gc.enable()

    async def run() -> None:
        gc.disable()
        with Collection.open(col) as collection:
            # limits high enough that every timed answer finds a next card
            app = build_review_app(
                collection,
                None,
                light=False,
                limits=Limits(new=grades, review=grades),
                ready=ready,
            )
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause(0.5)
                for i in range(grades):
                    await pilot.press("space")
                    await pilot.press("3" if i % 5 else "1")
                    await pilot.pause()

    try:
        asyncio.run(run())
    finally:
        setattr(ReviewScreen, "action_grade", original)  # noqa: B010
        _sh.rmtree(work, ignore_errors=True)

    def p99(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(len(xs) * 0.99))]

    return {
        "grades": len(samples),
        "grade_next_p50_ms": round(statistics.median(samples), 2),
        "grade_next_p99_ms": round(p99(samples), 2),
        "grade_next_max_ms": round(max(samples), 2),
        "grade_next_cpu_p50_ms": round(statistics.median(cpu), 2),
        "grade_next_cpu_p99_ms": round(p99(cpu), 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "dlcards-bench")
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--reviews", type=int, default=100_000)
    p.add_argument("--grades", type=int, default=400)
    p.add_argument("--runs", type=int, default=5, help="warm start-ups to time")
    p.add_argument("--answers", type=int, default=50, help="answers before reading peak memory")
    p.add_argument("--latency-only", action="store_true", help="skip the tmux start-up runs")
    args = p.parse_args()
    col, home = generate(args.dir, args.cards, args.reviews)
    res = {} if args.latency_only else startup_and_memory(col, home, args.runs, args.answers)
    screen = res.pop("screen", None)
    res.update(grade_latency(col, home, args.grades))
    for key, value in res.items():
        print(f"{key}: {value}")
    if screen:
        print("\nfirst screen (80x24):\n" + str(screen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
