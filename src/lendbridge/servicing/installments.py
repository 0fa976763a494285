"""A loan's installment rows: made from the engine's schedule, read back in order."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.servicing.loan_schemas import InstallmentOut
from lendbridge.servicing.models import InstallmentState, LoanInstallment
from lendbridge.servicing.schedule import Schedule

PENDING = InstallmentState.PENDING.value
PAID = InstallmentState.PAID.value
CANCELLED = InstallmentState.CANCELLED.value


def new_row(
    loan_id: uuid.UUID,
    number: int,
    start: dt.date,
    due: dt.date,
    *,
    principal: int = 0,
    interest: int = 0,
    fee: int = 0,
) -> LoanInstallment:
    return LoanInstallment(
        loan_id=loan_id,
        number=number,
        start_date=start,
        due_date=due,
        principal_due=principal,
        interest_due=interest,
        fee_due=fee,
        penalty_due=0,
        principal_paid=0,
        interest_paid=0,
        fee_paid=0,
        penalty_paid=0,
        interest_accrued=0,
        accrual_from=start,
        accrual_base=0,
        fee_charged=0,
        state=PENDING,
        paid_on=None,
    )


def rows_from_schedule(
    loan_id: uuid.UUID, schedule: Schedule, *, fee_at_start: int
) -> list[LoanInstallment]:
    """The rows of a new loan: installment 0 for an upfront fee paid at the start (due on
    the start date), then the engine's installments, each period starting at the previous
    due date."""
    start = schedule.terms.start
    rows = []
    if fee_at_start:
        rows.append(new_row(loan_id, 0, start, start, fee=fee_at_start))
    previous = start
    for item in schedule.installments:
        rows.append(
            new_row(
                loan_id,
                item.number,
                previous,
                item.due_date,
                principal=item.principal,
                interest=item.interest,
                fee=item.fee,
            )
        )
        previous = item.due_date
    return rows


def restart(rows: Sequence[LoanInstallment], schedule: Schedule) -> None:
    """Move a not yet disbursed loan's rows onto ``schedule`` (the same installments from
    the real disbursement date)."""
    start = schedule.terms.start
    by_number = {row.number: row for row in rows}
    if 0 in by_number:
        by_number[0].start_date = by_number[0].due_date = by_number[0].accrual_from = start
    previous = start
    for item in schedule.installments:
        row = by_number[item.number]
        row.start_date = row.accrual_from = previous
        row.due_date = item.due_date
        row.principal_due, row.interest_due, row.fee_due = item.principal, item.interest, item.fee
        previous = item.due_date


def load_rows(
    session: Session, loan_id: uuid.UUID, *, open_only: bool = False
) -> list[LoanInstallment]:
    """The loan's installments in order (``open_only``: those not paid or cancelled)."""
    stmt = select(LoanInstallment).where(LoanInstallment.loan_id == loan_id)
    if open_only:
        stmt = stmt.where(LoanInstallment.state == PENDING)
    return list(session.scalars(stmt.order_by(LoanInstallment.number)))


def settled(row: LoanInstallment) -> bool:
    return (
        row.principal_paid == row.principal_due
        and row.interest_paid == row.interest_due
        and row.fee_paid == row.fee_due
        and row.penalty_paid == row.penalty_due
    )


def to_out(row: LoanInstallment) -> InstallmentOut:
    return InstallmentOut(
        number=row.number,
        start_date=row.start_date,
        due_date=row.due_date,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
        fee_due=row.fee_due,
        penalty_due=row.penalty_due,
        principal_paid=row.principal_paid,
        interest_paid=row.interest_paid,
        fee_paid=row.fee_paid,
        penalty_paid=row.penalty_paid,
        interest_accrued=row.interest_accrued,
        state=InstallmentState(row.state),
        paid_on=row.paid_on,
    )
