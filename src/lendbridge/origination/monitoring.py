"""Live applications for model monitoring: the model input rows of the applications a model
scored, as ``lendbridge model monitor --live`` compares them with its training data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.decisions.models import CreditDecision
from lendbridge.origination.models import LoanApplication


def live_rows(
    session: Session, model_name: str, model_version: int, since: dt.date
) -> list[dict[str, Any]]:
    """The input rows of applications decided by that model on or after ``since``."""
    rows = session.scalars(
        select(LoanApplication.features)
        .join(CreditDecision, CreditDecision.id == LoanApplication.decision_id)
        .where(
            CreditDecision.model_name == model_name,
            CreditDecision.model_version == str(model_version),
            LoanApplication.applied_on >= since,
        )
        .order_by(LoanApplication.id)
    )
    return [dict(r) for r in rows]
