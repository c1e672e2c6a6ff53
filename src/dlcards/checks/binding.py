"""Bind a card's own text to its checked blocks (issue 12, item 1). Pure: no I/O, no clock.

What a learner memorises is the formula on the card, not the `check` block under it. This
module finds those formulas and proves them *in the block's context*:

- `card_formulas(note)` (no sympy) lists the formulas a card states, each with its line:
    * `relation`: a math span of the answer (or a cloze card's math span that holds a deletion)
      whose top level is `a = b` or `a \\approx b`;
    * `answer`: on a card with a `check` block, the answer's leading math span when it is an
      expression (`$2x$`), and a cloze deletion's math that is not a relation: it must equal a
      side of one of the block's claims;
    * `shape`: on a card with a `shapes` block, the answer's first shape tuple (`$(N, C)$` or
      `` `(N, C)` ``): it must be the shape of one of the block's claims.
- `bind_block(kind, block_text, formulas)` (sympy, in the checker's workers) checks the block
  once with the card's formulas appended as claims (translated by `checks.latex` with the kinds
  of the block's names), and returns the block's own problems plus one `Outcome` per formula:
  `proved`, `numeric` (true at every sampled point, no proof), `false` (an error at the
  formula's line), `unbound` (the formula cannot be read, or names something the block does not
  define: counted and listed, not an error) or `budget` (out of CPU time: not cached).

A formula is bound only when every name it uses is a name of the block (defined, a function,
or a symbol the block uses): a card's `L` is never proved against an unrelated symbol.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from dlcards.checks.common import PROOF_BUDGET, BlockProblem, statements, strip_comment
from dlcards.checks.latex import LatexUnreadable, read_claims, read_expr, strip_cloze
from dlcards.core.model import Note

__all__ = [
    "CardFormula",
    "Outcome",
    "Status",
    "bind_block",
    "card_formulas",
    "formula_payload",
    "free_payload",
    "outcome_problem",
]

FormulaKind = Literal["relation", "answer", "expression", "shape"]
# failed: bound to a claim of the block that fails (the block's own error reports it)
Status = Literal["proved", "numeric", "false", "failed", "unbound", "budget"]
_RANK: dict[str, int] = {
    "proved": 5,
    "numeric": 4,
    "budget": 3,
    "failed": 2,
    "false": 1,
    "unbound": 0,
}

# codes of the outcome records (kept with the block's problems in the result cache)
OUTCOME_CODES: dict[str, str] = {
    "proved": "card-formula-proved",
    "numeric": "card-formula-unproved",
    "false": "card-formula-false",
    "failed": "card-formula-block-fails",
    "unbound": "card-formula-unbound",
    "budget": PROOF_BUDGET,
}


@dataclass(frozen=True)
class CardFormula:
    """A formula the card states: what kind, its LaTeX (cloze filled in), its line in the file."""

    kind: FormulaKind
    latex: str
    line: int
    unread: str = ""  # why the formula cannot be bound before reading it (a unit after it)

    @property
    def shown(self) -> str:
        return self.latex if self.kind == "shape" else f"${self.latex}$"


@dataclass(frozen=True)
class Outcome:
    """What binding found for the formula `index` of the list given to `bind_block`."""

    index: int
    status: Status
    message: str = ""  # false / numeric: the engine's message; unbound: the reason
    claim: str = ""  # the claim proved (check language), when the formula was read

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.index,
            "code": OUTCOME_CODES[self.status],
            "status": self.status,
            "message": self.message,
            "claim": self.claim,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        return cls(int(d["formula"]), d["status"], str(d["message"]), str(d["claim"]))


def best(outcomes: Iterable[Outcome]) -> Outcome | None:
    """The strongest outcome for one formula over several blocks (proved beats false: the
    formula holds in some block's context; false beats unbound: it was read and is wrong)."""
    found = list(outcomes)
    return max(found, key=lambda o: _RANK[o.status]) if found else None


# ---------------------------------------------------------------------------------------------
# Finding the card's formulas (no sympy)

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.S | re.M)
_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(?!\s)(.+?)(?<![\s\\])\$", re.S)
# a lone name in a cloze deletion ("row $i$ of $A$") is prose, not a formula
_LONE_NAME = re.compile(r"^\\?[A-Za-z]+(_\{?\w+\}?)?$")
_TUPLE = re.compile(r"^\s*(?:torch\.Size\(\s*\[(.*)\]\s*\)|\((.*)\))\s*$", re.S)


