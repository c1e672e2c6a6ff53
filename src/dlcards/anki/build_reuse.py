"""Whole-build reuse for `dlcards build`: a clean build leaves a manifest (its planned
packages, under a hash of every input); `quick_build` writes them again when nothing changed,
without parsing, checking or rendering. Any difference, or any doubt, takes the full path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dlcards.anki.build_plan import PlannedPackage
from dlcards.anki.build_write import BuildResult, write_packages
from dlcards.system.cache import Cache, Schema, instance_of

# -- whole-build reuse ---------------------------------------------------------------------------
# A rebuild with no change at all (same files, settings, options, media, dlcards version) does
# not need to parse, check or render anything: the previous build's Anki notes are written
# again with the new build time and build tag. Any difference, or any doubt, takes the full path.


@dataclass
class Manifest:
    key: str
    stamp: str
    packages: list[PlannedPackage]


def manifest_file(cache_path: Path) -> Path:
    return cache_path.with_suffix(".build.pickle")


def inputs_key(root: Path, files: list[tuple[str, str]], settings_json: str, single: bool) -> str:
    """What a build's output depends on, hashed: versions, settings, options, file contents."""
    import hashlib

    from dlcards import __version__
    from dlcards.anki.html import RENDER_VERSION
    from dlcards.core import parse

    h = hashlib.sha256()
    for part in (
        __version__,
        parse.PARSER_VERSION,
        RENDER_VERSION,
        str(root),
        settings_json,
        str(single),
    ):
        h.update(part.encode("utf-8") + b"\0")
    for rel, digest in sorted(files):
        h.update(f"{rel}\0{digest}\0".encode())
    return h.hexdigest()


# the previous build's Anki notes, one `system.cache` slot per collection beside the render
# cache; the slot's header holds the inputs key, so a build whose inputs changed compares it
# without unpickling every note of the previous build (a few MB for 10k cards)
MANIFEST_SCHEMA = Schema("anki-build", "1")


def _manifest_cache(path: Path) -> Cache[Manifest]:
    return Cache(MANIFEST_SCHEMA, instance_of(Manifest), folder=path.parent)


def _slot(path: Path) -> str:
    return path.name.removesuffix(".pickle")


def _save_manifest(path: Path, manifest: Manifest) -> None:
    _manifest_cache(path).put(manifest.key, manifest, slot=_slot(path))


def quick_build(
    root: Path,
    deck_files: list[Path],
    out_dir: Path,
    *,
    when: datetime,
    single: bool,
    cache_path: Path,
) -> BuildResult | None:
    """Rewrite the previous build when nothing changed; None when anything did (or may have)."""
    import hashlib

    from dlcards.system.config import load_settings

    path = manifest_file(cache_path)
    if not path.is_file():
        return None
    try:
        files = [
            (p.relative_to(root).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in deck_files
        ]
        key = inputs_key(root, files, load_settings(root).model_dump_json(), single)
        manifest = _manifest_cache(path).get(key, slot=_slot(path))
        if manifest is None or manifest.key != key:
            return None
        if not all(ref.unchanged() for pkg in manifest.packages for ref in pkg.media):
            return None
    except Exception:  # unreadable file, damaged manifest, path outside root: the full path decides
        return None
    # the notes keep their modification times: nothing changed, Anki updates nothing
    packages = manifest.packages
    result = BuildResult(cached=sum(len(p.notes) for p in packages))
    result.packages = write_packages(packages, out_dir, when)
    result.written = True
    result.reused = True
    return result
