"""Fitting FSRS-6 parameters to a learner's own reviews, with the optimiser Anki uses. Pure.

Only this package imports `fsrs_rs_python` (fsrs-rs, the Rust FSRS that Anki's optimiser is):

* **Training items** are built exactly as Anki builds them (rslib `scheduler/fsrs/params.rs`):
  each card's rated reviews in time order, `delta_t` counted in 24-hour blocks back from the day
  cutoff of the moment of the computation (`dlcards.review.anki_days`); one item per review that
  falls on a later day than the card's previous one, holding the card's history up to it. Items
  are ordered by the time of their last review (the time-series split needs that order).
* **Fitting** is fsrs-rs `compute_parameters` on those items, nothing added: the result equals
  what Anki (or `fsrs_rs_python.FSRS([]).compute_parameters`) fits on the same history.
* **Scoring** is out of sample: fsrs-rs `evaluate_with_time_series_splits` refits on each
  growing prefix (5 folds over 6 time segments) and predicts the next segment; the parameters in
  use are scored on exactly the same test segments with the same metrics (log loss and fsrs-rs's
  RMSE over (delta_t, length, lapses) bins, every item weight 1), so the two are comparable.
  In-sample scores (fsrs-rs `evaluate`, recency-weighted) are reported too.
* The fitted parameters are better when their time-series log loss is lower.

The data minimum is `MIN_ITEMS` training items: fewer and fsrs-rs fits only the four initial
stabilities (below 64) or nothing (below 8), and the split has too few items per segment to
tell two parameter sets apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dlcards.core.errors import DlcardsError
from dlcards.review.anki_days import delta_ts

MIN_ITEMS = 400
N_SPLITS = 5
N_PARAMETERS = 21

Review = tuple[int, int]  # (rating 1..4, delta_t days)
Item = tuple[Review, ...]


class NotEnoughData(DlcardsError):
    """Too few reviews to fit parameters (`needed` more training items)."""

    def __init__(self, have: int, minimum: int):
        need = minimum - have
        super().__init__(
            f"not enough reviews to optimise: {have} of the {minimum} needed "
            f"({need} more review{'s' if need != 1 else ''} on a later day than the card's "
            "previous review)",
            hint="keep reviewing with the default parameters and run `dlcards optimize` again "
            "later, or bring your history from Anki with `dlcards import-reviews FILE`",
        )
        self.have = have
        self.minimum = minimum
        self.needed = need


class BadParameters(DlcardsError):
    """A parameter list that is not a valid FSRS parameter set."""


# ---- training data -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingData:
    """The optimiser's input: items in time order, and what they were made from."""

    items: tuple[Item, ...]
    reviews: int  # rated reviews in the histories
    cards: int  # cards with at least one review

    def __len__(self) -> int:
        return len(self.items)


def training_data(
    histories: Mapping[str, Sequence[tuple[datetime, int]]], cutoff: datetime
) -> TrainingData:
    """Anki's FSRS training items from each card's `(time, rating)` reviews.

    `cutoff`: the day cutoff of the moment of the computation (`anki_days.next_day_at(now,
    calendar)`). Every review must be a rated one that counts (1..4; no manual entries).
    """
    dated: list[tuple[datetime, int, Item]] = []
    reviews = cards = 0
    for n, (_, history) in enumerate(sorted(histories.items())):
        ordered = sorted(history, key=lambda r: r[0])
        if not ordered:
            continue
        cards += 1
        reviews += len(ordered)
        deltas = delta_ts([t for t, _ in ordered], cutoff)
        so_far: list[Review] = []
        for i, ((when, rating), delta) in enumerate(zip(ordered, deltas, strict=True)):
            so_far.append((int(rating), int(delta)))
            if i >= 1 and delta > 0:
                dated.append((when, n, tuple(so_far)))
    dated.sort(key=lambda d: (d[0], d[1]))
    return TrainingData(tuple(item for _, _, item in dated), reviews, cards)


def _fsrs_items(items: Iterable[Item]) -> list[Any]:
    import fsrs_rs_python as rs  # deferred: only the optimiser and simulator load fsrs-rs

    return [rs.FSRSItem([rs.FSRSReview(r, d) for r, d in item]) for item in items]


# ---- scores --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """How well a parameter set predicts recall: log loss and RMSE(bins), lower is better."""

    log_loss: float
    rmse_bins: float

    def to_dict(self) -> dict[str, float]:
        return {"log_loss": round(self.log_loss, 6), "rmse_bins": round(self.rmse_bins, 6)}


