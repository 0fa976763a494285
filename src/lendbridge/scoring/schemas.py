"""Response models of the model registry's routes.

The API carries no JSON floats (see tests/test_app.py): model metrics and shares travel as
decimal strings with six places ("0.784143")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field

from lendbridge.scoring.models import ScoringModel


def decimal_text(value: object) -> str | None:
    return None if value is None else f"{float(value):.6f}"  # type: ignore[arg-type]


def without_floats(value: Any) -> Any:
    """The document with every float as a decimal string."""
    if isinstance(value, float):
        return decimal_text(value)
    if isinstance(value, dict):
        return {k: without_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_floats(v) for v in value]
    return value


class ModelOut(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    family: str = Field(description="scorecard or gbm (gradient-boosted challenger)")
    status: str = Field(description="champion, challenger or retired")
    auc: str | None = Field(description="Cross-validated AUC (mean over folds), decimal string")
    ks: str | None
    gini: str | None
    brier: str | None
    data_sha256: str = Field(description="sha256 of the training file's bytes")
    data_rows: int
    artifact_sha256: str
    created_by: str
    created_at: dt.datetime
    promoted_at: dt.datetime | None

    @classmethod
    def of(cls, row: ScoringModel) -> ModelOut:
        m = row.metrics
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            family=row.family,
            status=row.status,
            auc=decimal_text(m.get("auc")),
            ks=decimal_text(m.get("ks")),
            gini=decimal_text(m.get("gini")),
            brier=decimal_text(m.get("brier")),
            data_sha256=row.data_sha256,
            data_rows=row.data_rows,
            artifact_sha256=row.artifact_sha256,
            created_by=row.created_by,
            created_at=row.created_at,
            promoted_at=row.promoted_at,
        )


class ModelDetailOut(ModelOut):
    spec: dict[str, Any]
    metrics: dict[str, Any] = Field(description="CV metrics, per-fold AUC, reliability table")
    data_quality: dict[str, Any]
    characteristics: list[str]

    @classmethod
    def detail(cls, row: ScoringModel) -> ModelDetailOut:
        base = ModelOut.of(row).model_dump()
        names = [c["name"] for c in row.profile.get("characteristics", [])]
        return cls(
            **base,
            spec=without_floats(row.spec),
            metrics=without_floats(row.metrics),
            data_quality=without_floats(row.report),
            characteristics=names,
        )


class ModelList(BaseModel):
    items: list[ModelOut]
