"""The payoff quote (结清试算): what paying a whole loan off on a date costs. Nothing is booked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.servicing import installments, prepayment
from lendbridge.servicing.accrual import accrued
from lendbridge.servicing.errors import LoanNotRepayable
from lendbridge.servicing.loan_schemas import PayoffQuoteOut
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.models import InstallmentState, Loan
from lendbridge.servicing.schedule import DayCount
from lendbridge.servicing.states import REPAYABLE


def repayable(loan: Loan) -> None:
    if loan.status not in REPAYABLE:
        raise LoanNotRepayable(f"loan {loan.id} is {loan.status}: it takes no repayments")


def payoff_quote(session: Session, loan: Loan, on: dt.date) -> PayoffQuoteOut:
    """What paying the whole loan off on ``on`` costs (nothing is booked): the outstanding
    principal, interest accrued to ``on`` (every day before it) and not paid, fees due by
    ``on``, penalties charged so far, and the product's prepayment fee on the principal not
    yet due. Penalty interest the close of business would charge until ``on`` is not
    projected. ``on`` may not precede the business date or the loan's accrual."""
    repayable(loan)
    today = calendar.business_date(session)
    floor = max(today, loan.interest_accrued_to or today)
    if on < floor:
        raise field_error(ValidationFailed, "date", f"must be on or after {floor}")
    product = product_of(session, loan)
    day_count = DayCount(product.day_count)
    rows = installments.load_rows(session, loan.id)
    open_rows = [r for r in rows if r.state == InstallmentState.PENDING.value]
    principal = sum(r.principal_due - r.principal_paid for r in open_rows)
    owed_interest = sum(
        accrued(r.interest_due, r.accrual_base, r.accrual_from, r.due_date, on, day_count)
        - r.interest_paid
        for r in open_rows
    )
    fee = sum(r.fee_due - r.fee_paid for r in open_rows if r.due_date <= on)
    penalty = sum(r.penalty_due - r.penalty_paid for r in open_rows)
    early = sum(r.principal_due - r.principal_paid for r in open_rows if r.due_date > on)
    fee_early = prepayment.prepayment_fee(product, early)
    falling_due = sum(1 for r in open_rows if r.number >= 1 and r.due_date <= on)
    paid = prepayment.paid_installments(rows) + falling_due
    return PayoffQuoteOut(
        loan_id=loan.id,
        date=on,
        currency=loan.currency,
        principal=principal,
        interest=owed_interest,
        fee=fee,
        penalty=penalty,
        prepayment_fee=fee_early,
        total=principal + owed_interest + fee + penalty + fee_early,
        prepayment_allowed=early == 0 or paid >= product.prepayment.allowed_after,
    )
