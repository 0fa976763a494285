"""Request and response bodies of the loan workout: restructure, write-off, recoveries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from lendbridge.kit.money import PositiveMinorUnits
from lendbridge.kit.schemas import StrictModel
from lendbridge.payments.schemas import ChannelName
from lendbridge.servicing.schemas import RatePercent
from lendbridge.servicing.workout_models import RecoverySource, RecoveryStatus

Reason = Annotated[str, Field(min_length=1, max_length=500)]
Note = Annotated[str, Field(min_length=1, max_length=200)]


class RestructureTermsIn(StrictModel):
    new_term: int | None = Field(
        None,
        ge=1,
        le=3660,
        description="Installments of the new schedule (days for a single-payment product); "
        "default: the installments not yet due.",
    )
    new_annual_rate_percent: RatePercent | None = Field(
        None, description="The new annual rate; default: the loan's rate."
    )
    capitalise: bool = Field(
        False,
        description="true: interest, fees and penalties owed become principal of the new "
        "schedule; false: they stay owed and fall due with its first installment.",
    )


class RestructureIn(RestructureTermsIn):
    reason: Reason


class WriteOffIn(StrictModel):
    reason: Reason


class NewInstallmentOut(BaseModel):
    number: int
    start_date: dt.date
    due_date: dt.date
    principal: int
    interest: int
    fee: int
    penalty: int = Field(description="Penalties carried from the old schedule.")
    total: int


class RestructurePreviewOut(BaseModel):
    loan_id: uuid.UUID
    date: dt.date = Field(description="The business date the new schedule starts on.")
    currency: str
    principal_outstanding: int
    interest_outstanding: int = Field(description="Accrued to the date and not paid.")
    fee_outstanding: int
    penalty_outstanding: int
    capitalised: int = Field(description="Interest, fees and penalties turned into principal.")
    principal: int = Field(description="The principal of the new schedule.")
    annual_rate_percent: str
    term: int
    apr_percent: str
    max_apr_percent: str
    maturity_date: dt.date
    installments: list[NewInstallmentOut]


class RecoveryIn(StrictModel):
    amount: PositiveMinorUnits
    channel: ChannelName | None = Field(
        None,
        description="Collect the money from the customer's card through this channel (a "
        "payment order); without it, the money is taken from the customer's credit balance.",
    )
    note: Note | None = None


class RecoveryOut(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    source: RecoverySource
    amount: int
    currency: str
    channel: str | None
    order_id: uuid.UUID | None
    status: RecoveryStatus
    booked: int = Field(description="Booked as recovery income.")
    booked_on: dt.date | None
    entry_id: uuid.UUID | None
    note: str | None
    created_at: dt.datetime
