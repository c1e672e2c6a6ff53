"""Markdown -> Anki field HTML: MathJax, cloze safety, highlighted code, verified notes, media."""

from __future__ import annotations

import re
from pathlib import Path

from dlcards.anki.html import cloze_safe_math, render_note
from dlcards.core.parse import parse_text


def note_of(markdown: str, tmp_path: Path | None = None):  # type: ignore[no-untyped-def]
    parsed = parse_text(markdown, "decks/x.md")
    assert parsed.notes, parsed.problems
    return parsed.notes[0]


def render(markdown: str, base: Path = Path(".")) -> dict[str, str]:
    return render_note(note_of(markdown), base).fields


def anki_clozes(text: str) -> list[tuple[str, str]]:
    """How Anki's cloze parser splits `{{cN::...}}` (first `}}` ends a deletion)."""
    return re.findall(r"\{\{c(\d+)::(.*?)\}\}", text, re.S)


def test_inline_and_display_math_become_mathjax_with_html_escaped() -> None:
    f = render("Q: Is $a<b$ and $$x^2 > 0$$?\nA: Yes:\n\n$$\n\\sum_i x_i & y\n$$\n")
    assert r"\(a&lt;b\)" in f["front"]
    assert r"\[x^2 &gt; 0\]" in f["front"]
    assert r"\[\sum_i x_i &amp; y\]" in f["back"]
    assert "$" not in f["front"] + f["back"]


def test_cloze_inside_math_cannot_end_early() -> None:
    f = render("C: The softmax is $p_i = {{c1::\\frac{e^{z_i}}{\\sum_j e^{z_j}}}}$.\n")
    text = f["text"]
    assert text.startswith("<p>The softmax is \\(p_i = {{c1::")
    clozes = anki_clozes(text)
    assert [n for n, _ in clozes] == ["1"]
    # what Anki sees as the deletion is the whole fraction, braces balanced
    inner = clozes[0][1]
    assert inner.count("{") == inner.count("}")
    assert inner.replace("} ", "}").rstrip() == r"\frac{e^{z_i}}{\sum_j e^{z_j}}"


def test_cloze_text_hint_markdown_and_double_colons() -> None:
    f = render(
        "C: A {{c1::`Tensor`::a type}} and {{c2::**bold** $x$}} and {{c3::${a::b}$ is $\\frac{1}{2}$}}.\n"
    )
    clozes = anki_clozes(f["text"])
    assert [n for n, _ in clozes] == ["1", "2", "3"]
    assert clozes[0][1] == "<code>Tensor</code>::a type"
    assert clozes[1][1] == r"<strong>bold</strong> \(x\)"
    assert "::" not in clozes[2][1] and "}}" not in clozes[2][1]
    assert clozes[2][1] == r"\({a: :b} \) is \(\frac{1}{2} \)"


def test_cloze_safe_math() -> None:
    assert cloze_safe_math("a}}}b") == "a} } }b"
    assert cloze_safe_math("x::y}") == "x: :y} "
    assert "}}" not in cloze_safe_math("}}}}}")


def test_code_is_highlighted_and_check_blocks_become_verified_notes() -> None:
    md = (
        "Q: What does this print?\n```torch\nx = torch.ones(2)\nx.shape\n```\n"
        "A: `torch.Size([2])`\n\n```check\na = 1\na + 1 == 2\n```\n\n```shapes\nW: (m, n)\nW.T -> (n, m)\n```\n"
    )
    f = render(md)
    assert 'class="dlc-code"' in f["front"]
    assert '<span class="n">torch</span>' in f["front"]
    assert "dlc-torch" in f["front"]
    assert "<code>torch.Size([2])</code>" in f["back"]
    assert "a + 1 == 2" not in f["back"]  # not shown as code
    assert f["extra"].count('class="dlc-verified"') == 2
    assert "1 formula claim verified" in f["extra"] and "1 shapes claim verified" in f["extra"]


def test_cloze_blocks_go_to_the_answer_side() -> None:
    f = render("C: Adam keeps {{c1::two}} moment estimates.\n\n```python\nopt = Adam(p)\n```\n")
    assert "dlc-code" not in f["text"]
    assert 'class="dlc-code"' in f["extra"]


def test_media_get_hashed_names_and_missing_media_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(b"png bytes")
    (tmp_path / "say.mp3").write_bytes(b"mp3 bytes")
    note = note_of(
        'Q: What is it?\n\n![a plot](img.png) <img src="img.png">\n\n'
        "[listen](say.mp3)\n\nA: ![gone](missing.png) and ![web](https://x.org/a.png)\n"
    )
    r = render_note(note, tmp_path)
    names = sorted(m.name for m in r.media)
    assert len(names) == 2
    img_name = next(n for n in names if n.endswith("-img.png"))
    sound_name = next(n for n in names if n.endswith("-say.mp3"))
    assert r.fields["front"].count(f'src="{img_name}"') == 2
    assert f"[sound:{sound_name}]" in r.fields["front"]
    assert 'src="https://x.org/a.png"' in r.fields["back"]
    assert [(line, msg) for line, msg, _ in r.problems] == [
        (1, "media file not found: missing.png")
    ]
    assert r.fields["front"].count("<span>") == r.fields["front"].count("</span>") == 1
    gone = render_note(
        note_of("Q: Hear [this](gone.mp3) and [that](https://x.org/a.mp3)\nA: ok\n"), tmp_path
    )
    assert gone.fields["front"].count("<a ") == gone.fields["front"].count("</a>") == 2
    assert "gone.mp3" in gone.problems[0][1]
    # same content -> same name; different content -> different name
    (tmp_path / "img.png").write_bytes(b"other bytes")
    assert img_name not in {m.name for m in render_note(note, tmp_path).media}


def test_id_comments_and_html_comments_are_not_rendered() -> None:
    f = render("Q: Rank? <!-- id: abc12345 -->\nA: The number of axes. <!-- note to self -->\n")
    assert "id:" not in f["front"] and "note to self" not in f["back"]
