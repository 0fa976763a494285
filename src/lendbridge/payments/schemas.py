"""Request and response shapes of payments. Amounts are integer minor units."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from lendbridge.kit.money import MAX_MINOR_UNITS, CurrencyCode, PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, StrictModel
from lendbridge.ledger.schemas import AccountCode, EventType, Reference
from lendbridge.payments.channels.base import Direction, ErrorClass
from lendbridge.payments.models import ManualAction, OrderKind, OrderStatus

ChannelName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
BankAccountNumber = Annotated[
    str,
    Field(
        min_length=8,
        max_length=30,
        pattern=r"^[0-9]+$",
        description="The external party's bank card or account number (digits only); stored "
        "encrypted, shown masked.",
        examples=["6222021234567890123"],
    ),
]
NonNegativeMinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]

DIRECTION_OF: dict[OrderKind, Direction] = {
    OrderKind.DISBURSEMENT: Direction.PAY,
    OrderKind.PAYOUT: Direction.PAY,
    OrderKind.REFUND: Direction.PAY,
    OrderKind.COLLECTION: Direction.COLLECT,
    OrderKind.REPAYMENT: Direction.COLLECT,
}


class PartyIn(StrictModel):
    account_number: BankAccountNumber
    account_name: Annotated[str, Field(min_length=1, max_length=100)]


class OrderIn(StrictModel):
    kind: OrderKind
    channel: ChannelName
    account: AccountCode = Field(
        description="The platform's ledger account the money leaves (pay) or enters (collect)."
    )
    amount: PositiveMinorUnits
    currency: CurrencyCode
    party: PartyIn
    authorisation_ref: Reference | None = Field(
        default=None,
        description="The signed debit authorisation (代扣协议); required for collections.",
    )
    event_type: EventType | None = None
    event_id: Reference | None = None
    memo: Annotated[str, Field(max_length=200)] = ""


class TransitionOut(BaseModel):
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str
    actor: str
    at: dt.datetime


class AttemptOut(BaseModel):
    number: int
    operation: str
    state: str
    outcome: str | None
    error_code: str | None
    message: str | None
    sent_at: dt.datetime
    answered_at: dt.datetime | None


class NoteOut(BaseModel):
    action: str
    note: str
    actor: str
    at: dt.datetime


class OrderOut(BaseModel):
    id: uuid.UUID
    kind: OrderKind
    direction: Direction
    channel: str
    account: str
    amount: int
    currency: str
    party_account: str = Field(description="Masked.")
    party_name: str = Field(description="Masked.")
    authorisation_ref: str | None
    event_type: str | None
    event_id: str | None
    memo: str
    status: OrderStatus
    business_date: dt.date
    completed_on: dt.date | None
    reversed_on: dt.date | None
    attempts: int
    next_attempt_at: dt.datetime | None
    channel_ref: str | None
    error_code: str | None
    error_message: str | None
    manual: bool
    manual_reason: str | None
    hold_id: uuid.UUID | None
    entry_id: uuid.UUID | None
    reversal_entry_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderDetailOut(OrderOut):
    transitions: list[TransitionOut]
    attempt_log: list[AttemptOut]
    notes: list[NoteOut]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class ManualIn(StrictModel):
    action: ManualAction
    note: Annotated[str, Field(min_length=1, max_length=2000)]
    outcome: OrderStatus | None = Field(
        default=None,
        description="For 'resolve': what staff established with the channel (succeeded or failed).",
    )

    @model_validator(mode="after")
    def _outcome(self) -> ManualIn:
        if self.action == ManualAction.RESOLVE:
            if self.outcome not in (OrderStatus.SUCCEEDED, OrderStatus.FAILED):
                raise ValueError("outcome: resolving needs 'succeeded' or 'failed'")
        elif self.outcome is not None:
            raise ValueError("outcome: only for the 'resolve' action")
        return self


class ChannelIn(StrictModel):
    name: ChannelName
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    adapter: Annotated[str, Field(pattern=r"^(simulated)$")] = "simulated"
    base_url: Annotated[str, Field(max_length=300, pattern=r"^https?://[^\s]+$")] | None = None
    merchant_id: Annotated[str, Field(min_length=1, max_length=64)]
    secret_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{2,99}$")] = Field(
        description="Name of the environment variable that holds the channel's shared secret."
    )
    currency: CurrencyCode = "CNY"
    clearing_account: AccountCode
    settlement_account: AccountCode
    fee_account: AccountCode
    per_order_limit: PositiveMinorUnits
    daily_limit: PositiveMinorUnits
    cutoff: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "23:30"
    fee_fixed: NonNegativeMinorUnits = 0
    fee_bps: Annotated[int, Field(ge=0, le=10_000)] = 0
    fee_max: NonNegativeMinorUnits | None = Field(default=None, description="Fee cap per order.")
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    timeout_seconds: Annotated[int, Field(ge=1, le=120)] = 10
    error_classes: Annotated[
        dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")], ErrorClass],
        Field(max_length=100),
    ] = Field(default_factory=dict)
    statement_layout: Annotated[dict[str, Any], Field(max_length=30)] = Field(default_factory=dict)


class ChannelOut(BaseModel):
    name: str
    display_name: str
    adapter: str
    base_url: str | None
    merchant_id: str
    secret_env: str
    currency: str
    clearing_account: str
    settlement_account: str
    fee_account: str
    per_order_limit: int
    daily_limit: int
    cutoff: str
    fee_fixed: int
    fee_bps: int
    fee_max: int | None
    max_attempts: int
    timeout_seconds: int
    error_classes: dict[str, ErrorClass]
    statement_layout: dict[str, Any]
    status: str


class SettlementOut(BaseModel):
    channel: str
    business_date: dt.date
    collected: int
    collected_count: int
    paid: int
    paid_count: int
    reversed_in: int
    reversed_out: int
    fees: int
    net: int
    entry_id: uuid.UUID | None
    fee_entry_id: uuid.UUID | None
    created_at: dt.datetime


class SettleIn(StrictModel):
    business_date: IsoDate | None = Field(
        default=None, description="Default: the business day before today's."
    )