def _blank(m: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def _top_level_relation(latex: str) -> bool:
    """`=` or `\\approx` outside braces (not `\\sum_{j=1}`), and no inequality."""
    depth = 0
    found = False
    i = 0
    while i < len(latex):
        c = latex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+)", latex[i:])
            if m:
                if depth == 0 and m.group(1) == "approx":
                    found = True
                if depth == 0 and m.group(1) in ("le", "leq", "ge", "geq", "ll", "gg", "ne", "neq"):
                    return False
                i += len(m.group(0))
                continue
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and c == "=":
            found = True
        elif depth == 0 and c in "<>":
            return False
        i += 1
    return found


def _is_tuple(text: str) -> bool:
    m = _TUPLE.match(text)
    if not m:
        return False
    inner = m.group(1) if m.group(1) is not None else m.group(2)
    return "," in inner and not re.search(r"[=\\]approx", inner)


def card_formulas(note: Note) -> list[CardFormula]:
    """The formulas `note` states, in order (see the module docstring for what counts)."""
    kinds = {b.kind for b in note.blocks}
    if note.kind == "basic":
        text, first = note.answer, note.answer_line or note.line
    else:
        text, first = note.question, note.line
    # fenced blocks and (for math) code spans blanked out, offsets kept
    prose = _FENCE.sub(_blank, text)
    no_code = _CODE.sub(_blank, prose)
    lead = _lead_lines(note, text)

    def line_of(offset: int) -> int:
        return first + lead + text.count("\n", 0, offset)

    out: list[CardFormula] = []
    spans = [
        (m.start(), m.end(), (m.group(1) if m.group(1) is not None else m.group(2)).strip())
        for m in _MATH.finditer(no_code)
    ]
    deletions = [(d.start, d.end) for d in note.deletions]

    def in_deletion(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in deletions)

    leading_done = False
    tuples: list[tuple[int, str]] = []
    for start, end, raw in spans:
        if note.kind == "cloze" and not in_deletion(start, end):
            # also a span written inside a deletion: {{c1::$x$}}
            continue
        latex = strip_cloze(raw).strip()
        if not latex:
            continue
        after = no_code[end : end + 1]
        unread = (
            "a unit follows the formula: it states a rounded quantity"
            if after.isalpha()
            or after == "%"
            or re.match(r"\s+(million|billion|thousand|%)", no_code[end : end + 12])
            else ""
        )
        if _top_level_relation(latex):
            out.append(CardFormula("relation", latex, line_of(start), unread))
        elif "shapes" in kinds and _is_tuple(latex):
            tuples.append((start, latex))
            continue
        elif "check" in kinds and (
            (note.kind == "basic" and not leading_done)
            or (note.kind == "cloze" and not _LONE_NAME.match(latex))
        ):
            at_answer = note.kind == "cloze" or _answer_position(no_code, start)
            kind: FormulaKind = "answer" if at_answer else "expression"
            out.append(CardFormula(kind, latex, line_of(start), unread))
        leading_done = True
    if "shapes" in kinds:
        for m in _CODE.finditer(prose):
            inner = m.group(2).strip()
            if _is_tuple(inner):
                tuples.append((m.start(), inner))
        if tuples:
            tuples.sort()
            joined = " ; ".join(t for _, t in tuples)
            out.append(CardFormula("shape", joined, line_of(tuples[0][0])))
    return sorted(out, key=lambda f: f.line)


def _answer_position(text: str, start: int) -> bool:
    """Whether a math span is *the* answer: it starts the answer, or follows a colon."""
    before = text[:start].rstrip()
    return not before or before.endswith(":")


def _lead_lines(note: Note, text: str) -> int:
    """Lines the parser stripped before the cloze text (calibrated on a deletion)."""
    if note.kind != "cloze" or not note.deletions:
        return 0
    d = note.deletions[0]
    return d.line - (note.line + text.count("\n", 0, d.start))


