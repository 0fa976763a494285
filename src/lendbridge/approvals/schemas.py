"""Approval request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field

from lendbridge.approvals.models import ApprovalRequest
from lendbridge.kit.schemas import StrictModel

Note = Annotated[str, Field(min_length=1, max_length=1000)]


class ApprovalIn(StrictModel):
    action: Annotated[str, Field(min_length=1, max_length=64, examples=["identity.grant_role"])]
    payload: dict[str, Any] = Field(description="The action's parameters (see the action).")
    reason: Note


class DecisionIn(StrictModel):
    note: Note


class ApprovalOut(BaseModel):
    id: uuid.UUID
    action: str
    summary: str
    payload: dict[str, Any]
    status: str
    maker_id: str
    reason: str
    created_at: dt.datetime
    expires_at: dt.datetime
    checker_id: str | None
    decided_at: dt.datetime | None
    decision_note: str | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, row: ApprovalRequest) -> ApprovalOut:
        return cls(
            id=row.id,
            action=row.action,
            summary=row.summary,
            payload=row.payload,
            status=row.status,
            maker_id=row.maker_id,
            reason=row.reason,
            created_at=row.created_at,
            expires_at=row.expires_at,
            checker_id=row.checker_id,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
            result=row.result,
        )
