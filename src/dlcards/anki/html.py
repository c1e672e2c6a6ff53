"""Card Markdown -> the HTML that goes into Anki fields. Pure apart from reading media files.

- markdown-it-py (CommonMark + tables + raw HTML), the same dialect `parse` reads;
- `$…$` / `$$…$$` become MathJax `\\(…\\)` / `\\[…\\]` (Anki renders MathJax itself);
- fenced code is highlighted by Pygments into `<span class="…">` markup styled by the note
  type's CSS (no JavaScript); `torch` blocks are Python;
- `check` / `shapes` blocks are not shown as code: they become a small "verified" note that
  goes to the answer side (the Extra / Back Extra field);
- a cloze note's `{{cN::…}}` deletions survive rendering: they are replaced by placeholders,
  the text is rendered, then each placeholder becomes `{{cN::<inner html>::hint}}` again. A
  deletion inside math keeps its LaTeX, with `}}` and `::` broken apart so Anki's cloze parser
  does not end the deletion early;
- local images (Markdown or `<img>`) and audio/video links are collected as media with unique
  basenames (content-hash prefix, see `media.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlcards.anki.media import MediaRef, is_remote, media_ref
from dlcards.core.comments import strip_html_comments
from dlcards.core.model import Note

if TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Bump when the HTML produced for the same Markdown changes (invalidates the render cache).
RENDER_VERSION = "5"  # 5: namespaced tags, Source without the line (issue 11)

CODE_CLASS = "dlc-code"
PLACEHOLDER = "QZdlcZ{}ZQ"
PLACEHOLDER_RE = re.compile(r"QZdlcZ(\d+)ZQ")
IMG_SRC_RE = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
SOUND_EXTENSIONS = {
    ".mp3",
    ".ogg",
    ".oga",
    ".wav",
    ".flac",
    ".m4a",
    ".opus",
    ".mp4",
    ".webm",
    ".mkv",
}
BLOCK_LABELS = {
    "check": "formula",
    "shapes": "shapes",
}


@dataclass
class RenderedNote:
    """The HTML fields of one note, the media it references, and what went wrong."""

    fields: dict[str, str]
    media: list[MediaRef] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, message, hint)


@dataclass
class _Env:
    base: Path  # folder of the deck file (relative media are resolved against it)
    line: int  # note line, for problems
    cloze: bool = False
    extras: list[str] = field(default_factory=list)
    media: dict[str, MediaRef] = field(default_factory=dict)
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    deletions: list[tuple[int, str, str | None]] = field(
        default_factory=list
    )  # (number, inner, hint)
    in_deletion: bool = False  # rendering the inside of a cloze deletion
    links: list[bool] = field(default_factory=list)  # open links: True when rendered as [sound:]


def escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def cloze_safe_math(text: str) -> str:
    """LaTeX made safe inside `{{cN::…}}`: no `}}` (it would end the deletion) and no `::`."""
    while "}}" in text:
        text = text.replace("}}", "} }")
    while "::" in text:
        text = text.replace("::", ": :")
    if text.endswith("}"):
        text += " "
    return text


def _cloze_safe_html(text: str) -> str:
    return text.replace("}}", "}&#125;").replace("::", ":&#58;")


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    name = {"torch": "python", "pytorch": "python", "py": "python", "": "text"}.get(lang, lang)
    try:
        return get_lexer_by_name(name, stripnl=False)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False)


@lru_cache(maxsize=1)
def _formatter() -> Any:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass=CODE_CLASS, wrapcode=True)


def highlight(code: str, lang: str) -> str:
    """Pygments HTML for a code block (`<div class="dlc-code"><pre><code>…`)."""
    from pygments import highlight as _highlight

    return str(_highlight(code, _lexer(lang.lower()), _formatter()))


def pygments_css(style: str = "default", night_style: str = "monokai") -> str:
    """The CSS of the highlighted code, for light and Anki's night mode."""
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style=style).get_style_defs(f".{CODE_CLASS}")  # type: ignore[no-untyped-call]
    dark = HtmlFormatter(style=night_style).get_style_defs(f".nightMode .{CODE_CLASS}")  # type: ignore[no-untyped-call]
    return f"{light}\n{dark}\n"