def formula_payload(formulas: list[CardFormula]) -> list[list[str]]:
    """What the worker needs of the formulas (and what the cache key holds): kind and LaTeX."""
    return [[f.kind, f.latex, f.unread] for f in formulas]


def free_payload(formulas: list[CardFormula]) -> list[list[str]]:
    """The payload for proving a card's relations that need no block (no check block on the
    card): those that name nothing (numbers, vocabulary functions and constants only, e.g.
    `$784 \\cdot 128 + 128 = 100\\,480$`). The others are left unread (their outcome is
    unbound, and the caller drops it); empty when there is nothing to prove."""
    out = []
    for f in formulas:
        entry = [f.kind, f.latex, "needs a block"]
        if f.kind == "relation" and not f.unread:
            try:
                claims = read_claims(f.latex)
            except LatexUnreadable:
                claims = []
            names: set[str] = set()
            for c in claims:
                try:
                    names |= _names(ast.parse(c.statement, mode="eval").body)
                except SyntaxError:
                    names.add("?")
            if claims and not names - {"pi", "e", "E"}:
                entry = [f.kind, f.latex, ""]
        out.append(entry)
    return out if any(not e[2] for e in out) else []


def outcome_problem(
    formula: CardFormula, outcome: Outcome
) -> tuple[str, str, str, str | None] | None:
    """(severity, code, message, hint) of an outcome worth reporting at the formula's line."""
    if outcome.status == "false":
        if formula.kind == "shape":
            return (
                "error",
                "card-shape-false",
                f"the card's shape is false: {outcome.message}",
                "fix the shape on the card (the shapes block proves the one it names)",
            )
        return (
            "error",
            "card-formula-false",
            f"the card's formula is false: {outcome.message}",
            f"the card says {formula.shown}, read as `{outcome.claim}`; fix the card "
            "(or the check block, if the card is right)",
        )
    if outcome.status == "numeric":
        return (
            "warning",
            "card-formula-unproved",
            f"the card's formula holds numerically but was not proved: {outcome.message}",
            "add `where:` bounds if it holds only on a domain; --strict makes this an error",
        )
    if outcome.status == "budget":
        return ("warning", PROOF_BUDGET, f"the card's formula: {outcome.message}", None)
    return None


# ---------------------------------------------------------------------------------------------
# Proving them in the block's context (sympy, imported lazily by the check engine)


def bind_block(
    kind: str, text: str, formulas: list[list[str]]
) -> tuple[list[BlockProblem], list[Outcome]]:
    """The block's own problems and one outcome per formula (`formula_payload` form)."""
    if kind == "check":
        return _bind_check(text, formulas)
    if kind == "shapes":
        from dlcards.checks.math import _Timeout, time_budget

        # the shapes checker has its own budgets; the card side of the binding gets one too,
        # so a hostile size (2**2**2**2**2) ends as an unbound formula, never a hang
        try:
            with time_budget(SHAPES_BIND_BUDGET_S):
                return _bind_shapes(text, formulas)
        except (_Timeout, MemoryError, RecursionError, OverflowError):
            problems = []
            from dlcards.checks.shapes import check_shapes

            problems = check_shapes(text)
            why = "binding this card's shapes ran out of its budget"
            return problems, [Outcome(i, "unbound", why) for i in range(len(formulas))]
    raise ValueError(f"cannot bind to a {kind} block")


SHAPES_BIND_BUDGET_S = 3.0


def _split_definition(text: str) -> tuple[str, str] | None:
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0:
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt == "=" or prev in "=!<>":
                continue
            return text[:i].strip(), text[i + 1 :].strip()
    return None


@dataclass
class _BlockInfo:
    kinds: dict[str, str]  # name -> "V" | "M" | "F" (scalars absent)
    names: set[str]  # every name the block uses or defines
    sides: list[str]  # both sides of every claim, in order (rhs first)
    terms: dict[str, int]  # ast.dump of every subexpression of a statement -> its offset
    defined: set[str]  # names the block defines (`p = ...`, `f(x) = ...`)


