"""Fitting the scorecard with optbinning and exporting it as plain data (training side).

Optimal binning of every characteristic (WoE, monotonic trends from the spec or chosen by
the binning), a logistic regression on the WoE values, points scaled by base score / base
odds / PDO with the intercept spread over the characteristics, rounded to whole points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from optbinning import BinningProcess, Scorecard  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from lendbridge.scoring import scorer
from lendbridge.scoring.spec import ColumnKind, TrainingSpec

# Each bin holds at least 5 % of the rows: coarse enough to be stable on a few thousand
# applications, fine enough to rank (German credit: CV AUC 0.78 against 0.77 at the default).
MIN_PREBIN_SIZE = 0.05


def fit_scorecard(
    x: pd.DataFrame,
    y: npt.NDArray[np.int64],
    kinds: dict[str, ColumnKind],
    spec: TrainingSpec,
) -> Any:
    names = list(x.columns)
    categorical = [n for n in names if kinds[n] is ColumnKind.CATEGORICAL]
    fit_params = {n: {"monotonic_trend": t} for n, t in spec.monotonic.items() if n in names}
    process = BinningProcess(
        names,
        categorical_variables=categorical,
        min_prebin_size=MIN_PREBIN_SIZE,
        binning_fit_params=fit_params or None,
    )
    model = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(C=spec.regularisation, max_iter=2000),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": spec.scaling.pdo,
            "odds": spec.scaling.base_odds,
            "scorecard_points": spec.scaling.base_score,
        },
        intercept_based=False,
        rounding=True,
    )
    model.fit(x, y)
    return model


def export(model: Any, kinds: dict[str, ColumnKind], spec: TrainingSpec) -> dict[str, Any]:
    """The fitted scorecard as the JSON document the serving scorer reads."""
    table = model.table(style="detailed")
    process = model.binning_process_
    characteristics = []
    for name in process.get_support(names=True):
        rows = table[table["Variable"] == name]
        coefficient = float(rows["Coefficient"].iloc[0])
        binned = process.get_binned_variable(name)
        entry: dict[str, Any] = {
            "name": str(name),
            "kind": kinds[name].value,
            "labels": [str(b) for b in rows["Bin"]],
            "points": [round(float(p)) for p in rows["Points"]],
            "logits": [coefficient * float(w) for w in rows["WoE"]],
            "counts": [int(c) for c in rows["Count"]],
        }
        if kinds[name] is ColumnKind.NUMERIC:
            entry["splits"] = [float(s) for s in binned.splits]
        else:
            entry["categories"] = _category_bins(binned.splits)
        characteristics.append(entry)
    return {
        "format": scorer.FORMAT,
        "family": "scorecard",
        "intercept": float(model.estimator_.intercept_[0]),
        "base_points": float(model.intercept_),
        "scaling": spec.scaling.model_dump(),
        "sentinels": list(spec.sentinels),
        "characteristics": characteristics,
    }


def _category_bins(splits: Sequence[Any]) -> dict[str, int]:
    return {str(category): i for i, group in enumerate(splits) for category in group}
