"""Typed reports (issue 10, item 4): frozen dataclasses whose `to_dict()` is exactly the JSON the
commands printed before they were typed (goldens recorded from the old dict-building code, see
tests/fixtures/reports/README.md), block builders that can be called one at a time, and the
TypedDicts behind schemas/*.json accepting the real outputs."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import test_prune as P
import test_stats as S
from conftest import FIXTURES, ROOT
from dlcards.core.errors import Problem, SourceLocation
from dlcards.core.state import CardFlags, CardState, Rating, ReviewEntry
from dlcards.insights.retention import utc
from dlcards.store import CardInfo

GOLDEN = FIXTURES / "reports"
INFO_NOW = utc(2026, 3, 10, 12)


# -- the inputs the goldens were recorded from ------------------------------------------------
def info_reviews() -> list[ReviewEntry]:
    """Three reviews of card `a` whose after-states carry due, stability and difficulty."""
    t = utc(2026, 3, 1, 5)
    states = [
        CardState(
            "a",
            phase="learning",
            step=0,
            stability=0.4,
            difficulty=6.123456,
            due=t + timedelta(minutes=10),
            last_review=t,
            reps=1,
        ),
        CardState(
            "a",
            phase="review",
            stability=2.34567,
            difficulty=5.9,
            due=t + timedelta(days=2),
            last_review=t + timedelta(minutes=10),
            reps=2,
            interval_days=2,
        ),
        CardState(
            "a",
            phase="review",
            stability=3.5,
            difficulty=5.5,
            due=utc(2026, 3, 12, 10),
            last_review=utc(2026, 3, 9, 10),
            reps=3,
            lapses=1,
            interval_days=3,
        ),
    ]
    times = [t, t + timedelta(minutes=10), utc(2026, 3, 9, 10)]
    ratings = [Rating.AGAIN, Rating.GOOD, Rating.HARD]
    out = []
    before = CardState("a")
    for when, rating, after, ms in zip(
        times, ratings, states, (30_500, 12_340, 7_000), strict=True
    ):
        kind = "learn" if before.phase == "new" else "review"
        out.append(ReviewEntry("a", when, rating, ms, before, after, kind=kind))
        before = after
    return out


ORPHAN = CardInfo("gone", "gone", "basic", "decks/old.md", 12, "0" * 16)
LIST_STATES = {"a": S.STATES["a"], "b": S.STATES["b"], "c": S.STATES["c"]}
LIST_FLAGS = {
    "f": CardFlags("f", suspended=True),
    "b": CardFlags("b", leech=True, buried_until=utc(2026, 3, 11, 4)),
}
PROBLEMS = [
    Problem(
        SourceLocation("decks/a.md", 3), "error", "missing-answer", "no A: line", "add an `A:` line"
    ),
    Problem(SourceLocation("decks/b.md", 10), "warning", "claim-unproved", "not proved", None),
]


def stats_report():  # type: ignore[no-untyped-def]
    from dlcards.insights.stats import compute_stats

    return compute_stats(
        S.notes(),
        S.HISTORY,
        S.STATES,
        S.FLAGS,
        now=S.NOW,
        tz=S.UTC_TZ,
        day_starts_at=4,
        weekly_hours=0.07,
        new_per_day=1,
        retrievability=S.fake_r,
    )


def as_printed(value: Any) -> str:
    """What the commands print for `--json`."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def golden(name: str) -> str:
    return (GOLDEN / f"{name}.json").read_text(encoding="utf-8")


