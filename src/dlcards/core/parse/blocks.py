"""The top-level blocks of a deck file, as markdown-it-py's block parser finds them, fast.

The card builder (`cards._Builder`) reads only markdown-it's level-0 block tokens: their type,
source lines (`map`), a fence's info, markup and content, the front matter's content, and the
inline content of a paragraph or heading (never the inline parse: `children`). A full
`MarkdownIt.parse` also runs the inline rules (emphasis, links, `$` math, ...) on every
paragraph, and its block rules try each construct on every line in turn: at 50,000 cards that
was ~2 s of a cold start (issue 16).

`top_blocks(text)` walks the lines once and recognises what deck files are made of (blank
lines, front matter, headings, fences, indented code, paragraphs and setext headings) with
the same rules as markdown-it-py (`rules_block/*.py` and the `front_matter` plugin, ported
line for line where they decide anything). Every other block start (lists, block quotes, HTML
blocks, tables, `$$` math, link reference definitions, an unclosed front matter, ...) and every
line in a paragraph that might end it (a line starting with one of ``#>*-+_=<`~|$[`` or a
digit, or holding a `|`) is handed to markdown-it's own rules on a `StateBlock` of the whole
text, built only then. So the result is markdown-it's, token for token, whatever the text;
`markdown_it_blocks(text)` is the reference (the full parse, every core rule) that the tests
compare it with (tests/test_parse_fast*.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it.rules_block import StateBlock
    from markdown_it.token import Token

# markdown-it-py's `common.utils.MD_TRIM_CHARS` (what `mdTrim` strips), copied so that the
# fast path never imports markdown_it; a test checks that they are equal
MD_TRIM_CHARS = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)

# first characters of a line that may start a block other than a paragraph or an ATX heading,
# or end a paragraph (`=`/`-`: a setext underline): decided by markdown-it's rules
_SPECIAL = frozenset("#>*-+_=<`~|$[0123456789")


class Blk:
    """One level-0 block token: the fields of markdown-it's `Token` the builder reads.

    `content` is the token's content, except for `paragraph_open` and `heading_open`, where it
    is the content of the inline token that follows (the paragraph's or heading's text)."""

    __slots__ = ("content", "info", "map", "markup", "tag", "type")

    def __init__(
        self,
        type: str,
        map: tuple[int, int],
        *,
        tag: str = "",
        markup: str = "",
        info: str = "",
        content: str = "",
    ):
        self.type = type
        self.map = map
        self.tag = tag
        self.markup = markup
        self.info = info
        self.content = content

    def astuple(self) -> tuple[str, tuple[int, int], str, str, str, str]:
        return (self.type, self.map, self.tag, self.markup, self.info, self.content)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blk) and self.astuple() == other.astuple()

    def __hash__(self) -> int:
        return hash(self.astuple())

    def __repr__(self) -> str:
        return f"Blk{self.astuple()!r}"


def blocks_of_tokens(tokens: list[Token]) -> list[Blk]:
    """The level-0 block tokens with a source map (what the builder looks at), as `Blk`s."""
    out: list[Blk] = []
    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.map is None:
            continue
        content = tok.content
        if tok.type in ("paragraph_open", "heading_open"):
            content = tokens[i + 1].content if i + 1 < len(tokens) else ""
        out.append(
            Blk(
                tok.type,
                (tok.map[0], tok.map[1]),
                tag=tok.tag,
                markup=tok.markup,
                info=tok.info,
                content=content,
            )
        )
    return out


def markdown_it_blocks(text: str) -> list[Blk]:
    """The reference: markdown-it's full parse (every core rule: block, inline, text_join)."""
    from dlcards.core.parse.base import markdown_parser

    return blocks_of_tokens(markdown_parser().parse(text))


def _indent(line: str) -> tuple[int, int]:
    """(tShift, sCount): leading blanks, and their width with tabs expanded (markdown-it)."""
    shift = len(line) - len(line.lstrip(" \t"))
    return shift, _width(line, shift)


def _width(line: str, shift: int) -> int:
    """sCount: the width of the `shift` leading blanks of `line`, tabs expanded."""
    if not shift or "\t" not in line[:shift]:
        return shift
    offset = 0
    for ch in line[:shift]:
        offset += 4 - offset % 4 if ch == "\t" else 1
    return offset


class _LineModelDiffers(Exception):
    """The scanner's lines are not markdown-it's (a bug): the text is parsed the slow way."""


