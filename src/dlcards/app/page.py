"""Cards as a web page with real math: `o` in the review and `dlcards open QUERY`.

The page is the card's Anki HTML (`dlcards.anki.html`: the same Markdown dialect, Pygments
highlighting, the "verified" note) with every `\\(…\\)` / `\\[…\\]` turned into MathML by
latex2mathml, a pure-Python converter: no MathJax, no CDN, nothing fetched, so it renders
offline in any current browser. A formula latex2mathml cannot read falls back to the
terminal's Unicode rendering (never raw LaTeX). Cloze deletions are shown revealed and marked.

Pages are written under `<state>/pages/` (one file per set of cards, named by a hash of their
ids, media copied beside it) and opened with the `webbrowser` module.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dlcards.core.model import Note

_INLINE = re.compile(r"\\\((.+?)\\\)", re.S)
_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.S)
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::([^{}]*?))?\}\}", re.S)
_RAW = re.compile(r"\\[A-Za-z]+")
_CLOZE_COLOUR = "#c2410c"
_MACRO_IN_TEXT = re.compile(r">[^<]*\\[A-Za-z]")

_CSS = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fbfbfa; --muted: #6b6b6b;
        --card: #ffffff; --mark: #fff3b0; --rule: #e2e2e2; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #161616; --muted: #9a9a9a; --card: #1f1f1f; --mark: #5a4a00;
          --rule: #333; }
}
body { font: 17px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       background: var(--bg); max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.1rem; color: var(--muted); font-weight: 600; }
article { background: var(--card); border: 1px solid var(--rule); border-radius: 10px;
          padding: 1rem 1.25rem; margin: 1.25rem 0; }
.where { color: var(--muted); font-size: 0.85rem; margin-bottom: 0.5rem; }
.side { margin: 0.4rem 0; }
.answer { border-top: 1px dashed var(--rule); padding-top: 0.6rem; }
mark.cloze { background: var(--mark); color: inherit; padding: 0 0.15em; border-radius: 3px; }
math[display="block"] { margin: 0.6rem 0; }
.math-fallback { font-style: italic; }
pre { overflow-x: auto; padding: 0.6rem; border-radius: 6px; }
.dlc-verified { color: #2e7d32; font-size: 0.9rem; }
"""


@dataclass(frozen=True)
class PageCard:
    """One card on a page: its note, which cloze number (0 for basic), and where it is."""

    note: Note
    ordinal: int
    where: str  # `path:line`
    context: str  # deck › week › topic › heading


def _mathml(latex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    source = html.unescape(latex).strip()
    try:
        out = str(convert(source, display="block" if display else "inline"))
    except Exception:  # latex2mathml rejects some input: show the terminal's reading instead
        out = ""
    if out and not _MACRO_IN_TEXT.search(out):
        return out
    # it rejected the formula, or kept a macro it does not know as text (`<mi>\foo</mi>`)
    from dlcards.core.render import latex_to_unicode

    return f'<span class="math-fallback">{html.escape(latex_to_unicode(source))}</span>'


def math_to_mathml(fragment: str) -> str:
    """Anki HTML with MathJax delimiters -> HTML with MathML."""
    fragment = _DISPLAY.sub(lambda m: _mathml(m.group(1), True), fragment)
    return _INLINE.sub(lambda m: _mathml(m.group(1), False), fragment)


def _reveal(text: str, ordinal: int) -> str:
    """A cloze field with card `ordinal`'s deletions shown and marked, the others plain. Inside
    math the mark is LaTeX (a colour MathML Core draws), outside it is `<mark>`."""

    def in_math(m: re.Match[str]) -> str:
        def sub(d: re.Match[str]) -> str:
            body = d.group(2)
            return f"{{\\color{{{_CLOZE_COLOUR}}} {body}}}" if int(d.group(1)) == ordinal else body

        return _CLOZE.sub(sub, m.group(0))

    def outside(d: re.Match[str]) -> str:
        body = d.group(2)
        return f'<mark class="cloze">{body}</mark>' if int(d.group(1)) == ordinal else body

    text = _DISPLAY.sub(in_math, text)
    text = _INLINE.sub(in_math, text)
    return _CLOZE.sub(outside, text)


def card_html(card: PageCard, base: Path) -> tuple[str, list[Path]]:
    """One `<article>` for a card, and the media files it needs beside the page."""
    from dlcards.anki.html import render_note

    rendered = render_note(card.note, base)
    f = rendered.fields
    if card.note.kind == "cloze":
        sides = [("question", _reveal(f["text"], card.ordinal))]
    else:
        sides = [("question", f["front"]), ("answer", f["back"])]
    if f.get("extra"):
        sides.append(("answer extra", f["extra"]))
    body = "\n".join(
        f'<div class="side {cls}">{math_to_mathml(content)}</div>' for cls, content in sides
    )
    head = (
        f'<div class="where">{html.escape(card.context)} · '
        f"<code>{html.escape(card.where)}</code></div>"
    )
    media = [Path(m.path) for m in rendered.media]
    return f"<article>{head}\n{body}</article>", media


def page_html(cards: Sequence[PageCard], root: Path, title: str) -> tuple[str, list[Path]]:
    from dlcards.anki.html import pygments_css

    articles: list[str] = []
    media: list[Path] = []
    for card in cards:
        base = (root / card.where.rsplit(":", 1)[0]).parent
        article, files = card_html(card, base)
        articles.append(article)
        media.extend(files)
    doc = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}\n{pygments_css()}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n" + "\n".join(articles) + "\n</body></html>\n"
    )
    return doc, media


def raw_latex_left(text: str) -> list[str]:
    """LaTeX macros left as text (what a reader would see as `\\frac`): for tests and checks."""
    return _RAW.findall(text)


def write_page(cards: Sequence[PageCard], root: Path, folder: Path, title: str) -> Path:
    """Write the page (and its media) under `folder`; returns the file to open."""
    doc, media = page_html(cards, root, title)
    key = hashlib.sha256("\0".join(f"{c.note.id}/{c.ordinal}" for c in cards).encode())
    folder.mkdir(parents=True, exist_ok=True)
    from dlcards.anki.media import packed_name

    for src in media:
        try:
            data = src.read_bytes()
        except OSError:
            continue
        target = folder / packed_name(src, data)
        if not target.exists():
            shutil.copyfile(src, target)
    path = folder / f"cards-{key.hexdigest()[:12]}.html"
    from dlcards.system.fsutil import replace_file

    replace_file(path, doc.encode("utf-8"))
    return path


def open_in_browser(path: Path) -> bool:
    """Open a written page with the system's browser; False when none could be started."""
    import webbrowser

    try:
        return bool(webbrowser.open(path.resolve().as_uri()))
    except webbrowser.Error:
        return False
