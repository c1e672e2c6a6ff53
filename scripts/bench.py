#!/usr/bin/env python
"""One benchmark harness for dlcards, measured against references on the same data.

    python scripts/bench.py [--sizes 1k,10k,50k] [--reps 3] [--quick] [--dir DIR]
                            [--out bench.json] [--markdown bench.md] [--compare old.json]
                            [--write-readme]

For each size (1k / 10k / 50k cards with 10x / 10x / 20x reviews) it generates a dlcards
collection and its review history in bulk (`scripts/gen_collection.py --bulk`), writes the
same cards, states and review log into an Anki collection (the `anki` package), then measures,
interleaved (dlcards, reference, dlcards, reference, ... `--reps` times), each figure next to
its reference:

| figure | dlcards | reference |
|---|---|---|
| check cold / warm | `dlcards check --no-exec` (caches off / on) | `python -c pass` |
| build | `dlcards build` | raw genanki writing the same number of notes |
| first card cold / warm | the review service's first card (no TUI), whole process, the GC paused and frozen as `dlcards review` does; cold = no dlcards caches (`DLCARDS_CACHE_OFF=all`) on a fresh copy of the store, opened and closed once untimed (the integrity check a copied file gets); warm = a later start (after one untimed one) | Anki: open the collection, `get_queued_cards` |
| grade p50 / p99 | service answer + commit + next card, in process | Anki: `answer_card` + next queued card |
| commit p50 / p99 | the answer's commit alone (`ReviewService.apply`) | - |
| TUI grade p50 / p99 | grade key -> next card painted in the real review TUI (`scripts/bench_tui.py`: headless Textual app, the terminal's escape sequence included), and the commit inside it | - |
| stats first / later | `Collection.stats_report()` in process (decks read, store aggregated): the first run (the stored figures of the log's older days off) and a later one | Anki's graphs backend call as its stats screen opens (`graphs(search="", days=365)`: the last year, which reads only the reviews of that year: 37% of the 50k log) |
| stats first / later, whole | the same runs (dlcards' report covers the whole log) | Anki's graphs over the whole log (`days=0`, "deck life"): the same reviews read |
| stats RSS | peak memory of the `dlcards stats --json` process | peak memory of the Anki graphs process |
| prune | `dlcards prune --json` | `python -c pass` |
| list | `dlcards list` (warm) | `python -c pass` |
| review RSS warm / cold | peak memory of the first-card process (the warm start; the cold one) | Anki's |
| sync first | `dlcards sync --collection` into an empty Anki collection file: every note and review out (wall, peak memory; once per size) | - |
| sync nothing | the same sync again, nothing to do | `python -c pass` |
| sync day | the sync after a day of study on both sides (30 answers in dlcards, 30 in Anki's scheduler) | Anki: open and close the collection |
| FSRS batch | memory states of 2,000 cards' histories at once (`memory_states_batch`, float64, median of 3 calls) and its worst relative error | the py-fsrs replay of the same histories (`anki_days.memory_states`) |
| DB size | dlcards.sqlite3 | collection.anki2 with the same cards (their question and answer), states and log |
| generate | writing the collection and history | 60 s (the target for 1M reviews) |

CPU seconds (user + sys, of the child process, `os.wait4`) unless a figure says wall; ratios
are medians of the per-pair ratios, so a machine that slows down during the run affects both
sides of each pair alike; a memory target is judged on the worst sample, not the median. The
load average is recorded at the start and the end.

Writes JSON (`--out`) and a Markdown table (`--markdown`, and printed); `--compare old.json`
adds the old ratios and marks regressions (a ratio more than 20% worse); `--write-readme`
rewrites README.md's block between `<!-- bench:start -->` and `<!-- bench:end -->`.
`--quick`: the smallest size, one repetition, few grades (a smoke run; the test suite runs it).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import inspect
import json
import os
import platform
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
    "1k": (1_000, 10_000),
    "10k": (10_000, 100_000),
    "50k": (50_000, 1_000_000),
}
TARGETS = {  # figure -> (the bound on the ratio or value, what it bounds)
    "stats_first": (3.0, "ratio"),
    "stats": (3.0, "ratio"),
    "stats_first_whole": (3.0, "ratio"),
    "stats_whole": (3.0, "ratio"),
    "stats_rss_mb": (250.0, "dlcards"),
    "first_card_warm": (2.0, "ratio"),
    "first_card_cold_wall": (2.0, "dlcards"),
    "review_rss_mb": (150.0, "dlcards"),
    "review_rss_cold_mb": (150.0, "dlcards"),
    "grade_p99_ms": (16.0, "dlcards"),
    "tui_grade_p99_ms": (16.0, "dlcards"),
    "list": (8.0, "ratio"),
    "db_size_mb": (1.5, "ratio"),
    "generate_s": (60.0, "dlcards"),
    "generate_cpu_s": (60.0, "dlcards"),
    "fsrs_batch_ms_per_card": (0.01, "ratio"),
    "fsrs_batch_max_rel_error": (1e-6, "dlcards"),
}
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
CODE = [ROOT / "src"]  # the code measured: a snapshot of src/ (`freeze`) unless --live


def freeze(base: Path) -> Path:
    """A copy of src/ (modification times kept) that every measured process imports: the code
    fingerprint, and so every cache key, stays the same for the whole run even while the
    working tree is being edited."""
    target = base / "src-snapshot"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(
        ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    # compiled once, as an installed package is: with PYTHONDONTWRITEBYTECODE set (as here)
    # every measured process would otherwise compile dlcards again (30-60 ms of each start)
    compileall.compile_dir(target, quiet=1)
    return target


# -- processes -------------------------------------------------------------------------------
_STDOUT_TAIL = 1 << 20  # bytes of a child's output kept (its last JSON line is what is read)


def peak_rss_mb() -> float:
    """This process's own peak memory (VmHWM), MB: kept low, see `run`."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1000
    except OSError:
        pass
    return 0.0


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    """Run a child; its own CPU time, wall time and peak memory (wait4), and its stdout."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return {"timeout": True, "wall": timeout}
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        # only the end: the measuring children print one JSON line last. A whole `prune
        # --json` (~90 MB at 50k) read here would raise this process's peak memory, and every
        # child started after it inherits that peak in its own `ru_maxrss` (Linux keeps the
        # spawning process's high-water mark across the exec): every later RSS figure would
        # read ~200 MB whatever the child used
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - _STDOUT_TAIL))
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({proc.returncode}):\n{err[-3000:]}")
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "stdout": text,
    }


def py(
    code: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 600
) -> dict[str, Any]:
    return run([sys.executable, "-c", code], env=env, cwd=cwd, timeout=timeout)


def last_json(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON line a measuring child printed last ({} when it timed out)."""
    if result.get("timeout"):
        return {}
    return dict(json.loads(result["stdout"].strip().splitlines()[-1]))


