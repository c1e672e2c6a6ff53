"""Binding a card's *setting* (`$T = 1000$`, `$\\epsilon = 10^{-5}$`) to a `torch` block that
asserts it. Pure: no I/O, no sympy, no torch (the run result is an input).

A value from a paper or a library default cannot be derived by a `check` block; a `torch` block
can assert it against the library. The block says which card value an assert checks with a tag:

    ```torch
    ln = torch.nn.LayerNorm(8)
    assert ln.eps == 1e-5  # card: eps
    ```

The card's relation `name = value` (read by `checks.latex`: `\\epsilon = 10^{-5}` is
`eps == 10**(-5)`) is bound to the tagged assert when `name` is the tag and `value` a closed
form (numbers only). Then:

- the card's value differs from the assert's literal (exactly, as fractions): `false`, an error
  at the card's line (the card and its check disagree);
- the block ran and passed: `proved` (the assert compared the library's value with the card's);
- the block failed: `failed` (the block's own error reports it);
- the block was not run (no consent, `--no-exec`): `unbound`, "code cards were not run".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from dlcards.checks.binding.outcomes import CardFormula, Outcome
from dlcards.checks.latex import LatexUnreadable, exact_value, read_claims

_TAG = re.compile(r"#\s*card:\s*([A-Za-z]\w*)\s*$")


@dataclass(frozen=True)
class TorchValue:
    """A card value a torch block asserts: the tag, the assert's literal, its line offset."""

    name: str
    literal: str
    offset: int


def torch_values(text: str) -> list[TorchValue]:
    """The tagged asserts of a torch block: `assert <expr> == <number>  # card: name` (the
    number may be on either side; a closed form such as `10**-5` too)."""
    out = []
    for offset, line in enumerate(text.splitlines()):
        m = _TAG.search(line)
        if m is None:
            continue
        code = line[: m.start()].strip()
        try:
            node = ast.parse(code, mode="exec").body
        except SyntaxError:
            continue
        if len(node) != 1 or not isinstance(node[0], ast.Assert):
            continue
        test = node[0].test
        if not (
            isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
        ):
            continue
        for side in (test.comparators[0], test.left):
            literal = ast.unparse(side)
            if exact_value(literal) is not None:
                out.append(TorchValue(m.group(1), literal, offset))
                break
    return out


def bind_torch_value(
    index: int, formula: CardFormula, blocks: list[tuple[str, bool | None]]
) -> Outcome | None:
    """The outcome of a card relation `name = value` against the card's torch blocks, given as
    (text, passed: True / False / None when not run); None when no block asserts `name`."""
    if formula.kind != "relation" or formula.unread:
        return None
    try:
        claims = read_claims(formula.latex)
    except LatexUnreadable:
        return None
    if len(claims) != 1 or claims[0].negated or claims[0].approx:
        return None
    name, value = claims[0].lhs, exact_value(claims[0].rhs)
    if value is None or not re.fullmatch(r"[A-Za-z]\w*", name):
        return None
    for text, passed in blocks:
        for tv in torch_values(text):
            if tv.name != name:
                continue
            said = f"torch: assert … == {tv.literal}  # card: {name}"
            if exact_value(tv.literal) != value:
                return Outcome(
                    index,
                    "false",
                    f"the card says {name} = {claims[0].rhs}, the torch block asserts "
                    f"{tv.literal} (its line {tv.offset + 1})",
                    said,
                )
            if passed is None:
                return Outcome(index, "unbound", "code cards were not run", said)
            if not passed:
                return Outcome(index, "failed", "the torch block's assert fails", said)
            return Outcome(index, "proved", "", said)
    return None