def reports() -> dict[str, Any]:
    """name of the golden -> the typed report built from the same inputs."""
    from dlcards.app.verify import CheckReport
    from dlcards.insights.cardinfo import card_info_of
    from dlcards.insights.listing import list_rows
    from dlcards.insights.prune import PruneReport
    from dlcards.insights.stats import compute_stats, week_summary

    note_a = next(n for n in S.notes() if n.id == "a")
    return {
        "stats": stats_report(),
        "stats-empty": compute_stats([], [], {}, {}, now=S.NOW, tz=S.UTC_TZ),
        "week-1": week_summary(
            S.notes(), S.HISTORY, S.STATES, week=1, now=S.NOW, tz=S.UTC_TZ, start=date(2026, 3, 8)
        ),
        "week-3": week_summary(S.notes(), S.HISTORY, S.STATES, week=3, now=S.NOW, tz=S.UTC_TZ),
        "prune": PruneReport(P.NOW, tuple(P.report())),
        "card-info": card_info_of(
            "a", note_a, S.STATES["a"], None, info_reviews(), INFO_NOW, S.fake_r
        ),
        "card-info-orphan": card_info_of(
            "gone", None, None, S.FLAGS["f"], [], INFO_NOW, S.fake_r, ORPHAN
        ),
        "list": list_rows(
            S.notes(),
            LIST_STATES,
            LIST_FLAGS,
            S.fake_r,
            S.NOW,
            display_path=lambda p: "shown/" + p,
        ),
        "check": CheckReport(tuple(PROBLEMS), files=2, cards=7),
    }


def json_of(name: str, report: Any) -> Any:
    if name == "list":
        return [row.to_dict() for row in report]
    if name == "check":
        return report.problem_dicts()
    return report.to_dict()


# -- to_dict() is the old JSON, byte for byte -------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "stats",
        "stats-empty",
        "week-1",
        "week-3",
        "prune",
        "card-info",
        "card-info-orphan",
        "list",
        "check",
    ],
)
def test_to_dict_is_the_json_printed_before_the_reports_were_typed(name: str) -> None:
    assert as_printed(json_of(name, reports()[name])) == golden(name)


def test_history_rows_are_the_old_rows() -> None:
    from dlcards.insights.cardinfo import history_rows

    assert as_printed([h.to_dict() for h in history_rows(info_reviews())]) == golden(
        "card-info-history"
    )


def test_app_reports_still_exports_the_card_info_builders() -> None:
    """app/reports.py re-exports the builders that moved to insights/cardinfo.py."""
    from dlcards.app import reports
    from dlcards.insights import cardinfo

    assert reports.card_info_of is cardinfo.card_info_of
    assert reports.history_rows is cardinfo.history_rows


# -- frozen, slotted, typed -------------------------------------------------------------------
def _dataclasses_in(value: Any, seen: list[Any]) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        seen.append(value)
        for f in dataclasses.fields(value):
            _dataclasses_in(getattr(value, f.name), seen)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _dataclasses_in(v, seen)


@pytest.mark.parametrize("name", ["stats", "week-1", "prune", "card-info", "list", "check"])
def test_every_block_is_a_frozen_slotted_dataclass(name: str) -> None:
    from dlcards.core.state import CardState

    seen: list[Any] = []
    _dataclasses_in(reports()[name], seen)
    ours = [v for v in seen if type(v).__module__.startswith("dlcards.insights") or name == "check"]
    ours = [v for v in ours if not isinstance(v, (CardState, Problem, SourceLocation))]
    assert ours, name
    for value in ours:
        first = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, first, None)
        assert not hasattr(value, "__dict__"), type(value).__name__


def test_attributes_carry_the_values_the_json_shows() -> None:
    report = stats_report()
    d = report.to_dict()
    assert report.today.day == date(2026, 3, 10) and d["today"]["day"] == "2026-03-10"
    assert report.forecast.total_due == d["forecast"]["total_due"] == 4
    assert report.forecast.days_over_budget == d["forecast"]["days_over_budget"] == 1
    assert report.period("month").counts.young_retention == 0.75
    assert report.period("all_time").first == date(2026, 3, 1)
    assert [t.group for t in report.topics] == [t["group"] for t in d["topics"]]
    assert report.distributions.difficulty.mean == d["distributions"]["difficulty"]["mean"]
    assert report.heatmap.last == report.today.day


def test_card_info_state_is_the_state_to_dict() -> None:
    """The typed report spells CardState's JSON out field by field: it must not drift."""
    from dlcards.insights.cardinfo import card_info_of

    for state in S.STATES.values():
        info = card_info_of(state.card_id, None, state, None, [], INFO_NOW, S.fake_r)
        assert info.to_dict()["state"] == state.to_dict()
        assert info.state is state


