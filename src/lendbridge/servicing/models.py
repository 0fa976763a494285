"""Loans and their sub-ledger: the loan, its installments, its own journal of transactions,
its status changes, and the repayments asked for.

Running balances live on the ``loan`` row (outstanding principal, interest, fees, penalties;
interest accrued to a date), so that reading or closing a loan costs the same whatever its
age. They are a cache: each equals the sum of the loan's transactions (signed receivable
changes) and the sum over its installments, and the four sums over all loans equal the
loan-book receivable accounts of the ledger (``check.py`` recomputes all three).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, BigIntPK, UTCDateTime


class LoanStatus(enum.StrEnum):
    PENDING_DISBURSEMENT = "pending_disbursement"
    ACTIVE = "active"
    OVERDUE = "overdue"
    PAID_OFF = "paid_off"
    WRITTEN_OFF = "written_off"
    RESTRUCTURED = "restructured"
    CANCELLED = "cancelled"


class DelinquencyBucket(enum.StrEnum):
    CURRENT = "current"  # nothing overdue
    M1 = "M1"  # 1-30 days past due (by default)
    M2 = "M2"  # 31-60
    M3 = "M3"  # 61-90
    M3_PLUS = "M3+"  # over 90


class Classification(enum.StrEnum):
    """The five-tier loan classification (五级分类)."""

    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失


class InstallmentState(enum.StrEnum):
    PENDING = "pending"  # not fully paid
    PAID = "paid"  # every component paid
    CANCELLED = "cancelled"  # dropped by a rebuilt schedule (prepayment reducing the term)


class TransactionKind(enum.StrEnum):
    DISBURSEMENT = "disbursement"  # the amount paid out: principal receivable
    UPFRONT_FEE = "upfront_fee"  # deducted: principal receivable; paid at start: fee receivable
    ACCRUAL = "accrual"  # interest recognised day by day
    FEE_CHARGE = "fee_charge"  # an installment fee falling due
    REPAYMENT = "repayment"  # money applied to the receivables
    PREPAYMENT_FEE = "prepayment_fee"  # income, paid with a prepayment or payoff
    PENALTY = "penalty"  # penalty interest (罚息) of a day on overdue principal
    # a change of the loan-loss provision: no receivable changes; ``amount`` is its size and
    # ``details.change`` its sign (positive: provided, negative: released)
    PROVISION = "provision"
    # the counter-transaction of one above undone by a replay (``replay.py``): the opposite
    # signs, ``details.reverses`` its id; the original stays (the journal is append-only)
    REVERSAL = "reversal"
    # a restructure (重组): ``amount`` the interest, fees and penalties capitalised into
    # principal (0 when none was), moved as signed changes
    RESTRUCTURE = "restructure"
    WRITE_OFF = "write_off"  # every receivable to zero (核销); ``amount`` what was written off
    # money received after a write-off: recovery income, no receivable changes
    RECOVERY = "recovery"


class RepaymentPurpose(enum.StrEnum):
    INSTALLMENTS = "installments"  # what is due; the rest stays in the customer's balance
    PREPAYMENT = "prepayment"  # what is due, then principal early (the product's mode and fee)
    PAYOFF = "payoff"  # the whole loan (amount defaults to the payoff quote)


class RepaymentStatus(enum.StrEnum):
    PENDING = "pending"  # the payment order is on its way
    APPLIED = "applied"  # the money arrived and was applied (the rest stays in the balance)
    FAILED = "failed"  # the payment order failed: nothing was collected
    REVERSED = "reversed"  # the channel reversed the order after it succeeded (``reversals.py``)


def _in(values: type[enum.StrEnum]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class Loan(Base):
    __tablename__ = "loan"
    __table_args__ = (
        ForeignKeyConstraint(
            ["product_code", "product_version"], ["product_version.code", "product_version.version"]
        ),
        CheckConstraint(f"status IN {_in(LoanStatus)}", name="status"),
        CheckConstraint("principal > 0", name="principal_positive"),
        CheckConstraint(
            "principal_outstanding >= 0 AND interest_outstanding >= 0 "
            "AND fee_outstanding >= 0 AND penalty_outstanding >= 0",
            name="outstanding_not_negative",
        ),
        Index("ix_loan_customer_id_id", "customer_id", "id"),
        Index("ix_loan_status_id", "status", "id"),
        # The dashboard's portfolio figures and disbursements by month: read from the index
        # alone on PostgreSQL (covering), not from a million loan rows.
        Index(
            "ix_loan_status_portfolio",
            "status",
            postgresql_include=[
                "classification",
                "delinquency_bucket",
                "dpd",
                "principal_outstanding",
            ],
        ),
        Index("ix_loan_disbursed_on", "disbursed_on", postgresql_include=["principal"]),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    product_code: Mapped[str] = mapped_column(String(32))
    product_version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    principal: Mapped[int] = mapped_column(BigInteger)
    annual_rate_percent: Mapped[str] = mapped_column(String(16))
    term: Mapped[int] = mapped_column(Integer)  # as the product counts it (days for single)
    upfront_fee: Mapped[int] = mapped_column(BigInteger)
    upfront_fee_deducted: Mapped[bool] = mapped_column(Boolean)
    installment_fee: Mapped[int] = mapped_column(BigInteger)
    disbursement_amount: Mapped[int] = mapped_column(BigInteger)  # principal less a deducted fee
    bank_card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_bank_card.id"))
    customer_account: Mapped[str] = mapped_column(String(64))  # the customer's credit balance
    status: Mapped[str] = mapped_column(String(24))
    created_on: Mapped[dt.date] = mapped_column(Date)
    start_date: Mapped[dt.date] = mapped_column(Date)  # provisional until disbursed
    maturity_date: Mapped[dt.date] = mapped_column(Date)
    disbursed_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    disbursement_channel: Mapped[str | None] = mapped_column(String(32))
    disbursement_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    disbursement_key: Mapped[str | None] = mapped_column(String(200))
    disbursement_attempts: Mapped[int] = mapped_column(Integer)
    disbursement_error: Mapped[str | None] = mapped_column(String(200))
    principal_outstanding: Mapped[int] = mapped_column(BigInteger)
    interest_outstanding: Mapped[int] = mapped_column(BigInteger)
    fee_outstanding: Mapped[int] = mapped_column(BigInteger)
    penalty_outstanding: Mapped[int] = mapped_column(BigInteger)
    # Interest is recognised for every day before this date (None before disbursement).
    interest_accrued_to: Mapped[dt.date | None] = mapped_column(Date)
    # The first installment whose interest is not wholly recognised: where accrual resumes,
    # so a daily run reads one or two installments, never the loan's whole schedule.
    accrual_installment: Mapped[int | None] = mapped_column(Integer)
    # Delinquency, kept by the close of business (``cob/delinquency.py``) as of
    # ``delinquency_as_of`` (its watermark: the business date after the day last closed).
    dpd: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue_since: Mapped[dt.date | None] = mapped_column(Date)  # oldest unpaid due date
    delinquency_bucket: Mapped[str] = mapped_column(
        String(8), default="current", server_default="current"
    )
    classification: Mapped[str] = mapped_column(
        String(16), default="normal", server_default="normal"
    )
    delinquency_as_of: Mapped[dt.date | None] = mapped_column(Date)
    # The last business day whose penalty interest the close of business charged
    # (``cob/penalty.py``; its watermark). None until the first close after creation.
    penalty_through: Mapped[dt.date | None] = mapped_column(Date)
    # The loan-loss provision booked for the loan (``cob/provision.py``), as of
    # ``provision_as_of`` (its watermark: the business date after the day last closed). Their
    # sum over all loans is the balance of ``1304.002`` (``check.py``).
    provision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    provision_as_of: Mapped[dt.date | None] = mapped_column(Date)
    # Watermarks of the close's collection and reminder steps (``cob/collection.py``,
    # ``cob/reminders.py``): the business date after the day last closed for the loan.
    collection_as_of: Mapped[dt.date | None] = mapped_column(Date)
    reminder_as_of: Mapped[dt.date | None] = mapped_column(Date)
    # Workout (``restructure.py``, ``writeoff.py``, ``recovery.py``; migration 0020): how
    # often and when last the loan was restructured (a restructured loan stays flagged even
    # when its status moves on), when and how much was written off, and what was recovered.
    restructure_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    restructured_on: Mapped[dt.date | None] = mapped_column(Date)
    written_off_on: Mapped[dt.date | None] = mapped_column(Date)
    written_off: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    recovered: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(128))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class LoanInstallment(Base):
    """One row of the loan's schedule. Number 0 is the upfront fee when it is paid at the
    start (due on the disbursement date); 1 … n are the engine's installments."""

    __tablename__ = "loan_installment"
    __table_args__ = (
        CheckConstraint(f"state IN {_in(InstallmentState)}", name="state"),
        CheckConstraint(
            "principal_paid <= principal_due AND interest_paid <= interest_due "
            "AND fee_paid <= fee_charged AND fee_charged <= fee_due "
            "AND penalty_paid <= penalty_due AND interest_accrued <= interest_due "
            "AND interest_paid <= interest_accrued",
            name="paid_within_due",
        ),
        # The unpaid installments by due date: the close's collection and reminder steps
        # find the few loans with something due without walking the portfolio.
        Index(
            "ix_loan_installment_due_pending",
            "due_date",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # Per loan, its unpaid installments by due date: the close reads only those (and the
        # one or two accrual reaches), whatever the length of the schedule.
        Index(
            "ix_loan_installment_loan_due_pending",
            "loan_id",
            "due_date",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_date: Mapped[dt.date] = mapped_column(Date)  # the period's first day
    due_date: Mapped[dt.date] = mapped_column(Date)
    principal_due: Mapped[int] = mapped_column(BigInteger)
    interest_due: Mapped[int] = mapped_column(BigInteger)
    fee_due: Mapped[int] = mapped_column(BigInteger)
    penalty_due: Mapped[int] = mapped_column(BigInteger)
    principal_paid: Mapped[int] = mapped_column(BigInteger)
    interest_paid: Mapped[int] = mapped_column(BigInteger)
    fee_paid: Mapped[int] = mapped_column(BigInteger)
    penalty_paid: Mapped[int] = mapped_column(BigInteger)
    # Interest recognised so far; the rule (``accrual.py``) accrues interest_due - base
    # linearly in the day count from accrual_from to the due date.
    interest_accrued: Mapped[int] = mapped_column(BigInteger)
    accrual_from: Mapped[dt.date] = mapped_column(Date)
    accrual_base: Mapped[int] = mapped_column(BigInteger)
    fee_charged: Mapped[int] = mapped_column(BigInteger)  # fee booked as receivable (when due)
    state: Mapped[str] = mapped_column(String(16))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)


class LoanTransaction(Base):
    """The loan's own journal. ``principal``, ``interest``, ``fee`` and ``penalty`` are signed
    changes of the receivables (a repayment is negative), so their sums per loan are the
    outstanding balances; ``amount`` is the money of the event. Each row names the ledger
    entry that books it (several rows may share one entry: a repayment and its fee)."""

    __tablename__ = "loan_transaction"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_loan_transaction_loan_id_id", "loan_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    kind: Mapped[str] = mapped_column(String(24))
    business_date: Mapped[dt.date] = mapped_column(Date)  # when it was booked
    effective_date: Mapped[dt.date] = mapped_column(Date)  # the value date
    amount: Mapped[int] = mapped_column(BigInteger)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    penalty: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    payment_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    repayment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Derived from the business event (``loan:<id>:accrual:<date>``): booked at most once.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LoanTransition(Base):
    """Every status change of a loan, in order (the audit trail also records each)."""

    __tablename__ = "loan_transition"
    __table_args__ = (Index("ix_loan_transition_loan_id_id", "loan_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(128))
    business_date: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LoanRepayment(Base):
    """A repayment asked for: its payment order (kind repayment) and, once the money arrived,
    what was applied to the loan and what stayed in the customer's credit balance."""

    __tablename__ = "loan_repayment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"purpose IN {_in(RepaymentPurpose)}", name="purpose"),
        CheckConstraint(f"status IN {_in(RepaymentStatus)}", name="status"),
        Index("ix_loan_repayment_loan_id_id", "loan_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    applied: Mapped[int] = mapped_column(BigInteger)  # to the loan, prepayment fee included
    to_credit: Mapped[int] = mapped_column(BigInteger)  # left in the customer's balance
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(128))


__all__ = [
    "Classification",
    "DelinquencyBucket",
    "InstallmentState",
    "Loan",
    "LoanInstallment",
    "LoanRepayment",
    "LoanStatus",
    "LoanTransaction",
    "LoanTransition",
    "RepaymentPurpose",
    "RepaymentStatus",
    "TransactionKind",
]