def _block_info(text: str) -> _BlockInfo:
    """Kinds of the block's names, found with the check engine's own evaluator."""
    from dlcards.checks.math import Arr, Evaluator, Scope, time_budget

    scope = Scope()
    ev = Evaluator(scope)
    kinds: dict[str, str] = {}
    names: set[str] = set()
    sides: list[str] = []
    terms: dict[str, int] = {}
    defined: set[str] = set()
    for st in statements(text):
        body = st.text.strip()
        if body.startswith("where:"):
            names.update(re.findall(r"[A-Za-z_]\w*", body[len("where:") :]))
            continue
        split = _split_definition(body)
        try:
            if split is None:
                node = ast.parse(body, mode="eval").body
                names.update(_names(node))
                if isinstance(node, ast.Compare) and len(node.comparators) == 1:
                    sides += [ast.unparse(node.comparators[0]), ast.unparse(node.left)]
                    for sub in ast.walk(node):
                        terms.setdefault(ast.dump(sub), st.offset)
                continue
            target = ast.parse(split[0], mode="eval").body
            value = ast.parse(split[1], mode="eval").body
        except SyntaxError:
            continue
        for sub in ast.walk(value):
            terms.setdefault(ast.dump(sub), -1)
        if isinstance(target, ast.Name):
            names.add(target.id)
            defined.add(target.id)
            names.update(_names(value))
            try:
                with time_budget(2.0):
                    v = ev.eval(value)
            except BaseException as exc:  # the block's own check reports its errors
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                continue
            scope.names[target.id] = v
            if isinstance(v, Arr):
                kinds[target.id] = "V" if v.ndim == 1 else "M"
        elif isinstance(target, ast.Call) and isinstance(target.func, ast.Name):
            params = [a.id for a in target.args if isinstance(a, ast.Name)]
            scope.functions[target.func.id] = (params, value)
            kinds[target.func.id] = "F"
            names.add(target.func.id)
            defined.add(target.func.id)
            names.update(_names(value) - set(params))
    return _BlockInfo(kinds, names, sides, terms, defined)


