"""Request and response shapes of collections. Amounts are integer minor units of the loan's
currency."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from lendbridge.kit.money import PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, StrictModel
from lendbridge.servicing.collections.models import ContactChannel, ContactOutcome, PromiseStatus
from lendbridge.servicing.models import DelinquencyBucket, LoanStatus

NOTE_MAX = 500


class AssignIn(StrictModel):
    collector: uuid.UUID = Field(
        description="The staff user who works the loan (a role granting collections.manage)."
    )


class AssignmentOut(BaseModel):
    loan_id: uuid.UUID
    collector_id: uuid.UUID
    assigned_by: str
    assigned_at: dt.datetime
    business_date: dt.date
    ended_at: dt.datetime | None


class ContactIn(StrictModel):
    channel: ContactChannel
    outcome: ContactOutcome
    note: Annotated[str, Field(max_length=NOTE_MAX)] | None = Field(
        None,
        description="Short; phone numbers in it are stored masked. Keep other personal data "
        "out of it.",
    )


class ContactOut(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    channel: ContactChannel
    outcome: ContactOutcome
    note: str | None
    actor: str
    business_date: dt.date
    at: dt.datetime


class PromiseIn(StrictModel):
    amount: PositiveMinorUnits = Field(description="What the customer promised to pay.")
    promised_date: IsoDate = Field(description="By when; not before the business date.")


class PromiseOut(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    amount: int
    currency: str
    promised_date: dt.date
    status: PromiseStatus
    created_on: dt.date
    created_at: dt.datetime
    created_by: str
    received: int | None = Field(description="Repaid since the promise, when evaluated.")
    evaluated_on: dt.date | None


class QueueItemOut(BaseModel):
    loan_id: uuid.UUID
    customer_id: uuid.UUID
    status: LoanStatus
    currency: str
    dpd: int = Field(description="Days past due as of the last close of business.")
    bucket: DelinquencyBucket
    overdue_since: dt.date | None
    amount_overdue: int = Field(description="Owed on installments due before the business date.")
    outstanding: int = Field(description="Principal, interest, fees and penalties owed.")
    assignee: uuid.UUID | None
    assigned_at: dt.datetime | None
    last_contact: ContactOut | None
    open_promise: PromiseOut | None = Field(description="The earliest open promise, if any.")


class QueuePage(BaseModel):
    items: list[QueueItemOut]
    next_cursor: str | None
