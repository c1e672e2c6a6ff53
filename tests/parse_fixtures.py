"""Read and describe parser fixture files (markdown-it-py's `read_fixture_file` style).

A fixture file holds cases, each as:

    title
    .
    markdown input
    .
    expected description (one line per note, then one per problem)
    .

`python tests/parse_fixtures.py --regen FILE` rewrites the expected parts from the current
parser; review the diff before committing it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from dlcards.core.parse import ParsedFile, parse_text


@dataclass
class Case:
    title: str
    source: str
    expected: str
    line: int


def read_cases(path: Path) -> list[Case]:
    lines = path.read_text(encoding="utf-8").split("\n")
    cases: list[Case] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        title, start = lines[i], i + 1
        assert lines[i + 1] == ".", f"{path}:{i + 2}: expected '.' after the title"
        j = i + 2
        src: list[str] = []
        while lines[j] != ".":
            src.append(lines[j])
            j += 1
        k = j + 1
        exp: list[str] = []
        while k < len(lines) and lines[k] != ".":
            exp.append(lines[k])
            k += 1
        cases.append(Case(title, "\n".join(src), "\n".join(exp), start))
        i = k + 1
    return cases


def describe(parsed: ParsedFile) -> str:
    out = []
    for n in parsed.notes:
        parts = [n.kind, f"L{n.line}-{n.end_line}", f"id={n.id if n.id_explicit else '~'}"]
        if n.context:
            parts.append("ctx=" + "/".join(n.context))
        parts.append("q=" + json.dumps(n.question, ensure_ascii=False))
        if n.kind == "basic":
            parts.append(f"a@{n.answer_line}=" + json.dumps(n.answer, ensure_ascii=False))
        for d in n.deletions:
            hint = f"::{d.hint}" if d.hint is not None else ""
            parts.append(f"c{d.number}@{d.line}=" + json.dumps(d.text + hint, ensure_ascii=False))
        for b in n.blocks:
            parts.append(f"{b.kind}:{b.side}@{b.line}")
        out.append(" ".join(parts))
    for p in parsed.problems:
        out.append(f"{p.severity} {p.location.line} {p.code}")
    return "\n".join(out)


def regen(path: Path) -> None:
    chunks = []
    for case in read_cases(path):
        got = describe(parse_text(case.source, "t.md"))
        chunks.append(
            f"{case.title}\n.\n{case.source}\n.\n{got}\n.\n"
            if got
            else f"{case.title}\n.\n{case.source}\n.\n.\n"
        )
    path.write_text("\n".join(chunks), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "--regen":
        for name in sys.argv[2:]:
            regen(Path(name))
