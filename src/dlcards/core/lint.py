"""Minimum-information lint: warnings a careful author wants. Pure."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from difflib import SequenceMatcher

from dlcards.core.comments import strip_html_comments
from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.model import Deletion, Note

FENCE_RE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
DISPLAY_MATH_RE = re.compile(r"\$\$.*?\$\$", re.S)
INLINE_MATH_RE = re.compile(r"\$[^$\n]+\$")
CODE_SPAN_RE = re.compile(r"`[^`\n]+`")
SENTENCE_END_RE = re.compile(r"[.;!?](\s|$)")
# every pattern is compiled once: `re.sub(pattern_string, ...)` goes through `re`'s cache of
# 512 patterns, which the per-deletion patterns this module used to build evicted (tens of
# thousands of recompilations on a 50k-card collection)
_WORD_CHAR_RE = re.compile(r"\w")
_MARKUP_RE = re.compile(r"[`*_$\\{}]")
_CLOZE_OPEN_RE = re.compile(r"\{\{c\d+::")
_NOT_ALNUM_RE = re.compile(r"[^0-9a-z]")
_DELETION_RE = re.compile(r"\{\{c\d+::.*?\}\}", re.S)
_CODE_SPAN_START_RE = re.compile(r"`([^`]+)`")
_PROMPT_WORD_RE = re.compile(r"[A-Za-z]{2,}|\b[MC]\b")


def _unfenced(markdown: str, repl: str = " ") -> str:
    """`FENCE_RE.sub(repl, markdown)`; a text without a fence marker skips the regex (each
    pattern below is only run on a text holding the characters it needs to match)."""
    return FENCE_RE.sub(repl, markdown) if "```" in markdown or "~~~" in markdown else markdown


def _placeholders(text: str) -> str:
    """Display math, inline math and code spans replaced by ` M ` / ` C `."""
    if "$" in text:
        if "$$" in text:
            text = DISPLAY_MATH_RE.sub(" M ", text)
        text = INLINE_MATH_RE.sub(" M ", text)
    return CODE_SPAN_RE.sub(" C ", text) if "`" in text else text


def prose_words(markdown: str) -> int:
    """Words a learner reads: code blocks dropped, each math span counted as one word."""
    text = _placeholders(_unfenced(markdown))
    text = strip_html_comments(text, " ")
    # `str.split()` splits on exactly the characters `\s` matches (`str.isspace`)
    search = _WORD_CHAR_RE.search
    return sum(1 for w in text.split() if search(w))


def _plain(markdown: str) -> str:
    text = _unfenced(markdown)
    text = _MARKUP_RE.sub("", text)
    return " ".join(text.lower().split()).strip(" .")


def lint_note(note: Note, answer_word_limit: int) -> list[Problem]:
    out: list[Problem] = []
    if note.kind == "basic" and note.answer:
        words = prose_words(note.answer)
        if words > answer_word_limit:
            out.append(
                Problem(
                    SourceLocation(note.path, note.answer_line or note.line),
                    "warning",
                    "long-answer",
                    f"answer has {words} words (limit {answer_word_limit}): hard to recall as one fact",
                    "split it into several cards, or move detail into a separate card",
                )
            )
        answer = _plain(note.answer)
        question = _plain(note.question)
        if len(answer) >= 4 and answer in question:
            out.append(
                Problem(
                    SourceLocation(note.path, note.line),
                    "warning",
                    "answer-in-question",
                    "the question contains its own answer",
                    "reword the question so that it does not give the answer away",
                )
            )
    for side, text, line in (
        ("question", note.question, note.line),
        ("answer", note.answer, note.answer_line or note.line),
    ):
        if _odd_dollars(text):
            out.append(
                Problem(
                    SourceLocation(note.path, line),
                    "warning",
                    "unclosed-math",
                    f"the {side if note.kind == 'basic' else 'text'} has an unmatched `$`: its math is shown as raw LaTeX",
                    "close inline math with `$` and display math with `$$` (write `\\$` for a dollar sign)",
                )
            )
    if note.kind == "cloze":
        by_number: dict[int, list[int]] = defaultdict(list)
        for d in note.deletions:
            by_number[d.number].append(d.start)
        for number, starts in sorted(by_number.items()):
            if len(starts) < 2:
                continue
            first, last = min(starts), max(starts)
            between = note.question[first:last]
            if len(starts) >= 3 or SENTENCE_END_RE.search(_strip_deletions(between)):
                line = min(d.line for d in note.deletions if d.number == number)
                out.append(
                    Problem(
                        SourceLocation(note.path, line),
                        "warning",
                        "cloze-same-number",
                        f"c{number} hides {len(starts)} separate pieces: one card asks several facts at once",
                        "number unrelated deletions c1, c2, ... unless they only make sense together",
                    )
                )
        for d in note.deletions:
            hidden = _plain(d.text)
            rest = _plain(note.question[: d.start] + note.question[d.end :])
            if len(hidden) >= 4 and _as_word(hidden, rest):
                out.append(
                    Problem(
                        SourceLocation(note.path, d.line),
                        "warning",
                        "answer-in-question",
                        f"the text hidden by c{d.number} also appears unhidden in the card",
                        "reword so the visible text does not give the deletion away",
                    )
                )
            elif (why := _cloze_giveaway(note, d)) is not None:
                out.append(
                    Problem(
                        SourceLocation(note.path, d.line),
                        "warning",
                        "cloze-gives-away",
                        f"c{d.number} gives itself away: {why}",
                        "hide something worth recalling, and reword the visible text, the "
                        "headings or the sibling deletions so they do not reveal it",
                    )
                )
    out.extend(_one_fact_problems(note))
    return out


# --- one fact per card (SuperMemo's minimum-information principle) ------------------------------

NUMBER_WORDS = "two|three|four|five|six|seven|eight|nine|ten|[2-9]"
# "..., and why?" / "..., and its shape?": a second question tacked onto the first
SECOND_QUESTION_RE = re.compile(
    r",\s*(and|or)\s+((with|in|for|at|on|from|to|by|of)\s+)?(why|how|what|which|when|where|whom?|its|their)\b[^?]*\?\s*$"
    r"|\band\s+(why|how)\s*\?\s*$",
    re.I,
)
ENUMERATION_RES = (
    re.compile(r"^\s*(name|list|enumerate)\b", re.I),
    re.compile(rf"^\s*(give|state|mention)\s+({NUMBER_WORDS})\b", re.I),
    re.compile(
        rf"\b(what|which)\s+(are\s+)?(the\s+)?({NUMBER_WORDS})\s+([a-z-]+\s+)?[a-z-]*[a-z]s\b", re.I
    ),
)
WHAT_WHICH_RE = re.compile(r"^\s*(\W\s*)?(what|which)\b", re.I)
BOOLEAN_LITERAL_RE = re.compile(r"^['\"]?(True|False)['\"]?$")
BOOLEAN_WORD_RE = re.compile(r"^(true|false|yes|no)(\s*[.,;:!—–-]|\s*$)", re.I)
# a bare "what does this evaluate to?" with nothing saying what the snippet is about
STOCK_CODE_PROMPT_RE = re.compile(
    r"^(what|which)\s+(?P<kind>(\w+\s+){0,2}?)(does|do|will|would|is)\s+"
    r"(this|these|the\s+following|the\s+code|the\s+snippet|it)"
    r"(\s+(code|snippet|expression|line|lines))?\s+"
    r"(evaluate\s+to|print|return|output|give|show|produce|hold|contain)\b\s*\??",
    re.I,
)
CODE_PROMPT_MIN_WORDS = 3
# "What shape does this print?" names the kind of value asked for: specific enough
CODE_PROMPT_KINDS = {"shape", "shapes", "dtype", "dtypes", "device", "size", "sizes", "length"}
LATEX_WORD_RE = re.compile(
    r"\\(mathrm|operatorname|text|mathbf|boldsymbol|mathit|left|right|big|Big|bigl|bigr)\b"
)
CLOZE_OVERLAP = 0.75  # share of a long deletion that may appear verbatim elsewhere
CLOZE_OVERLAP_MIN_CHARS = 12


def _question_prose(markdown: str) -> str:
    """The question as prose: code blocks and id comments dropped, math and code spans kept as
    placeholders (so their `?` or `,` do not count)."""
    text = strip_html_comments(_unfenced(markdown), " ")
    return " ".join(_placeholders(text).split())


def _answer_head(markdown: str) -> str:
    """What the answer starts with: its first code span if it opens with one, else its first words."""
    text = (
        FENCE_RE.sub(lambda m: "`" + m.group(0).split("\n", 1)[-1] + "`", markdown)
        if "```" in markdown or "~~~" in markdown
        else markdown
    ).strip()
    m = _CODE_SPAN_START_RE.match(text)
    if m:
        return m.group(1).strip()
    return text


def _one_fact_problems(note: Note) -> list[Problem]:
    if note.kind != "basic":
        return []
    out: list[Problem] = []
    where = SourceLocation(note.path, note.line)
    question = _question_prose(note.question)

    def warn(code: str, message: str, hint: str) -> None:
        out.append(Problem(where, "warning", code, message, hint))

    if question.count("?") >= 2 or SECOND_QUESTION_RE.search(question):
        warn(
            "several-questions",
            "the question asks two things at once",
            "split it into one card per question (the second part is often a card of its own)",
        )
    if any(r.search(question) for r in ENUMERATION_RES):
        warn(
            "enumeration",
            "the question asks for a list: sets are hard to recall as one fact",
            "ask for one item per card (e.g. by its role), or use a cloze with one deletion per item",
        )
    head = _answer_head(note.answer)
    first_line = next((ln for ln in question.splitlines() if ln.strip()), "")
    is_boolean = bool(BOOLEAN_LITERAL_RE.match(head)) or (
        not note.answer.lstrip().startswith("`") and bool(BOOLEAN_WORD_RE.match(head))
    )
    if is_boolean and WHAT_WHICH_RE.match(first_line):
        warn(
            "boolean-answer",
            "a what/which question with a yes/no (True/False) answer: a guess is right half the time",
            "ask for the value itself (the number, shape, name or reason), not whether a claim holds",
        )
    if any(b.kind == "torch" and b.side == "question" for b in note.blocks):
        m = STOCK_CODE_PROMPT_RE.match(question)
        rest = question[m.end() :] if m else question
        words = _PROMPT_WORD_RE.findall(rest)
        kind_words = set(m.group("kind").lower().split()) if m else set()
        names_kind = bool(CODE_PROMPT_KINDS & kind_words)
        if m and not names_kind and len(words) < CODE_PROMPT_MIN_WORDS:
            warn(
                "code-prompt-vague",
                "the code prompt does not say what the snippet is about",
                "state what is asked, e.g. 'What shape does a 3x3 conv with stride 2 give "
                "on a 32x32 image?'",
            )
    return out


def _cloze_plain(markdown: str) -> str:
    text = LATEX_WORD_RE.sub("", markdown)
    text = _CLOZE_OPEN_RE.sub("", text).replace("}}", "")
    return _plain(text)


def _cloze_giveaway(note: Note, d: Deletion) -> str | None:
    """Why deletion `d` gives itself away (None when it does not): a trivial one-letter blank,
    its text shown elsewhere on the card (visible text, a sibling deletion, a heading), or most
    of a long deletion shown verbatim elsewhere."""
    hidden = _cloze_plain(d.text)
    letters = _NOT_ALNUM_RE.sub("", hidden)
    if len(letters) <= 1 and not letters.isdigit():
        return "the blank is a single symbol, which is not a fact worth recalling"
    rest = " | ".join(
        [_cloze_plain(note.question[: d.start] + " " + note.question[d.end :])]
        + [_cloze_plain(c) for c in note.context]
    )
    if _standalone(hidden, rest):
        return (
            f"`{d.text.strip()}` also appears in the visible text, a sibling deletion or a heading"
        )
    if len(hidden) >= CLOZE_OVERLAP_MIN_CHARS and _shares_run(
        hidden, rest, math.ceil(CLOZE_OVERLAP * len(hidden))
    ):
        m = SequenceMatcher(None, hidden, rest, autojunk=False).find_longest_match(
            0, len(hidden), 0, len(rest)
        )
        if m.size >= CLOZE_OVERLAP * len(hidden):
            return f"{m.size} of its {len(hidden)} characters appear verbatim elsewhere on the card"
    return None


def _odd_dollars(markdown: str) -> bool:
    if "$" not in markdown:
        return False
    text = _unfenced(markdown)
    text = CODE_SPAN_RE.sub(" ", text) if "`" in text else text
    text = text.replace("\\$", "")
    return text.count("$") % 2 == 1


def _strip_deletions(text: str) -> str:
    return _DELETION_RE.sub("X", text)


# -- literal searches (what `re.search(rf"...{re.escape(s)}...")` did, without a pattern per
# string) ------------------------------------------------------------------------------------
def _is_word(ch: str) -> bool:
    r"""`\w` of `re` for one character (str patterns: Unicode alphanumerics and `_`)."""
    return ch.isalnum() or ch == "_"


def _at_boundary(text: str, i: int) -> bool:
    r"""`\b` at position `i` of `text`: a word character on exactly one side."""
    before = i > 0 and _is_word(text[i - 1])
    after = i < len(text) and _is_word(text[i])
    return before != after


def _as_word(needle: str, text: str) -> bool:
    r"""`re.search(rf"\b{re.escape(needle)}\b", text) is not None`."""
    end = len(needle)
    i = text.find(needle)
    while i >= 0:
        if _at_boundary(text, i) and _at_boundary(text, i + end):
            return True
        i = text.find(needle, i + 1)
    return False


_ALNUM_LOWER = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def _standalone(needle: str, text: str) -> bool:
    """`re.search(rf"(?<![0-9a-z]){re.escape(needle)}(?![0-9a-z])", text) is not None`."""
    end = len(needle)
    i = text.find(needle)
    while i >= 0:
        j = i + end
        if (i == 0 or text[i - 1] not in _ALNUM_LOWER) and (
            j >= len(text) or text[j] not in _ALNUM_LOWER
        ):
            return True
        i = text.find(needle, i + 1)
    return False


def _shares_run(a: str, b: str, k: int) -> bool:
    """Whether `a` and `b` have a common substring of `k` characters (the longest common
    substring, which `SequenceMatcher(None, a, b, autojunk=False).find_longest_match` finds,
    is at least `k` long): one substring test per start in `a`, instead of the matcher's
    index of `b` for every deletion."""
    if k <= 0:
        return True
    return any(a[i : i + k] in b for i in range(len(a) - k + 1))
