"""scripts/bench_tui.py end to end on a tiny generated collection (no timing asserted: the
figures exist, the split adds up, and every answer showed a new card)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_tui_measures_the_real_app(tmp_path: Path) -> None:
    out = tmp_path / "tui.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_tui.py"),
            "--sizes",
            "tiny",
            "--grades",
            "6",
            "--dir",
            str(tmp_path),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (res,) = json.loads(out.read_text())
    assert res["size"] == "tiny" and res["answers"] == 6
    assert res["next_card_changed"] >= 6  # the warm-up answers count too
    for key in ("wall", "cpu", "engine", "commit", "render", "render_cpu", "screen_code"):
        assert res[f"{key}_p50"] > 0, key
    # the parts are inside the whole
    assert res["commit_p50"] + res["engine_p50"] <= res["wall_p99"]
    assert res["render_cpu_mean"] <= res["cpu_mean"]
    assert "grade → next painted" in proc.stdout
    assert (tmp_path / "C-tiny" / "home" / "dlcards.sqlite3").is_file()
