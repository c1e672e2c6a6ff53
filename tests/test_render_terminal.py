"""LaTeX -> readable Unicode, and card Markdown for the terminal (pure functions)."""

from __future__ import annotations

import pytest

from dlcards.core.parse import parse_text
from dlcards.core.render import (
    HL_CLOSE,
    HL_OPEN,
    card_text,
    cloze_text,
    context_line,
    latex_to_unicode,
    script,
    terminal_markdown,
)


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"\frac{\partial f}{\partial x_1}", "∂f/∂x₁"),
        (r"\frac{e^{z_i}}{\sum_j e^{z_j}}", "exp(zᵢ)/(∑ⱼ exp(zⱼ))"),
        (r"\frac{1}{\sqrt{d_k}}", "1/√dₖ"),
        (r"\frac{a+b}{2}", "(a+b)/2"),
        (r"\sum_j x_j", "∑ⱼ xⱼ"),
        (r"\sum_{j=1}^{n} x_j", "∑ⱼ₌₁ⁿ xⱼ"),
        (r"\nabla f(x)", "∇f(x)"),
        (r"\nabla_\theta L", "∇_θ L"),
        (r"\sigma(x)", "σ(x)"),
        (r"\sigma'(x) = \sigma(x)\,(1-\sigma(x))", "σ′(x) = σ(x) (1-σ(x))"),
        (r"W^T x", "Wᵀ x"),
        (r"QK^\top", "QKᵀ"),
        (r"x \in \mathbb{R}^{n}", "x ∈ ℝⁿ"),
        (r"W \in \mathbb{R}^{m \times n}", "W ∈ ℝᵐˣⁿ"),
        (r"\hat{y}", "y\u0302"),
        (r"\hat{y}_i", "y\u0302ᵢ"),
        (r"\partial L / \partial W", "∂L / ∂W"),
        (r"x_i", "xᵢ"),
        (r"W_{hh} h_{t-1}", "Wₕₕ hₜ₋₁"),
        (r"\theta_{t+1} = \theta_t - \eta g", "θₜ₊₁ = θₜ - η g"),
        (r"x^{(i)}", "x⁽ⁱ⁾"),
        (r"e^{3x}", "e³ˣ"),
        (r"\tanh^2(x)", "tanh²(x)"),
        (r"\|x\|_2^2", "‖x‖₂²"),
        (r"\mathrm{softmax}(z)_i", "softmax(z)ᵢ"),
        (r"\operatorname{argmax}_i z_i", "argmaxᵢ zᵢ"),
        (r"\log p(x)", "log p(x)"),
        (r"\mathcal{L}", "ℒ"),
        (r"\left(\frac{a}{b}, \dots\right)", "(a/b, …)"),
        (r"x_{\text{max}}", "xₘₐₓ"),
        (r"\mathbb{E}_{x \sim p}[f(x)]", "𝔼[x ∼ p][f(x)]"),
        # grouping is never lost when fractions are flattened (issue 14, item 3)
        (
            r"\frac{dz}{dt} = \frac{\partial f}{\partial u}\frac{du}{dt} + \frac{\partial f}{\partial v}\frac{dv}{dt}",
            "dz/dt = (∂f/∂u)(du/dt) + (∂f/∂v)(dv/dt)",
        ),
        (r"\frac{1}{n}\mathbf{1}", "(1/n)𝟏"),
        (r"\frac{d}{dx}\,(3x + 1)^5", "(d/dx) (3x + 1)⁵"),
        (r"\frac{f(x+h) - f(x-h)}{2h}", "(f(x+h) - f(x-h))/(2h)"),
        (r"\ln \frac{p}{1-p}", "ln (p/(1-p))"),
        (r"\frac{a}{b}^2", "(a/b)²"),
        (r"\left\lfloor \frac{n + 2p}{s} \right\rfloor + 1", "⌊ (n + 2p)/s ⌋ + 1"),
        (r"\frac{QK^\top}{\sqrt{d_k}}", "QKᵀ/√dₖ"),
        # scripts with no Unicode form still read (issue 14, item 3)
        (r"2x\,e^{x^2}", "2x exp(x²)"),
        (r"d_{model} / h", "d_model / h"),
        (r"p_{data}(x)", "p_data(x)"),
        (r"\delta_{n,:}", "δ[n,:]"),
        (r"p(x_t \mid x_{<t})", "p(xₜ | x[<t])"),
        (r"\prod_{i \le l} s_i", "∏[i ≤ l] sᵢ"),
        (r"\lim_{h \to 0}", "lim[h → 0]"),
        (r"\sum_{m,n} w_{m,n}", "∑ₘ,ₙ wₘ,ₙ"),
        (r"\text{num\_layers}", "num_layers"),
    ],
)
def test_latex_to_unicode(latex: str, text: str) -> None:
    assert latex_to_unicode(latex) == text


