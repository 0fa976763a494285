"""Population stability index against hand-computed values, and the monitor end to end."""

from __future__ import annotations

import math

import pytest

from lendbridge.scoring import frames
from lendbridge.scoring.dataset import TrainingData
from lendbridge.scoring.monitor import Binner, band, monitor, psi, score_edges, shares
from lendbridge.scoring.scorer import ScorecardScorer
from lendbridge.scoring.training import TrainingRun


def test_psi_by_hand() -> None:
    expected = [0.25, 0.25, 0.5]
    actual = [0.2, 0.3, 0.5]
    by_hand = (0.2 - 0.25) * math.log(0.2 / 0.25) + (0.3 - 0.25) * math.log(0.3 / 0.25)
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert psi(expected, actual) == pytest.approx(0.020273, abs=1e-6)
    assert psi(expected, expected) == 0.0


def test_psi_floors_empty_bins() -> None:
    # an empty bin counts as 0.0001: (0.5 - 0.0001) ln(0.5 / 0.0001) + (0.5 - 1) ln(0.5)
    expected = [0.0, 1.0]
    actual = [0.5, 0.5]
    by_hand = (0.5 - 0.0001) * math.log(0.5 / 0.0001) + (0.5 - 1.0) * math.log(0.5 / 1.0)
    assert psi(expected, actual) == pytest.approx(by_hand)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "stable"), (0.0999, "stable"), (0.1, "watch"), (0.25, "watch"), (0.2501, "shift")],
)
def test_bands(value: float, expected: str) -> None:
    assert band(value) == expected


def test_binner_and_shares() -> None:
    binner = Binner("age", True, edges=(25.0, 40.0))
    assert [binner.index(v) for v in (18, 25, "39", 40, None, "N/A")] == [0, 1, 1, 2, 4, 4]
    colours = Binner("colour", False, categories={"red": 0, "blue": 0, "green": 1})
    assert [colours.index(v) for v in ("red", "blue", "green", "pink", "")] == [0, 0, 1, 2, 3]
    assert shares([0, 0, 1, 3], 4) == [0.5, 0.25, 0.0, 0.25]
    assert score_edges(list(range(100))) == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]


def test_training_sample_is_stable_and_a_shifted_one_is_not(
    german_run: TrainingRun, german_data: TrainingData
) -> None:
    card = german_run.models[0]
    scorer = ScorecardScorer(card.artifact)
    rows = frames.records(german_data)
    same = monitor(scorer, card.profile, rows)
    assert same.score.psi == pytest.approx(0.0, abs=1e-12)
    assert all(c.psi == pytest.approx(0.0, abs=1e-12) for c in same.characteristics)
    # the same applicants asking for loans three times as long
    longer = [{**r, "duration_in_month": float(r["duration_in_month"]) * 3} for r in rows]  # type: ignore[arg-type]
    shifted = monitor(scorer, card.profile, longer)
    assert shifted.characteristics[0].name == "duration_in_month"
    assert shifted.characteristics[0].band == "shift"
    assert shifted.score.psi > 0.1
    assert shifted.characteristics[-1].psi == pytest.approx(0.0, abs=1e-12)
    # the challenger's profile bins the raw features itself
    gbm = german_run.models[1]
    from lendbridge.scoring.gbm import GbmScorer

    assert monitor(GbmScorer(gbm.artifact), gbm.profile, rows).score.psi == pytest.approx(
        0.0, abs=1e-12
    )
