"""Training data in the shapes the fitting libraries take (training side only: pandas)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from lendbridge.scoring.dataset import Column, TrainingData
from lendbridge.scoring.spec import ColumnKind

MAX_CATEGORY_CODES = 250  # the boosting's bins hold at most 255 categories


def frame(columns: Sequence[Column]) -> pd.DataFrame:
    """Numeric columns as float64 with NaN, categorical ones as object with NaN."""
    data: dict[str, npt.NDArray[np.generic]] = {}
    for c in columns:
        if c.kind is ColumnKind.NUMERIC:
            data[c.name] = np.array(
                [np.nan if v is None else v for v in c.values], dtype=np.float64
            )
        else:
            data[c.name] = np.array([np.nan if v is None else v for v in c.values], dtype=object)
    return pd.DataFrame(data)


def category_codes(column: Column) -> list[str]:
    """A categorical column's categories, most frequent first (at most 250; rarer ones are
    fed to the boosting as missing)."""
    counts = Counter(v for v in column.values if v is not None)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [str(k) for k, _ in ranked[:MAX_CATEGORY_CODES]]


def matrix(columns: Sequence[Column], codes: Mapping[str, list[str]]) -> npt.NDArray[np.float64]:
    """The boosting's input: numbers, category codes, NaN for missing."""
    out = np.full((len(columns[0].values), len(columns)), np.nan, dtype=np.float64)
    for j, c in enumerate(columns):
        if c.kind is ColumnKind.NUMERIC:
            out[:, j] = [np.nan if v is None else v for v in c.values]
        else:
            index = {k: i for i, k in enumerate(codes[c.name])}
            out[:, j] = [np.nan if v is None else index.get(str(v), np.nan) for v in c.values]
    return out


def records(data: TrainingData) -> list[dict[str, object]]:
    """The rows as the scorers take them: name -> value."""
    names = data.names
    return [
        dict(zip(names, row, strict=True))
        for row in zip(*(c.values for c in data.columns), strict=False)
    ]
