"""Cards as a web page with real math (issue 14, item 3): MathML from latex2mathml, no raw
LaTeX left in the text a reader sees, rendered by a real headless Chromium where one exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dlcards.app.page import PageCard, math_to_mathml, page_html, raw_latex_left, write_page
from dlcards.core.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
HARD = re.compile(r"\\(frac|sum|prod|begin\{[pb]matrix\}|sqrt|partial|nabla|mathbb|odot|top)")


class _Text(HTMLParser):
    """The text a reader sees: everything but code (which may hold backslashes on purpose)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("pre", "code", "style", "script", "title"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pre", "code", "style", "script", "title"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def hard_cards(limit: int = 40) -> list[PageCard]:
    cards: list[PageCard] = []
    for path in sorted((ROOT / "decks").rglob("*.md")):
        rel = path.relative_to(ROOT).as_posix()
        for note in parse_text(path.read_text(encoding="utf-8"), rel, "Deep Learning").notes:
            if HARD.search(note.question + note.answer):
                ordinal = note.deletions[0].number if note.kind == "cloze" else 0
                cards.append(PageCard(note, ordinal, f"{rel}:{note.line}", note.meta.topic or ""))
    assert len(cards) >= limit, "the decks have fewer math cards than this test expects"
    step = len(cards) // limit
    return cards[::step][:limit]


def test_inline_and_display_math_become_mathml() -> None:
    out = math_to_mathml(r"<p>\(\frac{a}{b}\) and \[\sum_{i=1}^{n} x_i\]</p>")
    assert out.count("<math") == 2 and 'display="block"' in out
    assert "<mfrac>" in out and raw_latex_left(visible_text(out)) == []


def test_cloze_inside_math_is_marked_in_math() -> None:
    from dlcards.app.page import _reveal

    out = math_to_mathml(_reveal(r"\(a = {{c1::b + c}} + {{c2::d}}\)", 1))
    assert 'mathcolor="#c2410c"' in out and "<mark" not in out and "c2::" not in out


def test_unreadable_formula_falls_back_to_unicode_not_raw_latex() -> None:
    out = math_to_mathml(r"\(\frac{1}{\undefinedmacro{x}\)")
    assert raw_latex_left(visible_text(out)) == []


def test_page_of_hard_cards_has_real_math_and_no_raw_latex(tmp_path: Path) -> None:
    cards = hard_cards()
    doc, _ = page_html(cards, ROOT, "hard cards")
    assert doc.count("<article>") == len(cards)
    assert doc.count("<math") >= len(cards)
    assert "\\(" not in doc and "\\[" not in visible_text(doc)
    assert raw_latex_left(visible_text(doc)) == []
    cloze = [c for c in cards if c.note.kind == "cloze"]
    assert not cloze or '<mark class="cloze">' in doc or 'mathcolor="#c2410c"' in doc
    path = write_page(cards, ROOT, tmp_path / "pages", "hard cards")
    assert path.read_text(encoding="utf-8") == doc and path.parent == tmp_path / "pages"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(
    _chromium() is None, reason="no Chromium on this machine (apt-get install chromium)"
)
def test_headless_chromium_renders_the_page_without_raw_latex(tmp_path: Path) -> None:
    browser = _chromium()
    assert browser is not None
    page = write_page(hard_cards(), ROOT, tmp_path / "pages", "hard cards")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count("<math") >= 40, "Chromium did not load the MathML page"
    assert raw_latex_left(visible_text(dom)) == []
    shot = tmp_path / "page.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=900,1400", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a page, not a blank
