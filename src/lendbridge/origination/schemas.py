"""Requests and answers of the origination API. Money in integer fen with its currency."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, StrictStr, StringConstraints

from lendbridge.kit.money import PositiveMinorUnits
from lendbridge.kit.schemas import StrictModel
from lendbridge.origination.models import ApplicationStatus
from lendbridge.origination.vocabulary import Employment, Purpose
from lendbridge.products.schemas import ProductCode
from lendbridge.servicing.schemas import ScheduleOut

Income = Annotated[StrictInt, Field(ge=0, le=100_000_000_00)]
FeatureName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
FeatureValue = StrictInt | Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Code = Annotated[str, StringConstraints(pattern=r"^\s*\d{6}\s*$")]


class ApplicationIn(StrictModel):
    """A loan application by the signed-in borrower."""

    product_code: ProductCode
    amount: PositiveMinorUnits = Field(description="Requested principal, in fen.")
    term: Annotated[StrictInt, Field(ge=1, le=100_000)] = Field(
        description="One of the product's allowed terms."
    )
    purpose: Purpose
    employment: Employment
    monthly_income: Income = Field(description="Declared monthly income, in fen.")
    declared_monthly_obligations: Income = Field(
        0, description="Monthly payments to other lenders, in fen."
    )
    features: dict[FeatureName, FeatureValue] = Field(
        default_factory=dict,
        max_length=64,
        description="The credit model's other characteristics (GET /v1/me/applications/form "
        "lists them with their allowed values).",
    )


class SignIn(StrictModel):
    code: Code = Field(
        description="The one-time code sent by POST /v1/me/step-up-codes (purpose sign_contract)."
    )


class ApproveIn(StrictModel):
    limit: PositiveMinorUnits | None = Field(
        None, description="A lower limit than the decision's (fen); default the decision's."
    )
    note: Note


class DeclineIn(StrictModel):
    reason_zh: Note = Field(description="The reason the applicant sees, in Chinese.")
    reason_en: Note = Field(description="The same reason in English.")


class ReasonOut(BaseModel):
    code: str
    zh: str
    en: str


class OfferOut(BaseModel):
    amount: int
    currency: str
    term: int
    annual_rate_percent: str
    apr_percent: str
    expires_on: dt.date
    expired: bool
    schedule: ScheduleOut


class ContractOut(BaseModel):
    id: uuid.UUID
    number: str
    sha256: str
    size: int
    signed_at: dt.datetime


class ApplicationOut(BaseModel):
    """What the borrower sees of their application."""

    id: uuid.UUID
    status: ApplicationStatus
    product_code: str
    product_version: int
    currency: str
    amount: int
    term: int
    purpose: Purpose
    employment: Employment
    monthly_income: int
    declared_monthly_obligations: int
    applied_on: dt.date
    grade: str | None
    limit: int | None
    offer: OfferOut | None
    reasons: list[ReasonOut] = Field(
        description="Why, in plain language: the reasons of a decline, or what weighed most."
    )
    loan_id: uuid.UUID | None
    contract: ContractOut | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleOutcomeOut(BaseModel):
    code: str
    passed: bool
    detail: str


class DecisionOut(BaseModel):
    id: uuid.UUID
    version: int
    outcome: str
    score: int
    grade: str | None
    limit: int
    offer_amount: int
    rate_percent: str | None
    apr_percent: str | None
    model: str
    policy: str
    rules: list[RuleOutcomeOut]
    decided_at: dt.datetime


class ApplicantOut(BaseModel):
    """The applicant as a loan officer sees them: masked."""

    customer_id: uuid.UUID
    name: str | None
    resident_id: str | None
    phone: str | None
    kyc_level: str
    age: int | None


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str
    actor: str
    business_date: dt.date
    at: dt.datetime


class ApplicationReviewOut(ApplicationOut):
    """What staff see: the applicant (masked), the decision with each rule's outcome, the
    model's inputs, the history."""

    applicant: ApplicantOut
    decision: DecisionOut | None
    features: dict[str, int | str]
    reviewed_by: str | None
    review_note: str | None
    history: list[TransitionOut]


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    next_cursor: str | None


class ReviewPage(BaseModel):
    items: list[ApplicationReviewOut]
    next_cursor: str | None


class FormField(BaseModel):
    name: str
    numeric: bool
    categories: list[str]
    from_application: str | None = Field(
        None, description="Answered by this field of the application itself."
    )


class FormOut(BaseModel):
    """What an application must give the credit model in use."""

    model: str
    fields: list[FormField]
