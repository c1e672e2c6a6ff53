"""Nightly chaos run: mutate copies of the shipped decks and run dlcards on each mutant.

    python scripts/fuzz.py --mutants 500 --jobs 4 --timeout 30 --out fuzz-out

Each mutant is a fresh collection (a copy of decks/ with 1-6 random mutations: long runs of
blanks and tabs, thousands of unclosed `{{c1::` or `<!-- id:`, huge numbers and divisions by
zero in `check`/`shapes` blocks, deeply nested front matter, truncation, deleted, swapped and
duplicated lines). On each, `dlcards check --no-exec --no-cache --json` and
`dlcards list --json` run in a subprocess with a timeout. Outcomes:

- ok: exit status 0, 1 or 2 and no traceback, no "internal error";
- traceback / internal: grouped by root cause (the innermost dlcards frame and the exception);
- hang: past the timeout in CPU seconds (so a loaded machine does not make hangs); Python's
  faulthandler dumps where it was (on SIGXCPU), and the innermost dlcards frame is the root
  cause.

One example mutant per root cause is kept under --out. Exit status 1 when anything but ok
was seen. The bounded CI versions of these checks are tests/test_fuzz.py and
tests/test_hostile_inputs.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAME_RE = re.compile(r'File "([^"]*dlcards[^"]*)", line (\d+)')
FAULT_RE = re.compile(r'File "([^"]*dlcards[^"]*)", line (\d+) in (\w+)')

HOSTILE = [
    "10**10**10",
    "2**2**2**2**2**2",
    "x/0",
    "0**-1",
    "sign(0)**-1",
    "1e999",
    "log(-1 - x**2)",
    "(" * 200,
    "[" * 200,
    "{{c1::",
    "}}",
    "<!-- id:",
    "-->",
    "\\",
    "$$",
    "```",
    "```check",
    "```shapes",
    "Q:",
    "A:",
    "C:",
    "\ufeff",
    "\r",
    "9" * 5000,
]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(lines)) if lines else 0
        kind = rng.randrange(10)
        if not lines:
            lines = [""]
        if kind == 0:  # a long run of blanks in a card's first line
            lines[i] += rng.choice([" ", "\t"]) * rng.choice([1000, 40000, 200000])
        elif kind == 1:
            lines[i] += rng.choice(["{{c1:: ", "<!-- id: x ", "<!--", "{"]) * rng.choice(
                [100, 5000, 50000]
            )
        elif kind == 2:  # a hostile token anywhere
            pos = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + rng.choice(HOSTILE) + lines[i][pos:]
        elif kind == 3:  # numbers made huge
            lines[i] = re.sub(
                r"\d+", lambda m: rng.choice(["10**10**10", "9" * 400, "0", "1e999"]), lines[i]
            )
        elif kind == 4:
            del lines[i]
        elif kind == 5:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 6:
            lines.insert(i, lines[i])
        elif kind == 7:  # nested front matter
            lines[:0] = ["---", "tags: " + "[" * rng.choice([50, 5000]), "---"]
        elif kind == 8:
            lines = lines[: rng.randint(0, len(lines))]
        else:
            pos = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + lines[i][pos + rng.randint(1, 5) :]
    return "\n".join(lines)


@dataclass
class Outcome:
    kind: str  # ok | traceback | internal | hang
    cause: str
    command: str
    mutant: int


def root_cause(stderr: str, stdout: str) -> str:
    frames = FRAME_RE.findall(stderr)
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if frames:
        path, line = frames[-1]
        return f"{Path(path).relative_to(ROOT) if ROOT.as_posix() in path else path}:{line}: {last[:120]}"
    m = re.search(r"internal error[^\n]*", stdout + stderr)
    return m.group(0)[:160] if m else last[:160]


def hang_cause(stderr: str) -> str:
    frames = FAULT_RE.findall(stderr)
    # faulthandler prints the innermost frame first
    for path, line, func in frames:
        return f"hang in {Path(path).name}:{line} ({func})"
    return "hang (no dlcards frame in the dump)"


# dlcards' CLI with a stack dump on SIGXCPU (the CPU limit's soft end); the hard end kills it
RUNNER = (
    "import faulthandler, runpy, signal, sys; "
    "faulthandler.register(signal.SIGXCPU, all_threads=True); "
    "sys.argv = ['dlcards', *sys.argv[1:]]; "
    "runpy.run_module('dlcards', run_name='__main__', alter_sys=True)"
)


def _limit_cpu(seconds: float) -> None:
    import resource

    soft = max(1, int(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))


def run_one(n: int, deck_files: list[Path], args: argparse.Namespace, seed: int) -> list[Outcome]:
    rng = random.Random(seed * 100_003 + n)
    work = Path(tempfile.mkdtemp(prefix="dlcards-fuzz-"))
    try:
        (work / "decks").mkdir()
        for path in rng.sample(deck_files, k=min(len(deck_files), rng.randint(1, 3))):
            text = path.read_text(encoding="utf-8")
            (work / "decks" / path.name).write_text(mutate(text, rng), encoding="utf-8")
        out: list[Outcome] = []
        env = dict(os.environ, DLCARDS_HOME=str(work / "home"), PYTHONFAULTHANDLER="1")
        for command in (["check", "--no-exec", "--no-cache", "--json"], ["list", "--json"]):
            proc = subprocess.Popen(
                [sys.executable, "-c", RUNNER, *command],
                cwd=work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=lambda: _limit_cpu(args.timeout),
            )
            try:
                # the limit is CPU time (a loaded machine does not make hangs); wall time is
                # only a backstop
                stdout, stderr = proc.communicate(timeout=args.timeout * 20)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGABRT)  # faulthandler dumps every thread's stack
                stdout, stderr = proc.communicate()
                out.append(Outcome("hang", hang_cause(stderr), command[0], n))
                continue
            if proc.returncode == -signal.SIGKILL and "Current thread" in stderr:
                out.append(Outcome("hang", hang_cause(stderr), command[0], n))
                continue
            if "Traceback (most recent call last)" in stderr or proc.returncode not in (0, 1, 2):
                out.append(Outcome("traceback", root_cause(stderr, stdout), command[0], n))
            elif "internal error" in stdout + stderr or '"code": "internal"' in stdout:
                out.append(Outcome("internal", root_cause(stderr, stdout), command[0], n))
            else:
                out.append(Outcome("ok", "", command[0], n))
        bad = [o for o in out if o.kind != "ok"]
        if bad and args.out:
            keep = Path(args.out) / f"mutant-{n:05d}"
            shutil.copytree(work / "decks", keep, dirs_exist_ok=True)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mutants", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument(
        "--timeout", type=float, default=30.0, help="CPU seconds per command (a hang beyond)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--decks", type=Path, default=ROOT / "decks")
    ap.add_argument("--out", type=Path, default=None, help="keep mutants that failed here")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)
    deck_files = sorted(args.decks.glob("*.md"))
    if not deck_files:
        print(f"no deck files in {args.decks}", file=sys.stderr)
        return 2
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(
            lambda n: run_one(n, deck_files, args, args.seed), range(args.mutants)
        ):
            outcomes.extend(result)
    counts = Counter(o.kind for o in outcomes)
    causes: dict[str, list[int]] = defaultdict(list)
    for o in outcomes:
        if o.kind != "ok":
            causes[f"{o.kind} [{o.command}] {o.cause}"].append(o.mutant)
    summary = {
        "mutants": args.mutants,
        "runs": len(outcomes),
        "ok": counts["ok"],
        "tracebacks": counts["traceback"],
        "internal": counts["internal"],
        "hangs": counts["hang"],
        "root_causes": {k: sorted(set(v))[:10] for k, v in sorted(causes.items())},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{args.mutants} mutants, {len(outcomes)} runs: {counts['ok']} ok, "
            f"{counts['traceback']} tracebacks, {counts['internal']} internal errors, "
            f"{counts['hang']} hangs; {len(causes)} root causes"
        )
        for cause, mutants in sorted(causes.items()):
            print(f"  {cause}  (mutants {', '.join(map(str, sorted(set(mutants))[:10]))})")
    return 0 if len(causes) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