def _names(node: ast.AST) -> set[str]:
    """Names an expression uses, except the functions it calls."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in called}


def _exact_decimals(text: str) -> str:
    """Decimal literals as exact fractions (`0.07` -> `(7/100)`): the check engine compares a
    claim at the precision of its most precise decimal, which must be the approximated value."""

    def exact(m: re.Match[str]) -> str:
        whole, frac = m.group(1), m.group(2)
        return f"({int(whole + frac)}/{10 ** len(frac)})"

    return re.sub(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])", exact, text)


def _free_names(node: ast.AST) -> set[str]:
    """Names an expression depends on: `subs(f, x, a)` does not depend on `x`."""
    for n in ast.walk(node):
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "subs"
            and len(n.args) == 3
        ):
            inner = _free_names(n.args[0])
            if isinstance(n.args[1], ast.Name):
                inner.discard(n.args[1].id)
            return (_names(node) - _names(n)) | inner | _free_names(n.args[2])
    return _names(node)


def _setting(side: str, info: _BlockInfo) -> str | None:
    """A lone name the block uses as a free symbol: `x = 2` on a card sets it."""
    if re.fullmatch(r"[A-Za-z]\w*", side) and side in info.names and side not in info.defined:
        return side
    return None


def _foreign(claim: str, info: _BlockInfo) -> list[str]:
    """Names of `claim` that the block does not know (vocabulary constants excepted)."""
    from dlcards.checks.math import CONSTANTS

    try:
        node = ast.parse(claim, mode="eval").body
    except SyntaxError:
        return []
    called = {
        n.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    unknown = sorted(
        n
        for n in _names(node)
        if n not in info.names and n not in CONSTANTS and n not in info.kinds
    )
    unknown += sorted(f for f in called if f in info.kinds and f not in info.names)
    return unknown


def _bind_check(text: str, formulas: list[list[str]]) -> tuple[list[BlockProblem], list[Outcome]]:
    from dlcards.checks.math import check_math

    info = _block_info(text)
    lines: list[str] = []  # candidate claims appended to the block
    owners: list[int] = []  # candidate -> formula index
    plans: dict[int, tuple[str, list[int]]] = {}  # formula -> (mode, candidate indices)
    outcomes: dict[int, Outcome] = {}
    for i, (kind, latex, unread) in enumerate(formulas):
        if unread:
            outcomes[i] = Outcome(i, "unbound", unread)
            continue
        try:
            if kind == "relation":
                read = read_claims(latex, info.kinds)
                # `a \approx b`: the rounding is b's; a's decimals are exact inputs
                claims = [
                    f"{_exact_decimals(c.lhs)} == {c.rhs}" if c.approx else c.statement
                    for c in read
                ]
                mode = "all"
                if any(c.approx and not re.search(r"\d\.\d", c.statement) for c in read):
                    outcomes[i] = Outcome(
                        i,
                        "unbound",
                        "\\approx without a written decimal: a rough statement, not checked",
                        claims[0],
                    )
                    continue
                setting = _setting(read[0].lhs, info)
                if setting:
                    outcomes[i] = Outcome(
                        i,
                        "unbound",
                        f"the card gives {setting} a value, which the check block leaves free "
                        "(a setting, not a claim)",
                        claims[0],
                    )
                    continue
            elif kind in ("answer", "expression"):
                expr = read_expr(latex, info.kinds)
                if not info.sides:
                    raise LatexUnreadable("the check block makes no claim to compare with", 1)
                claims = [f"{expr} == {side}" for side in info.sides]
                mode = kind
            else:
                outcomes[i] = Outcome(i, "unbound", "no shapes block to prove it in")
                continue
        except LatexUnreadable as exc:
            outcomes[i] = Outcome(i, "unbound", f"cannot read the formula: {exc}")
            continue
        foreign = sorted({n for c in claims for n in _foreign(c, info)})
        if foreign:
            outcomes[i] = Outcome(
                i,
                "unbound",
                f"the card names {', '.join(foreign)}, which the check block does not define",
                claims[0],
            )
            continue
        idx = []
        for c in claims:
            idx.append(len(lines))
            lines.append(c)
            owners.append(i)
        plans[i] = (mode, idx)
    base = text.rstrip("\n")
    n0 = len(base.split("\n"))
    full = base + ("\n" + "\n".join(lines) if lines else "")
    problems = check_math(full)
    own = [p for p in problems if p.offset < n0]
    found: dict[int, list[BlockProblem]] = {}
    for p in problems:
        if p.offset >= n0:
            found.setdefault(p.offset - n0, []).append(p)
    for i, (mode, idx) in plans.items():
        verdicts = [(_verdict(found.get(j, [])), lines[j]) for j in idx]
        if mode == "all":
            worst = min(verdicts, key=lambda v: _RANK[v[0][0]])
            (status, message), claim = worst
            outcomes[i] = Outcome(
                i, status, message, claim if status != "proved" else lines[idx[0]]
            )
        else:
            outcomes[i] = _answer_outcome(i, verdicts, info, own, mode == "answer")
    return own, [outcomes[i] for i in range(len(formulas))]


def _answer_outcome(
    i: int,
    verdicts: list[tuple[tuple[Status, str], str]],
    info: _BlockInfo,
    own: list[BlockProblem],
    at_answer: bool,
) -> Outcome:
    """An answer expression is proved when it equals a side of a claim. It is false when it
    differs from a claim's right-hand side (the block's answer) about the same names: same
    quantities, another value. Else it is bound when it is itself a term of the block's
    statements (the block proves something of exactly that expression: `norm(x/norm(x)) == 1`
    for the answer x/‖x‖). Otherwise the block is about something else: unbound."""
    (status, message), claim = max(verdicts, key=lambda v: _RANK[v[0][0]])
    if status in ("proved", "numeric", "budget"):
        return Outcome(i, status, message, claim)
    expr = claim.split(" == ", 1)[0]
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        node = None
    mine = _free_names(node) if node is not None else set()
    for j, ((st, msg), c) in enumerate(verdicts):
        side = c.split(" == ", 1)[1]
        if j % 2 or st != "false" or not at_answer:
            continue  # only a claim's right-hand side is the block's answer
        try:
            theirs = _free_names(ast.parse(side, mode="eval").body)
        except SyntaxError:
            continue
        if theirs == mine:
            return Outcome(i, "false", f"the answer is not `{side}`: {msg}", c)
    trivial = isinstance(node, ast.Constant | ast.Name)  # `3`, `x`: a term of anything
    if node is not None and not trivial and ast.dump(node) in info.terms:
        offset = info.terms[ast.dump(node)]
        at = [p for p in own if offset < 0 or p.offset == offset]
        st, msg = _verdict(at) if at else ("proved", "")
        if st in ("unbound", "false"):
            st = "failed"
        return Outcome(i, st, msg, expr)
    return Outcome(
        i,
        "unbound",
        "the answer equals no side of the check block's claims, which are about other quantities",
        claim,
    )


def _verdict(problems: list[BlockProblem]) -> tuple[Status, str]:
    if not problems:
        return "proved", ""
    codes = {p.code: p for p in problems}
    for code in ("claim-false", "claim-undefined"):
        if code in codes:
            return "false", codes[code].message
    if PROOF_BUDGET in codes:
        return "budget", codes[PROOF_BUDGET].message
    if "claim-unproved" in codes:
        return "numeric", codes["claim-unproved"].message
    p = problems[0]
    if "different sizes" in p.message or "different shapes" in p.message:
        return "false", p.message  # e.g. a transposed gradient: the sides cannot be equal
    return "unbound", f"the block cannot evaluate the card's formula: {p.message}"


# ---------------------------------------------------------------------------------------------
# Shapes


def _shape_claims(text: str) -> list[tuple[int, str, str]]:
    """(offset, expression, claimed shape text) of each `expr -> (dims)` claim."""
    out = []
    for st in statements(text):
        body = strip_comment(st.text).strip()
        if "->" not in body or body.startswith("where:"):
            continue
        expr, _, shape = body.rpartition("->")
        shape = shape.strip()
        if shape.startswith("("):
            out.append((st.offset, expr.strip(), shape))
    return out


def _declarations(text: str) -> list[str]:
    """The shapes of the block's `NAME: (dims)` declarations."""
    out = []
    for st in statements(text):
        m = re.match(r"^\s*[A-Za-z_]\w*\s*:\s*(\(.*\))\s*$", strip_comment(st.text))
        if m and not st.text.strip().startswith("where:"):
            out.append(m.group(1))
    return out


