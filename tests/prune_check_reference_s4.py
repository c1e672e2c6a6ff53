"""Reference implementations for tests/test_prune_check_s4.py: the code that
`dlcards.core.lint`, `dlcards.insights.prune_text.duplicate_pairs` and
`dlcards.insights.prune.duplicate_reasons` replaced (issue 16, session 4), kept verbatim or
as the plainest all-pairs loop, so that the faster versions are compared with them."""
# ruff: noqa

from __future__ import annotations

from collections import defaultdict

from dlcards.core.model import Note
from dlcards.insights.prune_report import Reason
from dlcards.insights.prune_text import (
    _CLOZE_TEXT_RE,
    _MARKUP_RE,
    _SPACES_RE,
    _WORD_RE,
    DUPLICATE_ANSWER,
    DUPLICATE_QUESTION,
    FENCE_BODY_RE,
    MATH_RE,
    NUMBER_WORDS as PRUNE_NUMBER_WORDS,
)
from dlcards.core.comments import strip_html_comments as _strip
from dlcards.core.lint import FENCE_RE as _FENCE_RE


def normalize(text: str) -> str:
    """`prune_text.normalize` before session 4."""
    text = _strip(text, " ")
    text = _FENCE_RE.sub(" ", text)
    text = _CLOZE_TEXT_RE.sub(r"\1", text)
    text = _MARKUP_RE.sub(" ", text)
    return " ".join(text.lower().split())


def code_of(text: str) -> str:
    """`prune_text.code_of` before session 4."""
    return " ".join(" ".join(m.group(2) for m in FENCE_BODY_RE.finditer(text)).split())


def exact_parts(text: str) -> tuple[str, str]:
    """`prune_text.exact_parts` before session 4."""
    prose = _FENCE_RE.sub(" ", _strip(text, " "))
    math = "|".join(_SPACES_RE.sub("", m.group(0)) for m in MATH_RE.finditer(prose))
    words = _WORD_RE.findall(MATH_RE.sub(" ", prose).lower())
    numbers = " ".join(sorted(w for w in words if w.isdigit() or w in PRUNE_NUMBER_WORDS))
    return math + "#" + numbers, _SPACES_RE.sub("", code_of(text))


def duplicate_pairs(notes: list[Note]) -> list[tuple[int, int, float, float]]:
    """Every pair of each (kind, exact parts) group compared with `fuzz.ratio`, one call per
    pair: no cut, no bound, no block."""
    from rapidfuzz import fuzz

    qs = [normalize(n.question) for n in notes]
    ans = [(normalize(n.answer) + " " + code_of(n.answer)).strip() for n in notes]
    groups: dict[tuple[str, tuple[str, str]], list[int]] = {}
    for i, n in enumerate(notes):
        groups.setdefault((n.kind, exact_parts(n.question)), []).append(i)
    out = []
    for members in groups.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                q = fuzz.ratio(qs[i], qs[j], score_cutoff=DUPLICATE_QUESTION)
                if q < DUPLICATE_QUESTION:
                    continue
                a = fuzz.ratio(ans[i], ans[j])
                if a >= DUPLICATE_ANSWER:
                    ni, nj = notes[i], notes[j]
                    out.append((ni.path, ni.line, nj.path, nj.line, i, j, round(q, 1), round(a, 1)))
    out.sort()
    return [(i, j, q, a) for *_, i, j, q, a in out]


def _first_card(note: Note) -> str:
    ids = note.card_ids()
    return ids[0] if ids else note.id