# -- the data --------------------------------------------------------------------------------
class Sizes:
    """Where one size's collection, store and Anki collection live."""

    def __init__(self, base: Path, name: str, cards: int, reviews: int):
        self.name, self.cards, self.reviews = name, cards, reviews
        self.base = base / name
        self.col = self.base / "collection"
        self.home = self.base / "home"
        self.anki = self.base / "anki" / "collection.anki2"
        self.stamp = self.base / "generated.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DLCARDS_")}
        env.update(DLCARDS_HOME=str(self.home), DLCARDS_NOW=NOW, TZ="UTC", **extra)
        env["PYTHONPATH"] = str(CODE[0])
        return env

    @property
    def db(self) -> Path:
        return self.home / "dlcards.sqlite3"


def generate(s: Sizes) -> dict[str, Any]:
    """The collection and its history (bulk), then the matching Anki collection; reused when
    the same size and generator made them before."""
    digest = hashlib.sha256((ROOT / "scripts" / "gen_collection.py").read_bytes()).hexdigest()
    writer = hashlib.sha256(inspect.getsource(build_anki).encode()).hexdigest()
    want = {
        "cards": s.cards,
        "reviews": s.reviews,
        "now": NOW,
        "generator": digest[:16],
        "anki_writer": writer[:16],
    }
    if s.stamp.is_file():
        have = json.loads(s.stamp.read_text())
        if {k: have.get(k) for k in want} == want and s.db.is_file():
            return have
    shutil.rmtree(s.base, ignore_errors=True)
    s.base.mkdir(parents=True)
    files = max(10, s.cards // 200)
    gen = run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gen_collection.py"),
            str(s.col),
            "--cards",
            str(s.cards),
            "--reviews",
            str(s.reviews),
            "--files",
            str(files),
            "--home",
            str(s.home),
            "--now",
            NOW,
            "--bulk",
        ],
        env=s.env(),
        timeout=3600,
    )
    stamp = {**want, "generate_s": round(gen["wall"], 2), "generate_cpu_s": round(gen["cpu"], 2)}
    if not anki_installed():
        stamp["anki"] = None
    else:  # in a child: this process stays small (a child's peak memory counts its parent's)
        made = run(
            [sys.executable, __file__, "--build-anki", str(s.base), "--sizes", s.name],
            env=s.env(),
            timeout=3600,
        )
        stamp["anki"] = round(made["wall"], 2)
    s.stamp.write_text(json.dumps(stamp))
    return stamp


def anki_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("anki") is not None


