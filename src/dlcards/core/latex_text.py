"""LaTeX math -> readable plain Unicode for the terminal (`latex_to_unicode`). Pure: strings in,
strings out; no Textual, no I/O.

Math is converted by a small recursive-descent pass over the LaTeX that handles the structure
a terminal cannot draw (`\\frac`, `^`/`_` scripts, `\\sqrt`, accents, `\\left`/`\\right`,
matrices) and asks pylatexenc's `LatexNodes2Text` for the symbol of every other macro
(`\\nabla` -> ∇, `\\mathbb{R}` -> ℝ, ...). Scripts use Unicode super/subscript letters when
every character has one (`x_i` -> xᵢ, `W^T` -> Wᵀ, `\\mathbb{R}^{n}` -> ℝⁿ), else `^(...)`.
Used by `core.render` (cards) and the app's pages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Markers that survive the math conversion and Markdown escaping; replaced at the very end.
HL_OPEN = "\ue000"
HL_CLOSE = "\ue001"
# Around a fraction until its neighbours are known (see `_resolve_fractions`).
_FRAC_OPEN = "\ue010"
_FRAC_CLOSE = "\ue011"
_FRAC_SPAN = re.compile("\ue010([^\ue010\ue011]*)\ue011")
# What may stand next to a flattened fraction without changing how it reads.
_LEFT_OK = set(" +-−=±,·×<>≤≥≈≠∈∝≡→⇒⟹⟺:;|‖([{⟨⌊⌈") | {HL_OPEN}
# (not `|`/`‖`: an opening bar after `a/b` would read as part of the denominator)
_RIGHT_OK = set(" +-−=±,·×<>≤≥≈≠∈∝≡→⇒⟹⟺:;)]}⟩⌋⌉.") | {HL_CLOSE}
# Big operators: a subscript under them that has no Unicode form is written in brackets.
_BIG_OPS = ("∑", "∏", "lim", "max", "min", "sup", "inf", "argmax", "argmin", "𝔼", "⋃", "⋂")
# LaTeX escapes inside \text{...}
_TEXT_ESCAPES = re.compile(r"\\([_%&#$ {}])")

_SUP = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ⊤*′×in",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵡᵀ*′ˣⁱⁿ",
        strict=True,
    )
)
_SUP["−"] = "⁻"
_SUB = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
_SUB["−"] = "₋"

_FRAC = {"frac", "dfrac", "tfrac", "cfrac"}
_TEXT = {"text", "textrm", "textit", "textbf", "texttt", "textsf", "emph", "mbox"}
_FONT = {"mathrm", "mathit", "operatorname", "mathsf", "mathtt", "mathnormal"}
_STYLED = {"mathbf", "boldsymbol", "bm", "mathbb", "mathcal", "mathfrak", "mathscr"}
_ACCENT = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "bar": "\u0304",
    "overline": "\u0305",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "vec": "\u20d7",
    "dot": "\u0307",
    "ddot": "\u0308",
    "check": "\u030c",
    "breve": "\u0306",
    "underline": "\u0332",
}
_SIZING = {
    "left",
    "right",
    "middle",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "Biggl",
    "Biggr",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "limits",
    "nolimits",
}
_SPACES = {
    ",": " ",
    ";": " ",
    ":": " ",
    " ": " ",
    "!": "",
    "quad": "  ",
    "qquad": "    ",
    "enspace": " ",
    "thinspace": " ",
}
_SYMBOLS = {
    "|": "‖",
    "{": "{",
    "}": "}",
    "%": "%",
    "$": "$",
    "#": "#",
    "&": "&",
    "_": "_",
    "lVert": "‖",
    "rVert": "‖",
    "Vert": "‖",
    "lvert": "|",
    "rvert": "|",
    "vert": "|",
    "top": "ᵀ",
    "intercal": "ᵀ",
    "transpose": "ᵀ",
    "prime": "′",
    "argmax": "argmax",
    "argmin": "argmin",
    "coloneqq": "≔",
    "eqqcolon": "≕",
    "R": "ℝ",
    "N": "ℕ",
    "Z": "ℤ",
    "mid": "|",
    "lbrace": "{",
    "rbrace": "}",
    "implies": "⟹",
    "iff": "⟺",
    "odot": "⊙",
    "oplus": "⊕",
    "otimes": "⊗",
    "varnothing": "∅",
    "emptyset": "∅",
}
_TIGHT_AFTER = {"nabla", "partial"}
_ENV_DELIMS = {
    "pmatrix": ("(", ")"),
    "bmatrix": ("[", "]"),
    "Bmatrix": ("{", "}"),
    "vmatrix": ("|", "|"),
    "Vmatrix": ("‖", "‖"),
    "cases": ("{ ", ""),
}


class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_spaces(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\n":
            self.i += 1

    def read_group(self) -> str:
        """The raw LaTeX of the next argument: `{...}`, `\\macro` or one character."""
        self.skip_spaces()
        if self.i >= len(self.s):
            return ""
        c = self.s[self.i]
        if c == "{":
            depth = 0
            start = self.i + 1
            while self.i < len(self.s):
                ch = self.s[self.i]
                if ch == "\\":
                    self.i += 2
                    continue
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        self.i += 1
                        return self.s[start : self.i - 1]
                self.i += 1
            return self.s[start:]  # unbalanced: take the rest
        if c == "\\":
            start = self.i
            self.i += 1
            self.read_name()
            return self.s[start : self.i]
        self.i += 1
        return c

    def read_optional(self) -> str | None:
        self.skip_spaces()
        if self.peek() != "[":
            return None
        end = self.s.find("]", self.i)
        if end < 0:
            return None
        value = self.s[self.i + 1 : end]
        self.i = end + 1
        return value

    def read_name(self) -> str:
        start = self.i
        while self.i < len(self.s) and self.s[self.i].isalpha():
            self.i += 1
        if self.i == start and self.i < len(self.s):
            self.i += 1
        return self.s[start : self.i]

    def convert(self) -> str:
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\":
                self.i += 1
                out.append(self.macro(self.read_name(), out))
            elif c in "^_":
                self.i += 1
                arg = latex_to_unicode(self.read_group())
                base = "".join(out[-3:]).rstrip()
                if c == "^" and out and out[-1] == "e" and _standalone_e(out):
                    scripted = script(arg, sup=True)
                    if scripted.startswith("^"):  # no Unicode form: e^{...} reads as exp(...)
                        out[-1] = f"exp({arg.strip()})"
                        continue
                    out.append(scripted)
                else:
                    big = c == "_" and base.endswith(_BIG_OPS)
                    out.append(script(arg, sup=c == "^", under_operator=big))
            elif c == "{":
                out.append(latex_to_unicode(self.read_group()))
            elif c == "}":
                self.i += 1
            elif c == "'":
                n = 0
                while self.peek() == "'":
                    n += 1
                    self.i += 1
                out.append({1: "′", 2: "″", 3: "‴"}.get(n, "′" * n))
            elif c == "~" or c == "&":
                out.append(" ")
                self.i += 1
            elif c in " \t\n":
                self.skip_spaces()
                if out and not out[-1].endswith(" "):
                    out.append(" ")
            else:
                out.append(c)
                self.i += 1
        return "".join(out)

    def macro(self, name: str, out: list[str]) -> str:
        if name in _FRAC:
            num = latex_to_unicode(self.read_group())
            den = latex_to_unicode(self.read_group())
            den = den.strip()
            # a product in the denominator keeps its grouping: (...)/(2h), not (...)/2h
            den = f"({den})" if re.match(r"\d+[^\d.,\s]", den) else _wrap(den)
            return f"{_FRAC_OPEN}{_wrap(num)}/{den}{_FRAC_CLOSE}"
        if name == "binom":
            n = latex_to_unicode(self.read_group())
            k = latex_to_unicode(self.read_group())
            return f"C({n}, {k})"
        if name == "sqrt":
            index = self.read_optional()
            body = _wrap(latex_to_unicode(self.read_group()))
            root = {"3": "∛", "4": "∜"}.get(index.strip() if index else "", "√")
            if index and root == "√":
                return f"{script(latex_to_unicode(index), sup=True)}√{body}"
            return f"{root}{body}"
        if name in _TEXT:
            return _TEXT_ESCAPES.sub(r"\1", self.read_group())
        if name in _FONT:
            return latex_to_unicode(self.read_group())
        if name in _STYLED:
            arg = self.read_group()
            if len(arg) == 1 and arg.isdigit() and name in ("mathbf", "boldsymbol", "bm"):
                return chr(0x1D7CE + int(arg))  # 𝟎..𝟗: the all-ones vector reads 𝟏
            if len(arg) == 1 and arg.isalpha():
                return _symbol(f"\\{name}{{{arg}}}") or arg
            return latex_to_unicode(arg)
        if name in _ACCENT:
            body = latex_to_unicode(self.read_group())
            return body[:1] + _ACCENT[name] + body[1:] if body else ""
        if name in _SIZING:
            self.skip_spaces()
            if self.peek() == ".":
                self.i += 1
            return ""
        if name in _SPACES:
            return _SPACES[name]
        if name == "\\":
            return "; "
        if name in ("begin", "end"):
            env = self.read_group().strip()
            opening, closing = _ENV_DELIMS.get(env, ("", ""))
            return opening if name == "begin" else closing
        text = _SYMBOLS[name] if name in _SYMBOLS else _symbol("\\" + name).strip() or name
        if name in _TIGHT_AFTER:
            self.skip_spaces()
        return text


def _standalone_e(out: list[str]) -> bool:
    """Whether the `e` just written is Euler's number, not the end of a word (`\\mathrm{de}`)."""
    before = "".join(out[:-1])
    return not before or not before[-1].isalnum()


