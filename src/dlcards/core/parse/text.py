"""The parser's constants and text helpers: newlines, content hashes, id comments, the YAML depth
guard.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

PARSER_VERSION = "1"

_ID_OPEN_RE = re.compile(r"<!--\s*+id:")
MAX_YAML_DEPTH = 20  # front matter nested deeper is refused (PyYAML recurses per level)
NEWLINE_RE = re.compile(r"\r\n?")
CLOZE_OPEN_RE = re.compile(r"\{\{c(\d+)::")
CLOZE_TYPO_RE = re.compile(r"\{\{c\d+:(?!:)|\{\{C\d+::|\{\{c::")
CARD_PREFIX_RE = re.compile(r"^(Q|C):(?=\s|$)")
ANSWER_RE = re.compile(r"^ {0,3}A:(?=\s|$)")
CARD_START_TYPES = ("paragraph_open",)
ENDS_CARD = ("heading_open", "hr")


def normalize_newlines(text: str) -> str:
    """Strip a UTF-8 BOM and turn CRLF / CR into LF, keeping the number of lines."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return NEWLINE_RE.sub("\n", text)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class IdComment:
    """An `<!-- id: ... -->` comment found in a line: [start, end) includes the blanks before."""

    start: int
    end: int
    raw_id: str


def find_id_comment(line: str) -> IdComment | None:
    """The first `<!-- id: ... -->` of one line (what `[ \\t]*<!--\\s*id:\\s*(.*?)\\s*-->` finds), in linear
    time: the regex backtracks quadratically on long runs of blanks and rescans every unclosed
    comment (issue 17: 40,000 blanks took 6 s, 1 MB hours)."""
    m = _ID_OPEN_RE.search(line)
    if m is None:
        return None
    close = line.find("-->", m.end())
    if close < 0:  # no later comment of the line can close either
        return None
    start = m.start()
    while start > 0 and line[start - 1] in " \t":
        start -= 1
    return IdComment(start, close + 3, line[m.end() : close].strip())


def remove_id_comments(text: str) -> str:
    """`text` without its id comments (and the blanks before them), line by line."""
    if "<!--" not in text:  # no comment at all (what `find_id_comment` looks for first)
        return text
    out = []
    for line in text.split("\n"):
        if "<!--" in line:
            while (c := find_id_comment(line)) is not None:
                line = line[: c.start] + line[c.end :]
        out.append(line)
    return "\n".join(out)


def _yaml_depth_exceeded(text: str, limit: int) -> int | None:
    """The 0-based line where flow brackets or indentation nest deeper than `limit`, if any.

    PyYAML composes nodes recursively: thousands of `[[[[` or indented levels raise
    RecursionError (which used to drop the whole file). Counted on the raw text, linearly."""
    depth = 0
    indents: list[int] = []
    quote: str | None = None
    for n, line in enumerate(text.split("\n")):
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith("#") and depth == 0 and quote is None:
            ind = len(line) - len(stripped)
            while indents and indents[-1] >= ind:
                indents.pop()
            indents.append(ind)
            # a `- - - - x` line nests one level per dash
            dashes = len(stripped) - len(stripped.lstrip("- "))
            if len(indents) + stripped[:dashes].count("-") > limit:
                return n
        for ch in line:
            if quote is not None:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                depth += 1
                if depth > limit:
                    return n
            elif ch in "]}":
                depth = max(0, depth - 1)
    return None
