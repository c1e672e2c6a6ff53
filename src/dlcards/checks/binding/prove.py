"""Binding formulas to a `check` block: the block's names, translating each formula, proving it
there.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from dlcards.checks.binding.outcomes import _RANK, Outcome, Status
from dlcards.checks.common import PROOF_BUDGET, BlockProblem, split_definition, statements
from dlcards.checks.latex import DUMMY_PREFIX, LatexUnreadable, read_claims, read_expr


@dataclass
class _BlockInfo:
    kinds: dict[str, str]  # name -> "V" | "M" | "F" (scalars absent)
    names: set[str]  # every name the block uses or defines
    sides: list[str]  # both sides of every claim, in order (rhs first)
    terms: dict[str, int]  # ast.dump of every subexpression of a statement -> its offset
    defined: set[str]  # names the block defines (`p = ...`, `f(x) = ...`)
    params: dict[str, tuple[str, ...]]  # the parameters of the block's functions

    @property
    def all_names(self) -> set[str]:
        return self.names | self.defined


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
    params_of: dict[str, tuple[str, ...]] = {}
    for st in statements(text):
        body = st.text.strip()
        if body.startswith("where:"):
            names.update(re.findall(r"[A-Za-z_]\w*", body[len("where:") :]))
            continue
        split = split_definition(body)
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
            params_of[target.func.id] = tuple(params)
            kinds[target.func.id] = "F"
            names.add(target.func.id)
            defined.add(target.func.id)
            names.update(_names(value) - set(params))
    return _BlockInfo(kinds, names, sides, terms, defined, params_of)


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
        if n not in info.names
        and n not in CONSTANTS
        and n not in info.kinds
        and not n.startswith(DUMMY_PREFIX)  # the reader's own variable of f'(g(x))
        and not any(n in ps for ps in info.params.values())  # (fg)' is in f's parameter
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
    negated: set[int] = set()  # formulas written with \neq: the verdict is inverted
    rhs_of: dict[int, list[bool]] = {}  # answer -> whether each candidate is a claim's rhs
    # the names the block gives a scalar value are marked "S": f'(x_star) is f' at that value
    values = {n: "S" for n in info.defined if n not in info.kinds}
    context = ({**values, **info.kinds}, info.all_names, info.params)
    for i, (kind, latex, unread) in enumerate(formulas):
        if unread:
            outcomes[i] = Outcome(i, "unbound", unread)
            continue
        try:
            if kind == "relation":
                read = read_claims(latex, *context)
                # `a \approx b`: the rounding is b's; a's decimals are exact inputs
                claims = [
                    f"{_exact_decimals(c.lhs)} == {c.rhs}" if c.approx else c.equation for c in read
                ]
                mode = "all"
                if any(c.negated for c in read):
                    negated.add(i)
                if any(c.approx and not re.search(r"\d\.\d", c.statement) for c in read):
                    outcomes[i] = Outcome(
                        i,
                        "unbound",
                        "\\approx without a written decimal: a rough statement, not checked",
                        claims[0],
                    )
                    continue
                setting = _setting(read[0].lhs, info)
                if setting and i in negated:
                    outcomes[i] = Outcome(
                        i,
                        "unbound",
                        f"the card puts a condition on {setting}, which the check block leaves "
                        "free (a condition, not a claim)",
                        read[0].statement,
                    )
                    continue
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
                expr = read_expr(latex, *context)
                if not info.sides:
                    raise LatexUnreadable("the check block makes no claim to compare with", 1)
                used = [k for k, side in enumerate(info.sides) if _comparable(expr, side, info)]
                if not used:
                    why = "a tuple on the card, but no side of the check block's claims is a vector"
                    outcomes[i] = Outcome(i, "unbound", why, expr)
                    continue
                claims = [f"{expr} == {info.sides[k]}" for k in used]
                rhs_of[i] = [k % 2 == 0 for k in used]  # sides alternate: rhs, lhs
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
        if i in negated:
            (j,) = idx
            status, message = _negated_verdict(found.get(j, []))
            outcomes[i] = Outcome(i, status, message, lines[j].replace(" == ", " != ", 1))
            continue
        verdicts = [(_verdict(found.get(j, [])), lines[j]) for j in idx]
        if mode == "all":
            worst = min(verdicts, key=lambda v: _RANK[v[0][0]])
            (status, message), claim = worst
            outcomes[i] = Outcome(
                i, status, message, claim if status != "proved" else lines[idx[0]]
            )
        else:
            outcomes[i] = _answer_outcome(i, verdicts, info, own, mode == "answer", rhs_of[i])
    return own, [outcomes[i] for i in range(len(formulas))]


def _answer_outcome(
    i: int,
    verdicts: list[tuple[tuple[Status, str], str]],
    info: _BlockInfo,
    own: list[BlockProblem],
    at_answer: bool,
    is_rhs: list[bool],
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
        if not is_rhs[j] or st != "false" or not at_answer:
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


def _comparable(expr: str, side: str, info: _BlockInfo) -> bool:
    """Whether an answer may be compared with a side of the block's claims: a tuple on the card
    (`(2x + 3y, 3x)`, read as a list) only with a list or a vector the block names; a scalar
    side would be broadcast against it (`[n, n] == n` holds entry by entry)."""
    if not expr.startswith("["):
        return True
    try:
        node = ast.parse(side, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.List) or (
        isinstance(node, ast.Name) and info.kinds.get(node.id) == "V"
    )


def _negated_verdict(problems: list[BlockProblem]) -> tuple[Status, str]:
    """The verdict on `a \\neq b` from the engine's problems with `a == b`: proved when the
    equation is false somewhere in the block's domain (a witness) or the sides cannot even be
    the same size; false when the equation is proved, or holds at every sampled point."""
    if not problems:
        return "false", "the two sides are equal: `a == b` is proved"
    codes = {p.code: p for p in problems}
    if "claim-false" in codes:
        return "proved", ""
    if "claim-undefined" in codes:
        return "false", codes["claim-undefined"].message
    if PROOF_BUDGET in codes:
        return "budget", codes[PROOF_BUDGET].message
    if "claim-unproved" in codes:
        return (
            "false",
            "the two sides are equal at every sampled point (no point where they differ)",
        )
    p = problems[0]
    if "different sizes" in p.message or "different shapes" in p.message:
        return "proved", ""
    return "unbound", f"the block cannot evaluate the card's formula: {p.message}"


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
