"""Request and response shapes of loans. Amounts are integer minor units of the loan's
currency; rates are decimal strings in percent."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictInt

from lendbridge.kit.money import PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, StrictModel
from lendbridge.payments.schemas import ChannelName
from lendbridge.products.schemas import ProductCode
from lendbridge.servicing.models import (
    Classification,
    DelinquencyBucket,
    InstallmentState,
    LoanStatus,
    RepaymentPurpose,
    RepaymentStatus,
    TransactionKind,
)
from lendbridge.servicing.schedule.terms import MAX_SINGLE_DAYS

Reason = Annotated[str, Field(min_length=1, max_length=200)]


class LoanIn(StrictModel):
    """A loan for a KYC-verified customer under a product's newest version."""

    customer_id: uuid.UUID = Field(description="The borrower (a user of kind borrower).")
    product_code: ProductCode
    amount: PositiveMinorUnits = Field(description="Principal, within the product's range.")
    term: Annotated[StrictInt, Field(ge=1, le=MAX_SINGLE_DAYS)] = Field(
        description="One of the product's allowed terms (installments; days for single)."
    )
    bank_card_id: uuid.UUID | None = Field(
        None,
        description="The customer's bound card the loan is paid to (default: the card bound "
        "most recently).",
    )


class DisburseIn(StrictModel):
    channel: ChannelName = Field(description="The payment channel that pays the loan out.")


class CancelIn(StrictModel):
    reason: Reason | None = None


class RepaymentIn(StrictModel):
    channel: ChannelName = Field(description="The payment channel that collects the money.")
    purpose: RepaymentPurpose = Field(
        RepaymentPurpose.INSTALLMENTS,
        description="installments: what is due (the rest stays in the customer's credit "
        "balance); prepayment: what is due, then principal early under the product's "
        "prepayment rules; payoff: the whole loan.",
    )
    amount: PositiveMinorUnits | None = Field(
        None,
        description="Required except for a payoff, whose default is the payoff quote of the "
        "current business date.",
    )
    effective_date: IsoDate | None = Field(
        None,
        description="Staff only (permission loans.repay.backdate), installments only: the "
        "date the customer paid (a bank statement's), when the money reaches us later. Not "
        "after the business date nor before the disbursement; the loan is replayed from it.",
    )


class Outstanding(BaseModel):
    principal: int
    interest: int = Field(description="Accrued and not paid.")
    fee: int = Field(description="Charged and not paid.")
    penalty: int
    total: int


class InstallmentOut(BaseModel):
    number: int = Field(description="0 is an upfront fee paid at the start.")
    start_date: dt.date
    due_date: dt.date
    principal_due: int
    interest_due: int
    fee_due: int
    penalty_due: int
    principal_paid: int
    interest_paid: int
    fee_paid: int
    penalty_paid: int
    interest_accrued: int
    state: InstallmentState
    paid_on: dt.date | None


class LoanTransitionOut(BaseModel):
    from_status: LoanStatus | None
    to_status: LoanStatus
    reason: str
    actor: str
    business_date: dt.date
    at: dt.datetime


class LoanOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    product_code: str
    product_version: int
    currency: str
    principal: int
    annual_rate_percent: str
    term: int
    upfront_fee: int
    upfront_fee_deducted: bool
    installment_fee: int
    disbursement_amount: int = Field(description="Paid out: the principal less a deducted fee.")
    bank_card_id: uuid.UUID
    customer_account: str = Field(description="The customer's credit balance in the ledger.")
    status: LoanStatus
    created_on: dt.date
    start_date: dt.date = Field(description="The disbursement date (provisional until then).")
    maturity_date: dt.date
    disbursed_on: dt.date | None
    closed_on: dt.date | None
    disbursement_order_id: uuid.UUID | None
    disbursement_attempts: int
    disbursement_error: str | None
    outstanding: Outstanding
    interest_accrued_to: dt.date | None = Field(
        description="Interest is recognised for every day before this date."
    )
    dpd: int = Field(
        description="Days past due: since the oldest installment due and not fully paid "
        "(0 when nothing is overdue), as of `delinquency_as_of`."
    )
    overdue_since: dt.date | None = Field(
        description="The due date of the oldest installment due and not fully paid."
    )
    delinquency_bucket: DelinquencyBucket = Field(
        description="current, M1 (1-30 days past due), M2 (31-60), M3 (61-90), M3+ (over 90)."
    )
    classification: Classification = Field(
        description="The five-tier classification (正常 normal, 关注 special mention, 次级 "
        "substandard, 可疑 doubtful, 损失 loss), by days past due."
    )
    delinquency_as_of: dt.date | None = Field(
        description="The business date the close of business last computed delinquency for."
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class LoanDetailOut(LoanOut):
    installments: list[InstallmentOut]
    transitions: list[LoanTransitionOut]


class LoanPage(BaseModel):
    items: list[LoanOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class TransactionOut(BaseModel):
    id: uuid.UUID
    kind: TransactionKind
    business_date: dt.date
    effective_date: dt.date
    amount: int
    principal: int = Field(description="Change of the principal receivable (signed).")
    interest: int
    fee: int
    penalty: int
    entry_id: uuid.UUID | None = Field(description="The ledger entry that books it.")
    payment_order_id: uuid.UUID | None
    repayment_id: uuid.UUID | None
    details: dict[str, Any] | None
    actor: str
    created_at: dt.datetime


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    next_cursor: str | None


class RepaymentOut(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    purpose: RepaymentPurpose
    amount: int
    currency: str
    channel: str
    order_id: uuid.UUID | None = Field(description="The payment order that collects it.")
    status: RepaymentStatus
    effective_date: dt.date | None
    applied: int = Field(description="Applied to the loan (a prepayment fee included).")
    to_credit: int = Field(description="Left in the customer's credit balance.")
    note: str | None
    created_at: dt.datetime


class PayoffQuoteOut(BaseModel):
    loan_id: uuid.UUID
    date: dt.date = Field(description="The day the quote is valid for.")
    currency: str
    principal: int
    interest: int = Field(description="Accrued to the date (every day before it), not paid.")
    fee: int = Field(description="Fees due by the date, not paid.")
    penalty: int = Field(description="Penalty interest charged so far, not paid.")
    prepayment_fee: int = Field(description="The product's fee on the principal not yet due.")
    total: int
    prepayment_allowed: bool = Field(
        description="Whether the product allows paying principal early yet."
    )