def _fill_placeholders(text: str, env: _Env, mode: str) -> str:
    """Put deletions back inside raw text (math or code): `mode` is 'math' or 'code'."""

    def sub(m: re.Match[str]) -> str:
        number, inner, hint = env.deletions[int(m.group(1))]
        if mode == "math":
            body = cloze_safe_math(inner)
            tail = f"::{cloze_safe_math(hint)}" if hint else ""
        else:
            body = _cloze_safe_html(escape(inner))
            tail = f"::{_cloze_safe_html(escape(hint))}" if hint else ""
        return f"{{{{c{number}::{body}{tail}}}}}"

    return PLACEHOLDER_RE.sub(sub, text)


def _math(content: str, env: _Env, display: bool) -> str:
    content = content.strip()
    if env.cloze and "QZdlcZ" in content:
        content = _fill_placeholders(content, env, "math")
    if env.in_deletion:
        content = cloze_safe_math(content)
    body = escape(content)
    return f"\\[{body}\\]" if display else f"\\({body}\\)"


def _add_media(src: str, env: _Env) -> str | None:
    """The packed name for a local media file, or None (remote, or missing: a problem)."""
    if is_remote(src):
        return None
    from urllib.parse import unquote

    path = (env.base / unquote(src.split("#", 1)[0].split("?", 1)[0])).resolve()
    if not path.is_file():
        env.problems.append(
            (
                env.line,
                f"media file not found: {src}",
                "paths are relative to the deck file; check the name and that the file exists",
            )
        )
        return None
    key = str(path)
    ref = env.media.get(key)
    if ref is None:
        ref = media_ref(path)
        env.media[key] = ref
    return ref.name


def _rewrite_img_tags(html: str, env: _Env) -> str:
    def sub(m: re.Match[str]) -> str:
        name = _add_media(m.group(3), env)
        return m.group(0) if name is None else f"{m.group(1)}{m.group(2)}{escape(name)}{m.group(2)}"

    return IMG_SRC_RE.sub(sub, html)


def _verified_note(kind: str, content: str) -> str:
    claims = [ln for ln in content.splitlines() if ("==" if kind == "check" else "->") in ln]
    what = BLOCK_LABELS[kind]
    count = len(claims) or 1
    plural = "" if count == 1 else "s"
    title = escape("\n".join(claims))
    return (
        f'<div class="dlc-verified" title="{title}">✓ {count} {what} claim{plural} '
        f"verified by dlcards</div>"
    )