def _resolve_fractions(text: str) -> str:
    """Flattened fractions keep their grouping: `a/b` stays bare only between operators, spaces
    or brackets; next to anything else (another fraction, a letter, a script, `(`) it becomes
    `(a/b)`, so `\\frac{∂f}{∂u}\\frac{du}{dt}` reads `(∂f/∂u)(du/dt)`, not `∂f/∂udu/dt`."""
    if _FRAC_OPEN not in text:
        return text
    out: list[str] = []
    pos = 0
    for m in _FRAC_SPAN.finditer(text):
        out.append(text[pos : m.start()])
        left = text[: m.start()].rstrip(" ")
        right = text[m.end() :].lstrip(" ")
        left_ok = not left or left[-1] in _LEFT_OK
        right_ok = not right or right[0] in _RIGHT_OK
        out.append(m.group(1) if left_ok and right_ok else f"({m.group(1)})")
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _top_level_compound(text: str) -> bool:
    depth = 0
    for ch in text.strip():
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif depth == 0 and ch in " +-−=±,/·×<>≤≥≈∈":
            return True
    return False


def _wrap(text: str) -> str:
    text = text.strip()
    return f"({text})" if _top_level_compound(text) else text


@lru_cache(maxsize=4096)
def _symbol(latex: str) -> str:
    try:
        return str(_l2t().latex_to_text(latex))
    except Exception:  # pylatexenc is lenient; anything it still rejects stays as typed
        return latex.lstrip("\\")


