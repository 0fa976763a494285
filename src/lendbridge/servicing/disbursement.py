"""Disbursement (放款): a payment order of kind disbursement pays the loan out to the
customer's verified bank card; the loan becomes active, and its schedule starts, when that
order succeeds — which loans learn from the ``payments.order.succeeded`` event
(``subscribers.py``), never by polling payments.

Accounting (see ``accounting.py``): the order's account is the principal receivable, so the
payment's hold and its posting are Dr principal receivable / Cr channel clearing for the
amount paid out. On success a deducted upfront fee is booked Dr principal receivable / Cr fee
income (the borrower owes the whole principal; the fee is earned), and a fee paid at the start
Dr fee receivable / Cr fee income (installment 0, due at once).

A failed order leaves the loan pending with the failure recorded; staff retry (a new order)
or cancel. Handling an outcome is idempotent: an event for an order that is not the loan's
current one, or for a loan no longer pending, changes nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, events
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import FieldError, IdempotencyConflict
from lendbridge.kit.ids import new_id
from lendbridge.payments import orders
from lendbridge.payments import runtime as payments_runtime
from lendbridge.payments.models import OrderKind, OrderStatus, PaymentOrder
from lendbridge.payments.schemas import OrderIn
from lendbridge.servicing import accounting, customers, installments, lifecycle, loans
from lendbridge.servicing.errors import DisbursementInProgress
from lendbridge.servicing.loan_schemas import DisburseIn, LoanDetailOut
from lendbridge.servicing.loan_terms import product_of, terms_of
from lendbridge.servicing.models import Loan, LoanStatus, LoanTransaction, TransactionKind
from lendbridge.servicing.schedule import build_schedule
from lendbridge.servicing.states import IllegalTransition

EVENT_TYPE = "loan.disbursement"
ACTIVATED = "loans.loan.activated"  # the money reached the borrower
IN_FLIGHT = frozenset({OrderStatus.CREATED.value, OrderStatus.SUBMITTED.value})


def timezone() -> str:
    try:
        return payments_runtime.current().timezone
    except RuntimeError:  # payments not configured in this process: the platform default
        return "Asia/Shanghai"


def refuse_while_in_flight(session: Session, loan: Loan) -> None:
    """A loan whose disbursement order may still execute (or did) cannot be disbursed again
    or cancelled."""
    if loan.disbursement_order_id is None:
        return
    order = orders.load(session, loan.disbursement_order_id)
    if order.status in IN_FLIGHT:
        raise DisbursementInProgress(
            f"the disbursement order {order.id} of loan {loan.id} is {order.status}; "
            "wait for its outcome"
        )
    if order.status == OrderStatus.SUCCEEDED.value:
        raise DisbursementInProgress(
            f"the disbursement order {order.id} of loan {loan.id} succeeded; the loan is "
            "becoming active"
        )


def disburse(
    session: Session,
    loan_id: uuid.UUID,
    request: DisburseIn,
    *,
    idempotency_key: str,
    actor: Actor,
) -> tuple[LoanDetailOut, bool]:
    """Pay the loan out through ``request.channel``: create the disbursement order (sent
    after the commit). A retry after a failed order creates a new one; the same key again
    returns the loan as it is. Returns (loan, whether an order was created)."""
    loan = loans.load(session, loan_id, lock=True)
    if loan.disbursement_key == idempotency_key:
        if loan.disbursement_channel != request.channel:
            raise IdempotencyConflict(
                f"this idempotency key was used to disburse loan {loan.id} through "
                f"channel {loan.disbursement_channel}",
                [FieldError("channel", "differs from the original")],
            )
        return loans.detail(session, loan), False
    if loan.status != LoanStatus.PENDING_DISBURSEMENT.value:
        raise IllegalTransition(f"loan {loan.id} is {loan.status}: it cannot be disbursed")
    refuse_while_in_flight(session, loan)
    attempt = loan.disbursement_attempts + 1
    order, _ = orders.create_order(
        session,
        OrderIn(
            kind=OrderKind.DISBURSEMENT,
            channel=request.channel,
            account=accounting.PRINCIPAL,
            amount=loan.disbursement_amount,
            currency=loan.currency,
            party=customers.party(session, loan.customer_id, loan.bank_card_id),
            event_type=EVENT_TYPE,
            event_id=str(loan.id),
            memo=f"loan {loan.id} disbursement {attempt}",
        ),
        idempotency_key=f"loan:{loan.id}:disbursement:{attempt}",
        actor=actor,
        timezone=timezone(),
    )
    loan.disbursement_order_id = order.id
    loan.disbursement_key = idempotency_key
    loan.disbursement_channel = request.channel
    loan.disbursement_attempts = attempt
    loan.disbursement_error = None
    loan.updated_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="loans.loan.disbursement_requested",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={
            "order_id": str(order.id),
            "channel": request.channel,
            "amount": loan.disbursement_amount,
            "attempt": attempt,
        },
    )
    return loans.detail(session, loan), True


def on_outcome(session: Session, loan_id: uuid.UUID, order_id: uuid.UUID, actor: Actor) -> str:
    """Apply the outcome of a disbursement order to its loan; returns what it did."""
    loan = loans.load(session, loan_id, lock=True)
    if loan.disbursement_order_id != order_id:
        return "ignored: not the loan's current disbursement order"
    if loan.status != LoanStatus.PENDING_DISBURSEMENT.value:
        return f"ignored: the loan is {loan.status}"
    order = orders.load(session, order_id)
    if order.status == OrderStatus.SUCCEEDED.value:
        activate(session, loan, order, actor)
        return "activated"
    if order.status == OrderStatus.FAILED.value:
        if loan.disbursement_error is None:
            reason = f"{order.error_code or 'failed'}: {order.error_message or ''}".strip()
            loan.disbursement_error = reason[:200]
            loan.updated_at = clock.now()
            session.flush()
            record(
                session,
                actor,
                action="loans.loan.disbursement_failed",
                target_type=lifecycle.TARGET,
                target_id=str(loan.id),
                after={"order_id": str(order.id), "error": loan.disbursement_error},
            )
        return "failed"
    return f"ignored: the order is {order.status}"


def activate(session: Session, loan: Loan, order: PaymentOrder, actor: Actor) -> None:
    """The money left: start the schedule on the day it did, book the upfront fee, and make
    the loan active."""
    day = order.completed_on or calendar.business_date(session)
    rows = installments.load_rows(session, loan.id)
    if day != loan.start_date:
        schedule = build_schedule(terms_of(product_of(session, loan), loan, start=day))
        installments.restart(rows, schedule)
        loan.start_date = day
        loan.maturity_date = schedule.installments[-1].due_date
    loan.disbursed_on = day
    loan.interest_accrued_to = day
    loan.accrual_installment = 1
    loan.principal_outstanding = loan.disbursement_amount
    who = lifecycle.actor_name(actor)
    now = clock.now()
    booked = calendar.business_date(session)
    session.add(
        LoanTransaction(
            id=new_id(),
            loan_id=loan.id,
            kind=TransactionKind.DISBURSEMENT.value,
            business_date=booked,
            effective_date=day,
            amount=loan.disbursement_amount,
            principal=loan.disbursement_amount,
            interest=0,
            fee=0,
            penalty=0,
            entry_id=order.entry_id,
            payment_order_id=order.id,
            repayment_id=None,
            idempotency_key=f"loan:{loan.id}:disbursement",
            details={"channel": order.channel},
            actor=who,
            created_at=now,
        )
    )
    fee = loan.upfront_fee
    if fee:
        entry_id = accounting.post(
            session,
            accounting.entry(
                accounting.upfront_fee_lines(fee, loan.upfront_fee_deducted),
                currency=loan.currency,
                effective_date=booked,
                description=f"Loan {loan.id}: upfront fee / 放款手续费",
                loan_id=loan.id,
                event="upfront_fee",
            ),
            f"loan:{loan.id}:upfront_fee",
        )
        deducted = loan.upfront_fee_deducted
        if deducted:
            loan.principal_outstanding += fee
        else:
            loan.fee_outstanding += fee
            for row in rows:
                if row.number == 0:
                    row.fee_charged = row.fee_due
        session.add(
            LoanTransaction(
                id=new_id(),
                loan_id=loan.id,
                kind=TransactionKind.UPFRONT_FEE.value,
                business_date=booked,
                effective_date=day,
                amount=fee,
                principal=fee if deducted else 0,
                interest=0,
                fee=0 if deducted else fee,
                penalty=0,
                entry_id=entry_id,
                payment_order_id=order.id,
                repayment_id=None,
                idempotency_key=f"loan:{loan.id}:upfront_fee",
                details={"deducted": deducted},
                actor=who,
                created_at=now,
            )
        )
    lifecycle.transition(
        session, loan, LoanStatus.ACTIVE, reason=f"disbursed by order {order.id}", actor=actor
    )
    # Other domains (the application that led to the loan) learn of it after the commit.
    events.emit(
        session,
        ACTIVATED,
        {"loan_id": str(loan.id), "customer_id": str(loan.customer_id), "on": day.isoformat()},
    )
