"""Writing a `dlcards build`: the planned packages as `.apkg` files with their media
(`write_packages`), and what a build reports (`BuildResult`, `PackageInfo`)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dlcards.anki.media import MediaRef
from dlcards.core.errors import Problem
from dlcards.core.model import Note

if TYPE_CHECKING:
    from dlcards.anki.build_plan import PlannedPackage

SINGLE_NAME = "dlcards"
FILENAME_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class PackageInfo:
    path: Path
    root: str  # deck root ("" for a single package)
    notes: int
    cards: int
    media: int


@dataclass
class BuildResult:
    packages: list[PackageInfo] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # errors that exclude notes
    skipped: list[Note] = field(default_factory=list)
    rendered: int = 0
    cached: int = 0
    stamp: str = ""  # (no build tag any more; kept empty for callers that print it)
    written: bool = False
    reused: bool = False  # nothing changed: the previous build's notes were written again
    changed: int = 0  # notes whose content changed since the last build (Anki will update them)
    orphaned: int = 0  # notes exported tagged dlcards::deleted (their cards left the Markdown)

    @property
    def notes(self) -> int:
        return sum(p.notes for p in self.packages)

    @property
    def cards(self) -> int:
        return sum(p.cards for p in self.packages)


def package_filename(root: str) -> str:
    return (FILENAME_UNSAFE_RE.sub("-", root).strip("-.") or SINGLE_NAME) + ".apkg"


def write_packages(
    planned: list[PlannedPackage], out_dir: Path, when: datetime
) -> list[PackageInfo]:
    from dlcards.anki.notetypes import write_package

    out_dir.mkdir(parents=True, exist_ok=True)
    infos = []
    with tempfile.TemporaryDirectory(prefix="dlcards-media-") as staging:
        for pkg in planned:
            files = [_stage(ref, Path(staging)) for ref in pkg.media]
            path = out_dir / package_filename(pkg.root or SINGLE_NAME)
            write_package(pkg.notes, files, str(path), when, pkg.model_mtimes or None)
            infos.append(PackageInfo(path, pkg.root, len(pkg.notes), pkg.cards, len(files)))
    return infos


def _stage(ref: MediaRef, staging: Path) -> str:
    """A path whose basename is the packed name (genanki packs files by basename)."""
    target = staging / ref.name
    if not target.exists():
        try:
            os.link(ref.path, target)
        except OSError:
            shutil.copyfile(ref.path, target)
    return str(target)
