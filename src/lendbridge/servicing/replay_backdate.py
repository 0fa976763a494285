"""Back-dated repayments: staff record a repayment with an explicit effective date (a bank
statement shows the customer paid on the due date, the money reached us days later); when its
payment order succeeds it is applied on that date by replaying the loan (``replay.py``).

Checked when asked for, before anything is booked (RFC 9457 problems naming
``effective_date``): the permission ``loans.repay.backdate``; a repayment of installments
(a prepayment's interest depends on the day it is paid); an open loan; not after the business
date; not before the disbursement; not before the loan's replay lock — its last restructure,
the day after a write-off, or the day after a prepayment that rebuilt the schedule or paid a
period's interest early.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import DomainError, ValidationFailed, field_error
from lendbridge.servicing import interest
from lendbridge.servicing.errors import LoanNotRepayable
from lendbridge.servicing.models import (
    Loan,
    LoanRepayment,
    LoanTransaction,
    RepaymentPurpose,
    TransactionKind,
)
from lendbridge.servicing.repayment_application import apply, finish
from lendbridge.servicing.replay import Replayed, early_kind, replay, window
from lendbridge.servicing.states import REPAYABLE

PERMISSION = "loans.repay.backdate"
FIELD = "effective_date"


class BackdateNotPermitted(DomainError):
    status = 403
    code = "permission_denied"
    title = "Your roles do not grant this action"


def lock_day(session: Session, loan: Loan) -> dt.date | None:
    """The earliest effective date a replay of the loan may start at (None: its start)."""
    days = [loan.restructured_on] if loan.restructured_on else []
    if loan.written_off_on:  # nothing before a write-off is replayed
        days.append(loan.written_off_on + dt.timedelta(days=1))
    repayments = select(LoanTransaction).where(
        LoanTransaction.loan_id == loan.id, LoanTransaction.kind == TransactionKind.REPAYMENT.value
    )
    early = [tx for tx in session.scalars(repayments) if early_kind(tx) in ("rebuild", "interest")]
    if early:
        live = {tx.id for tx in window(session, loan, min(tx.effective_date for tx in early))}
        days += [tx.effective_date + dt.timedelta(days=1) for tx in early if tx.id in live]
    return max(days, default=None)


def check(
    session: Session, loan: Loan, purpose: RepaymentPurpose, effective: dt.date, actor: Actor
) -> None:
    """Refuse a back-dated repayment request that cannot be applied on ``effective``."""
    if not actor.may(PERMISSION):
        raise field_error(
            BackdateNotPermitted, FIELD, f"back-dating a repayment needs {PERMISSION}"
        )
    if purpose is not RepaymentPurpose.INSTALLMENTS:
        raise field_error(ValidationFailed, FIELD, "only a repayment of installments is back-dated")
    if loan.status not in REPAYABLE:
        raise field_error(
            LoanNotRepayable, FIELD, f"the loan is {loan.status}: nothing can be paid back-dated"
        )
    today = calendar.business_date(session)
    if effective > today:
        raise field_error(ValidationFailed, FIELD, f"is after the business date {today}")
    if loan.disbursed_on is None or effective < loan.disbursed_on:
        raise field_error(
            ValidationFailed, FIELD, f"is before the loan's disbursement on {loan.disbursed_on}"
        )
    locked = lock_day(session, loan)
    if locked is not None and effective < locked:
        raise field_error(
            ValidationFailed,
            FIELD,
            f"is before {locked}: the loan was restructured or its schedule rebuilt since",
        )


def apply_backdated(
    session: Session, loan: Loan, repayment: LoanRepayment, actor: Actor
) -> Replayed | None:
    """Apply a back-dated repayment (its order succeeded; the loan locked by the caller) on
    its effective date by replaying the loan from it. A loan closed since the request keeps
    the money in the credit balance (``apply``); a lock set since moves the date to it."""
    assert repayment.effective_date is not None
    if loan.status not in REPAYABLE:
        apply(session, loan, repayment, repayment.effective_date, actor)
        return None
    today = calendar.business_date(session)
    interest.bring_current(session, [loan], max(today, loan.interest_accrued_to or today), actor)
    locked = lock_day(session, loan)
    on = max(repayment.effective_date, locked) if locked else repayment.effective_date
    done = replay(session, loan, on, trigger=f"apply:{repayment.id}", actor=actor, add=repayment)
    finish(session, loan, repayment, on, repayment.applied, repayment.note, actor)
    return done
