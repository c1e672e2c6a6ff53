"""The one cache rule (`dlcards.system.cache`): keys carry the code fingerprint and the schema,
loads never raise, a loaded value must have today's shape, writes are atomic, and a result
that depended on the machine's speed is never stored."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dlcards.system import cache as cache_mod
from dlcards.system import runcache
from dlcards.system.cache import (
    Cache,
    Schema,
    complete,
    instance_of,
    speed_dependent,
)


@dataclass
class Item:
    name: str
    size: int


@dataclass
class Box:
    items: list[Item]
    label: str = ""


def make(tmp_path: Path, version: str = "1", **kw: Any) -> Cache[Any]:
    return Cache(Schema("test", version), instance_of(Box), folder=tmp_path / "c", **kw)


def box() -> Box:
    return Box([Item("a", 1), Item("b", 2)], "x")


def test_round_trip_by_key_and_by_slot(tmp_path: Path) -> None:
    c = make(tmp_path)
    key = c.key("inputs", b"\x00bytes")
    assert c.get(key) is None
    c.put(key, box())
    assert c.get(key) == box()
    c.put(key, box(), slot="one")
    assert c.get(key, slot="one") == box()
    assert c.get(c.key("other"), slot="one") is None  # the slot's header names its key
    assert not list((tmp_path / "c").rglob("*.tmp"))  # written through a renamed temp file


def test_keys_carry_the_code_fingerprint_and_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make(tmp_path)
    key = c.key("same inputs")
    assert key != make(tmp_path, version="2").key("same inputs")
    assert key != Cache(Schema("other", "1"), instance_of(Box)).key("same inputs")
    c.put(key, box())
    c.put(key, box(), slot="s")
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "another dlcards")
    assert c.key("same inputs") != key
    assert c.get(c.key("same inputs")) is None
    # even asked with the old key, an entry written by other code is not served
    assert c.get(key) is None and c.get(key, slot="s") is None


def test_another_schema_version_never_reads_a_slot(tmp_path: Path) -> None:
    make(tmp_path, version="1").put("k", box(), slot="s")
    assert make(tmp_path, version="2").get("k", slot="s") is None


class Vanishing:
    """Stands for a class of an older dlcards that no longer exists."""


def _unpicklable_payloads() -> list[bytes]:
    gone = pickle.dumps(Vanishing())
    renamed = gone.replace(b"Vanishing", b"Vanished_")  # AttributeError on load
    no_module = gone.replace(b"test_cache", b"nomodule__")  # ModuleNotFoundError on load
    return [renamed, no_module, b"", b"\x80\x05garbage", gone[: len(gone) // 2]]


@pytest.mark.parametrize("payload", _unpicklable_payloads())
def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path: Path, payload: bytes) -> None:
    c = make(tmp_path)
    c.put("k", box())
    path = c.path("k")
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    path.write_bytes(header + payload)
    assert c.get("k") is None


def test_unreadable_entries_are_misses(tmp_path: Path) -> None:
    c = make(tmp_path)
    c.put("k", box())
    path = c.path("k")
    path.write_bytes(path.read_bytes()[:20])  # truncated inside the header
    assert c.get("k") is None
    path.unlink()
    path.mkdir()  # a folder where the file should be
    assert c.get("k") is None
    c.put("k", box())  # cannot be written: only costs time, never raises
    blocked = make(tmp_path / "blocked")
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "c").write_text("a file where the folder should be")
    blocked.put("k", box())
    assert blocked.get("k") is None


def test_a_value_of_the_wrong_type_or_shape_is_a_miss(tmp_path: Path) -> None:
    c = make(tmp_path)
    c.put("k", {"items": []})  # not a Box
    assert c.get("k") is None
    old = box()
    del old.items[0].__dict__["size"]  # an Item pickled before `size` existed
    c.put("k", old)
    assert c.get("k") is None
    old = box()
    del old.__dict__["label"]
    c.put("k", old)
    assert c.get("k") is None


def test_complete_walks_models_lists_and_dicts() -> None:
    from dlcards.system.config import Settings

    assert complete(box()) and complete({"a": [box(), (box(),)]})
    stale = box()
    del stale.items[1].__dict__["name"]
    assert not complete({"a": [stale]})
    settings = Settings()
    assert complete(settings)
    old = settings.model_copy()
    state = dict(old.__dict__)
    del state["backups_keep"]
    object.__setattr__(old, "__dict__", state)
    assert not complete(old)


def test_an_uncacheable_result_is_not_stored_and_forgets_the_old_one(tmp_path: Path) -> None:
    c = make(tmp_path)
    c.put("k", box(), cacheable=False)
    assert c.get("k") is None and not c.path("k").exists()
    c.put("k", box())
    c.put("k", box(), cacheable=False)
    assert c.get("k") is None
    c.put("k", box(), slot="s")
    c.put("k", box(), slot="s", cacheable=False)
    assert c.get("k", slot="s") is None


def test_the_off_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path).put("k", box())
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "parse, test")
    off = make(tmp_path)
    assert off.get("k") is None
    off.put("j", box())
    assert not off.path("j").exists()
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "all")
    assert make(tmp_path).get("k") is None
    monkeypatch.setenv("DLCARDS_CACHE_OFF", "parse")
    assert make(tmp_path).get("k") == box()
    assert make(tmp_path, enabled=False).get("k") is None


def test_prune_keeps_the_newest_entries(tmp_path: Path) -> None:
    import os

    c = make(tmp_path)
    for i in range(5):
        c.put(f"{i:02d}key", box())
        os.utime(c.path(f"{i:02d}key"), ns=(i * 10**9, i * 10**9))
    c.put("k", box(), slot="s")
    c.prune(2)
    assert [c.get(f"{i:02d}key") is not None for i in range(5)] == [False] * 3 + [True] * 2
    assert c.get("k", slot="s") is not None


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ({"code": "code-timeout", "message": "took longer than 10 s"}, True),
        ({"code": "proof-budget", "message": "not proved within 3 s of CPU time"}, True),
        ({"code": "claim-undecided", "message": "could not be evaluated"}, True),
        ({"code": "claim-unproved", "message": "x", "speed_dependent": True}, True),
        ({"code": "claim-unproved", "message": "holds at 12 random points, not proved"}, False),
        ({"code": "claim-false", "message": "claim is false at x=1.5"}, False),
        ({"code": "shape-error", "message": "(N, D) @ (N, D)"}, False),
    ],
)
def test_what_depends_on_the_machines_speed(problem: dict[str, Any], expected: bool) -> None:
    assert speed_dependent(problem) is expected


def test_a_run_with_a_time_out_is_not_remembered() -> None:
    data = {"problems": [], "notes": [], "files": 1, "cards": 1}
    runcache.save("a" * 64, data)
    assert runcache.load("a" * 64) == data
    timed_out = {
        "path": "decks/a.md",
        "line": 3,
        "severity": "error",
        "code": "code-timeout",
        "message": "the snippet did not finish within 10 s",
        "hint": None,
    }
    runcache.save("b" * 64, data | {"problems": [timed_out]})
    assert runcache.load("b" * 64) is None


def test_run_entries_are_json_with_a_header(dlcards_home: Path) -> None:
    runcache.save("c" * 64, {"problems": [], "notes": ["n"], "files": 0, "cards": 0})
    [entry] = (dlcards_home / "cache" / "runs").rglob("*.json")
    header, payload = entry.read_bytes().split(b"\n", 1)
    assert json.loads(header)[:2] == ["dlcards-cache", "runs"]
    assert json.loads(payload)["notes"] == ["n"]


def test_the_first_write_of_a_new_code_version_deletes_the_old_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "c"
    (folder / "ab").mkdir(parents=True)  # the layout before issue 10: shards of old entries
    (folder / "ab" / "ab12.json").write_text("{}")
    (folder / "notes").mkdir()  # not a cache folder: left alone
    monkeypatch.setattr(cache_mod, "_SWEPT", set())
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "0" * 64)
    c = make(tmp_path)
    c.put("k", box())
    old = c.path("k")
    assert old.is_file() and not (folder / "ab").exists() and (folder / "notes").is_dir()
    monkeypatch.setattr(cache_mod, "_SWEPT", set())
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "1" * 64)
    assert c.get("k") is None  # reading deletes nothing
    assert old.is_file()
    c.put("k", box())
    assert not old.exists() and c.get("k") == box()