def _r_matrix_index(item: Item) -> tuple[int, int, int]:
    """fsrs-rs `FSRSItem::r_matrix_index`: the (delta_t, length, lapses) bin of an item."""
    delta_t = item[-1][1]
    dt_bin = round(2.48 * 3.62 ** math.floor(math.log(delta_t, 3.62)) * 100.0)
    length = sum(1 for _, d in item if d > 0) + 1.0
    len_bin = round(1.99 * 1.89 ** math.floor(math.log(length, 1.89)))
    lapses = sum(1 for r, d in item[:-1] if r == 1 and d > 0)
    if lapses == 0:
        return dt_bin, len_bin, 0
    return dt_bin, len_bin, round(1.65 * 1.73 ** math.floor(math.log(lapses, 1.73)))


def split_test_items(items: Sequence[Item], n_splits: int = N_SPLITS) -> list[Item]:
    """The items fsrs-rs's time-series split predicts (every segment after the first)."""
    segment = len(items) // (n_splits + 1)
    return list(items[segment:]) if segment > 0 else []


def predictions(parameters: Sequence[float], items: Sequence[Item]) -> list[float]:
    """Each item's predicted recall of its last review from the reviews before it."""
    import fsrs_rs_python as rs

    w = check_parameters(parameters)
    model = rs.FSRS(list(w))
    histories = _fsrs_items(item[:-1] for item in items)
    states = model.memory_state_batch(histories)
    decay = -w[20]
    factor = 0.9 ** (1 / decay) - 1
    return [
        (1 + factor * item[-1][1] / state.stability) ** decay
        for item, state in zip(items, states, strict=True)
    ]


def score_of(predicted: Sequence[float], items: Sequence[Item]) -> Score:
    """Log loss and fsrs-rs's RMSE(bins), every item weighing 1 (as in the time-series split)."""
    eps = 1e-7
    loss = 0.0
    bins: dict[tuple[int, int, int], list[float]] = {}
    for p, item in zip(predicted, items, strict=True):
        y = 1.0 if item[-1][0] > 1 else 0.0
        q = min(max(p, eps), 1 - eps)
        loss -= y * math.log(q) + (1 - y) * math.log(1 - q)
        b = bins.setdefault(_r_matrix_index(item), [0.0, 0.0, 0.0])
        b[0] += p
        b[1] += y
        b[2] += 1
    n = len(items)
    rmse = math.sqrt(sum((pp / c - yy / c) ** 2 * c for pp, yy, c in bins.values()) / n)
    return Score(loss / n, rmse)


def split_score(parameters: Sequence[float], items: Sequence[Item]) -> Score:
    """Fixed parameters scored on the test segments of fsrs-rs's time-series split."""
    test = split_test_items(items)
    if not test:
        raise NotEnoughData(len(items), N_SPLITS + 1)
    return score_of(predictions(parameters, test), test)


def in_sample_score(
    parameters: Sequence[float], items: Sequence[Item], converted: list[Any] | None = None
) -> Score:
    """fsrs-rs `evaluate` on all items (recency-weighted, in sample). `converted`: the items
    already as fsrs-rs `FSRSItem`s."""
    import fsrs_rs_python as rs

    fsrs_items = converted if converted is not None else _fsrs_items(items)
    ev = rs.FSRS(list(check_parameters(parameters))).evaluate(fsrs_items)
    return Score(float(ev.log_loss), float(ev.rmse_bins))


# ---- fitting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters, and how they and the parameters in use predict the learner's memory."""

    parameters: tuple[float, ...]
    current: tuple[float, ...]
    fitted_score: Score  # time-series split: refit on each prefix, predict the next segment
    current_score: Score  # the parameters in use on the same test segments
    fitted_in_sample: Score
    current_in_sample: Score
    items: int
    test_items: int
    reviews: int
    cards: int

    @property
    def better(self) -> bool:
        """The fitted parameters predict the held-out reviews better (lower log loss)."""
        return self.fitted_score.log_loss < self.current_score.log_loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": [round(w, 6) for w in self.parameters],
            "current": [round(w, 6) for w in self.current],
            "time_series_split": {
                "splits": N_SPLITS,
                "test_items": self.test_items,
                "fitted": self.fitted_score.to_dict(),
                "current": self.current_score.to_dict(),
            },
            "in_sample": {
                "fitted": self.fitted_in_sample.to_dict(),
                "current": self.current_in_sample.to_dict(),
            },
            "items": self.items,
            "reviews": self.reviews,
            "cards": self.cards,
            "better": self.better,
        }


