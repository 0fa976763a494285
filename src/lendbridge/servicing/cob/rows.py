"""What the loans' close reads: a batch of loans and the installments it can touch, as plain
rows (SQLAlchemy Core, no ORM identity map), locked in primary-key order.

A row object carries exactly the columns the close reads and writes, under the same names as
the mapped classes, so the pure rules shared with the per-loan paths (accrual's
``interest.advance``, the penalty and provision helpers) work on both. Reading the whole
portfolio through the ORM cost more than all the booking put together; these rows cost a
tuple each.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from lendbridge.kit import db
from lendbridge.servicing.models import InstallmentState, Loan, LoanInstallment

# The shortest period of a schedule with more than one installment is a week.
SHORTEST_PERIOD_DAYS = 7


@dataclass(slots=True)
class LoanRow:
    id: uuid.UUID
    status: str
    currency: str
    product_code: str
    product_version: int
    annual_rate_percent: str
    principal_outstanding: int
    interest_outstanding: int
    fee_outstanding: int
    penalty_outstanding: int
    interest_accrued_to: dt.date | None
    accrual_installment: int | None
    dpd: int
    overdue_since: dt.date | None
    delinquency_bucket: str
    classification: str
    delinquency_as_of: dt.date | None
    penalty_through: dt.date | None
    provision: int
    provision_as_of: dt.date | None
    installments: dict[int, InstallmentRow] = field(default_factory=dict)

    def rows(self) -> list[InstallmentRow]:
        """The loaded installments, in schedule order."""
        return [self.installments[n] for n in sorted(self.installments)]


@dataclass(slots=True)
class InstallmentRow:
    loan_id: uuid.UUID
    number: int
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
    accrual_from: dt.date
    accrual_base: int
    fee_charged: int
    state: str
    changed: bool = False

    @property
    def unpaid(self) -> bool:
        return (
            self.principal_paid < self.principal_due
            or self.interest_paid < self.interest_due
            or self.fee_paid < self.fee_due
            or self.penalty_paid < self.penalty_due
        )


_LOAN_COLUMNS = [
    Loan.__table__.c[name] for name in LoanRow.__dataclass_fields__ if name != "installments"
]
_INSTALLMENT_COLUMNS = [
    LoanInstallment.__table__.c[name]
    for name in InstallmentRow.__dataclass_fields__
    if name != "changed"
]


def lock_batch(session: Session, which: ColumnElement[bool]) -> list[LoanRow]:
    """The loans matching ``which``, locked in key order (never a deadlock with another
    batch or a repayment, which lock in the same order)."""
    stmt = select(*_LOAN_COLUMNS).where(which).order_by(Loan.id).with_for_update()
    return [LoanRow(*row) for row in session.connection().execute(stmt)]


def load_installments(
    session: Session, loans: Sequence[LoanRow], to: dt.date, day: dt.date
) -> None:
    """Attach to each loan the installments the close of ``day`` can touch: those accrual can
    reach before ``to`` (from the loan's pointer, as many as fit in the days to cover: one or
    two for a daily run) and the unpaid ones due on or before ``day`` (days past due and
    penalty interest). A loan's cost grows with what it owes, never with its age."""
    live = [loan for loan in loans if loan.accrual_installment is not None]
    if not live:
        return
    oldest = min(
        (loan.interest_accrued_to for loan in live if loan.interest_accrued_to), default=to
    )
    span = max((to - oldest).days, 0) // SHORTEST_PERIOD_DAYS + 1
    i = LoanInstallment
    ids = [loan.id for loan in live]
    # Two queries, not one with an OR: each is an index range per loan (the OR made
    # PostgreSQL scan the whole table).
    window = (
        select(*_INSTALLMENT_COLUMNS)
        .join(Loan, Loan.id == i.loan_id)
        .where(
            db.uuid_in(session, Loan.id, ids),
            i.number >= Loan.accrual_installment,
            i.number <= Loan.accrual_installment + span,
            i.start_date < to,
            i.state != InstallmentState.CANCELLED.value,
        )
    )
    unpaid = select(*_INSTALLMENT_COLUMNS).where(  # ix_loan_installment_loan_due_pending
        db.uuid_in(session, i.loan_id, ids),
        i.state == InstallmentState.PENDING.value,
        i.due_date <= day,
    )
    by_id = {loan.id: loan for loan in live}
    for stmt in (window, unpaid):
        for values in session.connection().execute(stmt):
            loan = by_id[values[0]]
            if values[1] not in loan.installments:
                loan.installments[values[1]] = InstallmentRow(*values)