def _same(a: list[Any], b: list[Any]) -> bool:
    import sympy as sp

    return len(a) == len(b) and all(sp.simplify(x - y) == 0 for x, y in zip(a, b, strict=True))


def _names_of(dims: list[Any]) -> set[str]:
    return {s.name for d in dims for s in d.free_symbols}


def _shape_mismatch(
    i: int,
    latex: str,
    card: list[list[Any]],
    claims: list[tuple[int, str, str, list[Any] | None]],
    declared: list[list[Any]],
    shown: str,
) -> Outcome:
    """No shape on the card is one the block proves. False when the card states one shape and
    a claim has the same rank and the same size names (the card permutes them or gets the
    arithmetic wrong); otherwise the block proves something else: unbound."""
    if not claims:
        return Outcome(i, "unbound", "the shapes block makes no shape claim", shown)
    if any(_same(c, d) for c in card for d in declared):
        return Outcome(
            i, "unbound", "the card's shape is declared by the shapes block, not proved", shown
        )
    if len(card) == 1:
        for _off, expr, shape, dims in claims:
            if (
                dims is not None
                and len(dims) == len(card[0])
                and _names_of(card[0])
                and _names_of(dims) == _names_of(card[0])
            ):
                return Outcome(
                    i,
                    "false",
                    f"the card says {latex}, the shapes block proves {expr} -> {shape}",
                    shown,
                )
    said = "; ".join(f"{e} -> {s}" for _, e, s, _ in claims)
    return Outcome(
        i, "unbound", f"no shape on the card is one the shapes block proves ({said})", shown
    )


