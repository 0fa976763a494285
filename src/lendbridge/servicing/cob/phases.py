"""The loans' day, one loan at a time, in memory: the four rules of the close applied in order
to a locked loan row and its installments, each guarded by its own watermark, collecting what
the batch must book (``BatchBook``). Pure: no database; ``writes.py`` books the result.

1. **Accrual** (``accrual.advance``): interest of every day before ``D + 1``; the fees of
   installments due on or before ``D + 1``. Watermark ``interest_accrued_to``.
2. **Delinquency** (``delinquency.py``): days past due as of ``D + 1``, bucket,
   classification, ``active`` <-> ``overdue``. Watermark ``delinquency_as_of``.
3. **Penalty interest** (``penalty.py``) of day ``D``. Watermark ``penalty_through``.
4. **Provision** (``provision.py``) for the classification as of ``D + 1``. Watermark
   ``provision_as_of``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lendbridge.ledger.models import Side
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing import accounting
from lendbridge.servicing.accrual import advance
from lendbridge.servicing.cob import delinquency, penalty, provision
from lendbridge.servicing.cob.rows import InstallmentRow, LoanRow
from lendbridge.servicing.models import LoanStatus, TransactionKind
from lendbridge.servicing.schedule import DayCount
from lendbridge.servicing.states import REPAYABLE

ONE_DAY = dt.timedelta(days=1)


class Booking(NamedTuple):
    """One loan transaction to write (the writer adds id, entry, actor and times). A named
    tuple: the close makes one per loan and day, and a frozen dataclass costs four times as
    much to build."""

    loan_id: uuid.UUID
    currency: str
    kind: str
    effective_date: dt.date
    amount: int
    interest: int
    fee: int
    penalty: int
    key: str
    details: dict[str, Any]


class Transition(NamedTuple):
    loan_id: uuid.UUID
    from_status: str
    to_status: str
    reason: str


@dataclass
class BatchBook:
    """What a batch of loans books: loan transactions, ledger lines summed per currency and
    account side, status changes, and counts per rule."""

    bookings: list[Booking] = field(default_factory=list)
    lines: Counter[tuple[str, str, Side]] = field(default_factory=Counter)
    transitions: list[Transition] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add_lines(self, currency: str, lines: list[accounting.Line]) -> None:
        for account, side, amount in lines:
            if amount:
                self.lines[(currency, account, side)] += amount


@dataclass(frozen=True)
class Day:
    """The day being closed and the policies in force."""

    day: dt.date
    delinquency: delinquency.DelinquencyPolicy = delinquency.POLICY
    provision: provision.ProvisionPolicy = provision.POLICY

    @property
    def next(self) -> dt.date:
        return self.day + ONE_DAY


def close_loan(loan: LoanRow, product: ProductIn, on: Day, book: BatchBook) -> None:
    """Apply the day's four rules to ``loan`` (and its loaded installments) in order."""
    if loan.status in REPAYABLE:
        ordered = loan.rows()
        _accrue(loan, ordered, product, on, book)
        _delinquency(loan, ordered, on, book)
        _penalty(loan, ordered, product, on, book)
    _provision(loan, on, book)