def build_anki(s: Sizes) -> None:
    """The same cards (one Basic note each), states (FSRS memory in the card's data) and review
    log in an Anki collection. Anki counts days from its real clock, so every time is shifted
    by (real now - NOW): the history ends now for Anki as it ends at NOW for dlcards."""
    import sqlite3
    from datetime import datetime

    from anki.collection import Collection

    s.anki.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.fromisoformat(NOW).timestamp()
    shift = time.time() - now
    src = sqlite3.connect(s.db)
    col: Any = Collection(str(s.anki))
    try:
        col.set_config("rollover", 4)
        col.set_config("fsrs", True)
        model = col.models.by_name("Basic")
        did = col.decks.id("Default")
        today = col.sched.today
        cards = src.execute(
            "SELECT c.card_id, c.present, s.phase, s.stability, s.difficulty, s.due, "
            "s.last_review, s.reps, s.lapses, s.interval_days, t.question, t.answer FROM cards c "
            "LEFT JOIN card_state s ON s.card_id = c.card_id "
            "LEFT JOIN card_text t ON t.card_id = c.card_id ORDER BY c.rowid"
        ).fetchall()
        notes: list[tuple[Any, ...]] = []
        anki_cards: list[tuple[Any, ...]] = []
        cid_of: dict[str, int] = {}
        base = int(now * 1000)
        for i, row in enumerate(cards):
            card_id, _present, phase, stab, diff, due, last, reps, lapses, ivl, q, a = row
            nid = cid = base + i
            cid_of[card_id] = cid
            # the same data: the card's own question and answer (what dlcards keeps of it)
            front, back = (q, a) if q is not None else (f"{card_id} front", "back")
            csum = int(hashlib.sha1(front.encode()).hexdigest()[:8], 16)
            notes.append(
                (nid, card_id, model["id"], 0, -1, "", f"{front}\x1f{back}", front, csum, 0, "")
            )
            if phase is None or phase == "new":
                ctype = queue = 0
                cdue = i
                data = ""
            else:
                due_t = datetime.fromisoformat(due).timestamp()
                last_t = datetime.fromisoformat(last).timestamp()
                data = json.dumps({"s": stab, "d": diff, "dr": 0.9, "lrt": int(last_t + shift)})
                if phase == "review":
                    ctype = queue = 2
                    cdue = today + int((due_t - now) // 86400)
                else:
                    ctype, queue = (1, 1) if phase == "learning" else (3, 1)
                    cdue = int(due_t + shift)
            anki_cards.append(
                (
                    cid,
                    nid,
                    did,
                    0,
                    0,
                    -1,
                    ctype,
                    queue,
                    cdue,
                    ivl or 0,
                    2500,
                    reps or 0,
                    lapses or 0,
                    0,
                    0,
                    0,
                    0,
                    data,
                )
            )
        kinds = {0: 0, 1: 1, 2: 2}  # dlcards' kind codes learn, review, relearn -> Anki's
        seen: set[int] = set()
        rows: list[tuple[Any, ...]] = []
        for card_id, t, rating, ms, kind, ivl in src.execute(
            "SELECT c.card_id, l.time, (l.info & 3) + 1, l.duration_ms, (l.info >> 2) & 7, "
            "l.interval_days FROM review_log AS l JOIN cards AS c ON c.id = l.card ORDER BY l.id"
        ):
            rid = int((t / 1e6 + shift) * 1000)  # time: microseconds since 1970 UTC
            while rid in seen:
                rid += 1
            seen.add(rid)
            rows.append(
                (rid, cid_of[card_id], -1, rating, ivl or -600, 0, 2500, ms, kinds.get(kind, 3))
            )
    finally:
        col.close()
        src.close()
    # the rows go in with sqlite3 itself: Anki's DB proxy sends each row through its backend
    # (10k cards + 100k reviews took four minutes that way)
    dst = sqlite3.connect(s.anki)
    try:
        with dst:
            dst.executemany(
                "insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, "
                "data) values (?,?,?,?,?,?,?,?,?,?,?)",
                notes,
            )
            dst.executemany(
                "insert into cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, "
                "reps, lapses, left, odue, odid, flags, data) values "
                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                anki_cards,
            )
            dst.executemany(
                "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
                "values (?,?,?,?,?,?,?,?,?)",
                rows,
            )
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        dst.close()


# -- the measures ----------------------------------------------------------------------------
FIRST_CARD = """
import gc, json, time
from dlcards.app.collection import Collection
gc.disable()  # as `dlcards review` starts: the cyclic GC paused until the first card is shown
t0 = time.perf_counter()
with Collection.open() as col:
    svc = col.review()
    card = svc.session.next_card(col.now())
    gc.freeze()  # then frozen out of later collections and enabled again (cli/review.py)
    gc.enable()
print(json.dumps({"card": card, "in_process_s": time.perf_counter() - t0}))
"""

OPEN_STORE = """
from dlcards.store import Store
Store.open().close()
"""

ANKI_FIRST_CARD = """
import json, sys, time
from anki.collection import Collection
t0 = time.perf_counter()
col = Collection(sys.argv[1])
queued = col.sched.get_queued_cards(fetch_limit=1)
print(json.dumps({"cards": len(queued.cards), "in_process_s": time.perf_counter() - t0}))
col.close()
"""

GRADES = """
import json, sys, time
from dlcards.app.collection import Collection
from dlcards.app.review import Limits
from dlcards.core.state import Rating
n = int(sys.argv[1])
total, commit = [], []
with Collection.open() as col:
    svc = col.review(limits=Limits(new=n, review=n))
    now = col.now()
    svc.session.next_card(now)
    for i in range(n):
        t0 = time.perf_counter()
        outcome = svc.session.answer(Rating.GOOD if i % 5 else Rating.AGAIN, now, 3000)
        t1 = time.perf_counter()
        svc.apply(outcome)
        t2 = time.perf_counter()
        card = svc.session.next_card(now)
        total.append(time.perf_counter() - t0)
        commit.append(t2 - t1)
        if card is None:
            break
print(json.dumps({"total": total, "commit": commit}))
"""

ANKI_GRADES = """
import json, sys, time
from anki.collection import Collection
from anki.scheduler.v3 import CardAnswer
col = Collection(sys.argv[1])
n = int(sys.argv[2])
if len(sys.argv) > 3:  # study the synced decks (the queue is the current deck's)
    top = min((d.name for d in col.decks.all_names_and_ids() if d.name != "Default"), key=len)
    col.decks.select(col.decks.id(top))
total = []
queued = col.sched.get_queued_cards(fetch_limit=1)
for i in range(n):
    if not queued.cards:
        break
    t0 = time.perf_counter()
    card = col.get_card(queued.cards[0].card.id)
    card.start_timer()
    states = queued.cards[0].states
    rating = CardAnswer.GOOD if i % 5 else CardAnswer.AGAIN
    col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=rating))
    queued = col.sched.get_queued_cards(fetch_limit=1)
    total.append(time.perf_counter() - t0)
col.close()
print(json.dumps({"total": total}))
"""

STATS = """
import json, time
from dlcards.app.collection import Collection
import dlcards.insights.stats, dlcards.store.stats_queries, dlcards.review.scheduling  # noqa
c0, t0 = time.process_time(), time.perf_counter()
with Collection.open() as col:
    report = col.stats_report().to_dict()
print(json.dumps({"cpu": time.process_time() - c0, "wall": time.perf_counter() - t0,
                  "reviews": sum(d["reviews"] for d in report["heatmap"]["days"])}))
"""

ANKI_OPEN = """
import sys
from anki.collection import Collection
Collection(sys.argv[1]).close()
"""

ANKI_STATS = """
import json, sys, time
from anki.collection import Collection
days = int(sys.argv[2]) if len(sys.argv) > 2 else 365
c0, t0 = time.process_time(), time.perf_counter()
col = Collection(sys.argv[1])
graphs = col._backend.graphs(search="", days=days)
col.close()
print(json.dumps({"cpu": time.process_time() - c0, "wall": time.perf_counter() - t0}))
"""

FSRS_BATCH = """
import json, sys, time
from datetime import datetime
from dlcards.store import Store
from dlcards.review.anki_days import memory_states
from dlcards.review.batch import memory_states_batch
n = int(sys.argv[1])
with Store.open() as store:
    ids = [r[0] for r in store.conn.execute(
        "SELECT c.card_id FROM review_log AS l JOIN cards AS c ON c.id = l.card "
        "GROUP BY c.card_id ORDER BY c.card_id LIMIT ?", (n,))]
    hist = {}
    for e in store.reviews(ids):
        hist.setdefault(e.card_id, []).append((e.time, e.rating))
cutoff = datetime.fromisoformat(sys.argv[2])
memory_states_batch(dict(list(hist.items())[:10]), cutoff)  # imports outside the timing
clock = time.process_time  # CPU, as every other figure; the batch call: median of 3
t0 = clock(); replayed = memory_states(hist, cutoff); replay = clock() - t0
runs = []
for _ in range(3):
    t1 = clock(); batched = memory_states_batch(hist, cutoff); runs.append(clock() - t1)
worst = max(max(abs(batched[c].stability - m.stability) / m.stability,
                abs(batched[c].difficulty - m.difficulty) / m.difficulty) for c, m in replayed.items())
print(json.dumps({"replay": replay, "batch": sorted(runs)[1], "cards": len(hist), "worst": worst}))
"""

GENANKI = """
import sys, tempfile, os, genanki
n = int(sys.argv[1])
model = genanki.Model(1607392319, "Basic", fields=[{"name": "Front"}, {"name": "Back"}],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr>{{Back}}"}])
deck = genanki.Deck(2059400110, "Bench")
for i in range(n):
    deck.add_note(genanki.Note(model=model, fields=[f"What is card {i}? $x^2$", f"It is {i}."],
                               guid=f"bench{i}"))
with tempfile.TemporaryDirectory() as d:
    genanki.Package(deck).write_to_file(os.path.join(d, "raw.apkg"))
"""


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


def _sig(x: float, digits: int = 4) -> float:
    """`x` to `digits` significant digits (1.5e-06 stays 1.5e-06)."""
    return float(f"{x:.{digits}g}")


class Figures:
    """Samples of each figure's dlcards value and its reference's, pair by pair."""

    def __init__(self) -> None:
        self.samples: dict[str, dict[str, Any]] = {}

    def add(
        self, name: str, ours: float | None, ref: float | None, ref_name: str, unit: str
    ) -> None:
        f = self.samples.setdefault(
            name, {"dlcards": [], "reference": [], "ref_name": ref_name, "unit": unit}
        )
        f["dlcards"].append(ours)
        f["reference"].append(ref)

    def summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, f in self.samples.items():
            ours = [x for x in f["dlcards"] if x is not None]
            refs = [x for x in f["reference"] if x is not None]
            pairs = [
                a / b
                for a, b in zip(f["dlcards"], f["reference"], strict=True)
                if a is not None and b
            ]
            out[name] = {
                "dlcards": _sig(statistics.median(ours)) if ours else None,
                "reference": _sig(statistics.median(refs)) if refs else None,
                "ref_name": f["ref_name"],
                "unit": f["unit"],
                "ratio": _sig(statistics.median(pairs), 3) if pairs else None,
                "worst": _sig(max(ours)) if ours else None,
                "samples": len(ours),
            }
        return out


def measure(s: Sizes, reps: int, grades: int, anki_ok: bool, timeout: float) -> dict[str, Any]:
    figs = Figures()
    pass_cmd = [sys.executable, "-c", "pass"]
    dl = [sys.executable, "-m", "dlcards"]
    env = s.env()
    anki_path = str(s.anki)

    def ref_pass() -> dict[str, Any]:
        return run(pass_cmd, env=env)

    def fresh_home() -> Sizes:
        """A copy of the store (answers and backups must not change later runs)."""
        work = Sizes(s.base.parent, s.name, s.cards, s.reviews)
        work.home = Path(tempfile.mkdtemp(prefix="bench-home-", dir=s.base))
        shutil.copy(s.db, work.home / "dlcards.sqlite3")
        return work

    def anki_copy() -> str:
        d = Path(tempfile.mkdtemp(prefix="bench-anki-", dir=s.base))
        shutil.copy(s.anki, d / "collection.anki2")
        return str(d / "collection.anki2")

    # warm the deck parse cache, the list cache and the check caches once (cold runs turn
    # caches off): check_warm is then a no-change check
    run([*dl, "list"], env=env, cwd=s.col, timeout=timeout)
    run([*dl, "check", "--no-exec"], env=env, cwd=s.col, timeout=timeout)
    for _rep in range(reps):
        # check, cold (every cache off) and warm
        for label, extra in (("check_cold", {"DLCARDS_CACHE_OFF": "all"}), ("check_warm", {})):
            a = run([*dl, "check", "--no-exec"], env=s.env(**extra), cwd=s.col, timeout=timeout)
            b = ref_pass()
            figs.add(label, a.get("cpu"), b["cpu"], "python -c pass", "s")
        # build vs raw genanki
        out = Path(tempfile.mkdtemp(prefix="bench-build-", dir=s.base))
        a = run([*dl, "build", "-o", str(out)], env=env, cwd=s.col, timeout=timeout)
        b = py(GENANKI.replace("sys.argv[1]", str(s.cards)), env)
        figs.add("build", a.get("cpu"), b["cpu"], "raw genanki", "s")
        shutil.rmtree(out, ignore_errors=True)
        # first card: cold (no caches, first run of the day on a fresh copy) and warm
        work = fresh_home()
        cold_env = work.env(DLCARDS_CACHE_OFF="all")
        # the learner's own store, closed cleanly last time: a copied file is checked once
        # (PRAGMA quick_check, as a restored or crashed one is), untimed, like the migration
        py(OPEN_STORE, cold_env, cwd=s.col, timeout=timeout)
        a = py(FIRST_CARD, cold_env, cwd=s.col, timeout=timeout)
        b = run([sys.executable, "-c", ANKI_FIRST_CARD, anki_copy()], env=env) if anki_ok else None
        figs.add("first_card_cold", a.get("cpu"), b and b["cpu"], "Anki engine", "s")
        figs.add("first_card_cold_wall", a.get("wall"), b and b["wall"], "Anki engine", "s wall")
        figs.add("review_rss_cold_mb", a.get("rss_mb"), b and b["rss_mb"], "Anki engine", "MB")
        # warm = a later start: the cold run kept every cache off, so one untimed start first
        py(FIRST_CARD, work.env(), cwd=s.col, timeout=timeout)
        a = py(FIRST_CARD, work.env(), cwd=s.col, timeout=timeout)
        b = run([sys.executable, "-c", ANKI_FIRST_CARD, anki_path], env=env) if anki_ok else None
        figs.add("first_card_warm", a.get("cpu"), b and b["cpu"], "Anki engine", "s")
        figs.add("review_rss_mb", a.get("rss_mb"), b and b["rss_mb"], "Anki engine", "MB")
        # grade -> next card (service answer + commit), and the commit alone. The copies of
        # stores and collections just written are flushed first: their writeback would stall
        # the answers' fsyncs, and a learner's store is no freshly written file
        os.sync()
        a = run([sys.executable, "-c", GRADES, str(grades)], env=work.env(), cwd=s.col)
        g = last_json(a) or {"total": [], "commit": []}
        b_tot: list[float] = []
        if anki_ok:
            b = run([sys.executable, "-c", ANKI_GRADES, anki_copy(), str(grades)], env=env)
            b_tot = last_json(b)["total"]
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            ref = 1000 * percentile(b_tot, q) if b_tot else None
            figs.add(
                f"grade_{label}_ms", 1000 * percentile(g["total"], q), ref, "Anki engine", "ms wall"
            )
            figs.add(f"commit_{label}_ms", 1000 * percentile(g["commit"], q), None, "-", "ms wall")
        shutil.rmtree(work.home, ignore_errors=True)
        # grade -> next card painted in the real review TUI (scripts/bench_tui.py's child, on a
        # copy of this store): wall p50/p99, and the commit inside it, measured separately
        tui = run(
            [sys.executable, str(ROOT / "scripts" / "bench_tui.py"), "--grades", str(grades),
             "--child", s.name, str(s.col), str(s.home)],
            env=env, cwd=s.col, timeout=timeout,
        )  # fmt: skip
        t = last_json(tui)
        for key, label in (("wall", "tui_grade"), ("commit", "tui_commit")):
            for q in ("p50", "p99"):
                figs.add(f"{label}_{q}_ms", t.get(f"{key}_{q}"), None, "-", "ms wall")

        # stats in process: the first run (no stored figures of the log: only the stats
        # cache off) and a later one (after an untimed run that stores them); then the whole
        # command's CPU and peak memory
        # two references: Anki's stats screen as it opens (the last year) and its whole-log
        # graphs (the span dlcards' report covers), each run next to the same dlcards run
        def anki_stats(days: int) -> dict[str, Any] | None:
            if not anki_ok:
                return None
            cmd = [sys.executable, "-c", ANKI_STATS, anki_path, str(days)]
            return last_json(run(cmd, env=env))

        def stats_pair(name: str, a: dict[str, Any]) -> None:
            for suffix, days, label in (("", 365, "Anki graphs, 1 year"), ("_whole", 0, "Anki graphs, whole log")):  # fmt: skip
                b = anki_stats(days)
                figs.add(name + suffix, a.get("cpu"), b and b.get("cpu"), label, "s")

        first_env = s.env(DLCARDS_CACHE_OFF="stats-log-figures")
        stats_pair("stats_first", last_json(py(STATS, first_env, cwd=s.col, timeout=timeout)))
        py(STATS, env, cwd=s.col, timeout=timeout)
        stats_pair("stats", last_json(py(STATS, env, cwd=s.col, timeout=timeout)))
        a = run([*dl, "stats", "--json"], env=env, cwd=s.col, timeout=timeout)
        b = run([sys.executable, "-c", ANKI_STATS, anki_path], env=env) if anki_ok else None
        figs.add("stats_command", a.get("cpu"), b and b["cpu"], "Anki graphs process", "s")
        figs.add("stats_rss_mb", a.get("rss_mb"), b and b["rss_mb"], "Anki graphs process", "MB")
        # prune and list against the interpreter's start
        a = run([*dl, "prune", "--json"], env=env, cwd=s.col, timeout=timeout)
        figs.add("prune", a.get("cpu"), ref_pass()["cpu"], "python -c pass", "s")
        a = run([*dl, "list"], env=env, cwd=s.col, timeout=timeout)
        figs.add("list", a.get("cpu"), ref_pass()["cpu"], "python -c pass", "s")
        if anki_ok and _rep == 0:
            sync(s, figs, fresh_home(), timeout)
    # memory states of many histories: the float64 batch vs the py-fsrs replay (in process, CPU)
    cards = 200 if reps == 1 else 2000
    for _rep in range(reps):
        m = last_json(
            py(
                FSRS_BATCH.replace("sys.argv[1]", str(cards)).replace("sys.argv[2]", repr(NOW)),
                env,
                timeout=timeout,
            )
        )
        if m:
            figs.add(
                "fsrs_batch_ms_per_card",
                1000 * m["batch"] / m["cards"],
                1000 * m["replay"] / m["cards"],
                "py-fsrs replay",
                "ms",
            )
            figs.add("fsrs_batch_max_rel_error", m["worst"], None, "-", "")
    ours_mb = s.db.stat().st_size / 2**20
    anki_mb = s.anki.stat().st_size / 2**20 if anki_ok else None
    figs.add("db_size_mb", ours_mb, anki_mb, "Anki collection", "MB")
    return figs.summary()


def sync(s: Sizes, figs: Figures, work: Sizes, timeout: float) -> None:
    """`dlcards sync --collection` with an Anki collection file, as the learner runs it: the
    first sync into an empty collection (every note and review goes out), a sync with nothing
    to do, and one after a day of study on both sides (dlcards answers cards in its review
    service, Anki answers others in its scheduler). Once per size: the first sync of 50k
    cards and 1M reviews takes minutes."""
    dl = [sys.executable, "-m", "dlcards"]
    env = work.env()
    d = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=s.base))
    target = str(d / "collection.anki2")
    run([sys.executable, "-c", ANKI_OPEN, target], env=env)  # an empty collection
    cmd = [*dl, "sync", "--collection", target, "--json"]
    a = run(cmd, env=env, cwd=s.col, timeout=timeout)
    figs.add("sync_first_wall", a.get("wall"), None, "-", "s wall")
    figs.add("sync_first_rss_mb", a.get("rss_mb"), None, "-", "MB")
    for _ in range(2):
        a = run(cmd, env=env, cwd=s.col, timeout=timeout)
        b = run([sys.executable, "-c", "pass"], env=env)
        figs.add("sync_nothing", a.get("cpu"), b["cpu"], "python -c pass", "s")
    # a day of study: 30 answers here, 30 on the "phone", then one sync
    run([sys.executable, "-c", GRADES, "30"], env=env, cwd=s.col, timeout=timeout)
    run([sys.executable, "-c", ANKI_GRADES, target, "30", "decks"], env=env, timeout=timeout)
    a = run(cmd, env=env, cwd=s.col, timeout=timeout)
    b = run([sys.executable, "-c", ANKI_OPEN, target], env=env)
    moved = json.loads(a["stdout"])["reviews"] if "stdout" in a else {}
    figs.add("sync_day_reviews", moved.get("in", 0) + moved.get("out", 0), None, "-", "in+out")
    figs.add("sync_day", a.get("cpu"), b["cpu"], "Anki engine open+close", "s")
    figs.add("sync_day_wall", a.get("wall"), b["wall"], "Anki engine open+close", "s wall")
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(work.home, ignore_errors=True)


