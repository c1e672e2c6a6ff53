"""The optimiser on the shipped real review log (fsrs-rs, Anki's optimiser): fitted better than
the defaults out of sample, the time-series split used, parameters equal to fsrs-rs's own."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime

import pytest

rs = pytest.importorskip("fsrs_rs_python")

from tests.conftest import REVIEW_LOG  # noqa: E402

from dlcards.core.calendar import StudyCalendar  # noqa: E402
from dlcards.review import optimizer as opt  # noqa: E402
from dlcards.review.anki_days import next_day_at  # noqa: E402


def _histories() -> dict[str, list[tuple[datetime, int]]]:
    out: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    with REVIEW_LOG.open() as fh:
        for row in csv.DictReader(fh):
            out[row["card_id"]].append(
                (datetime.fromisoformat(row["review_time"]), int(row["review_rating"]))
            )
    return dict(out)


@pytest.fixture(scope="module")
def data() -> opt.TrainingData:
    hist = _histories()
    last = max(t for h in hist.values() for t, _ in h)
    return opt.training_data(hist, next_day_at(last, StudyCalendar()))


@pytest.fixture(scope="module")
def result(data: opt.TrainingData) -> opt.FitResult:
    return opt.fit(data)


def _independent_items() -> list[list[tuple[int, int]]]:
    """The same items, built here from the rule (24-hour blocks back from the day cutoff)."""
    hist = _histories()
    last = max(t for h in hist.values() for t, _ in h)
    cutoff = next_day_at(last, StudyCalendar())
    dated = []
    for n, (_, h) in enumerate(sorted(hist.items())):
        h = sorted(h)
        back = [int((cutoff - t).total_seconds()) // 86400 for t, _ in h]
        reviews: list[tuple[int, int]] = []
        for i, (t, rating) in enumerate(h):
            delta = 0 if i == 0 else back[i - 1] - back[i]
            reviews.append((rating, delta))
            if i and delta > 0:
                dated.append((t, n, list(reviews)))
    dated.sort(key=lambda d: (d[0], d[1]))
    return [d[2] for d in dated]


def test_training_items_follow_anki(data: opt.TrainingData) -> None:
    assert data.reviews == 12580 and data.cards == 1205
    assert [list(i) for i in data.items] == _independent_items()


def test_parameters_equal_fsrs_rs_compute_parameters(result: opt.FitResult) -> None:
    items = [rs.FSRSItem([rs.FSRSReview(r, d) for r, d in i]) for i in _independent_items()]
    theirs = rs.FSRS([]).compute_parameters(items)
    assert len(result.parameters) == 21
    assert max(abs(a - b) for a, b in zip(result.parameters, theirs, strict=True)) <= 1e-4


def test_fitted_beat_defaults_out_of_sample(result: opt.FitResult) -> None:
    assert result.current == opt.default_parameters()
    assert result.better
    assert result.fitted_score.log_loss < result.current_score.log_loss
    assert result.fitted_score.rmse_bins < result.current_score.rmse_bins
    assert result.fitted_score.log_loss <= 0.455
    assert result.fitted_in_sample.log_loss < result.current_in_sample.log_loss


def test_time_series_split_is_what_is_scored(data: opt.TrainingData, result: opt.FitResult) -> None:
    items = list(data.items)
    fsrs_items = [rs.FSRSItem([rs.FSRSReview(r, d) for r, d in i]) for i in items]
    ts = rs.evaluate_with_time_series_splits(fsrs_items)
    assert result.fitted_score.log_loss == pytest.approx(ts.log_loss, abs=1e-6)
    # refit on each prefix and predict the next segment with our own scoring: the same figures,
    # so the current parameters are scored on exactly fsrs-rs's test segments
    seg = len(items) // 6
    preds: list[float] = []
    test: list[opt.Item] = []
    for k in range(5):
        lo, hi = (k + 1) * seg, len(items) if k == 4 else (k + 2) * seg
        w = opt.compute_parameters(items[:lo])
        preds += opt.predictions(w, items[lo:hi])
        test += items[lo:hi]
    mine = opt.score_of(preds, test)
    assert mine.log_loss == pytest.approx(ts.log_loss, abs=1e-5)
    assert mine.rmse_bins == pytest.approx(ts.rmse_bins, abs=1e-5)
    assert result.test_items == len(items) - seg == len(test)
    # out of sample differs from in sample
    assert result.current_score.log_loss != pytest.approx(
        result.current_in_sample.log_loss, abs=1e-3
    )


def test_data_minimum_says_how_many_more(data: opt.TrainingData) -> None:
    few = opt.TrainingData(data.items[:150], 300, 40)
    with pytest.raises(opt.NotEnoughData) as info:
        opt.fit(few)
    assert info.value.needed == opt.MIN_ITEMS - 150 == 250
    assert "150 of the 400 needed (250 more reviews" in info.value.message


def test_same_day_reviews_make_no_item() -> None:
    from datetime import UTC

    t = [datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 9, 10, tzinfo=UTC)]
    t.append(datetime(2026, 1, 7, 8, tzinfo=UTC))
    cutoff = datetime(2026, 1, 10, 4, tzinfo=UTC)
    d = opt.training_data({"a": [(t[0], 1), (t[1], 3), (t[2], 3)]}, cutoff)
    assert d.items == (((1, 0), (3, 0), (3, 2)),)


def test_anki_preset_round_trip_and_errors() -> None:
    w = opt.default_parameters()
    text = opt.format_anki_preset(w)
    assert text.count(",") == 20
    back = opt.parse_anki_preset(f"[{text}]")
    assert max(abs(a - b) for a, b in zip(back, w, strict=True)) < 1e-4
    with pytest.raises(opt.BadParameters, match=r"expected 21 numbers .* got 3"):
        opt.parse_anki_preset("1, 2, 3")
    with pytest.raises(opt.BadParameters, match="item 2 is 'x'"):
        opt.parse_anki_preset("0.2 x")
