#!/usr/bin/env python
"""Time the browser's search (issue 14: results in <= 50 ms on 10k cards).

    python scripts/gen_collection.py /tmp/b/col --home /tmp/b/home --bulk
    DLCARDS_HOME=/tmp/b/home DLCARDS_NOW=2026-01-05T09:00:00Z \\
        python scripts/bench_browse.py /tmp/b/col [--rounds 20]

Prints, per query, the matches and the median and worst wall time of `Browser.search` over
the rounds (the rows are built once, as the browser screen does), and the time to build them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

QUERIES = [
    "",
    "softmax",
    "week:3",
    "is:due",
    "is:new topic:topic-0*",
    "prop:r<0.8",
    "prop:ivl>10 -is:suspended",
    "rated:7",
    "rated:7:1",
    "added:30",
    "flag:1 or tag:week03",
    '"partial l" or (week:3-5 lapses:>2)',
    "-week:1 (flag:1 or tag:calculus)",
    "*grad*",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=Path)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args(argv)

    from dlcards.app.browse import Browser
    from dlcards.app.collection import Collection

    with Collection.open(args.root) as col:
        col.decks  # noqa: B018  (read the decks outside the timing)
        t0 = time.perf_counter()
        browser = Browser(col)
        built = time.perf_counter() - t0
        print(f"{len(browser.rows)} rows built in {built * 1000:.0f} ms")
        worst_median = 0.0
        for query in QUERIES:
            times = []
            n = 0
            for _ in range(args.rounds):
                t = time.perf_counter()
                n = len(browser.search(query))
                times.append((time.perf_counter() - t) * 1000)
            med = statistics.median(times)
            worst_median = max(worst_median, med)
            print(f"{query!r:40} {n:6d} matches  median {med:6.1f} ms  max {max(times):6.1f} ms")
        print(f"slowest median: {worst_median:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