def test_list_rows_are_due_as_before() -> None:
    """`ListRow.is_due`: learning cards by now, review cards by the end of the study day."""
    from dlcards.insights.listing import list_rows

    end = utc(2026, 3, 11, 4)
    rows = {r.id: r for r in list_rows(S.notes(), S.STATES, S.FLAGS, None, S.NOW)}
    # b relearning, due 06:10 today (< now 12:00): due; d review, overdue: due
    # a review due 03-12: not yet; c review due 04-05: not yet; e new; f suspended and new
    assert {cid for cid, r in rows.items() if r.is_due(S.NOW, end)} == {"b", "d"}
    assert rows["a"].retrievability is None  # no retrievability function: nothing computed
    flagged = list_rows(S.notes(), S.STATES, {"d": CardFlags("d", suspended=True)}, None, S.NOW)
    assert not next(r for r in flagged if r.id == "d").is_due(S.NOW, end)


def test_check_report_round_trips_through_the_run_cache_shape() -> None:
    from dlcards.app.verify import CheckReport, CheckTally

    tally = CheckTally(notes=["ran 2 code snippets on cpu, torch test"], blocks=5, cached=3, ran=2)
    report = CheckReport.of(PROBLEMS, tally, files=2, cards=7)
    assert (report.errors, report.warnings, report.blocks, report.cached) == (1, 1, 5, 3)
    d = report.to_dict()
    assert d == {
        "problems": [p.to_dict() for p in PROBLEMS],
        "notes": ["ran 2 code snippets on cpu, torch test"],
        "files": 2,
        "cards": 7,
    }
    back = CheckReport.from_dict(json.loads(json.dumps(d)))
    assert back.problems == report.problems and back.notes == report.notes
    assert [Problem.from_dict(p.to_dict()) for p in PROBLEMS] == PROBLEMS


# -- the schemas' sources accept the real outputs ---------------------------------------------
SCHEMA_OF = {
    "stats": "stats.schema.json",
    "stats-empty": "stats.schema.json",
    "week-1": "stats-week.schema.json",
    "week-3": "stats-week.schema.json",
    "prune": "prune.schema.json",
    "card-info": "card-info.schema.json",
    "card-info-orphan": "card-info.schema.json",
    "list": "list.schema.json",
    "check": "check.schema.json",
}


@pytest.mark.parametrize("name", sorted(SCHEMA_OF))
def test_the_schema_types_accept_the_json_output(name: str) -> None:
    """Strict validation (no coercion) of the printed JSON against the TypedDict each schema is
    generated from; and every key the output has is a property in the schema file."""
    pytest.importorskip("pydantic")
    from pydantic import TypeAdapter

    spec = importlib_script().REPORTS[SCHEMA_OF[name]][0]
    value = json.loads(as_printed(json_of(name, reports()[name])))
    TypeAdapter(importlib_script()._type(spec)).validate_python(value, strict=True)
    schema = json.loads((ROOT / "schemas" / SCHEMA_OF[name]).read_text(encoding="utf-8"))
    top = schema["items"] if schema.get("type") == "array" else schema
    if "$ref" in top:
        top = schema["$defs"][top["$ref"].rsplit("/", 1)[1]]
    for item in value if isinstance(value, list) else [value]:
        assert set(item) == set(top["properties"]) == set(top["required"])


def test_a_missing_key_is_rejected_by_the_schema_types() -> None:
    """The validation above can fail: the stats type rejects a report with a block missing."""
    from pydantic import TypeAdapter, ValidationError

    value = json.loads(as_printed(stats_report().to_dict()))
    del value["forecast"]["total_due"]
    spec = importlib_script().REPORTS["stats.schema.json"][0]
    with pytest.raises(ValidationError):
        TypeAdapter(importlib_script()._type(spec)).validate_python(value, strict=True)


def importlib_script() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "write_schema", ROOT / "scripts" / "write_schema.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- light imports ----------------------------------------------------------------------------
def test_report_modules_import_neither_pydantic_schemas_nor_rapidfuzz() -> None:
    """`dlcards list` start-up: the list rows, the stats and card info need no rapidfuzz (the
    prune's similarity) and never build pydantic schemas at run time."""
    code = (
        "import sys\n"
        "import dlcards.insights.listing, dlcards.insights.stats, dlcards.insights.cardinfo\n"
        "import dlcards.insights.prune\n"
        "bad = [m for m in ('rapidfuzz', 'pydantic.type_adapter') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(ROOT),
    )
    assert out.stdout.strip() == ""
