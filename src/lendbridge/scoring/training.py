"""The training run: cross-validate both families, fit them on every row, export them.

Stratified k-fold (the spec's ``folds``, fixed ``seed``): each fold's models are fitted on
the other folds only — binning, WoE, regression and boosting alike, so nothing of the test
fold leaks into its model. The scorecard's fold predictions come from its exported form,
scored by the serving scorer: the metrics describe what is served. AUC, KS and Gini are
the mean over folds; Brier and the reliability table use the pooled out-of-fold
predictions. The final models are then fitted on all rows.
"""

from __future__ import annotations

import statistics
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

from lendbridge.scoring import fit_gbm, fit_scorecard, frames, metrics
from lendbridge.scoring.cleaning import normalise_sentinels
from lendbridge.scoring.dataset import TrainingData
from lendbridge.scoring.gbm import GbmScorer
from lendbridge.scoring.monitor import Binner, build_profile
from lendbridge.scoring.scorer import ScorecardScorer
from lendbridge.scoring.spec import ColumnKind, TrainingSpec

FAMILIES = ("scorecard", "gbm")


@dataclass
class TrainedModel:
    family: str
    artifact: dict[str, Any]
    metrics: dict[str, Any]
    profile: dict[str, Any]
    fitted: Any = None  # the library's own model (sklearn/optbinning), for inspection only


@dataclass
class TrainingRun:
    data: TrainingData
    spec: TrainingSpec
    models: list[TrainedModel] = field(default_factory=list)
    seconds: float = 0.0


def train(data: TrainingData, spec: TrainingSpec, *, cross_validate: bool = True) -> TrainingRun:
    """Cross-validate (unless told not to) and fit both families on ``data``."""
    with warnings.catch_warnings():
        # optbinning 1.0 uses pandas idioms that pandas 3 deprecates: noise for an operator
        warnings.filterwarnings("ignore", module="optbinning")
        return _train(data, spec, cross_validate=cross_validate)


def _train(data: TrainingData, spec: TrainingSpec, *, cross_validate: bool) -> TrainingRun:
    started = time.perf_counter()
    kinds = {c.name: c.kind for c in data.columns}
    x_frame = frames.frame(data.columns)
    codes = {
        c.name: frames.category_codes(c) for c in data.columns if c.kind is ColumnKind.CATEGORICAL
    }
    x_matrix = frames.matrix(data.columns, codes)
    y = np.asarray(data.labels, dtype=np.int64)
    rows = frames.records(data)
    folds = _fold_metrics(data, spec, x_frame, x_matrix, y, rows) if cross_validate else {}

    card = fit_scorecard.fit_scorecard(x_frame, y, kinds, spec)
    card_artifact = fit_scorecard.export(card, kinds, spec)
    boosted = fit_gbm.fit_gbm(x_matrix, y, data.columns, spec)
    gbm_artifact = fit_gbm.export(boosted, x_matrix, data.columns, codes, spec)

    sentinels = normalise_sentinels(spec.sentinels)
    card_scorer = ScorecardScorer(card_artifact)
    run = TrainingRun(data, spec)
    run.models.append(
        TrainedModel(
            "scorecard",
            card_artifact,
            folds.get("scorecard", {}),
            build_profile(card_scorer, _scorecard_binners(card_scorer), rows, sentinels),
            card,
        )
    )
    run.models.append(
        TrainedModel(
            "gbm",
            gbm_artifact,
            folds.get("gbm", {}),
            build_profile(GbmScorer(gbm_artifact), _data_binners(data, codes), rows, sentinels),
            boosted,
        )
    )
    run.seconds = time.perf_counter() - started
    return run


def _fold_metrics(
    data: TrainingData,
    spec: TrainingSpec,
    x_frame: Any,
    x_matrix: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    rows: list[dict[str, object]],
) -> dict[str, dict[str, Any]]:
    kinds = {c.name: c.kind for c in data.columns}
    splitter = StratifiedKFold(n_splits=spec.folds, shuffle=True, random_state=spec.seed)
    pooled = {f: np.zeros(len(y), dtype=np.float64) for f in FAMILIES}
    per_fold: dict[str, list[dict[str, float]]] = {f: [] for f in FAMILIES}
    for fit_rows, test_rows in splitter.split(x_matrix, y):
        card = fit_scorecard.fit_scorecard(x_frame.iloc[fit_rows], y[fit_rows], kinds, spec)
        served = ScorecardScorer(fit_scorecard.export(card, kinds, spec))
        card_p = np.array([p for _, p in served.score_many(rows[i] for i in test_rows)])
        boosted = fit_gbm.fit_gbm(x_matrix[fit_rows], y[fit_rows], data.columns, spec)
        gbm_p = fit_gbm.predict(boosted, x_matrix[test_rows])
        for family, p in (("scorecard", card_p), ("gbm", gbm_p)):
            pooled[family][test_rows] = p
            per_fold[family].append(metrics.summary(y[test_rows], p))
    out: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        folds = per_fold[family]
        summary = {key: statistics.fmean(f[key] for f in folds) for key in ("auc", "gini", "ks")}
        out[family] = {
            **{k: round(v, 6) for k, v in summary.items()},
            "auc_std": round(statistics.pstdev(f["auc"] for f in folds), 6),
            "brier": round(metrics.brier(y, pooled[family]), 6),
            "folds": spec.folds,
            "fold_auc": [round(f["auc"], 6) for f in folds],
            "reliability": metrics.reliability(y, pooled[family]),
        }
    return out


def _scorecard_binners(card: ScorecardScorer) -> list[Binner]:
    return [
        Binner(
            name=c.name,
            numeric=c.numeric,
            edges=c.splits,
            categories=None if c.numeric else c.categories,
            labels=c.labels[:-2],
        )
        for c in card.characteristics
    ]


def _data_binners(data: TrainingData, codes: dict[str, list[str]]) -> list[Binner]:
    binners = []
    for c in data.columns:
        if c.kind is ColumnKind.NUMERIC:
            present = np.array([v for v in c.values if v is not None], dtype=np.float64)
            edges = sorted({float(e) for e in np.quantile(present, np.linspace(0.1, 0.9, 9))})
            binners.append(Binner(c.name, True, edges=tuple(edges)))
        else:
            top = codes[c.name][:20]  # rarer categories are monitored together as "other"
            binners.append(Binner(c.name, False, categories={k: i for i, k in enumerate(top)}))
    return binners
