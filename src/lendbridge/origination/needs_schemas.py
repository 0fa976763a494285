"""Request and response shapes of the needs questionnaire (``/v1/me/needs``). Amounts are
integer fen; unknown fields are refused, and every refusal names its field."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from lendbridge.kit.money import CurrencyCode
from lendbridge.kit.schemas import StrictModel
from lendbridge.origination.needs_models import (
    MAX_MONTHLY_AMOUNT,
    MAX_NEED_AMOUNT,
    MAX_TERM_MONTHS,
    CustomerNeed,
)
from lendbridge.origination.vocabulary import EMPLOYMENT_ZH, PURPOSE_ZH, Employment, Purpose

NeedAmount = Annotated[
    StrictInt,
    Field(
        gt=0,
        le=MAX_NEED_AMOUNT,
        description="How much you need, in fen: above 0 and at most 300,000 yuan (30000000).",
        examples=[5_000_000],
    ),
]
TermMonths = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=MAX_TERM_MONTHS,
        description="For how many months, 1 to 60.",
        examples=[12],
    ),
]
MonthlyAmount = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_MONTHLY_AMOUNT,
        description="Fen a month, 0 to 10,000,000 yuan (1000000000).",
    ),
]


class NeedsIn(StrictModel):
    """One answer to the needs questionnaire; the latest answer counts."""

    purpose: Purpose = Field(description="What the money is for.")
    amount: NeedAmount
    currency: CurrencyCode = "CNY"
    term_months: TermMonths
    monthly_income: MonthlyAmount = Field(description="Your monthly income after tax, in fen.")
    monthly_obligations: MonthlyAmount = Field(
        0,
        description="What you already pay each month elsewhere (other loans, credit cards), "
        "in fen; your loans on this platform are counted for you.",
    )
    employment: Employment = Field(description="How you earn your income.")


class NeedsOut(BaseModel):
    id: uuid.UUID
    purpose: Purpose
    purpose_zh: str = Field(description="The purpose's Chinese label.")
    amount: int
    currency: str
    term_months: int
    monthly_income: int
    monthly_obligations: int
    employment: Employment
    employment_zh: str = Field(description="The employment's Chinese label.")
    answered_on: dt.date = Field(description="The business date of the answer.")
    created_at: dt.datetime


def needs_out(row: CustomerNeed) -> NeedsOut:
    purpose, employment = Purpose(row.purpose), Employment(row.employment)
    return NeedsOut(
        id=row.id,
        purpose=purpose,
        purpose_zh=PURPOSE_ZH[purpose],
        amount=row.amount,
        currency=row.currency,
        term_months=row.term_months,
        monthly_income=row.monthly_income,
        monthly_obligations=row.monthly_obligations,
        employment=employment,
        employment_zh=EMPLOYMENT_ZH[employment],
        answered_on=row.answered_on,
        created_at=row.created_at,
    )