def compute_parameters(
    items: Sequence[Item],
    num_relearning_steps: int | None = None,
    converted: list[Any] | None = None,
) -> tuple[float, ...]:
    """fsrs-rs `compute_parameters` on the items (Anki's optimiser, its defaults)."""
    import fsrs_rs_python as rs

    fitted = rs.FSRS([]).compute_parameters(
        converted if converted is not None else _fsrs_items(items),
        num_relearning_steps=num_relearning_steps,
    )
    return tuple(float(w) for w in fitted)


def fit(
    data: TrainingData,
    current: Sequence[float] | None = None,
    *,
    num_relearning_steps: int | None = None,
    min_items: int = MIN_ITEMS,
) -> FitResult:
    """Fit parameters to `data` and score them against `current` (None: the FSRS-6 defaults).

    Raises NotEnoughData below `min_items` training items."""
    import fsrs_rs_python as rs

    if len(data.items) < max(min_items, N_SPLITS + 1):
        raise NotEnoughData(len(data.items), max(min_items, N_SPLITS + 1))
    cur = check_parameters(current if current is not None else default_parameters())
    items = list(data.items)
    converted = _fsrs_items(items)
    try:
        fitted = compute_parameters(items, num_relearning_steps, converted)
        ts = rs.evaluate_with_time_series_splits(
            converted, num_relearning_steps=num_relearning_steps
        )
    except Exception as exc:  # fsrs-rs reports bad input as ValueError / RuntimeError
        raise DlcardsError(
            f"fsrs-rs could not fit parameters to this history: {exc}",
            hint="run `dlcards doctor`; if the review log is sound, report this as a bug",
        ) from None
    return FitResult(
        parameters=fitted,
        current=cur,
        fitted_score=Score(float(ts.log_loss), float(ts.rmse_bins)),
        current_score=split_score(cur, items),
        fitted_in_sample=in_sample_score(fitted, items, converted),
        current_in_sample=in_sample_score(cur, items, converted),
        items=len(items),
        test_items=len(split_test_items(items)),
        reviews=data.reviews,
        cards=data.cards,
    )


# ---- parameter sets ------------------------------------------------------------------------


def default_parameters() -> tuple[float, ...]:
    """The FSRS-6 default parameters (fsrs-rs's, the same as Anki's)."""
    import fsrs_rs_python as rs

    return tuple(float(w) for w in rs.DEFAULT_PARAMETERS)


def check_parameters(values: Sequence[float]) -> tuple[float, ...]:
    """The 21 FSRS-6 parameters of `values`; Anki's 17 (FSRS-4.5) or 19 (FSRS-5) are filled in
    as Anki does. Raises BadParameters for anything else."""
    import fsrs_rs_python as rs

    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise BadParameters("FSRS parameters must be numbers") from None
    if len(numbers) not in (17, 19, N_PARAMETERS):
        raise BadParameters(
            f"FSRS parameters: expected 21 numbers (or Anki's older 17 or 19), got {len(numbers)}",
            hint="copy the parameters from Anki's deck options (FSRS section), e.g. 0.212, 1.2931, ...",
        )
    if not all(math.isfinite(v) for v in numbers):
        raise BadParameters("FSRS parameters must be finite numbers")
    try:
        filled = rs.check_and_fill_parameters(numbers)
    except Exception as exc:  # fsrs-rs raises a ValueError-like error with its reason
        raise BadParameters(f"FSRS parameters rejected by fsrs-rs: {exc}") from None
    return tuple(float(w) for w in filled)


def parse_anki_preset(text: str) -> tuple[float, ...]:
    """Parameters as Anki's deck options show them ("0.212, 1.2931, 2.3065, ..."): numbers
    separated by commas and/or white space; brackets are allowed."""
    cleaned = text.strip().strip("[]()").replace(",", " ")
    parts = cleaned.split()
    values = []
    for n, part in enumerate(parts, 1):
        try:
            values.append(float(part))
        except ValueError:
            raise BadParameters(
                f"FSRS parameters: item {n} is {part!r}, not a number",
                hint="paste Anki's parameters as shown in the deck options, e.g. 0.212, 1.2931, ...",
            ) from None
    return check_parameters(values)


def format_anki_preset(parameters: Sequence[float]) -> str:
    """The 21 numbers the way Anki's deck options show them (4 decimals, comma-separated)."""
    return ", ".join(f"{w:.4f}" for w in parameters)
