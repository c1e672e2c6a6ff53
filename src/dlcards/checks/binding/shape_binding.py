"""Binding a card's shape tuples to a `shapes` block's claims."""

from __future__ import annotations

import ast
import re
from typing import Any

from dlcards.checks.binding.formulas import _TUPLE
from dlcards.checks.binding.outcomes import Outcome
from dlcards.checks.common import BlockProblem, split_commas, statements, strip_comment
from dlcards.checks.latex import LatexUnreadable, read_expr

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
    parts = [p.strip() for p in split_commas(inner)]
    if parts and not parts[-1]:
        parts = parts[:-1]
    texts = []
    for p in parts:
        if not p:
            return None
        try:
            ast.parse(p, mode="eval")
            plain = not ("\\" in p or "{" in p or "_" in p)
        except SyntaxError:
            plain = False  # 4H, 2d: TeX's juxtaposition, read as 4*H
        try:
            texts.append(p if plain else read_expr(p))
        except LatexUnreadable:
            return None
    return _dims("(" + ", ".join(texts) + ",)")


def _fmt_shape(dims: list[Any]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


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
