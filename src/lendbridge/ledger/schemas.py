"""Request and response shapes of the ledger (Pydantic). Amounts are integer minor units."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from lendbridge.kit.money import MAX_MINOR_UNITS, CurrencyCode, PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, IsoDateTime
from lendbridge.kit.schemas import StrictModel as BaseStrictModel
from lendbridge.ledger.models import AccountStatus, AccountType, HoldStatus, Side

AccountCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$",
        description="The account's code in the chart of accounts.",
        examples=["1002.001"],
    ),
]
Text = Annotated[str, Field(max_length=500)]
Reference = Annotated[str, Field(min_length=1, max_length=200)]
EventType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")]
Metadata = Annotated[dict[str, JsonValue], Field(max_length=50)]
MAX_POSTINGS = 500


class StrictModel(BaseStrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountIn(StrictModel):
    code: AccountCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: AccountType
    currency: CurrencyCode
    normal_side: Side | None = Field(
        default=None, description="Defaults from the type (asset/expense: debit; else credit)."
    )
    owner_type: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    owner_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    min_balance: Annotated[int, Field(ge=-MAX_MINOR_UNITS, le=0)] | None = Field(
        default=None,
        description="Lowest allowed available balance: 0 forbids overdraft, -N allows N of "
        "overdraft, null sets no limit.",
    )


class PostingIn(StrictModel):
    account: AccountCode
    side: Side
    amount: PositiveMinorUnits
    currency: CurrencyCode


class EntryIn(StrictModel):
    postings: Annotated[list[PostingIn], Field(min_length=2, max_length=MAX_POSTINGS)]
    effective_date: IsoDate | None = Field(
        default=None, description="Business date the entry counts on; default: today's."
    )
    description: Text = ""
    metadata: Metadata = Field(default_factory=dict)
    event_type: EventType | None = Field(
        default=None, description="The kind of business event that caused the entry."
    )
    event_id: Reference | None = None

    @field_validator("postings")
    @classmethod
    def _balanced_per_currency(cls, postings: list[PostingIn]) -> list[PostingIn]:
        debits: dict[str, int] = defaultdict(int)
        credits: dict[str, int] = defaultdict(int)
        for posting in postings:
            target = debits if posting.side is Side.DEBIT else credits
            target[posting.currency] += posting.amount
        for currency in sorted(debits.keys() | credits.keys()):
            if debits[currency] != credits[currency]:
                raise ValueError(
                    f"unbalanced in {currency}: debits {debits[currency]} != "
                    f"credits {credits[currency]}"
                )
            if debits[currency] > MAX_MINOR_UNITS:
                raise ValueError(f"total in {currency} exceeds {MAX_MINOR_UNITS}")
        return postings


class BatchIn(StrictModel):
    entries: Annotated[list[EntryIn], Field(min_length=1, max_length=1000)]


class ReverseIn(StrictModel):
    effective_date: IsoDate | None = None
    description: Text | None = None


class HoldIn(StrictModel):
    debit_account: AccountCode
    credit_account: AccountCode
    amount: PositiveMinorUnits
    currency: CurrencyCode
    expires_at: IsoDateTime | None = Field(
        default=None, description="When an unresolved hold lapses (timezone-aware)."
    )
    description: Text = ""
    metadata: Metadata = Field(default_factory=dict)
    event_type: EventType | None = None
    event_id: Reference | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone offset")
        return value


class HoldPostIn(StrictModel):
    amount: PositiveMinorUnits | None = Field(
        default=None, description="Amount to post; default the whole pending amount."
    )
    effective_date: IsoDate | None = None


class AccountStatusIn(StrictModel):
    status: AccountStatus


class PostingOut(BaseModel):
    line: int
    account: str
    side: Side
    amount: int
    currency: str


class EntryOut(BaseModel):
    id: uuid.UUID
    effective_date: dt.date
    created_at: dt.datetime
    description: str
    metadata: dict[str, JsonValue]
    event_type: str | None
    event_id: str | None
    idempotency_key: str | None
    reverses_id: uuid.UUID | None
    batch_id: uuid.UUID | None
    link_id: uuid.UUID | None
    hold_id: uuid.UUID | None
    postings: list[PostingOut]


class BatchOut(BaseModel):
    id: uuid.UUID
    entries: list[EntryOut]


class AccountOut(BaseModel):
    code: str
    name: str
    type: AccountType
    normal_side: Side
    currency: str
    status: AccountStatus
    owner_type: str | None
    owner_id: str | None
    min_balance: int | None
    created_at: dt.datetime


class BalanceOut(BaseModel):
    account: str
    currency: str
    as_of: dt.date | None = Field(description="Null for the balance now.")
    debits_posted: int
    credits_posted: int
    balance: int = Field(description="Posted balance in the account's normal direction.")
    debits_pending: int | None = None
    credits_pending: int | None = None
    available: int | None = Field(
        default=None, description="Posted balance less pending movements against the account."
    )


class HoldOut(BaseModel):
    id: uuid.UUID
    debit_account: str
    credit_account: str
    currency: str
    amount: int
    posted_amount: int | None
    status: HoldStatus
    description: str
    metadata: dict[str, JsonValue]
    expires_at: dt.datetime | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    entry_id: uuid.UUID | None


class StatementLine(BaseModel):
    posting_id: int
    entry_id: uuid.UUID
    effective_date: dt.date
    created_at: dt.datetime
    description: str
    side: Side
    amount: int
    balance_after: int


class StatementPage(BaseModel):
    account: str
    currency: str
    lines: list[StatementLine]
    next_cursor: str | None


class TrialBalanceLine(BaseModel):
    account: str
    name: str
    type: AccountType
    currency: str
    debit: int = Field(description="Debit balance (when the account's balance is a debit).")
    credit: int


class TrialBalanceGroup(BaseModel):
    type: AccountType
    currency: str
    debit: int
    credit: int


class TrialBalanceTotal(BaseModel):
    currency: str
    debit: int
    credit: int
    balanced: bool


class TrialBalanceOut(BaseModel):
    as_of: dt.date | None
    lines: list[TrialBalanceLine]
    groups: list[TrialBalanceGroup]
    totals: list[TrialBalanceTotal]
