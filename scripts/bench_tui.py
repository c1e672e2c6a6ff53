#!/usr/bin/env python
"""Grade -> next card in the real review TUI: latency, split into engine / commit / render.

    python scripts/bench_tui.py [--sizes 1k,10k] [--grades 300] [--dir /tmp]
                                [--code DIR] [--out result.json] [--profile]

For each size it generates (once, `scripts/gen_collection.py --bulk`, the same shapes as
scripts/bench.py: 1k cards / 10k reviews, 10k cards / 100k reviews) a collection, then, in a
child process, drives the real app (`build_review_app`, `App.run_test`, headless, 80x24) over a
copy of the review database and times every answer:

- wall: from the grade key event being posted to the app (as the terminal driver posts it) to
  the end of the first screen update after the answer (the compositor's update for the next
  card's question, turned into the terminal's escape sequence as a real terminal driver would;
  the headless driver skips that step, so the benchmark does it);
- engine: `Session.answer` (the FSRS step) + `Session.next_card` (the queue), wall and CPU;
- commit: `ReviewService.apply` (the answer's own SQLite transaction, synchronous=FULL, and any
  other effects); `sqlite` is `Store.record_answer` alone inside it;
- render: the rest (screen code building the next card, Textual's layout and compositor, the
  escape sequence); `render_cpu` is the main thread's CPU time for it, the part the screen
  code controls.

Between answers the learner "reads": the benchmark waits 30 ms after the answer is shown and
after the next card is painted, so every key arrives after the app's frame cap (60 fps) has
passed, as a human's keys do. No sleep is inside a timed window; the end of a window is
Textual's own paint (`App._display`), then `call_after_refresh` confirms the frame is done.

`--code DIR` imports dlcards from DIR (e.g. an export of the last commit, for a before/after
on the same machine). The load average is recorded before and after each size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-01-05T09:00:00+00:00"
SIZES: dict[str, tuple[int, int]] = {
    "tiny": (120, 600),  # the smoke test's
    "1k": (1_000, 10_000),
    "10k": (10_000, 100_000),
}
THINK_S = 0.03  # > one frame at 60 fps


def generate(base: Path, name: str) -> tuple[Path, Path]:
    cards, reviews = SIZES[name]
    where = base / f"C-{name}"
    col, home = where / "collection", where / "home"
    if not (home / "dlcards.sqlite3").is_file():
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DLCARDS_")}
        env.update(DLCARDS_HOME=str(home), DLCARDS_NOW=NOW, TZ="UTC")
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "gen_collection.py"),
                str(col),
                "--cards",
                str(cards),
                "--reviews",
                str(reviews),
                "--files",
                str(max(10, cards // 200)),
                "--home",
                str(home),
                "--now",
                NOW,
                "--bulk",
            ],
            env=env,
            check=True,
        )
    return col, home


def pct(xs: list[float], q: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(len(ys) * q))] if ys else float("nan")


# -- the measuring child ---------------------------------------------------------------------
class Clock:
    """Per-answer accumulators (wall and main-thread CPU, ms) of the instrumented parts."""

    def __init__(self) -> None:
        self.parts: dict[str, list[float]] = {}
        self.armed = False

    def reset(self) -> None:
        self.parts = {}

    def add(self, name: str, wall: float, cpu: float, *, started_armed: bool = False) -> None:
        if self.armed or started_armed:
            acc = self.parts.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += wall * 1000
            acc[1] += cpu * 1000
            acc[2] += 1

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        clock = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            armed = clock.armed  # a call that ends after the paint (the paint is inside it)
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
                clock.add(name, wall, cpu, started_armed=armed)

        timed.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attr, timed)

    def get(self, name: str) -> tuple[float, float]:
        wall, cpu, _ = self.parts.get(name, (0.0, 0.0, 0.0))
        return wall, cpu

    def count(self, name: str) -> float:
        return self.parts.get(name, (0.0, 0.0, 0.0))[2]


def child(size: str, col: Path, home: Path, grades: int, profile: bool) -> dict[str, Any]:
    import asyncio
    import gc

    work = Path(tempfile.mkdtemp(prefix=f"C-tui-{size}-", dir="/tmp"))
    shutil.copy(home / "dlcards.sqlite3", work / "dlcards.sqlite3")
    # the copy's writeback would stall the answers' fsyncs (ext4 commits other files' dirty
    # pages with them: 57 ms p99 at 50k right after the copy); a learner's store is no freshly
    # written file
    os.sync()
    os.environ["DLCARDS_HOME"] = str(work)
    os.environ["DLCARDS_NOW"] = NOW
    os.environ["TZ"] = "UTC"

    from textual import events
    from textual.app import App

    import dlcards
    from dlcards.app.collection import Collection
    from dlcards.app.review import Limits, ReviewService
    from dlcards.review.session import Session
    from dlcards.tui.app import build_review_app

    clock = Clock()
    clock.wrap(Session, "answer", "engine")
    clock.wrap(Session, "next_card", "engine")
    clock.wrap(ReviewService, "apply", "commit")
    from textual.screen import Screen

    from dlcards.tui.screens.review import ReviewScreen

    clock.wrap(ReviewScreen, "render_card", "screen_code")
    clock.wrap(Screen, "_refresh_layout", "layout")
    clock.wrap(Screen, "_compositor_refresh", "compositor")
    marks: dict[str, float] = {}
    original_grade = ReviewScreen.action_grade

    def action_grade(self: ReviewScreen, rating: int) -> None:
        marks.setdefault("a0", time.perf_counter())
        try:
            original_grade(self, rating)
        finally:
            marks["a1"] = time.perf_counter()

    ReviewScreen.action_grade = action_grade  # type: ignore[method-assign]
    original_timer = Screen._on_timer_update

    def on_timer_update(self: Screen[Any]) -> None:  # when the frame starts
        if clock.armed and "a1" in marks and "frame" not in marks:
            marks["frame"] = time.perf_counter()
        original_timer(self)

    Screen._on_timer_update = on_timer_update  # type: ignore[method-assign]

    try:  # the Markdown render cache's counters (review screens that have one)
        from dlcards.tui.widgets.markdown import stats as md_stats
    except ImportError:
        md_stats = {}
    paint: dict[str, Any] = {"event": None, "n": 0, "chars": 0}
    original_display = App._display

    def display(self: App[Any], screen: Any, renderable: Any) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        original_display(self, screen, renderable)
        if self.is_headless and renderable is not None and hasattr(renderable, "render_segments"):
            # what a terminal driver does with the update (headless skips it)
            paint["chars"] += len(renderable.render_segments(self.console))
        clock.add("display", time.perf_counter() - t0, time.thread_time() - c0)
        if paint["event"] is not None:
            paint["n"] += 1
            if paint["n"] == 1:  # the next card is on screen: the timed window ends
                paint["end"] = time.perf_counter()
                paint["end_cpu"] = time.thread_time()
                paint["renders"] = md_stats.get("renders", 0)
                clock.armed = False
                paint["event"].set()

    App._display = display  # type: ignore[method-assign]

    rows: list[dict[str, float]] = []
    questions_ok = 0

    def ready() -> None:  # as `dlcards review` does: GC paused for start-up, then frozen
        gc.freeze()
        gc.enable()

    async def run() -> None:
        nonlocal questions_ok
        gc.disable()
        with Collection.open(col) as collection:
            app = build_review_app(
                collection,
                None,
                light=False,
                limits=Limits(new=grades + 50, review=grades + 50),
                ready=ready,
            )
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause(0.3)
                await app.workers.wait_for_complete()
                await asyncio.sleep(THINK_S)
                screen = app.review_screen
                driver = app._driver
                assert driver is not None
                prof = None
                if profile:
                    import cProfile

                    prof = cProfile.Profile()
                for i in range(grades + 10):
                    await pilot.press("space")
                    await pilot.pause()
                    await asyncio.sleep(THINK_S)
                    key = "1" if i % 5 == 4 else "3"
                    before = screen.card_id
                    loop = asyncio.get_running_loop()
                    done = loop.create_future()
                    paint["event"] = asyncio.Event()
                    paint["n"] = 0
                    clock.reset()
                    marks.clear()
                    clock.armed = True
                    if prof is not None and i >= 10:
                        prof.enable()
                    renders0 = md_stats.get("renders", 0)
                    t0, c0 = time.perf_counter(), time.thread_time()
                    driver.send_message(events.Key(key, key))
                    await asyncio.wait_for(paint["event"].wait(), 10)
                    md_renders = paint["renders"] - renders0
                    if prof is not None:
                        prof.disable()
                    # what follows the paint until the screen is idle (Textual's frame for
                    # the resized panes, the answer rendered ahead): CPU, not latency
                    app.call_after_refresh(lambda d=done: d.done() or d.set_result(None))
                    await asyncio.wait_for(done, 10)
                    after_cpu = (time.thread_time() - paint["end_cpu"]) * 1000
                    paint["event"] = None
                    if screen.card_id is None:
                        break
                    questions_ok += screen.card_id != before
                    wall = (paint["end"] - t0) * 1000
                    cpu = (paint["end_cpu"] - c0) * 1000
                    ew, ec = clock.get("engine")
                    cw, cc = clock.get("commit")
                    dw, _ = clock.get("display")
                    sw, sc = clock.get("screen_code")
                    lw, lc = clock.get("layout")
                    pw, pc = clock.get("compositor")
                    to_action = (marks["a0"] - t0) * 1000
                    aw = (marks["a1"] - marks["a0"]) * 1000
                    to_frame = (marks.get("frame", marks["a1"]) - marks["a1"]) * 1000
                    in_frame = (paint["end"] - marks.get("frame", marks["a1"])) * 1000
                    if i >= 10:  # the first answers warm caches
                        rows.append(
                            {
                                "wall": wall,
                                "cpu": cpu,
                                "engine": ew,
                                "engine_cpu": ec,
                                "commit": cw,
                                "commit_cpu": cc,
                                "render": wall - ew - cw,
                                "render_cpu": cpu - ec - cc,
                                "screen_code": sw,
                                "screen_code_cpu": sc,
                                "layout": lw,
                                "layout_cpu": lc,
                                "compositor": pw,
                                "compositor_cpu": pc,
                                "escape_codes": dw,
                                "to_action": to_action,
                                "action": aw,
                                "to_frame": to_frame,
                                "frame": in_frame,
                                "layouts": clock.count("layout"),
                                "md_renders": float(md_renders),
                                "after_paint_cpu": after_cpu,
                                "frames_after": float(paint["n"] - 1),
                            }
                        )
                    await asyncio.sleep(THINK_S)
                if prof is not None:
                    import pstats

                    out = Path(tempfile.gettempdir()) / f"C-tui-{size}.prof"
                    prof.dump_stats(out)
                    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(45)
                    pstats.Stats(str(out)).sort_stats("tottime").print_stats(30)

    load0 = os.getloadavg()
    try:
        asyncio.run(run())
    finally:
        App._display = original_display  # type: ignore[method-assign]
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    res: dict[str, Any] = {
        "size": size,
        "code": str(Path(dlcards.__file__).parent),
        "answers": len(rows),
        "next_card_changed": questions_ok,
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in load1],
    }
    for key in rows[0] if rows else ():
        xs = [r[key] for r in rows]
        res[f"{key}_p50"] = round(statistics.median(xs), 3)
        res[f"{key}_p99"] = round(pct(xs, 0.99), 3)
        res[f"{key}_mean"] = round(statistics.fmean(xs), 3)
    return res


# -- the parent ------------------------------------------------------------------------------
FIGURES = [
    ("wall", "grade → next painted, wall"),
    ("cpu", "… main-thread CPU"),
    ("engine", "engine (answer + next card), wall"),
    ("commit", "commit (apply: SQLite FULL), wall"),
    ("commit_cpu", "… commit CPU"),
    ("render", "render (the rest), wall"),
    ("render_cpu", "… render CPU"),
    ("screen_code", "… of it the review screen's code (render_card), wall"),
    ("screen_code_cpu", "… … CPU"),
    ("layout", "… Textual's layout (+ the compositor inside it), wall"),
    ("layout_cpu", "… … CPU"),
    ("compositor", "… Textual's compositor update, wall"),
    ("compositor_cpu", "… … CPU"),
    ("escape_codes", "… the terminal's escape sequence, wall"),
    ("to_action", "timeline: key → grade action, wall"),
    ("action", "… the grade action (commit + engine + screen code), wall"),
    ("to_frame", "… action end → frame start, wall"),
    ("frame", "… frame start → painted, wall"),
    ("layouts", "screen layouts before the paint (count)"),
    ("md_renders", "Markdown renders before the paint (count; 0: rendered ahead)"),
    ("after_paint_cpu", "after the paint until idle (resize frame, render ahead), CPU"),
    ("frames_after", "screen updates after the paint (count)"),
]


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| size | figure | p50 ms | p99 ms | mean |", "|---|---|---|---|---|"]
    for r in results:
        for key, label in FIGURES:
            if f"{key}_p50" in r:
                lines.append(
                    f"| {r['size']} | {label} | {r[key + '_p50']} | {r[key + '_p99']} "
                    f"| {r.get(key + '_mean', '')} |"
                )
    for r in results:
        lines.append(
            f"\n{r['size']}: {r['answers']} answers, code {r['code']}, load "
            f"{r['load_before']} -> {r['load_after']}"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1k,10k")
    p.add_argument("--grades", type=int, default=300)
    p.add_argument("--dir", type=Path, default=Path("/tmp"), help="collections: DIR/C-<size>")
    p.add_argument("--code", type=Path, help="import dlcards from this src folder")
    p.add_argument("--out", type=Path)
    p.add_argument("--profile", action="store_true", help="cProfile the timed windows")
    p.add_argument("--child", nargs=3, metavar=("SIZE", "COL", "HOME"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        size, col, home = args.child
        res = child(size, Path(col), Path(home), args.grades, args.profile)
        print(json.dumps(res))
        return 0
    results = []
    for name in args.sizes.split(","):
        col, home = generate(args.dir, name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DLCARDS_")}
        if args.code:
            env["PYTHONPATH"] = str(args.code.resolve())
        cmd = [sys.executable, __file__, "--grades", str(args.grades)]
        if args.profile:
            cmd.append("--profile")
        proc = subprocess.run(
            [*cmd, "--child", name, str(col), str(home)],
            env=env,
            capture_output=True,
            text=True,
            cwd=col,
        )
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-5000:], file=sys.stderr)
            return 1
        if args.profile:
            print(proc.stdout.rsplit("\n", 2)[0])
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
