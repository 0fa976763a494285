"""Request and response shapes of repayment schedules. Amounts are integer minor units; rates
are decimal strings in percent (never JSON numbers: a float would round before the engine
sees it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt

from lendbridge.kit.money import MAX_MINOR_UNITS, CurrencyCode, PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, StrictModel
from lendbridge.servicing.schedule import (
    Apr,
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    Schedule,
    Terms,
)
from lendbridge.servicing.schedule.terms import MAX_INSTALLMENTS, MAX_SINGLE_DAYS

RatePercent = Annotated[
    str,
    Field(
        pattern=r"^(0|[1-9][0-9]{0,2})(\.[0-9]{1,6})?$",
        description="Annual interest rate in percent, as a decimal string (at most 1000, "
        'up to 6 decimal places): "8.4" is 8.4 % a year.',
        examples=["8.4"],
    ),
]
FeePercent = Annotated[
    str,
    Field(
        pattern=r"^(0|[1-9][0-9]{0,2})(\.[0-9]{1,6})?$",
        description="Percent of the principal as a decimal string (at most 100), rounded half "
        "up to the minor unit.",
        examples=["0"],
    ),
]
NonNegativeMinorUnits = Annotated[StrictInt, Field(ge=0, le=MAX_MINOR_UNITS)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_INSTALLMENTS)]
PercentString = Annotated[
    str,
    Field(
        description="Percent a year, a decimal string rounded half up to 4 places.",
        examples=["12.6825"],
    ),
]


class ScheduleIn(StrictModel):
    principal: PositiveMinorUnits
    currency: CurrencyCode = "CNY"
    annual_rate_percent: RatePercent
    term: Annotated[
        StrictInt,
        Field(
            ge=1,
            le=MAX_SINGLE_DAYS,
            description=f"Number of installments (at most {MAX_INSTALLMENTS}); for the "
            f"single frequency, the loan's length in days (at most {MAX_SINGLE_DAYS}).",
        ),
    ]
    frequency: Frequency = Frequency.MONTHLY
    method: Method = Method.EQUAL_INSTALLMENT
    start: IsoDate = Field(
        description="Disbursement date; the first installment falls one period later."
    )
    day_count: DayCount = DayCount.ACT_365F
    interest_period: InterestPeriod = InterestPeriod.REPAYMENT
    principal_grace: Count = Field(0, description="Leading installments of interest only.")
    interest_grace: Count = Field(0, description="Leading periods whose interest is waived.")
    installment_multiple: Annotated[StrictInt, Field(ge=1, le=MAX_MINOR_UNITS)] = Field(
        1,
        description="equal_installment only: round the installment to this many minor "
        "units (100 = whole yuan); the last installment absorbs the difference.",
    )
    upfront_fee_fixed: NonNegativeMinorUnits = 0
    upfront_fee_percent: FeePercent = "0"
    upfront_fee_deducted: StrictBool = Field(
        True, description="Deducted from the amount disbursed (true) or paid at the start."
    )
    installment_fee_fixed: NonNegativeMinorUnits = 0
    installment_fee_percent: FeePercent = "0"

    def to_terms(self) -> Terms:
        """The engine's input; raises ``ValidationFailed`` naming the field for rules that
        span fields (grace shorter than the term, fee less than the principal)."""
        return Terms(
            principal=self.principal,
            currency=self.currency,
            annual_rate_percent=Decimal(self.annual_rate_percent),
            term=self.term,
            frequency=self.frequency,
            method=self.method,
            start=self.start,
            day_count=self.day_count,
            interest_period=self.interest_period,
            principal_grace=self.principal_grace,
            interest_grace=self.interest_grace,
            installment_multiple=self.installment_multiple,
            upfront_fee_fixed=self.upfront_fee_fixed,
            upfront_fee_percent=Decimal(self.upfront_fee_percent),
            upfront_fee_deducted=self.upfront_fee_deducted,
            installment_fee_fixed=self.installment_fee_fixed,
            installment_fee_percent=Decimal(self.installment_fee_percent),
        )


class InstallmentOut(BaseModel):
    number: int
    due_date: dt.date
    principal: int
    interest: int
    fee: int
    total: int
    balance: int = Field(description="Principal outstanding after this installment.")


class ScheduleOut(BaseModel):
    currency: str
    installments: list[InstallmentOut]
    total_principal: int
    total_interest: int
    total_fees: int = Field(description="The upfront fee plus every installment's fee.")
    upfront_fee: int
    disbursed: int = Field(description="Paid out: the principal, less a deducted upfront fee.")
    total_repayment: int = Field(description="The sum of the installments' totals.")
    apr: PercentString = Field(
        description="Annual percentage rate: the IRR of the borrower's cash flows (fees "
        "included) per installment interval × intervals per year, percent, 4 places."
    )
    ear: PercentString = Field(
        description="Effective annual rate: (1 + periodic IRR)^(intervals per year) − 1, "
        "percent, 4 places."
    )


def schedule_out(schedule: Schedule, rates: Apr) -> ScheduleOut:
    """The API's and the CLI's JSON form of a schedule."""
    return ScheduleOut(
        currency=schedule.terms.currency,
        installments=[InstallmentOut(**row._asdict()) for row in schedule.installments],
        total_principal=schedule.total_principal,
        total_interest=schedule.total_interest,
        total_fees=schedule.total_fees,
        upfront_fee=schedule.upfront_fee,
        disbursed=schedule.disbursed,
        total_repayment=schedule.total_repayment,
        apr=str(rates.apr),
        ear=str(rates.ear),
    )
