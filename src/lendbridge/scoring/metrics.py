"""Discrimination and calibration of predicted probabilities of bad (numpy only).

* AUC: the chance a random bad is ranked riskier than a random good (ties count half).
* Gini = 2 AUC - 1.
* KS: the largest gap between the cumulative shares of bads and goods over the ranking.
* Brier: the mean squared error of the probabilities.
* Reliability: per decile of predicted probability, the mean prediction against the
  observed bad rate (a calibrated model has them close).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def auc(labels: npt.ArrayLike, probabilities: npt.ArrayLike) -> float:
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    bads = int(y.sum())
    goods = len(y) - bads
    if bads == 0 or goods == 0:
        raise ValueError("AUC needs both classes")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    sorted_p = p[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y == 1].sum() - bads * (bads + 1) / 2.0) / (bads * goods))


def ks(labels: npt.ArrayLike, probabilities: npt.ArrayLike) -> float:
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    bads = int(y.sum())
    goods = len(y) - bads
    if bads == 0 or goods == 0:
        raise ValueError("KS needs both classes")
    order = np.argsort(-p, kind="mergesort")
    sorted_p = p[order]
    cum_bad = np.cumsum(y[order]) / bads
    cum_good = np.cumsum(1 - y[order]) / goods
    # only compare at the end of each group of tied probabilities
    last_of_tie = np.append(sorted_p[1:] != sorted_p[:-1], True)
    return float(np.max(np.abs(cum_bad - cum_good)[last_of_tie]))


def brier(labels: npt.ArrayLike, probabilities: npt.ArrayLike) -> float:
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def reliability(
    labels: npt.ArrayLike, probabilities: npt.ArrayLike, groups: int = 10
) -> list[dict[str, Any]]:
    """Rows of (decile, count, mean predicted, observed bad rate), lowest risk first."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")
    rows = []
    for i, part in enumerate(np.array_split(order, groups), start=1):
        if len(part) == 0:
            continue
        rows.append(
            {
                "decile": i,
                "count": len(part),
                "predicted": round(float(p[part].mean()), 6),
                "observed": round(float(y[part].mean()), 6),
            }
        )
    return rows


def summary(labels: npt.ArrayLike, probabilities: npt.ArrayLike) -> dict[str, float]:
    a = auc(labels, probabilities)
    return {
        "auc": a,
        "gini": 2.0 * a - 1.0,
        "ks": ks(labels, probabilities),
        "brier": brier(labels, probabilities),
    }
