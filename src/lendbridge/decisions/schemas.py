"""Response and request shapes of the policy API. The policy document itself is
``policy.PolicyDocument`` (the body of ``POST /v1/policies`` and the CLI's file)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from lendbridge.decisions.models import DecisionPolicy, PolicyStatus
from lendbridge.decisions.policy import PolicyDocument
from lendbridge.decisions.what_if import WhatIf
from lendbridge.kit.schemas import StrictModel


class PolicySummary(BaseModel):
    name: str
    version: int
    status: PolicyStatus
    description: str
    sha256: str = Field(description="sha256 of the canonical document.")
    maker: str
    checker: str | None
    approval_id: uuid.UUID | None = Field(description="The activation's approval request.")
    created_at: dt.datetime
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None


class PolicyOut(PolicySummary):
    document: PolicyDocument


class ProposedOut(BaseModel):
    policy: PolicyOut
    created: bool = Field(description="False: an equal version exists (nothing written).")
    approval_id: uuid.UUID | None = Field(
        description="Approve it at /v1/approvals/{id}/approve (another user)."
    )


class WhatIfIn(StrictModel):
    policy: PolicyDocument
    limit: Annotated[StrictInt, Field(ge=1, le=100_000)] = Field(
        10_000, description="Replay the latest decisions of at most this many applications."
    )


class ChangedCase(BaseModel):
    decision_id: uuid.UUID
    application_id: uuid.UUID
    outcome_before: str
    outcome_after: str
    grade_before: str | None
    grade_after: str | None
    limit_before: int
    limit_after: int


class SkippedCase(BaseModel):
    decision_id: uuid.UUID
    reason: str


class WhatIfOut(BaseModel):
    decisions: int = Field(description="Applications replayed (their latest decision).")
    skipped: int = Field(description="Snapshots the candidate could not decide.")
    changed: int
    approval_rate_before: str = Field(description='A decimal string: "0.7500" is 75 %.')
    approval_rate_after: str
    transitions: dict[str, int] = Field(description='e.g. {"approve->decline": 3}')
    by_outcome: dict[str, dict[str, int]] = Field(description="total and changed per outcome")
    by_grade: dict[str, dict[str, int]] = Field(description="total and changed per grade")
    changed_cases: list[ChangedCase] = Field(description="At most 1000.")
    skipped_cases: list[SkippedCase]


def summary(row: DecisionPolicy) -> PolicySummary:
    return PolicySummary(
        name=row.name,
        version=row.version,
        status=PolicyStatus(row.status),
        description=str(row.document.get("description", "")),
        sha256=row.sha256,
        maker=row.maker,
        checker=row.checker,
        approval_id=row.approval_id,
        created_at=row.created_at,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
    )


def policy_out(row: DecisionPolicy) -> PolicyOut:
    return PolicyOut(
        **summary(row).model_dump(), document=PolicyDocument.model_validate(row.document)
    )


def what_if_out(report: WhatIf) -> WhatIfOut:
    return WhatIfOut(
        decisions=report.decisions,
        skipped=report.skipped,
        changed=report.changed,
        approval_rate_before=str(report.rate(report.approved_before)),
        approval_rate_after=str(report.rate(report.approved_after)),
        transitions=dict(report.transitions),
        by_outcome={k: dict(v) for k, v in report.by_outcome.items()},
        by_grade={k: dict(v) for k, v in report.by_grade.items()},
        changed_cases=[ChangedCase.model_validate(c) for c in report.changed_cases],
        skipped_cases=[SkippedCase.model_validate(c) for c in report.skipped_cases],
    )