def duplicate_reasons(notes: list[Note]) -> list[tuple[str, Reason]]:
    """`dlcards.insights.prune.duplicate_reasons` before session 4 (per-note tuple sorts)."""
    dups: dict[int, list[tuple[float, float, str, int, int]]] = defaultdict(list)
    for i, j, q, ans in duplicate_pairs(notes):
        a, b = notes[i], notes[j]
        dups[i].append((-q, -ans, b.path, b.line, j))
        dups[j].append((-q, -ans, a.path, a.line, i))
    out = []
    for k, matches in dups.items():
        matches.sort()
        q, ans = -matches[0][0], -matches[0][1]
        other = notes[matches[0][4]]
        more = f" and {len(matches) - 1} more" if len(matches) > 1 else ""
        reason = Reason(
            "duplicate",
            f"near-duplicate of {other.path}:{other.line}{more} ({q:.0f}% question, {ans:.0f}% answer)",
            2 + (q - DUPLICATE_QUESTION) / 5 + 0.5 * min(4, len(matches) - 1),
            {
                "other": _first_card(notes[matches[0][4]]),
                "other_where": f"{other.path}:{other.line}",
                "question_similarity": q,
                "answer_similarity": ans,
                "others": [_first_card(notes[m[4]]) for m in matches],
            },
        )
        out.append((_first_card(notes[k]), reason))
    return out


# -- dlcards.core.lint before session 4 (verbatim below this line, imports aside) -----------
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


def prose_words(markdown: str) -> int:
    """Words a learner reads: code blocks dropped, each math span counted as one word."""
    text = FENCE_RE.sub(" ", markdown)
    text = DISPLAY_MATH_RE.sub(" M ", text)
    text = INLINE_MATH_RE.sub(" M ", text)
    text = CODE_SPAN_RE.sub(" C ", text)
    text = strip_html_comments(text, " ")
    return len([w for w in re.split(r"\s+", text) if re.search(r"\w", w)])


def _plain(markdown: str) -> str:
    text = FENCE_RE.sub(" ", markdown)
    text = re.sub(r"[`*_$\\{}]", "", text)
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
            if len(hidden) >= 4 and re.search(rf"\b{re.escape(hidden)}\b", rest):
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
    text = FENCE_RE.sub(" ", markdown)
    text = strip_html_comments(text, " ")
    text = DISPLAY_MATH_RE.sub(" M ", text)
    text = INLINE_MATH_RE.sub(" M ", text)
    text = CODE_SPAN_RE.sub(" C ", text)
    return " ".join(text.split())


def _answer_head(markdown: str) -> str:
    """What the answer starts with: its first code span if it opens with one, else its first words."""
    text = FENCE_RE.sub(lambda m: "`" + m.group(0).split("\n", 1)[-1] + "`", markdown).strip()
    m = re.match(r"`([^`]+)`", text)
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
        words = re.findall(r"[A-Za-z]{2,}|\b[MC]\b", rest)
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
    text = re.sub(r"\{\{c\d+::", "", text).replace("}}", "")
    return _plain(text)


def _cloze_giveaway(note: Note, d: Deletion) -> str | None:
    """Why deletion `d` gives itself away (None when it does not): a trivial one-letter blank,
    its text shown elsewhere on the card (visible text, a sibling deletion, a heading), or most
    of a long deletion shown verbatim elsewhere."""
    hidden = _cloze_plain(d.text)
    letters = re.sub(r"[^0-9a-z]", "", hidden)
    if len(letters) <= 1 and not letters.isdigit():
        return "the blank is a single symbol, which is not a fact worth recalling"
    rest = " | ".join(
        [_cloze_plain(note.question[: d.start] + " " + note.question[d.end :])]
        + [_cloze_plain(c) for c in note.context]
    )
    if re.search(rf"(?<![0-9a-z]){re.escape(hidden)}(?![0-9a-z])", rest):
        return (
            f"`{d.text.strip()}` also appears in the visible text, a sibling deletion or a heading"
        )
    if len(hidden) >= CLOZE_OVERLAP_MIN_CHARS:
        m = SequenceMatcher(None, hidden, rest, autojunk=False).find_longest_match(
            0, len(hidden), 0, len(rest)
        )
        if m.size >= CLOZE_OVERLAP * len(hidden):
            return f"{m.size} of its {len(hidden)} characters appear verbatim elsewhere on the card"
    return None


def _odd_dollars(markdown: str) -> bool:
    text = FENCE_RE.sub(" ", markdown)
    text = CODE_SPAN_RE.sub(" ", text)
    text = text.replace("\\$", "")
    return text.count("$") % 2 == 1


def _strip_deletions(text: str) -> str:
    return re.sub(r"\{\{c\d+::.*?\}\}", "X", text, flags=re.S)
