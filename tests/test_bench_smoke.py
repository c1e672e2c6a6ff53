"""The benchmark harness runs end to end (`scripts/bench.py --quick`, the 1k size: bulk
generation, the matching Anki collection, every figure, JSON, Markdown, --compare), and the
README block it writes replaces only itself. No timing is asserted: performance lives in the
harness's output, not in the test suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import bench

FIGURES = {
    "check_cold",
    "check_warm",
    "build",
    "first_card_cold",
    "first_card_warm",
    "grade_p50_ms",
    "grade_p99_ms",
    "tui_grade_p99_ms",
    "tui_commit_p99_ms",
    "commit_p99_ms",
    "stats_first",
    "stats",
    "stats_first_whole",
    "stats_whole",
    "stats_rss_mb",
    "prune",
    "list",
    "fsrs_batch_ms_per_card",
    "db_size_mb",
    "generate_s",
}


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    pytest.importorskip("genanki", reason="the build reference needs genanki")
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    cmd = [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--dir", str(tmp_path)]
    subprocess.run(
        [*cmd, "--out", str(out), "--markdown", str(md)], check=True, capture_output=True
    )
    result = json.loads(out.read_text())
    size = result["sizes"]["1k"]
    assert (size["cards"], size["reviews"]) == (1000, 10000)
    figures = size["figures"]
    assert set(figures) >= FIGURES
    for name in FIGURES:
        assert figures[name]["dlcards"] is not None and figures[name]["dlcards"] > 0, name
    anki = result["meta"]["anki"]
    if anki:  # the engine references ran on the same data
        assert figures["stats"]["reference"] > 0 and figures["stats"]["ratio"] > 0
        # both Anki references: the last year (its screen's default) and the whole log
        assert figures["stats"]["ref_name"] == "Anki graphs, 1 year"
        assert figures["stats_whole"]["ref_name"] == "Anki graphs, whole log"
        assert figures["stats_first_whole"]["reference"] > 0
        assert figures["db_size_mb"]["reference"] > 0
        # the sync figures: a real sync with a real Anki collection, both sides studied
        assert figures["sync_first_wall"]["dlcards"] > 0
        assert figures["sync_nothing"]["ratio"] > 0 and figures["sync_day"]["reference"] > 0
        assert figures["sync_day_reviews"]["dlcards"] == 60  # 30 out, 30 in
    table = md.read_text()
    assert table.startswith("| size | figure | dlcards | reference | ratio | target |")
    assert "| 1k | stats (s) |" in table and "load average" in table
    # the stored collection is reused, and --compare puts the old ratios next to the new ones
    cmp_out = tmp_path / "again.json"
    shown = subprocess.run(
        [*cmd, "--out", str(cmp_out), "--compare", str(out)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "old ratio | change |" in shown
    assert (
        json.loads(cmp_out.read_text())["sizes"]["1k"]["figures"]["generate_s"]
        == (figures["generate_s"])
    )


def test_readme_block_is_replaced_in_place(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\n## Performance\n\nintro\n\n<!-- bench:start -->\nold\n"
        "<!-- bench:end -->\n\n## Next\nkept\n",
        encoding="utf-8",
    )
    bench.write_readme("| new table |", readme)
    text = readme.read_text()
    assert "old" not in text and "| new table |" in text
    assert text.endswith("## Next\nkept\n") and text.count("<!-- bench:start -->") == 1


def test_markdown_marks_targets_and_regressions() -> None:
    fig = {"dlcards": 0.9, "reference": 0.3, "ref_name": "Anki graphs", "unit": "s"}
    new = {
        "meta": {"date": "d", "machine": "m", "load_start": [1], "load_end": [1], "reps": 1},
        "sizes": {"10k": {"figures": {"stats": {**fig, "ratio": 3.0}}}},
    }
    old = {"sizes": {"10k": {"figures": {"stats": {**fig, "ratio": 2.0}}}}}
    table = bench.markdown(new, old)
    assert "≤3× ok" in table and "REGRESSION" in table and "1.50×" in table
    worse = {**new, "sizes": {"10k": {"figures": {"stats": {**fig, "ratio": 3.5}}}}}
    assert "MISSED" in bench.markdown(worse)