# -- reporting -------------------------------------------------------------------------------
def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def markdown(result: dict[str, Any], old: dict[str, Any] | None = None) -> str:
    head = "| size | figure | dlcards | reference | ratio | target |"
    sep = "|---|---|---|---|---|---|"
    if old:
        head += " old ratio | change |"
        sep += "---|---|"
    lines = [head, sep]
    for size, data in result["sizes"].items():
        for name, f in data["figures"].items():
            target = TARGETS.get(name)
            tgt = ""
            if target:
                bound, what = target
                value = f["ratio"] if what == "ratio" else f["dlcards"]
                worst = what != "ratio" and f["unit"] == "MB"  # memory: every sample
                if worst:
                    value = f.get("worst", value)
                ok = value is not None and value <= bound
                tgt = f"{'≤' + fmt(bound) + ('×' if what == 'ratio' else ''):s} {'ok' if ok else 'MISSED'}"
                if worst and f.get("samples", 1) > 1:
                    tgt += f" (worst {fmt(value)})"
            ratio = "-" if f["ratio"] is None else f"{f['ratio']}×"
            row = (
                f"| {size} | {name} ({f['unit']}) | {fmt(f['dlcards'])} | "
                f"{fmt(f['reference'])} ({f['ref_name']}) | {ratio} | {tgt} |"
            )
            if old:
                o = old.get("sizes", {}).get(size, {}).get("figures", {}).get(name)
                if o and o.get("ratio") and f["ratio"]:
                    change = f["ratio"] / o["ratio"]
                    flag = " REGRESSION" if change > 1.2 else ""
                    row += f" {o['ratio']}× | {change:.2f}×{flag} |"
                else:
                    row += " - | - |"
            lines.append(row)
    lines.append("")
    for meta in result["meta"].get("runs", [result["meta"]]):
        lines.append(
            f"{', '.join(meta.get('sizes', [])) or 'Measured'}: {meta['date']} on "
            f"{meta['machine']}; load average {meta['load_start']} at the start, "
            f"{meta['load_end']} at the end; {meta['reps']} interleaved repetition(s); the "
            f"harness's own peak memory {meta.get('harness_peak_rss_mb', '-')} MB."
        )
    return "\n".join(lines)


