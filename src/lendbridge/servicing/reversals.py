"""Channel reversals of repayments (退票/冲正): a repayment's payment order that succeeded is
later reversed by the channel (``payments.order.reversed``).

Payments reverses its own entry (Dr customer balance / Cr channel clearing); when the customer
balance no longer holds the money — it was applied to the loan — payments books the reversal
to suspense instead (Dr suspense / Cr clearing) and puts the order in its manual queue.

The loan side, on the locked loan:

1. the repayment's application is undone by replaying the loan from its effective date without
   it (``replay.py``): its entry reversed (Dr receivables / Cr customer balance: the money is
   back in the customer balance), later repayments re-applied, penalties recomputed on the
   principal then overdue, the loan reopened if the repayment had paid it off;
2. if payments booked its reversal to suspense, the money now back in the customer balance
   settles it (Dr customer balance / Cr suspense, at most what the balance holds): the
   customer's credit balance holds only money that really arrived;
3. the repayment is ``reversed`` (nothing applied, nothing in credit), audited.

A repayment the order of which was reversed before its success was seen (the reversal's
callback came first) was never applied: it is only marked reversed. A replay that cannot run
(a restructure since, a prepayment that rebuilt the schedule: ``ReplayRefused``) leaves the
repayment applied, with a note, for staff — nothing is booked by the loan side.

Idempotent: the repayment's status moves once, in the same transaction as everything booked.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Side
from lendbridge.ledger.service.posting import load_entries
from lendbridge.payments import orders
from lendbridge.payments.lifecycle import SUSPENSE
from lendbridge.payments.models import OrderStatus
from lendbridge.servicing import accounting, lifecycle, loans
from lendbridge.servicing.models import Loan, LoanRepayment, RepaymentStatus
from lendbridge.servicing.replay import ReplayRefused, replay
from lendbridge.servicing.replay_backdate import lock_day


def on_reversal(
    session: Session, repayment_id: uuid.UUID, order_id: uuid.UUID, actor: Actor
) -> str:
    """Undo a repayment whose payment order the channel reversed; returns what it did."""
    found = session.get(LoanRepayment, repayment_id)
    if found is None:
        return "ignored: no such repayment"
    loan = loans.load(session, found.loan_id, lock=True)  # loan first, as every writer
    repayment = session.scalar(
        select(LoanRepayment)
        .where(LoanRepayment.id == repayment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert repayment is not None
    if repayment.order_id != order_id:
        return "ignored: not the repayment's order"
    if orders.load(session, order_id).status != OrderStatus.REVERSED.value:
        return "ignored: the order is not reversed"
    if repayment.status in (RepaymentStatus.REVERSED.value, RepaymentStatus.FAILED.value):
        return f"ignored: the repayment is {repayment.status}"
    if repayment.status == RepaymentStatus.APPLIED.value and repayment.applied:
        refusal = _replay_without(session, loan, repayment, actor)
        if refusal is not None:
            return refusal
    _settle_suspense(session, loan, repayment)
    previous = repayment.applied
    repayment.status = RepaymentStatus.REVERSED.value
    repayment.applied = 0
    repayment.to_credit = 0
    repayment.note = f"reversed by the channel on {calendar.business_date(session)}"
    repayment.updated_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="loans.repayment.reversed",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={"repayment_id": str(repayment.id), "order_id": str(order_id), "undone": previous},
    )
    return "reversed"


def _replay_without(
    session: Session, loan: Loan, repayment: LoanRepayment, actor: Actor
) -> str | None:
    """Replay the loan from the repayment's date without it; a refusal (returned) leaves
    everything as it was."""
    assert repayment.effective_date is not None
    locked = lock_day(session, loan)
    try:
        if locked is not None and repayment.effective_date < locked:
            raise ReplayRefused(f"the loan's replay lock is {locked}")
        with session.begin_nested():
            replay(
                session,
                loan,
                repayment.effective_date,
                trigger=f"reverse:{repayment.id}",
                actor=actor,
                drop=repayment,
            )
    except ReplayRefused as refusal:
        repayment.note = f"reversed by the channel; replay refused: {refusal.detail}"[:200]
        repayment.updated_at = clock.now()
        session.flush()
        record(
            session,
            actor,
            action="loans.repayment.reversal_refused",
            target_type=lifecycle.TARGET,
            target_id=str(loan.id),
            after={"repayment_id": str(repayment.id), "reason": refusal.detail},
        )
        return "manual: replay refused"
    return None


def _settle_suspense(session: Session, loan: Loan, repayment: LoanRepayment) -> None:
    """Move from the customer balance to suspense what payments' reversal booked there."""
    assert repayment.order_id is not None
    order = orders.load(session, repayment.order_id)
    if order.reversal_entry_id is None:
        return
    (entry,) = load_entries(session, [order.reversal_entry_id])
    parked = sum(p.amount for p in entry.postings if p.account == SUSPENSE and p.side == Side.DEBIT)
    available = ledger.balance(session, loan.customer_account).available or 0
    amount = min(parked, available)
    if not amount:
        return
    accounting.post(
        session,
        accounting.entry(
            [(loan.customer_account, Side.DEBIT, amount), (SUSPENSE, Side.CREDIT, amount)],
            currency=loan.currency,
            effective_date=calendar.business_date(session),
            description=f"Loan {loan.id}: reversed repayment {repayment.id} settles suspense",
            loan_id=loan.id,
            event="repayment_reversal",
        ),
        f"loan-repayment:{repayment.id}:suspense",
    )
