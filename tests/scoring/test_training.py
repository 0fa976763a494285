"""Training on German credit: cross-validated metrics, and the exported models scoring
exactly as the libraries that fitted them."""

from __future__ import annotations

import numpy as np
import pytest

from lendbridge.scoring import frames
from lendbridge.scoring.dataset import TrainingData
from lendbridge.scoring.gbm import GbmScorer
from lendbridge.scoring.scorer import ScorecardScorer
from lendbridge.scoring.spec import ColumnKind
from lendbridge.scoring.training import TrainingRun


def _metrics(run: TrainingRun, family: str) -> dict[str, object]:
    return next(m.metrics for m in run.models if m.family == family)


def test_scorecard_cv_auc_meets_the_target(german_run: TrainingRun) -> None:
    m = _metrics(german_run, "scorecard")
    assert m["folds"] == 5
    assert len(m["fold_auc"]) == 5
    assert m["auc"] >= 0.78  # type: ignore[operator]


@pytest.mark.parametrize("family", ["scorecard", "gbm"])
def test_cv_metrics_are_sane(german_run: TrainingRun, family: str) -> None:
    m = _metrics(german_run, family)
    auc, ks, gini, brier = (float(m[k]) for k in ("auc", "ks", "gini", "brier"))  # type: ignore[arg-type]
    assert 0.70 < auc < 0.90
    assert gini == pytest.approx(2 * auc - 1, abs=1e-5)
    assert 0.3 < ks < 0.7
    assert 0.12 < brier < 0.21  # better than the 0.21 of always predicting the 30 % base rate
    table = m["reliability"]
    assert [r["decile"] for r in table] == list(range(1, 11))  # type: ignore[union-attr,index]
    assert sum(r["count"] for r in table) == 1000  # type: ignore[union-attr,index]
    observed = [r["observed"] for r in table]  # type: ignore[union-attr,index]
    assert observed[0] < 0.15 < 0.5 < observed[-1]  # riskiest decile mostly bad


def test_scorer_equals_optbinning_on_the_training_rows(
    german_run: TrainingRun, german_data: TrainingData
) -> None:
    card = german_run.models[0]
    x = frames.frame(german_data.columns)
    served = ScorecardScorer(card.artifact)
    ours = served.score_many(frames.records(german_data))
    assert [s for s, _ in ours] == [round(s) for s in card.fitted.score(x)]
    np.testing.assert_allclose([p for _, p in ours], card.fitted.predict_proba(x)[:, 1], rtol=1e-9)


def test_gbm_export_equals_sklearn(german_run: TrainingRun, german_data: TrainingData) -> None:
    boosted = german_run.models[1]
    codes = {
        c.name: frames.category_codes(c)
        for c in german_data.columns
        if c.kind is ColumnKind.CATEGORICAL
    }
    x = frames.matrix(german_data.columns, codes)
    served = GbmScorer(boosted.artifact)
    ours = [p for _, p in served.score_many(frames.records(german_data))]
    np.testing.assert_allclose(ours, boosted.fitted.predict_proba(x)[:, 1], rtol=1e-9)


def test_reasons_are_points_lost_most_first(
    german_run: TrainingRun, german_data: TrainingData
) -> None:
    scorer = ScorecardScorer(german_run.models[0].artifact)
    application = frames.records(german_data)[1]
    result = scorer.score(application)
    lost = [r.points_lost for r in result.reasons]
    assert lost == sorted(lost, reverse=True)
    assert {r.characteristic for r in result.reasons} == set(scorer.names)
    for reason in result.reasons:
        c = next(c for c in scorer.characteristics if c.name == reason.characteristic)
        assert reason.points_lost == c.best - c.points[scorer.bin_of(c, reason.value)]
        assert reason.value == application[reason.characteristic]
    best_total = scorer.base_points + sum(c.best for c in scorer.characteristics)
    assert result.score == round(best_total - sum(lost))


def test_unseen_and_messy_values_at_serving(german_run: TrainingRun) -> None:
    scorer = ScorecardScorer(german_run.models[0].artifact)
    duration = next(c for c in scorer.characteristics if c.name == "duration_in_month")
    purpose = next(c for c in scorer.characteristics if c.name == "purpose")
    assert scorer.bin_of(duration, "N/A") == duration.missing_bin
    assert scorer.bin_of(duration, "12") == scorer.bin_of(duration, 12.0)
    assert scorer.bin_of(duration, " 1,2 ") == duration.missing_bin  # not a number
    assert scorer.bin_of(purpose, "a spaceship") == purpose.missing_bin
    result = scorer.score({})  # every characteristic missing still scores
    assert 0.0 < result.probability < 1.0


def test_gbm_reasons(german_run: TrainingRun, german_data: TrainingData) -> None:
    scorer = GbmScorer(german_run.models[1].artifact)
    result = scorer.score(frames.records(german_data)[1])
    lost = [r.points_lost for r in result.reasons]
    assert lost == sorted(lost, reverse=True)
    assert lost[0] > 0
    assert all(x >= 0 for x in lost)
