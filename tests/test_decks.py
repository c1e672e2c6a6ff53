"""The shipped decks: they pass `dlcards check` cleanly, cover the study plan, and hold no duplicates.

The CLI test runs the real `dlcards check` in a subprocess (formulas, shapes and, where torch is
installed, the code cards). The coverage and duplicate tests read the collection in-process
(parsing only), so they are fast.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from dlcards.system.decks import Decks, read_decks

ROOT = Path(__file__).resolve().parent.parent
DECKS = ROOT / "decks"

MIN_CARDS = 1600  # issue 13: the five study plans covered (docs/curriculum.md)
MIN_CARDS_PER_WEEK = 40
PLAN_WEEKS = range(1, 21)  # the merged curriculum's study weeks (docs/curriculum.md)
MIN_BLOCKS = {"check": 240, "shapes": 100, "torch": 250}  # issue 12: blocks bound to the card text
DUPLICATE_RATIO = 95.0
MIN_QUESTION_CHARS = 12  # shorter normalised questions are too generic to compare fuzzily

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _dlcards(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLCARDS_")}
    env["DLCARDS_HOME"] = str(home)
    env["TZ"] = "UTC"
    return subprocess.run(
        [sys.executable, "-m", "dlcards", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def col() -> Decks:
    return read_decks(ROOT, use_cache=False)


# --- dlcards check ------------------------------------------------------------------------------


def test_check_shipped_decks_has_no_errors_or_warnings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    args = ["check", "--json", "decks/"]
    if HAS_TORCH:
        trusted = _dlcards(["trust"], home)
        assert trusted.returncode == 0, (
            f"`dlcards trust` failed:\n{trusted.stdout}\n{trusted.stderr}"
        )
    else:
        args.insert(1, "--no-exec")
    result = _dlcards(args, home)
    assert result.returncode in (0, 1), f"dlcards check crashed:\n{result.stderr}"
    problems = json.loads(result.stdout or "[]")
    shown = (
        "\n".join(
            f"{p.get('path')}:{p.get('line')}: {p.get('severity')}: {p.get('message')}"
            for p in problems
        )
        or result.stderr
    )
    assert problems == [], f"dlcards check found {len(problems)} problem(s):\n{shown}"
    assert result.returncode == 0, result.stderr


# --- coverage -----------------------------------------------------------------------------------


def test_enough_cards_in_all(col: Decks) -> None:
    assert len(col.cards) >= MIN_CARDS, f"only {len(col.cards)} cards in decks/ (want {MIN_CARDS})"


@pytest.mark.parametrize("week", PLAN_WEEKS)
def test_each_plan_week_has_enough_cards(col: Decks, week: int) -> None:
    n = sum(1 for card in col.cards if card.note.meta.week == week)
    assert n >= MIN_CARDS_PER_WEEK, f"week {week} has {n} cards (want {MIN_CARDS_PER_WEEK})"


@pytest.mark.parametrize("kind", sorted(MIN_BLOCKS))
def test_enough_checked_blocks(col: Decks, kind: str) -> None:
    n = sum(1 for note in col.notes for block in note.blocks if block.kind == kind)
    assert n >= MIN_BLOCKS[kind], f"only {n} `{kind}` blocks (want {MIN_BLOCKS[kind]})"


def test_every_card_id_is_pinned(col: Decks) -> None:
    loose = [f"{note.path}:{note.line}" for note in col.notes if not note.id_explicit]
    assert not loose, "cards without a pinned id (run `dlcards fix decks/`):\n" + "\n".join(loose)


def test_ids_are_unique(col: Decks) -> None:
    counts = Counter(card.id for card in col.cards)
    assert [i for i, n in counts.items() if n > 1] == []


FRONT_MATTER_RE = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _front_matter(path: Path) -> dict[str, object]:
    m = FRONT_MATTER_RE.match(path.read_text(encoding="utf-8"))
    assert m, f"{path.relative_to(ROOT)}: no front matter"
    data = yaml.safe_load(m.group(1))
    assert isinstance(data, dict), f"{path.relative_to(ROOT)}: front matter is not a mapping"
    return data


def test_every_file_has_week_topic_tags() -> None:
    files = sorted(DECKS.rglob("*.md"))
    assert files, "no deck files"
    for path in files:
        meta = _front_matter(path)
        where = path.relative_to(ROOT)
        week, topic = meta.get("week"), meta.get("topic")
        assert isinstance(week, int) and week >= 1, f"{where}: week missing"
        assert isinstance(topic, str) and topic, f"{where}: topic missing"
        tags = meta.get("tags")
        assert isinstance(tags, list) and tags, f"{where}: tags missing"
        assert all(isinstance(t, str) and not re.search(r"\s", t) for t in tags), (
            f"{where}: bad tag"
        )


def test_requires_name_existing_topics() -> None:
    metas = {path: _front_matter(path) for path in sorted(DECKS.rglob("*.md"))}
    topics = {m["topic"] for m in metas.values()}
    for path, meta in metas.items():
        requires = meta.get("requires") or []
        assert isinstance(requires, list), f"{path.relative_to(ROOT)}: requires is not a list"
        missing = set(requires) - topics
        assert not missing, f"{path.relative_to(ROOT)}: requires unknown topics {sorted(missing)}"


# --- duplicates ---------------------------------------------------------------------------------

ID_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
PROOF_FENCE_RE = re.compile(r"^```(check|shapes)[ \t]*\n.*?^```[ \t]*$", re.S | re.M)
DELETION_START_RE = re.compile(r"\{\{c\d+::")


def reveal_deletions(text: str) -> str:
    """`{{c1::text::hint}}` -> `text`, matching braces so that LaTeX inside a deletion survives."""
    out: list[str] = []
    pos = 0
    while (m := DELETION_START_RE.search(text, pos)) is not None:
        out.append(text[pos : m.start()])
        depth, i = 0, m.end()
        while i < len(text) and not (depth == 0 and text.startswith("}}", i)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[m.end() : i]
        hint_at = body.rfind("::")
        if hint_at >= 0 and body[:hint_at].count("{") == body[:hint_at].count("}"):
            body = body[:hint_at]
        out.append(body)
        pos = i + 2
    out.append(text[pos:])
    return "".join(out)


def normalise_question(text: str) -> str:
    """The question as a learner reads it: no id comment or proof blocks, deletions shown,
    markdown emphasis and case dropped. Math and code stay: they are part of what is asked."""
    text = ID_COMMENT_RE.sub(" ", text)
    text = PROOF_FENCE_RE.sub(" ", text)
    text = reveal_deletions(text)
    text = re.sub(r"^(Q|C):", " ", text.strip())
    text = re.sub(r"[`*$]", "", text)
    return " ".join(text.lower().split()).strip(" .?")


# Differences in these tokens do not make two questions ask different things.
IGNORABLE_TOKENS = {
    "a",
    "an",
    "the",
    "of",
    "is",
    "are",
    "does",
    "do",
    "what",
    "which",
    "in",
    "on",
    "for",
    "to",
    "and",
    "this",
    "that",
    "it",
    "its",
    ".",
    ",",
    ";",
    ":",
    "?",
    "!",
    "(",
    ")",
}


def _content_tokens(text: str) -> Counter[str]:
    tokens = re.findall(r"\w+|[^\w\s]", text)
    return Counter(
        t[:-1] if len(t) > 3 and t.endswith("s") else t for t in tokens if t not in IGNORABLE_TOKENS
    )


def find_duplicates(questions: list[tuple[str, str]]) -> list[tuple[str, str, float]]:
    """Pairs (location, location, score) of near-identical questions.

    A pair is a duplicate when the normalised texts have a rapidfuzz ratio >= 95 *and* they do
    not differ in any content token. The second condition spares minimal pairs that are
    different cards on purpose: d/dx vs d/dy, `/` vs `//`, macro vs micro averaging.
    """
    from rapidfuzz import fuzz

    normalised = [(where, normalise_question(q)) for where, q in questions]
    items = [
        (where, q, _content_tokens(q)) for where, q in normalised if len(q) >= MIN_QUESTION_CHARS
    ]
    found: list[tuple[str, str, float]] = []
    for i, (where_a, a, tokens_a) in enumerate(items):
        for where_b, b, tokens_b in items[i + 1 :]:
            # ratio >= 95 needs lengths within about 10% of each other: skip hopeless pairs fast
            if abs(len(a) - len(b)) > 0.1 * max(len(a), len(b)) + 1:
                continue
            score = fuzz.ratio(a, b)
            if score >= DUPLICATE_RATIO and tokens_a == tokens_b:
                found.append((where_a, where_b, score))
    return found


def test_duplicate_detector_finds_near_duplicates() -> None:
    questions = [
        ("a:1", "Q: What is the derivative of the sigmoid?"),
        ("b:1", "Q: What is the derivative of the sigmoid? <!-- id: abc -->"),
        ("c:1", "Q: What is the **derivative** of the sigmoid"),
        ("d:1", "Q: What's the derivatives of the sigmoid?"),
        ("e:1", "C: The sigmoid is {{c1::1/(1+e^{-x})}}."),
        ("f:1", "C: The sigmoid is {{c1::1/(1+e^{-x})::a formula}}."),
        ("g:1", "Q: Short?"),
        ("h:1", "Q: Short?"),
    ]
    pairs = {(a, b) for a, b, _ in find_duplicates(questions)}
    assert pairs == {("a:1", "b:1"), ("a:1", "c:1"), ("b:1", "c:1"), ("e:1", "f:1")}


def test_duplicate_detector_spares_minimal_pairs() -> None:
    questions = [
        ("a:1", r"Q: What is $\frac{\partial}{\partial x}\left(x^2 y + y^3\right)$?"),
        ("b:1", r"Q: What is $\frac{\partial}{\partial y}\left(x^2 y + y^3\right)$?"),
        ("c:1", "Q: In multiclass metrics, what is macro averaging?"),
        ("d:1", "Q: In multiclass metrics, what is micro averaging?"),
        ("e:1", "Q: What does this evaluate to?\n```torch\ntorch.tensor([5, 7]) / 2\n```"),
        ("f:1", "Q: What does this evaluate to?\n```torch\ntorch.tensor([5, 7]) // 2\n```"),
    ]
    assert find_duplicates(questions) == []


def test_reveal_deletions_keeps_latex_braces() -> None:
    text = r"$p_i = {{c1::\frac{e^{z_i}}{\sum_j e^{z_j}}::softmax}}$ and {{c2::one-hot}}"
    assert reveal_deletions(text) == r"$p_i = \frac{e^{z_i}}{\sum_j e^{z_j}}$ and one-hot"


def test_no_duplicate_questions_across_files(col: Decks) -> None:
    questions = [(f"{note.path}:{note.line}", note.question) for note in col.notes]
    dups = find_duplicates(questions)
    assert not dups, "near-duplicate questions:\n" + "\n".join(
        f"{a} ~ {b} (ratio {score:.0f})" for a, b, score in dups
    )
