"""The build's caches on `system.cache`: the previous build (reused when nothing changed) and
the rendered HTML. An entry left by older code is a miss, and the build takes the full path.
The review store's 'synced with these files' marker follows the same key rule."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlcards.system import cache as cache_mod
from dlcards.system.decks import read_decks

DECK = "Q: What is $\\nabla f$?\nA: The gradient.\n\nC: Softmax gives {{c1::probabilities}}.\n"
WHEN = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _rewrite_payload(entry: Path, value: object) -> None:
    header = entry.read_bytes().split(b"\n", 1)[0] + b"\n"
    entry.write_bytes(header + pickle.dumps(value))


@pytest.fixture
def built(collection: Path, dlcards_home: Path) -> tuple[Path, Path]:
    pytest.importorskip("genanki")
    from dlcards.anki.builder import build
    from dlcards.anki.rendercache import cache_file

    (collection / "decks" / "a.md").write_text(DECK, encoding="utf-8")
    decks = read_decks(collection)
    cache_path = cache_file(dlcards_home, collection)
    result = build(decks, [], collection / "build", when=WHEN, cache_path=cache_path)
    assert result.written and (result.rendered, result.cached) == (2, 0)
    return collection, cache_path


def _quick(collection: Path, cache_path: Path) -> object:
    from dlcards.anki.builder import quick_build

    files = sorted((collection / "decks").glob("*.md"))
    return quick_build(
        collection, files, collection / "build", when=WHEN, single=False, cache_path=cache_path
    )


def test_a_previous_build_from_older_code_is_not_reused(built: tuple[Path, Path]) -> None:
    from dlcards.anki.builder import manifest_file

    collection, cache_path = built
    reused = _quick(collection, cache_path)
    assert reused is not None and reused.reused  # type: ignore[attr-defined]
    entry = manifest_file(cache_path)
    header, payload = entry.read_bytes().split(b"\n", 1)
    manifest = pickle.loads(payload)
    del manifest.__dict__["stamp"]  # a Manifest pickled before `stamp` existed
    _rewrite_payload(entry, manifest)
    assert _quick(collection, cache_path) is None
    entry.write_bytes(header + b"\n" + payload[:100])  # truncated
    assert _quick(collection, cache_path) is None


def test_rendered_html_from_older_code_is_rendered_again(
    built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.anki.builder import build
    from dlcards.anki.rendercache import RenderCache

    collection, cache_path = built
    decks = read_decks(collection)
    again = build(decks, [], collection / "build", when=WHEN, cache_path=cache_path)
    assert (again.rendered, again.cached) == (0, 2)
    data = pickle.loads(cache_path.read_bytes().split(b"\n", 1)[1])
    stale = next(iter(data["entries"].values()))
    del stale.__dict__["problems"]  # a RenderedNote pickled before `problems` existed
    _rewrite_payload(cache_path, data)
    assert RenderCache(cache_path)._old == {}
    again = build(decks, [], collection / "build", when=WHEN, cache_path=cache_path)
    assert (again.rendered, again.cached) == (2, 0)
    # another dlcards (code fingerprint) does not read this one's HTML either
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "another dlcards")
    again = build(decks, [], collection / "build", when=WHEN, cache_path=cache_path)
    assert (again.rendered, again.cached) == (2, 0)


def test_review_sync_marker_follows_code_and_files(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlcards.app.review import collection_fingerprint

    deck = collection / "decks" / "a.md"
    deck.write_text(DECK, encoding="utf-8")
    first = collection_fingerprint(read_decks(collection))
    assert collection_fingerprint(read_decks(collection)) == first
    with monkeypatch.context() as patch:
        patch.setattr(cache_mod, "code_fingerprint", lambda: "another dlcards")
        assert collection_fingerprint(read_decks(collection)) != first
    assert collection_fingerprint(read_decks(collection)) == first
    deck.write_text(DECK + "\nQ: New?\nA: Yes.\n", encoding="utf-8")
    assert collection_fingerprint(read_decks(collection)) != first