class _Scanner:
    """One text's lines and the markdown-it state built for it when a block needs it."""

    def __init__(self, src: str, lines: list[str]):
        self.src = src
        self.lines = lines  # src.split("\n")
        n = len(lines)
        # markdown-it's lines: no line after a final newline, nor for a last line of blanks
        if n and not lines[-1].strip(" \t"):
            n -= 1
        self.n = n
        self._state: StateBlock | None = None
        self._terminators: list[Any] = []
        self._rules: list[Any] = []

    # -- markdown-it, for what the fast path does not decide --------------------------------
    def state(self) -> StateBlock:
        if self._state is None:
            from markdown_it.rules_block import StateBlock

            from dlcards.core.parse.base import markdown_parser

            md = markdown_parser()
            self._state = StateBlock(self.src, md, {}, [])
            if self._state.lineMax != self.n:  # pragma: no cover - a bug: parse it all
                raise _LineModelDiffers
            self._rules = md.block.ruler.getRules("")
            self._terminators = md.block.ruler.getRules("paragraph")
        return self._state

    def terminates_paragraph(self, line: int) -> bool:
        """Whether `line` ends a paragraph (markdown-it's paragraph terminator rules)."""
        state = self.state()
        old = state.parentType
        state.parentType = "paragraph"
        try:
            return any(rule(state, line, self.n, True) for rule in self._terminators)
        finally:
            state.parentType = old

    def fallback(self, line: int, out: list[Blk]) -> int:
        """markdown-it's block rules at `line` (one top-level block); the next line."""
        state = self.state()
        state.tokens = []
        state.line = line
        for rule in self._rules:
            if rule(state, line, self.n, False):
                break
        else:  # pragma: no cover - the paragraph rule always matches
            raise RuntimeError("none of the block rules matched")
        if state.line <= line:  # pragma: no cover - markdown-it's own guard
            raise RuntimeError("block rule didn't increment state.line")
        out.extend(blocks_of_tokens(state.tokens))
        state.tokens = []
        return state.line

    # -- the lines ----------------------------------------------------------------------
    def maybe_table(self, line: int) -> bool:
        """Whether markdown-it's table rule might start at `line` (its cheap first tests)."""
        if "|" not in self.lines[line] or line + 1 >= self.n:
            return False
        nxt = self.lines[line + 1]
        shift, count = _indent(nxt)
        return count < 4 and shift < len(nxt) and nxt[shift] in "|-:"

    def get_lines(self, begin: int, end: int, indent: int, keep_last_lf: bool) -> str:
        """markdown-it's `StateBlock.getLines` (top level: `bsCount` is 0)."""
        if begin >= end:
            return ""
        lines = self.lines
        last_line = len(lines) - 1
        out = []
        for ln in range(begin, end):
            text = lines[ln]
            if (ln + 1 < end or keep_last_lf) and ln < last_line:
                text += "\n"
            if indent <= 0:
                out.append(text)
                continue
            shift = len(text) - len(text.lstrip(" \t"))
            line_indent = 0
            first = 0
            while first < len(text) and line_indent < indent:
                ch = text[first]
                if ch == "\t":
                    line_indent += 4 - line_indent % 4
                elif ch == " " or first < shift:
                    line_indent += 1
                else:
                    break
                first += 1
            if line_indent > indent:
                out.append(" " * (line_indent - indent) + text[first:])
            else:
                out.append(text[first:])
        return "".join(out)

    # -- the rules ----------------------------------------------------------------------
    def front_matter(self, out: list[Blk]) -> int | None:
        """The front_matter plugin at line 0 (a closed block); None: not decided here."""
        first = self.lines[0]
        count = len(first) - len(first.lstrip("-"))
        if count < 3:
            return None
        n = self.n
        for ln in range(1, n):
            text = self.lines[ln]
            if text.startswith("...") and not text[3:].strip(" \t"):
                end, closed_at = ln + 1, ln
                break
            shift, s_count = _indent(text)
            if shift >= len(text) or text[shift] != "-" or s_count >= 4:
                continue
            run = len(text) - shift - len(text[shift:].lstrip("-"))
            if run < count or text[shift + run :].strip(" \t"):
                continue
            end, closed_at = ln + 1, ln
            break
        else:
            return None  # unclosed: markdown-it tries the other rules
        content = "\n".join(self.lines[1:closed_at])
        out.append(Blk("front_matter", (0, end), markup="---", content=content))
        return end

    def fence(self, line: int, shift: int, s_count: int, out: list[Blk]) -> int | None:
        text = self.lines[line]
        marker = text[shift]
        run = len(text) - shift - len(text[shift:].lstrip(marker))
        if run < 3:
            return None
        params = text[shift + run :]
        if marker == "`" and "`" in params:
            return None
        have_end = False
        nxt = line
        n = self.n
        while True:
            nxt += 1
            if nxt >= n:
                break
            body = self.lines[nxt]
            b_shift, b_count = _indent(body)
            if b_shift >= len(body) or body[b_shift] != marker or b_count >= 4:
                continue
            b_run = len(body) - b_shift - len(body[b_shift:].lstrip(marker))
            if b_run < run or body[b_shift + b_run :].strip(" \t"):
                continue
            have_end = True
            break
        end = nxt + 1 if have_end else nxt
        content = self.get_lines(line + 1, nxt, s_count, True)
        out.append(
            Blk("fence", (line, end), tag="code", markup=text[shift : shift + run], info=params)
        )
        out[-1].content = content
        return end

    def code(self, line: int) -> int:
        last = nxt = line + 1
        lines, n = self.lines, self.n
        while nxt < n:
            text = lines[nxt]
            stripped = text.lstrip(" \t")
            if not stripped:
                nxt += 1
                continue
            if _width(text, len(text) - len(stripped)) >= 4:
                nxt += 1
                last = nxt
                continue
            break
        return last

    def heading(self, line: int, shift: int, out: list[Blk]) -> int | None:
        text = self.lines[line]
        rest = text[shift:].lstrip("#")
        level = len(text) - shift - len(rest)
        if level > 6 or (rest and rest[0] not in " \t"):
            return None
        # cut tails like '    ###  '
        body = rest.rstrip(" \t")
        tail = body.rstrip("#")
        if tail and tail[-1] in " \t":
            body = tail
        out.append(
            Blk(
                "heading_open",
                (line, line + 1),
                tag=f"h{level}",
                markup="#" * level,
                content=body.strip(MD_TRIM_CHARS),
            )
        )
        return line + 1

    def paragraph(self, line: int, out: list[Blk]) -> int:
        """markdown-it's lheading then paragraph rules at `line` (one pass over the lines)."""
        lines, n = self.lines, self.n
        nxt = line + 1
        while nxt < n:
            text = lines[nxt]
            stripped = text.lstrip(" \t")
            if not stripped:
                break
            shift = len(text) - len(stripped)
            if shift and _width(text, shift) >= 4:
                nxt += 1  # a lazy continuation
                continue
            ch = stripped[0]
            if ch in "-=" and not stripped.lstrip(ch).strip(" \t"):
                content = "\n".join(lines[line:nxt]).strip(MD_TRIM_CHARS)
                level = 1 if ch == "=" else 2
                out.append(
                    Blk(
                        "heading_open", (line, nxt + 1), tag=f"h{level}", markup=ch, content=content
                    )
                )
                return nxt + 1
            if (
                ch in _SPECIAL or ("|" in text and self.maybe_table(nxt))
            ) and self.terminates_paragraph(nxt):
                break
            nxt += 1
        content = "\n".join(lines[line:nxt]).strip(MD_TRIM_CHARS)
        out.append(Blk("paragraph_open", (line, nxt), tag="p", content=content))
        return nxt

    def scan(self) -> list[Blk]:
        out: list[Blk] = []
        lines, n = self.lines, self.n
        line = 0
        while line < n:
            text = lines[line]
            stripped = text.lstrip(" \t")
            if not stripped:
                line += 1
                continue
            shift = len(text) - len(stripped)
            ch = stripped[0]
            nxt: int | None = None
            if line == 0 and shift == 0 and ch == "-":
                nxt = self.front_matter(out)
            if nxt is not None:
                pass
            elif shift and _width(text, shift) >= 4:
                nxt = self.code(line)
                content = self.get_lines(line, nxt, 4, False) + "\n"
                out.append(Blk("code_block", (line, nxt), tag="code", content=content))
            elif ch in _SPECIAL or "|" in text:
                if "|" in text and self.maybe_table(line):
                    nxt = None
                elif ch in "`~":
                    nxt = self.fence(line, shift, _width(text, shift), out)
                elif ch == "#":
                    nxt = self.heading(line, shift, out)
                elif ch not in _SPECIAL:
                    nxt = self.paragraph(line, out)
                if nxt is None:
                    nxt = self.fallback(line, out)
            else:
                nxt = self.paragraph(line, out)
            line = nxt
        return out


def top_blocks(text: str, lines: list[str] | None = None) -> list[Blk]:
    """markdown-it's level-0 block tokens of `text` (LF newlines, no BOM), as `Blk`s;
    `lines`: `text.split("\\n")`, when the caller has it."""
    if "\0" in text:  # markdown-it's normalize rule
        text = text.replace("\0", "\ufffd")
        lines = None
    try:
        return _Scanner(text, lines if lines is not None else text.split("\n")).scan()
    except _LineModelDiffers:  # pragma: no cover - never seen; markdown-it's answer then
        return markdown_it_blocks(text)
