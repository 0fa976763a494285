"""Response shapes of ``GET /v1/customers/{customer_id}/recommendations``: the products that
fit a borrower's needs, ranked, each with its estimated price and the reasons in Chinese and
English; the products left out, each with its reasons. Amounts are integer fen of the need's
currency; rates and ratios are decimal strings."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from lendbridge.servicing.schedule import Frequency, Method


class ReasonOut(BaseModel):
    code: str = Field(description="Stable code of the reason, e.g. term_nearest, kyc.")
    zh: str
    en: str


class FitOut(BaseModel):
    """The fit score's parts (module docstring of ``origination/recommendations.py``)."""

    amount: int = Field(description="0-50: 50 x the estimated amount / the amount needed.")
    term: int = Field(description="0-30: 30 for the term needed, 5 less per month away.")
    affordability: int = Field(description="20 when the payments fit the income, else 0.")
    total: int = Field(description="The sum, 0-100: the first ranking key.")


class RecommendationOut(BaseModel):
    rank: int = Field(description="1 is the best fit (ties: the lower APR first).")
    product_code: str
    product_name: str
    product_version: int = Field(description="The product's newest version, new loans' one.")
    amount: int = Field(description="The amount estimated for (at most the product's maximum).")
    currency: str
    term: int = Field(description="The term estimated for, in the product's ``term_unit``.")
    term_unit: str = Field(description="months, weeks, fortnights or days.")
    frequency: Frequency
    method: Method
    installments: int
    rate_percent: str = Field(description="The annual rate the estimate uses.")
    rate_low_percent: str = Field(description="The lowest rate a credit decision may give.")
    rate_high_percent: str = Field(description="The highest: the product's published rate.")
    apr_percent: str = Field(description="APR of the estimate (IRR basis, fees included).")
    monthly_payment: int = Field(
        description="Average monthly repayment, fees included, rounded up to the fen: what "
        "affordability is measured with (for monthly equal installments, the installment)."
    )
    first_installment: int = Field(description="The first installment's total.")
    total_interest: int
    total_fees: int
    total_repayment: int
    disbursed: int = Field(description="Paid out to you: the amount less a deducted fee.")
    payment_to_income: str | None = Field(
        description="The monthly payment / monthly income (null: no income known)."
    )
    debt_to_income: str | None = Field(
        description="(Payments elsewhere + platform installments + this payment) / income."
    )
    fit: FitOut
    reasons: list[ReasonOut]


class IneligibleOut(BaseModel):
    product_code: str
    product_name: str
    product_version: int
    reasons: list[ReasonOut]


class NeedUsedOut(BaseModel):
    amount: int
    currency: str
    term_months: int
    monthly_income: int | None = Field(description="Null: no questionnaire answer.")
    monthly_obligations: int
    needs_id: uuid.UUID | None = Field(description="The questionnaire answer used, if any.")
    answered_on: dt.date | None
    overridden: list[str] = Field(description="Query parameters that replaced an answer.")


class RecommendationsOut(BaseModel):
    customer_id: uuid.UUID
    as_of: dt.date = Field(description="The business date the estimates start from.")
    need: NeedUsedOut
    grade: str | None = Field(description="The credit grade priced at (null: a range).")
    policy: str = Field(description="The decision policy version priced with (name/vN).")
    kyc_level: str
    ready_to_apply: bool = Field(
        description="Identity verified and a bank card bound: a loan can be made."
    )
    platform_monthly_installments: int = Field(
        description="The next installment of each of your loans on this platform, summed."
    )
    max_debt_to_income: str = Field(description="The policy's affordability limit (0-1).")
    recommendations: list[RecommendationOut]
    ineligible: list[IneligibleOut] = Field(
        description="Products taking new loans in your currency that do not fit, with why."
    )
