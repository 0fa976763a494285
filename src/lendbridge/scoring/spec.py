"""The training spec: an optional JSON file that tells the pipeline what it cannot infer.

Example::

    {
      "columns": {"emp_length": "numeric", "zip_code": "categorical"},
      "exclude": ["member_id"],
      "sentinels": ["-1", "unknown"],
      "monotonic": {"dti": "ascending", "annual_inc": "descending"},
      "scaling": {"base_score": 600, "base_odds": 50, "pdo": 20},
      "folds": 5,
      "seed": 42,
      "regularisation": 0.1
    }

Every key is optional. ``monotonic`` names the trend of the *bad rate* as the value grows
(optbinning's ``monotonic_trend``: ascending, descending, peak, valley, concave, convex,
auto); without it each characteristic's trend is chosen by the binning. ``regularisation``
is the inverse strength ``C`` of the scorecard's logistic regression.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lendbridge.kit.errors import FieldError, ValidationFailed


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


Trend = Literal["auto", "ascending", "descending", "peak", "valley", "concave", "convex"]


class Scaling(BaseModel):
    """Points scaling: ``base_score`` points at good:bad odds of ``base_odds``:1; every
    ``pdo`` points double the odds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_score: float = Field(600.0, gt=0, le=10_000)
    base_odds: float = Field(50.0, gt=0, le=10_000)
    pdo: float = Field(20.0, gt=0, le=1_000)


class TrainingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, ColumnKind] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    sentinels: list[str] = Field(default_factory=list)
    monotonic: dict[str, Trend] = Field(default_factory=dict)
    scaling: Scaling = Field(default_factory=Scaling)
    folds: int = Field(5, ge=2, le=20)
    seed: int = 42
    regularisation: float = Field(1.0, gt=0, le=1_000)


def load_spec(path: Path | None) -> TrainingSpec:
    """The spec in ``path`` (the defaults without one); a bad file is a clear refusal."""
    if path is None:
        return TrainingSpec()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return TrainingSpec.model_validate(document)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            f"spec: {path.name} is not a readable JSON file ({exc})",
            [FieldError("spec", "not a readable JSON file")],
        ) from None
    except ValidationError as exc:
        errors = [
            FieldError("spec." + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        raise ValidationFailed(f"spec: {path.name} is not a valid training spec", errors) from None
