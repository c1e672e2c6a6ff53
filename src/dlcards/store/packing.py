"""How `anki_notes` keeps what `dlcards build` last exported, compactly (migration 10, issue 16).

`anki_notes` is an export cache: the fields and tags of every note as Anki last received them
(HTML rendered from the Markdown), kept so that a note deleted from the Markdown can still be
exported. The learner's own text is `card_text` (raw Markdown, plain text); this cache is
derived from it, so it is stored packed rather than readable in the sqlite3 shell:

* `content`: one byte, the format (1), then the JSON `[fields, tags]` (compact separators,
  UTF-8) compressed as raw DEFLATE (zlib, wbits -15) with the preset dictionary `_DICT_V1`:
  the markup dlcards itself writes into fields (the HTML renderer's classes and blocks, LaTeX
  delimiters) and its tag prefixes. Read it outside dlcards with
  `json.loads(zlib.decompressobj(-15, zdict=_DICT_V1).decompress(content[1:]))`.
* `digest`: the sha256 as its 32 bytes when it is 64 lowercase hex digits (as dlcards makes
  it), else the text itself; `hex(digest)` in the shell shows the usual form.

Both are exact: `unpack_note(pack_note(f, t)) == (f, t)` and `digest_from_db(digest_to_db(d))
== d` for every value. `_DICT_V1` is frozen: a new dictionary is a new format byte.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence

from dlcards.core.errors import StoreError

_FORMAT_V1 = 1
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def _dictionary(pieces: Sequence[str]) -> bytes:
    # each piece as it appears inside a JSON string; the most frequent ones last (nearest)
    return "".join(json.dumps(p, ensure_ascii=False)[1:-1] for p in pieces).encode()


# FROZEN (format 1): never edit; tests pin its hash.
_DICT_V1 = (
    _dictionary(
        [
            '<span class="k">',
            '<span class="n">',
            '<span class="o">',
            '<span class="p">',
            '<span class="mi">',
            '<span class="mf">',
            '<span class="s1">',
            '<span class="nb">',
            "</span>",
            '<div class="dlc-math">',
            '<div class="dlc-verified">',
            "<ul>\n<li>",
            "</li>\n</ul>\n",
            "<ol>\n<li>",
            "</li>\n</ol>\n",
            "<strong>",
            "</strong>",
            "<em>",
            "</em>",
            "\\(\\frac{",
            "\\mathrm{",
            "\\mathbf{",
            "\\sum_",
            "\\(",
            "\\)",
            "\\[",
            "\\]",
            '<div class="dlc-torch"><div class="dlc-label">PyTorch</div>'
            '<div class="dlc-code"><pre><span></span><code>',
            "</code></pre></div>\n</div>",
            "<pre><code>",
            "</code></pre>",
            "<code>",
            "</code>",
            " › ",
            ".md",
            "</p>\n<p>",
        ]
    )
    + b'","","'
    + b'"],["dlcards","dlcards::week::0","dlcards::topic::","dlcards::tag::'
    + b'[["<p>'
)


def pack_note(fields: Sequence[str], tags: Sequence[str]) -> bytes:
    """A note's exported fields and tags as the `content` column holds them."""
    data = json.dumps([list(fields), list(tags)], ensure_ascii=False, separators=(",", ":"))
    # memLevel 7: the same bytes as 8 for notes this short, and a third of the time (the
    # compressor's set-up dominates: ~13 µs a note)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 7, zlib.Z_DEFAULT_STRATEGY, _DICT_V1)
    return bytes([_FORMAT_V1]) + packer.compress(data.encode()) + packer.flush()


def unpack_note(content: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fields, tags) from a `content` value."""
    if not content or content[0] != _FORMAT_V1:
        raise StoreError(
            f"an exported note's content has an unknown format ({content[:1]!r})",
            hint="it was written by a newer dlcards; upgrade dlcards",
        )
    try:
        unpacker = zlib.decompressobj(-15, zdict=_DICT_V1)
        fields, tags = json.loads(unpacker.decompress(content[1:]) + unpacker.flush())
    except (zlib.error, ValueError) as exc:
        raise StoreError(f"an exported note's content cannot be read ({exc})") from None
    return tuple(fields), tuple(tags)


def digest_to_db(digest: str) -> bytes | str:
    """A sha256 hex digest as 32 bytes; any other text as itself."""
    return bytes.fromhex(digest) if _HEX_DIGEST.fullmatch(digest) else digest


def digest_from_db(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value
