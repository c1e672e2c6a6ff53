#!/usr/bin/env python
"""Benchmark `dlcards build` against raw genanki writing the same notes, in one run.

    python scripts/bench_build.py [--cards 10000] [--repeat 3]

Generates a collection of about N cards (basic cards with math, cloze notes with two
deletions, code cards with `torch` and `check` blocks) in a temporary folder, then measures:

- raw genanki: build genanki Notes (GUIDs with `guid_for`) from the final field HTML and tags,
  computed beforehand, and write the .apkg (the floor: what any exporter pays to genanki);
- `dlcards build`, cold: empty parse and render caches (a first build);
- `dlcards build`, one card edited: parse/check caches warm, one card rendered again;
- `dlcards build`, no change: a rebuild with nothing changed (the previous build's notes are
  written again without parsing, checking or rendering).

Runs are interleaved and each figure is the best of --repeat runs (the machine may be busy).
Prints a table and the ratios; exits 1 if the no-change ratio exceeds --max-ratio (default
1.5), so CI can run it as a check.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASIC = """Q: What is the gradient of $f_{i}(x) = w_{i}^\\top x + b$ with respect to $x$ (card {i})?
A: $\\nabla_x f_{i} = w_{i}$, a vector with the same shape as $x$.
"""
CLOZE = """C: For a layer with {{{{c1::$d_{{in}} = {i}$}}}} inputs, the weight matrix has shape
{{{{c2::$(d_{{out}}, {i})$}}}} in PyTorch's `nn.Linear` (card {i}).
"""
CODE = """Q: What does this evaluate to (card {i})?
```torch
x = torch.ones({i}, 3)
x.sum(dim=0).shape
```
A: `torch.Size([3])`

```check
diff(x**2 + {i}*x, x) == 2*x + {i}
```
"""


def make_collection(root: Path, cards: int, per_file: int = 100) -> int:
    """Write deck files until about `cards` cards exist; returns the number of cards."""
    decks = root / "decks"
    decks.mkdir(parents=True)
    total = 0
    file_no = 0
    while total < cards:
        file_no += 1
        week = 1 + (file_no - 1) % 12
        parts = [
            f"---\ndeck: Bench\nweek: {week}\ntopic: topic-{file_no}\ntags: [bench]\n---\n",
            f"# Topic {file_no}\n",
        ]
        for j in range(per_file):
            if total >= cards:
                break
            i = file_no * 1000 + j
            kind = j % 10
            if kind < 6:
                parts.append(BASIC.format(i=i))
                total += 1
            elif kind < 9 and total + 2 <= cards:
                parts.append(CLOZE.format(i=i))
                total += 2
            else:
                parts.append(CODE.format(i=i))
                total += 1
        (decks / f"file-{file_no:04d}.md").write_text("\n".join(parts), encoding="utf-8")
    return total


def time_dlcards_build(root: Path, out: Path, home: Path, cold: bool) -> float:
    from dlcards.cli.main import main

    if cold and home.exists():
        shutil.rmtree(home)
    os.environ["DLCARDS_HOME"] = str(home)
    if out.exists():
        shutil.rmtree(out)
    gc.collect()
    started = time.perf_counter()
    code = main(["-C", str(root), "build", "-o", str(out)])
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"dlcards build failed with exit code {code}")
    return elapsed


def prepared_notes(root: Path) -> list[tuple[str, list[str], list[str], str, int, str]]:
    """(kind, fields, tags, deck, due, note id) for every note, computed outside any timing."""
    from dlcards.anki.builder import curriculum_key
    from dlcards.anki.html import render_note
    from dlcards.anki.notetypes import anki_fields, deck_name, note_tags, source_text
    from dlcards.system.decks import read_decks

    col = read_decks(root, use_cache=False)
    out: list[tuple[str, list[str], list[str], str, int, str]] = []
    for pos, note in enumerate(sorted(col.notes, key=curriculum_key), start=1):
        html = render_note(note, (root / note.path).parent).fields
        out.append(
            (
                note.kind,
                list(anki_fields(note, html, source_text(note.path))),
                list(note_tags(note)),
                deck_name(note),
                pos,
                note.id,
            )
        )
    return out


def time_raw_genanki(
    notes: list[tuple[str, list[str], list[str], str, int, str]], out: Path
) -> float:
    import warnings

    import genanki

    from dlcards.anki.notetypes import deck_id, models

    warnings.filterwarnings("ignore", module="genanki")
    kinds = models()
    gc.collect()
    started = time.perf_counter()
    decks: dict[str, genanki.Deck] = {}
    for kind, fields, tags, deck, due, note_id in notes:
        if deck not in decks:
            decks[deck] = genanki.Deck(deck_id(deck), deck)
        decks[deck].add_note(
            genanki.Note(
                model=kinds[kind],
                fields=fields,
                tags=tags,
                guid=genanki.guid_for("dlcards", note_id),
                due=due,
            )
        )
    genanki.Package(list(decks.values())).write_to_file(str(out))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dlcards-bench-") as tmp:
        base = Path(tmp)
        root = base / "collection"
        n_cards = make_collection(root, args.cards)
        home = base / "home"
        notes = prepared_notes(root)
        # interleaved, best of N: the machine may be busy with other work
        raws, colds, edits, warms = [], [], [], []
        first = root / "decks" / "file-0001.md"
        original = first.read_text(encoding="utf-8")
        for i in range(args.repeat):
            raws.append(time_raw_genanki(notes, base / f"raw{i}.apkg"))
            colds.append(time_dlcards_build(root, base / "out", home, cold=True))
            first.write_text(
                original.replace("same shape as", f"same shape ({i}) as", 1), encoding="utf-8"
            )
            edits.append(time_dlcards_build(root, base / "out", home, cold=False))
            warms.append(time_dlcards_build(root, base / "out", home, cold=False))
            first.write_text(original, encoding="utf-8")
            raws.append(time_raw_genanki(notes, base / f"raw{i}.apkg"))
        raw, cold, edit, warm = min(raws), min(colds), min(edits), min(warms)

    print(f"\n{n_cards} cards, {len(notes)} notes (best of {args.repeat})", file=sys.stderr)
    print(f"  raw genanki write      {raw:7.2f} s", file=sys.stderr)
    print(f"  dlcards build (cold)   {cold:7.2f} s   ratio {cold / raw:4.2f}", file=sys.stderr)
    print(f"  dlcards build (1 edit) {edit:7.2f} s   ratio {edit / raw:4.2f}", file=sys.stderr)
    print(f"  dlcards build (same)   {warm:7.2f} s   ratio {warm / raw:4.2f}", file=sys.stderr)
    ok = warm / raw <= args.max_ratio
    print(
        f"  {'OK' if ok else 'TOO SLOW'}: no-change rebuild ratio {warm / raw:.2f} (limit {args.max_ratio})",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