@lru_cache(maxsize=1)
def _l2t() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def script(text: str, *, sup: bool, under_operator: bool = False) -> str:
    """`text` as a superscript (sup) or subscript, in the most readable form there is:

    - Unicode script letters when every character has one (`x_i` -> xᵢ, `W^T` -> Wᵀ), commas
      kept as they are (`\\sum_{m,n}` -> ∑ₘ,ₙ);
    - a word that has none is joined as in code (`d_{model}` -> d_model, `p_{data}` -> p_data);
    - any other subscript in brackets, read as an index (`\\delta_{n,:}` -> δ[n,:],
      `x_{<t}` -> x[<t], `\\prod_{i \\le l}` -> ∏[i ≤ l], `\\lim_{h\\to 0}` -> lim[h → 0]);
    - any other superscript as `^(...)` (`\\gamma^{\\lfloor t/s \\rfloor}` -> γ^(⌊t/s⌋)).
    """
    table = _SUP if sup else _SUB
    compact = text.strip()
    if sup and compact in ("T", "⊤", "ᵀ"):
        return "ᵀ"
    candidate = compact.replace(" ", "") if "×" in compact or "," in compact else compact
    if candidate and all(ch in table or ch == "," for ch in candidate) and candidate[0] != ",":
        return "".join(table.get(ch, ch) for ch in candidate)
    mark = "^" if sup else "_"
    if len(compact) == 1:
        return mark + compact
    if compact.replace("_", "").isalnum():
        return mark + compact
    if not sup:
        return f"[{compact}]" if under_operator or " " in compact else "[" + compact + "]"
    return f"^({compact})"


@lru_cache(maxsize=8192)
def latex_to_unicode(latex: str) -> str:
    """A LaTeX math expression as readable plain Unicode text (no markup)."""
    text = _resolve_fractions(_Parser(latex).convert())
    text = re.sub(r"[ \t]{2,}", " ", text) if "  " in text and "\\quad" not in latex else text
    return text.strip()