def write_readme(table: str, path: Path = ROOT / "README.md") -> None:
    """Put the table between the README's markers (a Performance section if there are none)."""
    text = path.read_text(encoding="utf-8")
    block = f"{README_START}\n{table}\n{README_END}"
    if README_START in text and README_END in text:
        before, rest = text.split(README_START, 1)
        _, after = rest.split(README_END, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n## Performance\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=None, help="comma-separated: 1k,10k,50k (default all)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--grades", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="smallest size, one repetition")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "dlcards-bench")
    p.add_argument("--out", type=Path, default=Path("bench.json"))
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument("--compare", type=Path, default=None, help="an older --out JSON")
    p.add_argument("--write-readme", action="store_true")
    p.add_argument("--timeout", type=float, default=900, help="seconds per dlcards process")
    p.add_argument("--live", action="store_true", help="measure src/ itself, not a snapshot")
    p.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="measure nothing: the table (and --write-readme) of earlier --out files, merged",
    )
    p.add_argument("--build-anki", type=Path, help=argparse.SUPPRESS)  # the child that writes it
    args = p.parse_args(argv)
    names = (args.sizes or ("1k" if args.quick else ",".join(SIZES))).split(",")
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        p.error(f"unknown size(s) {unknown}; choose from {', '.join(SIZES)}")
    reps, grades = (1, 20) if args.quick else (args.reps, args.grades)
    if args.from_json:
        merged: dict[str, Any] = {"meta": {"runs": []}, "sizes": {}}
        for path in args.from_json:
            part = json.loads(path.read_text())
            merged["meta"]["runs"].append({**part["meta"], "sizes": list(part["sizes"])})
            merged["sizes"].update(part["sizes"])
        table = markdown(merged)
        if args.write_readme:
            write_readme(table)
        print(table)
        return 0
    if args.build_anki:
        name = names[0]
        build_anki(Sizes(args.build_anki.parent, name, *SIZES[name]))
        return 0
    anki_ok = anki_installed()
    args.dir.mkdir(parents=True, exist_ok=True)
    if not args.live:
        CODE[0] = freeze(args.dir)
    result: dict[str, Any] = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_start": [round(x, 1) for x in os.getloadavg()],
            "reps": reps,
            "quick": args.quick,
            "anki": anki_ok,
            "code": "live src/" if args.live else "a snapshot of src/ taken at the start",
            "sizes": names,
        },
        "sizes": {},
    }
    for name in names:
        cards, reviews = SIZES[name]
        s = Sizes(args.dir, name, cards, reviews)
        stamp = generate(s)
        figures = measure(s, reps, grades, anki_ok and stamp.get("anki") is not None, args.timeout)
        figures["generate_s"] = {
            "dlcards": stamp["generate_s"],
            "reference": 60.0,
            "ref_name": "60 s target",
            "unit": "s wall",
            "ratio": round(stamp["generate_s"] / 60.0, 2),
            "samples": 1,
        }
        if "generate_cpu_s" in stamp:
            figures["generate_cpu_s"] = {
                "dlcards": stamp["generate_cpu_s"], "reference": 60.0,
                "ref_name": "60 s target", "unit": "s", "samples": 1,
                "ratio": round(stamp["generate_cpu_s"] / 60.0, 2),
            }  # fmt: skip
        result["sizes"][name] = {"cards": cards, "reviews": reviews, "figures": figures}
        print(f"{name}: done", file=sys.stderr)
    result["meta"]["load_end"] = [round(x, 1) for x in os.getloadavg()]
    # the harness's own peak memory: every child's RSS figure includes at least this
    result["meta"]["harness_peak_rss_mb"] = round(peak_rss_mb(), 1)
    old = json.loads(args.compare.read_text()) if args.compare else None
    table = markdown(result, old)
    args.out.write_text(json.dumps(result, indent=2))
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.write_readme:
        write_readme(markdown(result))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