def _install_rules(md: MarkdownIt) -> None:
    def math_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        return _math(tokens[idx].content, e, display=False)

    def math_display(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        return _math(tokens[idx].content, e, display=True)

    def math_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        return f'<div class="dlc-math">{_math(tokens[idx].content, e, display=True)}</div>\n'

    def fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        token = tokens[idx]
        info = token.info.strip()
        lang = info.split(maxsplit=1)[0] if info else ""
        content = token.content
        if lang in BLOCK_LABELS:
            e.extras.append(_verified_note(lang, content))
            return ""
        if e.cloze and "QZdlcZ" in content:
            # a deletion inside a code block is shown unhighlighted: Anki's cloze markers
            # cannot sit across Pygments' spans
            code = f'<div class="{CODE_CLASS}"><pre><code>{_fill_placeholders(content, e, "code")}</code></pre></div>'
        else:
            code = highlight(content, lang)
        if lang == "torch":
            code = f'<div class="dlc-torch"><div class="dlc-label">PyTorch</div>{code}</div>'
        if e.cloze:
            e.extras.append(code)  # a cloze note's blocks belong to the answer side
            return ""
        return code

    def code_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return highlight(tokens[idx].content, "text")

    def code_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        content = escape(tokens[idx].content)
        if e.cloze and "QZdlcZ" in content:
            content = _fill_placeholders(tokens[idx].content, e, "code")
        return f"<code>{content}</code>"

    def image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        alt = self.renderInlineAsText(token.children or [], options, env)
        name = _add_media(src, e)
        title = token.attrGet("title")
        title_attr = f' title="{escape(str(title))}"' if title else ""
        return f'<img src="{escape(name or src)}" alt="{escape(alt)}"{title_attr}>'

    def link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        token = tokens[idx]
        href = str(token.attrGet("href") or "")
        suffix = Path(href.split("?", 1)[0]).suffix.lower()
        name = _add_media(href, e) if suffix in SOUND_EXTENSIONS and not is_remote(href) else None
        e.links.append(name is not None)
        if name is not None:
            # Anki plays `[sound:…]`; the link text is kept after the player
            return f"[sound:{name}] <span>"
        return str(self.renderToken(tokens, idx, options, env))

    def link_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        was_sound = e.links.pop() if e.links else False
        return "</span>" if was_sound else "</a>"

    def html(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        e: _Env = env["dlc"]
        return _rewrite_img_tags(tokens[idx].content, e)

    md.add_render_rule("math_inline", math_inline)
    md.add_render_rule("math_inline_double", math_display)
    md.add_render_rule("math_block", math_block)
    md.add_render_rule("math_block_label", math_block)
    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", code_block)
    md.add_render_rule("code_inline", code_inline)
    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    md.add_render_rule("html_inline", html)
    md.add_render_rule("html_block", html)


@lru_cache(maxsize=1)
def renderer() -> MarkdownIt:
    """The markdown-it instance used for Anki HTML (the parser's dialect plus our render rules)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .enable("strikethrough")
        .use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True)
    )
    _install_rules(md)
    return md


def _strip_comments(markdown: str) -> str:
    return strip_html_comments(markdown)


def markdown_to_html(markdown: str, env: _Env) -> str:
    return str(renderer().render(_strip_comments(markdown), {"dlc": env})).strip()


def _render_cloze(note: Note, env: _Env) -> str:
    text = note.question
    pieces: list[str] = []
    pos = 0
    for d in sorted(note.deletions, key=lambda d: d.start):
        if d.start < pos:
            continue
        pieces.append(text[pos : d.start])
        pieces.append(PLACEHOLDER.format(len(env.deletions)))
        env.deletions.append((d.number, d.text, d.hint))
        pos = d.end
    pieces.append(text[pos:])
    html = markdown_to_html("".join(pieces), env)
    md = renderer()

    def sub(m: re.Match[str]) -> str:
        number, inner, hint = env.deletions[int(m.group(1))]
        env.in_deletion = True
        try:
            inner_html = md.renderInline(inner, {"dlc": env}).strip()
        finally:
            env.in_deletion = False
        body = _cloze_safe_html(inner_html)
        if body.endswith("}"):
            body += " "
        tail = f"::{_cloze_safe_html(escape(hint))}" if hint else ""
        return f"{{{{c{number}::{body}{tail}}}}}"

    return PLACEHOLDER_RE.sub(sub, html)


def render_note(note: Note, base: Path) -> RenderedNote:
    """The HTML fields of a note. `base` is the folder of its deck file (for media)."""
    env = _Env(base=base, line=note.line, cloze=note.kind == "cloze")
    if note.kind == "basic":
        front = markdown_to_html(note.question, env)
        back = markdown_to_html(note.answer, env)
        fields = {"front": front, "back": back, "extra": "\n".join(env.extras)}
    else:
        text = _render_cloze(note, env)
        fields = {"text": text, "extra": "\n".join(env.extras)}
    return RenderedNote(fields, list(env.media.values()), env.problems)
