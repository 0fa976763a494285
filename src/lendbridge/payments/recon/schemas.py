"""Request and response shapes of reconciliation. Amounts are integer minor units."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from lendbridge.kit.schemas import StrictModel
from lendbridge.ledger.schemas import AccountCode
from lendbridge.payments.recon.models import BreakKind, BreakStatus, Movement, Resolution

SUSPENSE = "1901.001"
Note = Annotated[str, Field(min_length=1, max_length=2000)]


class Figure(BaseModel):
    count: int
    amount: int


class BadLine(BaseModel):
    line_no: int
    field: str | None
    message: str


class RunOut(BaseModel):
    id: uuid.UUID
    channel: str
    file_sha256: str
    file_name: str | None
    file_bytes: int
    currency: str
    business_date: dt.date
    date_from: dt.date
    date_to: dt.date
    date_tolerance_days: int
    amount_tolerance: int
    lines: int = Field(description="Data lines of the file, readable or not.")
    bad_lines: int
    statement: Figure = Field(description="Readable lines and their amounts.")
    statement_fees: int
    platform: Figure = Field(
        description="Money movements the platform has for the statement's dates: executed "
        "orders (completed_on) and reversals (reversed_on)."
    )
    matched_lines: int
    matched_orders: int
    matched_amount: int
    matched_by_rule: dict[str, int] = Field(
        description="Matches per rule: reference, split (several lines, one order), batch "
        "(one line, several orders by one reference), amount_date_account, one_to_many, "
        "many_to_one."
    )
    breaks: int
    breaks_by_kind: dict[BreakKind, Figure] = Field(
        description="Per kind: how many, and the absolute differences (statement - platform)."
    )
    rematched_breaks: int = Field(
        description="Open 'missing at channel' breaks of earlier runs this statement resolved."
    )
    bad_line_samples: list[BadLine]
    actor: str
    elapsed_ms: int
    created_at: dt.datetime


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class BreakOut(BaseModel):
    id: int
    run_id: uuid.UUID
    channel: str
    kind: BreakKind
    movement: Movement | None
    order_id: uuid.UUID | None
    line_no: int | None
    lines: list[int] | None
    orders: list[uuid.UUID] | None
    channel_ref: str | None
    order_no: str | None
    trade_date: dt.date | None
    direction: str | None
    currency: str | None
    statement_amount: int | None
    platform_amount: int | None
    difference: int = Field(description="Statement minus platform, a missing side as zero.")
    statement_status: str | None
    platform_status: str | None
    detail: str
    status: BreakStatus
    raised_on: dt.date
    resolution: Resolution | None
    note: str | None
    linked_order_id: uuid.UUID | None
    approval_id: uuid.UUID | None
    entry_id: uuid.UUID | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    resolved_on: dt.date | None
    created_at: dt.datetime


class BreakPage(BaseModel):
    items: list[BreakOut]
    next_cursor: str | None


class ResolveAction(enum.StrEnum):
    LINK = "link"
    EXPLAIN = "explain"
    ADJUST = "adjust"


class ResolveIn(StrictModel):
    resolution: ResolveAction = Field(
        description="link: the line belongs to order_id; explain: a written explanation. An "
        "adjusting entry needs a checker: POST /v1/approvals with action "
        "payments.recon.adjust."
    )
    note: Note
    order_id: uuid.UUID | None = Field(default=None, description="For 'link': the order.")

    @model_validator(mode="after")
    def _order(self) -> ResolveIn:
        if self.resolution == ResolveAction.LINK and self.order_id is None:
            raise ValueError("order_id: linking needs the order the line belongs to")
        if self.resolution != ResolveAction.LINK and self.order_id is not None:
            raise ValueError("order_id: only for the 'link' resolution")
        return self


class AdjustIn(StrictModel):
    """The payload of an approval request ``payments.recon.adjust``."""

    break_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    counter_account: AccountCode = Field(
        default=SUSPENSE,
        description="The account the difference goes to, against the channel's clearing "
        "account; default suspense (1901.001).",
    )
    note: Annotated[str, Field(max_length=2000)] = ""


class Ageing(BaseModel):
    bucket: str = Field(description="Days open by business date: 0-1, 2-3, 4-7, 8-30, >30.")
    count: int
    amount: int


class KindReport(BaseModel):
    count: int
    amount: int
    open: int = Field(description="Of these, still open on the report date.")


class ReportOut(BaseModel):
    channel: str
    currency: str
    date: dt.date
    runs: list[uuid.UUID] = Field(description="The runs whose statement covers the date.")
    lines: int
    bad_lines: int
    statement: Figure
    statement_fees: int
    platform: Figure
    matched_lines: int
    matched_orders: int
    matched_amount: int
    breaks_by_kind: dict[BreakKind, KindReport]
    open_breaks: Figure = Field(
        description="Every break of the channel open on the report date, whatever its run."
    )
    open_by_kind: dict[BreakKind, Figure]
    ageing: list[Ageing]
