"""Fitting the gradient-boosted challenger and exporting its trees as plain data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]

from lendbridge.scoring import gbm
from lendbridge.scoring.dataset import Column
from lendbridge.scoring.spec import ColumnKind, TrainingSpec


def fit_gbm(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    columns: Sequence[Column],
    spec: TrainingSpec,
) -> Any:
    # Shallow trees, a slow learning rate and a fixed number of rounds: a few thousand rows
    # overfit deep trees quickly, and no early stopping keeps folds comparable.
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_leaf_nodes=8,
        min_samples_leaf=30,
        l2_regularization=1.0,
        categorical_features=[c.kind is ColumnKind.CATEGORICAL for c in columns],
        early_stopping=False,
        random_state=spec.seed,
    )
    # One OpenMP thread: on a few thousand rows the threads' synchronisation costs more than
    # it saves, and on a busy machine their spin-waiting made a fit 10x slower (measured).
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(x, y)
    return model


def predict(model: Any, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Probabilities of bad (sklearn's own prediction: cross-validation only)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def export(
    model: Any,
    x: npt.NDArray[np.float64],
    columns: Sequence[Column],
    codes: dict[str, list[str]],
    spec: TrainingSpec,
) -> dict[str, Any]:
    # With categorical features sklearn feeds the trees through an ordinal encoder that puts
    # the categorical columns first: the export lists features in that internal order, and
    # each category at the code the encoder gave it.
    order = [j for j, c in enumerate(columns) if c.kind is ColumnKind.CATEGORICAL]
    order += [j for j, c in enumerate(columns) if c.kind is ColumnKind.NUMERIC]
    preprocessor = model._preprocessor  # None when every feature is numeric
    encoded = iter(preprocessor.named_transformers_["encoder"].categories_ if preprocessor else ())
    features = []
    for j in order:
        c = columns[j]
        present = x[:, j][~np.isnan(x[:, j])]
        entry: dict[str, Any] = {"name": c.name, "kind": c.kind.value}
        if c.kind is ColumnKind.NUMERIC:
            entry["reference"] = float(np.median(present)) if len(present) else 0.0
        else:
            known = [int(v) for v in next(encoded) if not np.isnan(v)]
            entry["categories"] = [codes[c.name][v] for v in known]
            most = int(np.bincount(present.astype(np.int64)).argmax())
            entry["reference"] = float(known.index(most))
        features.append(entry)
    trees = []
    for (predictor,) in model._predictors:
        nodes = []
        for n in predictor.nodes:
            leaf = bool(n["is_leaf"])
            nodes.append(
                [
                    int(n["feature_idx"]),
                    float(n["num_threshold"]),
                    bool(n["missing_go_to_left"]),
                    int(n["left"]),
                    int(n["right"]),
                    float(n["value"]) if leaf else None,
                    int(n["bitset_idx"]) if n["is_categorical"] and not leaf else -1,
                ]
            )
        bitsets = [[int(w) for w in row] for row in predictor.raw_left_cat_bitsets]
        trees.append({"nodes": nodes, "bitsets": bitsets})
    return {
        "format": gbm.FORMAT,
        "family": "gbm",
        "baseline": float(np.ravel(model._baseline_prediction)[0]),
        "scaling": spec.scaling.model_dump(),
        "sentinels": list(spec.sentinels),
        "features": features,
        "trees": trees,
    }