def _accrue(
    loan: LoanRow, ordered: list[InstallmentRow], product: ProductIn, on: Day, book: BatchBook
) -> None:
    to = on.next
    if loan.interest_accrued_to is None or loan.accrual_installment is None:
        return
    if loan.interest_accrued_to >= to:
        return
    pointer = loan.accrual_installment
    rows = [r for r in ordered if r.number >= pointer and r.start_date < to]
    change = advance(loan, rows, to, DayCount(product.day_count))
    loan.interest_accrued_to = to
    touched = {n for n, _ in change.by_installment} | {n for n, _ in change.fees}
    for number in touched:
        loan.installments[number].changed = True
    if change.interest:
        book.counts["accrued"] += 1
        book.add_lines(loan.currency, accounting.accrual_lines(change.interest))
        book.bookings.append(
            Booking(
                loan.id,
                loan.currency,
                TransactionKind.ACCRUAL.value,
                to,
                change.interest,
                change.interest,
                0,
                0,
                f"loan:{loan.id}:accrual:{to}",
                {"installments": change.by_installment},
            )
        )
    for number, fee in change.fees:
        book.counts["fees"] += 1
        book.add_lines(loan.currency, accounting.fee_charge_lines(fee))
        book.bookings.append(
            Booking(
                loan.id,
                loan.currency,
                TransactionKind.FEE_CHARGE.value,
                to,
                fee,
                0,
                fee,
                0,
                f"loan:{loan.id}:fee:{number}",
                {"installment": number},
            )
        )


def _delinquency(loan: LoanRow, ordered: list[InstallmentRow], on: Day, book: BatchBook) -> None:
    as_of = on.next
    if loan.delinquency_as_of is not None and loan.delinquency_as_of >= as_of:
        return
    dpd, since = delinquency.days_past_due(ordered, as_of)
    status = LoanStatus(loan.status)
    if dpd > 0 and status == LoanStatus.ACTIVE:
        _move(loan, LoanStatus.OVERDUE, f"installment due {since} not paid", book)
    elif dpd == 0 and status == LoanStatus.OVERDUE:
        _move(loan, LoanStatus.ACTIVE, "overdue installments paid", book)
    loan.dpd = dpd
    loan.overdue_since = since
    loan.delinquency_bucket = on.delinquency.bucket(dpd).value
    loan.classification = on.delinquency.classification(dpd).value
    loan.delinquency_as_of = as_of
    if dpd:
        book.counts["overdue"] += 1


def _move(loan: LoanRow, target: LoanStatus, reason: str, book: BatchBook) -> None:
    book.transitions.append(Transition(loan.id, loan.status, target.value, reason))
    loan.status = target.value


def _penalty(
    loan: LoanRow, ordered: list[InstallmentRow], product: ProductIn, on: Day, book: BatchBook
) -> None:
    day = on.day
    if loan.penalty_through is not None and loan.penalty_through >= day:
        return
    loan.penalty_through = day
    rate = penalty.daily_rate(product.penalty, loan.annual_rate_percent)
    if rate is None:
        return
    due = [r for r in ordered if r.due_date < day]
    amount, by_installment = penalty.charge_day(due, rate, product.penalty.grace_days, day)
    if not amount:
        return
    for number, _ in by_installment:
        loan.installments[number].changed = True
    loan.penalty_outstanding += amount
    book.counts["penalties"] += 1
    book.add_lines(loan.currency, accounting.penalty_lines(amount))
    book.bookings.append(
        Booking(
            loan.id,
            loan.currency,
            TransactionKind.PENALTY.value,
            day,
            amount,
            0,
            0,
            amount,
            f"loan:{loan.id}:penalty:{day}",
            {"installments": by_installment},
        )
    )


def _provision(loan: LoanRow, on: Day, book: BatchBook) -> None:
    as_of = on.next
    if loan.provision_as_of is not None and loan.provision_as_of >= as_of:
        return
    need = provision.required(loan, on.provision)
    change = need - loan.provision
    loan.provision_as_of = as_of
    if not change:
        return
    loan.provision = need
    tier = loan.classification
    book.counts["provisions"] += 1
    book.add_lines(loan.currency, accounting.provision_lines(change))
    book.bookings.append(
        Booking(
            loan.id,
            loan.currency,
            TransactionKind.PROVISION.value,
            on.day,
            abs(change),
            0,
            0,
            0,
            f"loan:{loan.id}:provision:{on.day}",
            {
                "change": change,
                "provision": need,
                "base": loan.principal_outstanding,
                "classification": tier,
                "rate_percent": getattr(on.provision, tier),
                "status": loan.status,
            },
        )
    )
