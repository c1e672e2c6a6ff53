"""Architecture as one exhaustive contract (issue 10, item 6): every module of dlcards sits in
a layer, and a module dropped anywhere is checked — a new top-level module outside the layers,
or a domain module importing sqlite3 and textual, makes `lint-imports` fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "dlcards"


def contracts() -> list[dict]:  # type: ignore[type-arg]
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["tool"]["importlinter"]["contracts"])


def layer_names() -> set[str]:
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    assert layers.get("exhaustive") is True and layers["containers"] == ["dlcards"]
    names: set[str] = set()
    for entry in layers["layers"]:
        names |= {part.strip() for part in entry.replace(":", "|").split("|")}
    return names


def test_every_package_and_module_is_in_a_layer() -> None:
    children = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")
    } - {"__init__"}
    assert children <= layer_names(), f"not in any layer: {sorted(children - layer_names())}"


def lint_copy(tmp_path: Path, add: dict[str, str]) -> subprocess.CompletedProcess[str]:
    linter = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(linter).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    shutil.copytree(
        PACKAGE, tmp_path / "src" / "dlcards", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for rel, text in add.items():
        (tmp_path / "src" / "dlcards" / rel).write_text(text, encoding="utf-8")
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(tmp_path / "src")}
    return subprocess.run(
        [linter, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_tree_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_copy(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_new_module_is_covered_wherever_it_is_dropped(tmp_path: Path) -> None:
    result = lint_copy(
        tmp_path,
        {
            "newthing.py": "X = 1\n",  # a top-level module outside every layer
            "core/sneaky.py": "import sqlite3\nimport textual\nimport dlcards.store\n",
        },
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "dlcards.newthing" in out  # the exhaustive layers contract names the stray module
    assert "dlcards.core.sneaky -> sqlite3" in out
    assert "dlcards.core.sneaky -> textual" in out
    assert "dlcards.core is not allowed to import dlcards.store" in out
