#!/usr/bin/env python
"""Benchmark `dlcards check` on checked cards (issue 4's performance targets).

    python scripts/bench_check.py [--claims 500] [--runs 5]

Builds a throwaway collection with N formula/shape claims (distinct texts, so nothing is shared
by the cache), then measures, each in a fresh `python -m dlcards` process as a user runs it:

  cold      first check, empty cache (target: 500 claims <= 8 s on 2 cores)
  no-change re-check with nothing edited (target: <= 12x a bare `python -c pass`)
  one edit  re-check after editing one card (target: <= 0.5 s)
  snippet   a warm snippet run through the runner on the CPU (target: <= 50 ms)

Times are wall-clock medians. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECK_TEMPLATES = [
    "diff({a}*sigmoid({b}*x), x) == {ab}*sigmoid({b}*x)*(1 - sigmoid({b}*x))",
    "diff(tanh({a}*x), x) == {a}*(1 - tanh({a}*x)**2)",
    "diff(exp({a}*x)*x, x) == exp({a}*x)*(1 + {a}*x)",
    "diff(log(1 + exp({a}*x)), x) == {a}*sigmoid({a}*x)",
    "diff(({a}*x + {b})**3, x) == {a3}*({a}*x + {b})**2",
]
VEC_TEMPLATES = [
    "z = vec('z', 3)\nsum(softmax({a}*z)) == 1",
    "w = vec('w', 2)\ngrad({a}/2*sum_sq(w), w) == {a}*w",
    "z = vec('z', 3)\ngrad(cross_entropy(z, {k}), z) == softmax(z) - onehot({k}, 3)",
]
SHAPES = """\
X: (B, T, {d}*D)
W: ({d}*D, C)
where: D == h * d_k
X @ W -> (B, T, C)
X.view(B, T, {d}*h, d_k).transpose(1, 2) -> (B, {d}*h, T, d_k)
conv2d(torch.zeros(N, 3, {s}, {s}), 16, 3, stride=2, padding=1) -> (N, 16, {s2}, {s2})
X.sum(dim=-1, keepdim=True) -> (B, T, 1)"""


def build(root: Path, claims: int) -> int:
    """Deck files of 10 cards each (like the shipped decks), N claims in all."""
    (root / "decks").mkdir(parents=True)
    cards: list[str] = []
    n = 0
    i = 0
    while n < claims:
        i += 1
        a, b = i % 7 + 2, i % 5 + 1
        if i % 4 == 0:
            text, count = SHAPES.format(d=i, s=2 * (i + 8), s2=i + 8), 4
        elif i % 4 == 1:
            text, count = VEC_TEMPLATES[i % 3].format(a=i + 1, k=i % 3), 1
        else:
            parts = [
                t.format(a=a + i, b=b, ab=(a + i) * b, a3=3 * (a + i)) for t in CHECK_TEMPLATES[:3]
            ]
            text, count = "\n".join(parts), 3
        cards.append(
            f"Q: Bench card {i}?\nA: See below.\n\n```{'shapes' if i % 4 == 0 else 'check'}\n{text}\n```\n"
        )
        n += count
    for f in range(0, len(cards), 10):
        head = f"---\nweek: 1\ntopic: bench-{f // 10}\n---\n\n# Bench {f // 10}\n\n"
        (root / "decks" / f"bench-{f // 10:03d}.md").write_text(
            head + "\n".join(cards[f : f + 10]), encoding="utf-8"
        )
    return n


CPU: list[float] = []  # CPU seconds (user + sys) of each timed process: a load-independent view


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, proc.returncode


def cpu_median(n: int) -> float:
    return statistics.median(CPU[-n:])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--claims", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-snippet", action="store_true", help="skip the torch snippet benchmark")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "col"
        n = build(root, opts.claims)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DLCARDS_")}
        env["DLCARDS_HOME"] = str(Path(tmp) / "home")
        cmd = [sys.executable, "-m", "dlcards", "check", "--no-exec"]
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        print(f"{n} claims, {cores} cores, Python {sys.version.split()[0]}")
        cold, code = timed(cmd, root, env)
        print(
            f"cold check           {cold:7.2f} s   (exit {code}; CPU {CPU[-1]:.2f} s; target <= 8 s for 500 claims on 2 cores)"
        )
        bare = statistics.median(
            timed([sys.executable, "-c", "pass"], root, env)[0] for _ in range(opts.runs * 2)
        )
        bare_cpu = cpu_median(opts.runs * 2)
        warm = statistics.median(timed(cmd, root, env)[0] for _ in range(opts.runs))
        warm_cpu = cpu_median(opts.runs)
        print(f"bare python -c pass  {bare * 1000:7.1f} ms  (CPU {bare_cpu * 1000:.1f} ms)")
        print(
            f"no-change re-check   {warm * 1000:7.1f} ms  = {warm / bare:.1f}x bare start-up "
            f"(CPU {warm_cpu * 1000:.1f} ms = {warm_cpu / bare_cpu:.1f}x; target <= 12x)"
        )
        deck = root / "decks" / "bench-000.md"
        edits = []
        original = deck.read_text(encoding="utf-8")
        for k in range(opts.runs):  # each run: the same card edited differently (one new claim)
            deck.write_text(
                original.replace(
                    "Bench card 2?\nA: See below.\n\n```check\n",
                    f"Bench card 2?\nA: See below.\n\n```check\ndiff(x**{k + 2}, x) == {k + 2}*x**{k + 1}\n",
                    1,
                ),
                encoding="utf-8",
            )
            edits.append(timed(cmd, root, env)[0])
        print(
            f"one edited card      {statistics.median(edits) * 1000:7.1f} ms  "
            f"(CPU {cpu_median(opts.runs) * 1000:.1f} ms; target <= 500 ms)"
        )
    if not opts.no_snippet:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            print("snippet              skipped (torch is not installed)")
            return 0
        from dlcards.checks.runner.client import Runner

        with Runner() as runner:
            t = time.perf_counter()
            device = runner.device
            ready = time.perf_counter() - t
            times = []
            for _ in range(30):
                t = time.perf_counter()
                res = runner.run("x = torch.ones(2, 3)\n(x @ x.T).sum()", 10.0, mode="check")
                times.append(time.perf_counter() - t)
                assert res.ok, res.error
                time.sleep(0.05)  # a learner presses `r` now and then, not back to back
            back = []
            for _ in range(30):
                t = time.perf_counter()
                runner.run("torch.ones(2, 3).sum()", 10.0, mode="check")
                back.append(time.perf_counter() - t)
        print(
            f"runner start-up      {ready:7.2f} s   (torch import + warm-up, in the background; live device: {device})"
        )
        print(
            f"warm snippet run     {statistics.median(times) * 1000:7.1f} ms  (median of 30, CPU; target <= 50 ms)"
        )
        print(
            f"back-to-back runs    {statistics.median(back) * 1000:7.1f} ms  (median of 30, as in `dlcards check`)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
