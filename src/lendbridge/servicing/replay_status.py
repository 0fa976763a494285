"""A replayed loan's status and delinquency (``replay.py``, step 4).

Days past due, bucket and classification are recomputed at once, as of the business date,
with the close's own policy (``cob/delinquency.POLICY``) on the new oldest unpaid due date —
rather than moving the delinquency watermark back: the loan's figures are right as soon as the
replay commits (an API read, a collection run before the next close), and the close that
follows computes the same figures again.

A loan a reversal leaves owing money again after it was ``paid_off`` is **reopened**:
``paid_off`` is final for every other cause (``states.py``), so this module is the only place
that moves a loan out of it, to ``active`` (then ``overdue`` if something is past due), with a
transition row and an audit record like ``lifecycle.transition``'s and the closing date
cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from lendbridge.kit.actor import Actor
from lendbridge.servicing import installments, lifecycle
from lendbridge.servicing.cob.delinquency import POLICY
from lendbridge.servicing.models import Loan, LoanInstallment, LoanStatus
from lendbridge.servicing.states import REPAYABLE


def oldest_unpaid_due(rows: Sequence[LoanInstallment], through: dt.date) -> dt.date | None:
    """The due date of the oldest installment due on or before ``through`` not fully paid
    (the close's rule, on the rows in memory)."""
    dues = [
        r.due_date
        for r in rows
        if r.state != installments.CANCELLED
        and r.due_date <= through
        and (
            r.principal_paid < r.principal_due
            or r.interest_paid < r.interest_due
            or r.fee_paid < r.fee_due
            or r.penalty_paid < r.penalty_due
        )
    ]
    return min(dues, default=None)


def refresh_status(
    session: Session,
    loan: Loan,
    rows: Sequence[LoanInstallment],
    today: dt.date,
    *,
    reason: str,
    actor: Actor,
) -> None:
    """Paid off when nothing is open; reopened when something is; then days past due."""
    owing = any(r.state == installments.PENDING for r in rows)
    if loan.status == LoanStatus.PAID_OFF.value and owing:
        reopen(session, loan, reason=f"replay {reason}", actor=actor)
    elif loan.status in REPAYABLE and not owing:
        lifecycle.transition(
            session, loan, LoanStatus.PAID_OFF, reason=f"replay {reason}", actor=actor
        )
        return
    if loan.status not in REPAYABLE:
        return
    since = oldest_unpaid_due(rows, today - dt.timedelta(days=1))
    dpd = (today - since).days if since is not None else 0
    status = LoanStatus(loan.status)
    if dpd > 0 and status is LoanStatus.ACTIVE:
        lifecycle.transition(
            session,
            loan,
            LoanStatus.OVERDUE,
            reason=f"installment due {since} not paid",
            actor=actor,
        )
    elif dpd == 0 and status is LoanStatus.OVERDUE:
        lifecycle.transition(
            session, loan, LoanStatus.ACTIVE, reason="overdue installments paid", actor=actor
        )
    loan.dpd = dpd
    loan.overdue_since = since
    loan.delinquency_bucket = POLICY.bucket(dpd).value
    loan.classification = POLICY.classification(dpd).value
    loan.delinquency_as_of = max(loan.delinquency_as_of or today, today)


def reopen(session: Session, loan: Loan, *, reason: str, actor: Actor) -> None:
    """``paid_off`` -> ``active``: only for a reversal that leaves the loan owing again."""
    lifecycle.transition(session, loan, LoanStatus.ACTIVE, reason=reason, actor=actor, reopen=True)