def test_no_backslash_soup_for_unknown_macros() -> None:
    out = latex_to_unicode(r"\frac{\alpha}{\beta} + \foo{x} + \odot")
    assert "\\" not in out and "α/β" in out and "⊙" in out


def test_script_fallbacks() -> None:
    assert script("q", sup=True) == "^q"  # no superscript q in Unicode
    assert script("θ", sup=False) == "_θ"
    assert script("ab", sup=False) == "_ab"  # a word, joined as in code
    assert script("a b", sup=False) == "[a b]"
    assert script("a+q", sup=True) == "^(a+q)"
    assert script("2", sup=True) == "²"


def test_markdown_math_is_converted_outside_code_only() -> None:
    md = "Cost $x_i^2$ and `$x$` and\n\n$$\\frac{a}{b}$$\n\n```python\ny = '$a$'\n```"
    out = terminal_markdown(md)
    assert "xᵢ²" in out and "`$x$`" in out and "y = '$a$'" in out and "a/b" in out
    assert "$" not in out.split("`$x$`")[0]


def test_money_is_not_math() -> None:
    assert terminal_markdown("costs $5 and $6 today") == "costs $5 and $6 today"


def test_converted_math_is_markdown_escaped() -> None:
    # x_i inside math must not start emphasis; a * must not become a bullet
    out = terminal_markdown(r"$a * b * c$ and $\mathbb{E}_{x}[y]$")
    assert r"a \* b \* c" in out and r"\[y\]" in out


def test_check_and_shapes_blocks_hidden_torch_highlighted() -> None:
    md = "A: x\n\n```check\ndiff(x) == 1\n```\n\n```shapes\nX: (N, D)\n```\n\n```torch\ntorch.ones(2)\n```"
    out = terminal_markdown(md)
    assert "diff(x)" not in out and "X: (N, D)" not in out
    assert "```python\ntorch.ones(2)\n```" in out
    shown = terminal_markdown(md, show_checks=True)
    assert "diff(x) == 1" in shown and "X: (N, D)" in shown


def test_html_comments_dropped() -> None:
    assert terminal_markdown("Q text <!-- note -->\nmore") == "Q text \nmore"


def test_cloze_front_and_back() -> None:
    text = "A {{c1::b::hint}} c {{c2::d}}"
    dels = [(1, 2, 17, "b", "hint"), (2, 20, 29, "d", None)]
    assert cloze_text(text, dels, 1, False) == f"A {HL_OPEN}[hint]{HL_CLOSE} c d"
    assert cloze_text(text, dels, 2, False) == f"A b c {HL_OPEN}[...]{HL_CLOSE}"
    assert cloze_text(text, dels, 2, True) == f"A b c {HL_OPEN}d{HL_CLOSE}"


def test_card_text_from_parsed_notes() -> None:
    parsed = parse_text(
        "---\ndeck: DL\nweek: 3\ntopic: softmax\n---\n# Softmax\n## Stability\n\n"
        "C: The softmax is $p_i = {{c1::\\frac{e^{z_i}}{\\sum_j e^{z_j}}}}$.\n\n"
        "Q: What is $\\sigma(x)$?\nA: $1/(1+e^{-x})$\n\n```check\nsigmoid(x) == 1/(1+exp(-x))\n```\n",
        "decks/s.md",
    )
    cloze, basic = parsed.notes
    c1 = cloze.cards()[0]
    front = card_text(c1, revealed=False)
    assert r"pᵢ = <kbd>\[...\]</kbd>" in front.front and "\\frac" not in front.front
    back = card_text(c1, revealed=True)
    assert "<kbd>exp(zᵢ)/(∑ⱼ exp(zⱼ))</kbd>" in back.front
    assert context_line(c1) == "DL › week 3 › softmax › Softmax › Stability"
    b = card_text(basic.cards()[0], revealed=True)
    assert "σ(x)" in b.front and "1/(1+e⁻ˣ)" in b.back
    assert [blk.kind for blk in b.checks] == ["check"] and "sigmoid" not in b.back
    assert card_text(basic.cards()[0], revealed=False).back == ""
