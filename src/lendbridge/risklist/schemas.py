"""Risk-list requests and responses. A response carries the masked value only: the clear
value is never stored, and its blind index is not shown either."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from lendbridge.kit.schemas import StrictModel
from lendbridge.risklist.models import RiskListEntry, RiskListKind, RiskListSource

REASON_MAX = 500


class EntryIn(StrictModel):
    kind: RiskListKind
    value: str = Field(
        min_length=1,
        max_length=64,
        description="The resident id (18 characters), mainland mobile number or bank card "
        "number; normalised and checked as the identity domain does.",
    )
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    source: RiskListSource = RiskListSource.MANUAL


class RemoveIn(StrictModel):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class EntryOut(BaseModel):
    id: uuid.UUID
    kind: RiskListKind
    value_masked: str
    reason: str
    source: RiskListSource
    active: bool
    added_by: str
    added_at: dt.datetime
    removed_at: dt.datetime | None
    removed_by: str | None
    removal_reason: str | None


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


def entry_out(row: RiskListEntry) -> EntryOut:
    return EntryOut(
        id=row.id,
        kind=RiskListKind(row.kind),
        value_masked=row.value_masked,
        reason=row.reason,
        source=RiskListSource(row.source),
        active=row.removed_at is None,
        added_by=row.added_by,
        added_at=row.added_at,
        removed_at=row.removed_at,
        removed_by=row.removed_by,
        removal_reason=row.removal_reason,
    )