def _dims(shape: str) -> list[Any] | None:
    """A shape tuple's sizes as sympy expressions (`//` read as `/`), or None."""
    import sympy as sp

    m = _TUPLE.match(shape)
    if not m:
        return None
    inner = (m.group(1) if m.group(1) is not None else m.group(2)).strip().rstrip(",")
    if not inner:
        return []
    try:
        node = ast.parse(f"({inner},)", mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Tuple):
        return None
    out = []
    for elt in node.elts:
        try:
            out.append(_sym(elt, sp))
        except ValueError:
            return None
    return out


def _sym(node: ast.expr, sp: Any) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return sp.Integer(node.value)
    if isinstance(node, ast.Name):
        return sp.Symbol(node.id, positive=True, integer=True)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_sym(node.operand, sp)
    if isinstance(node, ast.BinOp):
        a, b = _sym(node.left, sp), _sym(node.right, sp)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div | ast.FloorDiv):
            return a / b
        if isinstance(node.op, ast.Pow):
            return a**b
    raise ValueError("not a size")


def _card_dims(latex: str) -> list[Any] | None:
    """The sizes of a shape written on the card: `(N, C)`, `(B, T, d_{model})`, `(n,)`."""
    m = _TUPLE.match(latex)
    if not m:
        return None
    inner = m.group(1) if m.group(1) is not None else m.group(2)
    parts = [p.strip() for p in _split_top(inner)]
    if parts and not parts[-1]:
        parts = parts[:-1]
    texts = []
    for p in parts:
        if not p:
            return None
        try:
            texts.append(read_expr(p) if "\\" in p or "{" in p or "_" in p else p)
        except LatexUnreadable:
            return None
    return _dims("(" + ", ".join(texts) + ",)")


def _fmt_shape(dims: list[Any]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _split_top(text: str) -> list[str]:
    out, buf, depth = [], "", 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(buf)
            buf = ""
        else:
            buf += ch
    out.append(buf)
    return out


def _bind_shapes(text: str, formulas: list[list[str]]) -> tuple[list[BlockProblem], list[Outcome]]:
    import sympy as sp

    from dlcards.checks.shapes import check_shapes

    problems = check_shapes(text)
    failed = {p.offset for p in problems if p.severity == "error"}
    claims = [(off, expr, shape, _dims(shape)) for off, expr, shape in _shape_claims(text)]
    declared = [d for d in (_dims(shape) for shape in _declarations(text)) if d is not None]
    block_names = set(re.findall(r"[A-Za-z_]\w*", text))
    outcomes = []
    for i, (kind, latex, _unread) in enumerate(formulas):
        if kind != "shape":
            outcomes.append(Outcome(i, "unbound", "no check block to prove it in"))
            continue
        cards = [_card_dims(t) for t in latex.split(" ; ")]
        if any(c is None for c in cards):
            outcomes.append(Outcome(i, "unbound", f"cannot read the shape {latex}"))
            continue
        read = [c for c in cards if c is not None]
        names = sorted({s.name for c in read for d in c for s in d.free_symbols})
        foreign = [n for n in names if n not in block_names]
        shown = " ; ".join(_fmt_shape(c) for c in read)
        if foreign:
            outcomes.append(
                Outcome(
                    i,
                    "unbound",
                    f"the card's shape names {', '.join(foreign)}, which the shapes block does not",
                    shown,
                )
            )
            continue
        match = None
        for card in read:
            for off, expr, shape, dims in claims:
                if (
                    dims is not None
                    and len(dims) == len(card)
                    and all(sp.simplify(a - b) == 0 for a, b in zip(dims, card, strict=True))
                ):
                    match = (off, expr, shape)
                    break
            if match:
                break
        if match is None:
            outcomes.append(_shape_mismatch(i, latex, read, claims, declared, shown))
            continue
        off, expr, shape = match
        if off in failed:
            outcomes.append(
                Outcome(i, "failed", f"the shapes block's claim `{expr} -> {shape}` fails", shown)
            )
        else:
            outcomes.append(Outcome(i, "proved", "", f"{expr} -> {shape}"))
    return problems, outcomes
