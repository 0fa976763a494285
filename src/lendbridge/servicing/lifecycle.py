"""Status changes of a loan: checked against the state machine (``states.py``), written as a
transition row and an audit record in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.servicing import states
from lendbridge.servicing.models import Loan, LoanStatus, LoanTransition

TARGET = "loan"


def actor_name(actor: Actor) -> str:
    return (actor.user_id or "system")[:128]


def transition(
    session: Session,
    loan: Loan,
    target: LoanStatus,
    *,
    reason: str,
    actor: Actor,
    reopen: bool = False,
) -> None:
    """Move ``loan`` (locked by the caller) to ``target``, or refuse an illegal move.
    ``reopen`` allows only the moves out of a final status in ``states.REOPEN``."""
    current = LoanStatus(loan.status)
    day = calendar.business_date(session)
    now = clock.now()
    if reopen and target in states.REOPEN.get(current, frozenset()):
        loan.closed_on = None
    else:
        states.check(current, target)
    loan.status = target.value
    loan.updated_at = now
    if target in states.TERMINAL:
        loan.closed_on = day
    session.add(
        LoanTransition(
            loan_id=loan.id,
            from_status=current.value,
            to_status=target.value,
            reason=reason[:200],
            actor=actor_name(actor),
            business_date=day,
            at=now,
        )
    )
    record(
        session,
        actor,
        action="loans.loan.reopened" if reopen else f"loans.loan.{target.value}",
        target_type=TARGET,
        target_id=str(loan.id),
        before={"status": current.value},
        after={"status": target.value, "reason": reason[:200]},
    )
    session.flush()
