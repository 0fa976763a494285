"""Request and response shapes of loan products. Amounts are integer minor units of the
product's currency; rates, multiples and percentages are decimal strings (never JSON numbers:
a float would round before the rules see it).

``ProductIn`` is the whole definition of a product version: the body of ``POST /v1/products``,
the file of ``lendbridge products save`` and, as JSON, the stored document (see ``models.py``).
Bounds here keep one request cheap; the rules that span fields live in ``validation.py``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt

from lendbridge.kit.money import CurrencyCode, PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, StrictModel
from lendbridge.servicing.schedule import DayCount, Frequency, InterestPeriod, Method
from lendbridge.servicing.schedule.terms import MAX_SINGLE_DAYS
from lendbridge.servicing.schemas import (
    Count,
    FeePercent,
    NonNegativeMinorUnits,
    RatePercent,
    ScheduleOut,
)

CODE_PATTERN = r"^[A-Z][A-Z0-9_-]{1,31}$"
MAX_ALLOWED_TERMS = 24
MAX_PENALTY_GRACE_DAYS = 30

ProductCode = Annotated[
    str,
    Field(
        pattern=CODE_PATTERN,
        description="Product code: 2-32 upper-case letters, digits, '-' or '_', starting with "
        "a letter. A code names every version of the product.",
        examples=["CONSUMER-12"],
    ),
]
MaxAprPercent = Annotated[
    str,
    Field(
        pattern=r"^(0|[1-9][0-9]?)(\.[0-9]{1,4})?$",
        description="The highest APR (IRR basis, fees included) any allowed amount and term "
        'may reach, percent as a decimal string, above 0 and at most 36: "24" is 24 %.',
        examples=["24"],
    ),
]
RateMultiple = Annotated[
    str,
    Field(
        pattern=r"^(0|[1-9][0-9]?)(\.[0-9]{1,4})?$",
        description='Penalty rate as a multiple of the contract rate (above 0, at most 10): "1.5" '
        "is the contract rate plus 50 %.",
        examples=["1.5"],
    ),
]
DailyRatePercent = Annotated[
    str,
    Field(
        pattern=r"^[01](\.[0-9]{1,6})?$",
        description='Penalty rate per day in percent (above 0, at most 1): "0.05" is 0.05 % a '
        "day (万分之五).",
        examples=["0.05"],
    ),
]
AllowedTerm = Annotated[StrictInt, Field(ge=1, le=MAX_SINGLE_DAYS)]


class FeeIn(StrictModel):
    """A fee: a fixed amount plus a percentage (of the principal; for a prepayment, of the
    principal prepaid), rounded half up to the minor unit. Set the unused one to 0."""

    fixed: NonNegativeMinorUnits = 0
    percent: FeePercent = "0"


class UpfrontFeeIn(FeeIn):
    deducted: StrictBool = Field(
        True, description="Deducted from the amount disbursed (true) or paid at the start."
    )


class PenaltyBasis(StrEnum):
    RATE_MULTIPLE = "rate_multiple"  # the contract rate times ``rate_multiple`` (罚息上浮)
    DAILY_RATE = "daily_rate"  # ``daily_rate_percent`` per day
    NONE = "none"


class PenaltyIn(StrictModel):
    """Penalty interest (罚息) on overdue amounts, from the end of ``grace_days`` after the due
    date. Exactly the field its ``basis`` names is set."""

    basis: PenaltyBasis = PenaltyBasis.NONE
    rate_multiple: RateMultiple | None = None
    daily_rate_percent: DailyRatePercent | None = None
    grace_days: Annotated[StrictInt, Field(ge=0, le=MAX_PENALTY_GRACE_DAYS)] = Field(
        0, description="Days after a due date before an overdue amount carries penalty interest."
    )


class PrepaymentMode(StrEnum):
    REDUCE_TERM = "reduce_term"  # keep the installment, shorten the loan (缩短期限)
    REDUCE_INSTALLMENT = "reduce_installment"  # keep the term, lower the installment (减少月供)


class PrepaymentIn(StrictModel):
    allowed_after: Count = Field(
        0, description="Installments that must be paid before a prepayment is accepted."
    )
    fee: FeeIn = Field(default_factory=FeeIn)
    mode: PrepaymentMode = PrepaymentMode.REDUCE_INSTALLMENT


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class AllocationStrategy(StrEnum):
    # Installment by installment, oldest first: each one fully, in ``order``, before the next.
    OLDEST_INSTALLMENT_FIRST = "oldest_installment_first"
    # Component by component: the first component of ``order`` on every installment due
    # (oldest first), then the next component.
    DUE_FIRST = "due_first"


DEFAULT_ORDER = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)


class AllocationIn(StrictModel):
    order: Annotated[list[Component], Field(min_length=4, max_length=4)] = Field(
        default_factory=lambda: list(DEFAULT_ORDER),
        description="The order in which a repayment pays the components: each of penalty, "
        "fee, interest and principal exactly once.",
    )
    strategy: AllocationStrategy = AllocationStrategy.OLDEST_INSTALLMENT_FIRST


class ProductIn(StrictModel):
    """One version of a loan product. See docs/products.md for every rule."""

    code: ProductCode
    name: Annotated[str, Field(min_length=1, max_length=100)]
    currency: CurrencyCode = "CNY"
    min_amount: PositiveMinorUnits
    max_amount: PositiveMinorUnits
    allowed_terms: Annotated[
        list[AllowedTerm], Field(min_length=1, max_length=MAX_ALLOWED_TERMS)
    ] = Field(
        description="The terms a loan may have, ascending: numbers of installments (of "
        "periods, for a bullet); for the single frequency, the loan's length in days."
    )
    frequency: Frequency = Frequency.MONTHLY
    method: Method = Method.EQUAL_INSTALLMENT
    interest_period: InterestPeriod = InterestPeriod.REPAYMENT
    day_count: DayCount = DayCount.ACT_365F
    annual_rate_percent: RatePercent
    principal_grace: Count = Field(0, description="Leading installments of interest only.")
    interest_grace: Count = Field(0, description="Leading periods whose interest is waived.")
    installment_multiple: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = Field(
        1,
        description="equal_installment only: round the installment to this many minor units "
        "(100 = whole yuan); the last installment absorbs the difference.",
    )
    upfront_fee: UpfrontFeeIn = Field(default_factory=UpfrontFeeIn)
    installment_fee: FeeIn = Field(default_factory=FeeIn)
    penalty: PenaltyIn = Field(default_factory=PenaltyIn)
    prepayment: PrepaymentIn = Field(default_factory=PrepaymentIn)
    allocation: AllocationIn = Field(default_factory=AllocationIn)
    max_apr_percent: MaxAprPercent = "24"


class ProductStatus(StrEnum):
    ACTIVE = "active"  # new loans use its newest version
    RETIRED = "retired"  # no new loans; existing loans keep their version


class ProductOut(ProductIn):
    """A stored version: its definition exactly as saved, and the product's state."""

    version: int = Field(description="This version; loans reference (code, version).")
    latest_version: int = Field(description="The newest version, the one new loans use.")
    status: ProductStatus
    created_at: dt.datetime = Field(description="When this version was saved.")
    created_by: str | None = Field(description="Who saved this version.")


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class RetireIn(StrictModel):
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class QuoteIn(StrictModel):
    amount: PositiveMinorUnits
    term: AllowedTerm = Field(
        description="One of the product's allowed terms (installments; days for single)."
    )
    start: IsoDate | None = Field(
        None, description="Disbursement date (default: the current business date)."
    )


class QuoteOut(BaseModel):
    code: str
    version: int = Field(description="The product version quoted: the newest one.")
    amount: int
    term: int
    start: dt.date
    max_apr_percent: str
    schedule: ScheduleOut
