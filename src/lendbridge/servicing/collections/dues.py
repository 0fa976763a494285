"""What loans owe on their installments due by a date, for a whole batch in one grouped
query: principal, interest, fee and penalty due and not paid. Only unpaid installments are
read (a loan's cost does not grow with the installments it has paid)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from lendbridge.servicing.models import InstallmentState, LoanInstallment

Row = LoanInstallment


def owed() -> ColumnElement[int]:
    """An installment's unpaid amount: every component due less what was paid of it."""
    return (
        (Row.principal_due - Row.principal_paid)
        + (Row.interest_due - Row.interest_paid)
        + (Row.fee_due - Row.fee_paid)
        + (Row.penalty_due - Row.penalty_paid)
    )


def due_through(
    session: Session, loan_ids: Collection[uuid.UUID], through: dt.date
) -> dict[uuid.UUID, int]:
    """Per loan, what its installments due on or before ``through`` still owe (loans that
    owe nothing are absent)."""
    if not loan_ids:
        return {}
    stmt = (
        select(Row.loan_id, func.sum(owed()))
        .where(
            Row.loan_id.in_(loan_ids),
            Row.due_date <= through,
            Row.state == InstallmentState.PENDING.value,
        )
        .group_by(Row.loan_id)
    )
    return {loan_id: int(total) for loan_id, total in session.execute(stmt) if total and total > 0}


def unpaid_due(on: dt.date, *dates: dt.date) -> Select[uuid.UUID]:
    """The loans with an installment not fully paid due on or before ``on`` (or, given
    ``dates``, due on one of them)."""
    i = LoanInstallment
    due = i.due_date.in_(dates) if dates else i.due_date <= on
    return select(i.loan_id).where(i.state == InstallmentState.PENDING.value, due)
