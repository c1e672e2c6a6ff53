"""`_Reader` (atoms + operators over the token cursor) and the public entry points
`read_claims`, `read_claim`, `read_expr`."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from dlcards.checks.latex.atoms import _Atoms
from dlcards.checks.latex.operators import _Operators
from dlcards.checks.latex.tables import (
    Claim,
    Kind,
    LatexUnreadable,
)
from dlcards.checks.latex.tokens import strip_cloze


class _Reader(_Atoms, _Operators):
    """The strict LaTeX reader: the two halves over one token cursor."""


def read_claims(
    latex: str,
    kinds: Mapping[str, Kind] | None = None,
    names: Collection[str] = (),
    params: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Claim]:
    """The claims a formula states (`a = b`, or `a = b = c`), in the check language. `kinds`
    names the block's vectors ('V'), matrices ('M') and functions ('F'); every other name is a
    scalar. `names` are all the names of the block (a run of letters written together that is
    one of them, `TP`, is that name); `params` the parameters of the block's functions (a bare
    `f` of a one-parameter function is `f(x)`). Raises LatexUnreadable."""
    reader = _Reader(strip_cloze(latex), kinds or {}, names, params)
    return reader.claims()


def read_claim(
    latex: str,
    kinds: Mapping[str, Kind] | None = None,
    names: Collection[str] = (),
    params: Mapping[str, tuple[str, ...]] | None = None,
) -> Claim:
    """The one claim of `a = b` (a chain is refused here: use read_claims)."""
    found = read_claims(latex, kinds, names, params)
    if len(found) != 1:
        raise LatexUnreadable("a chain of equations: read it with read_claims", 1)
    return found[0]


def read_expr(
    latex: str,
    kinds: Mapping[str, Kind] | None = None,
    names: Collection[str] = (),
    params: Mapping[str, tuple[str, ...]] | None = None,
) -> str:
    """One expression (no relation), in the check language. Raises LatexUnreadable."""
    reader = _Reader(strip_cloze(latex), kinds or {}, names, params)
    e = reader.expr()
    if reader.peek() is not None:
        raise reader.fail(f"unexpected '{reader.take().text}'")
    return e.text
