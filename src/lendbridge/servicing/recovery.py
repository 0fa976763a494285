"""Recoveries (已核销贷款收回): money received for a loan already written off is recovery income,
never a repayment — the loan owes nothing on the books and stays ``written_off``.

``POST /v1/loans/{id}/recoveries`` (an ``Idempotency-Key``) either

- **collects** the amount from the customer's card through a channel: a payment order of kind
  ``repayment`` into the customer's credit balance (``2241.001.<customer>``), event
  ``loan.recovery``; when it succeeds, the job ``loans.on_recovery_outcome`` books it; a
  failed order marks the recovery ``failed`` and books nothing; or
- **takes** it from money already in the customer's credit balance (a repayment that arrived
  after the write-off stays there), booked at once; more than the balance holds is refused.

Booking: Dr the customer's credit balance / Cr ``6702.003`` recoveries of loans written off,
one loan transaction ``recovery`` (no receivable changes) and the loan's ``recovered`` total,
all keyed by the recovery: booked at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, events, idempotency, jobs
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import (
    Conflict,
    ValidationFailed,
    field_error,
)
from lendbridge.kit.ids import new_id
from lendbridge.kit.logging import get_logger
from lendbridge.ledger import service as ledger
from lendbridge.payments import orders
from lendbridge.payments.models import OrderKind
from lendbridge.payments.schemas import OrderIn
from lendbridge.servicing import (
    accounting,
    customers,
    disbursement,
    lifecycle,
    loans,
    order_outcome,
)
from lendbridge.servicing.models import Loan, LoanStatus, LoanTransaction, TransactionKind
from lendbridge.servicing.workout_models import LoanRecovery, RecoverySource, RecoveryStatus
from lendbridge.servicing.workout_schemas import RecoveryIn, RecoveryOut

log = get_logger(__name__)

EVENT_TYPE = "loan.recovery"
JOB = "loans.on_recovery_outcome"


class LoanNotWrittenOff(Conflict):
    code = "loan_not_written_off"
    title = "Only a written-off loan takes recoveries; repay any other loan"


def request_recovery(
    session: Session, loan_id: uuid.UUID, request: RecoveryIn, *, idempotency_key: str, actor: Actor
) -> tuple[RecoveryOut, bool]:
    """Collect or take a recovery of a written-off loan (see the module's docstring); the
    same key with the same request returns the first recovery. Returns (recovery, created)."""
    loan = loans.load(session, loan_id, lock=True)  # serialises the loan's recoveries
    digest = loans.request_hash(f"{loan_id}:recovery:{request.model_dump_json()}")
    known = idempotency.earlier(session, LoanRecovery, idempotency_key, digest, "recovery")
    if known is not None:
        return to_out(known), False
    if loan.status != LoanStatus.WRITTEN_OFF.value:
        raise LoanNotWrittenOff(f"loan {loan.id} is {loan.status}: it takes no recoveries")
    source = RecoverySource.PAYMENT_ORDER if request.channel else RecoverySource.CREDIT_BALANCE
    if source is RecoverySource.CREDIT_BALANCE:
        available = ledger.balance(session, loan.customer_account).available or 0
        if request.amount > available:
            raise field_error(
                ValidationFailed,
                "amount",
                f"exceeds the {available} minor units in the customer's credit balance; "
                "name a channel to collect it from their card",
                available=available,
            )
    now = clock.now()
    recovery = LoanRecovery(
        id=new_id(),
        loan_id=loan.id,
        idempotency_key=idempotency_key,
        request_hash=digest,
        source=source.value,
        amount=request.amount,
        currency=loan.currency,
        channel=request.channel,
        status=RecoveryStatus.PENDING.value,
        booked=0,
        note=request.note,
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
    )
    idempotency.insert_once(session, recovery)
    record(
        session,
        actor,
        action="loans.recovery.requested",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={
            "recovery_id": str(recovery.id),
            "source": source.value,
            "amount": request.amount,
            "channel": request.channel,
        },
    )
    if source is RecoverySource.CREDIT_BALANCE:
        _book(session, loan, recovery, request.amount, actor)
        return to_out(recovery), True
    assert request.channel is not None
    order, _ = orders.create_order(
        session,
        OrderIn(
            kind=OrderKind.REPAYMENT,
            channel=request.channel,
            account=loan.customer_account,
            amount=request.amount,
            currency=loan.currency,
            party=customers.party(session, loan.customer_id, loan.bank_card_id),
            event_type=EVENT_TYPE,
            event_id=str(recovery.id),
            memo=f"loan {loan.id} recovery",
        ),
        idempotency_key=f"loan-recovery:{recovery.id}",
        actor=actor,
        timezone=disbursement.timezone(),
    )
    recovery.order_id = order.id
    session.flush()
    return to_out(recovery), True


def _book(session: Session, loan: Loan, recovery: LoanRecovery, amount: int, actor: Actor) -> None:
    """Book ``amount`` (in the customer's credit balance now) as recovery income."""
    day = calendar.business_date(session)
    key = f"loan:{loan.id}:recovery:{recovery.id}"
    entry_id = accounting.post(
        session,
        accounting.entry(
            accounting.recovery_lines(loan.customer_account, amount),
            currency=loan.currency,
            effective_date=day,
            description=f"Loan {loan.id}: recovery {recovery.id} / 已核销贷款收回",
            loan_id=loan.id,
            event="recovery",
        ),
        key,
    )
    now = clock.now()
    session.add(
        LoanTransaction(
            id=new_id(),
            loan_id=loan.id,
            kind=TransactionKind.RECOVERY.value,
            business_date=day,
            effective_date=day,
            amount=amount,
            principal=0,
            interest=0,
            fee=0,
            penalty=0,
            entry_id=entry_id,
            payment_order_id=recovery.order_id,
            repayment_id=None,
            idempotency_key=key,
            details={"recovery": str(recovery.id), "source": recovery.source},
            actor=lifecycle.actor_name(actor),
            created_at=now,
        )
    )
    loan.recovered += amount
    loan.updated_at = now
    recovery.status = RecoveryStatus.BOOKED.value
    recovery.booked = amount
    recovery.booked_on = day
    recovery.entry_id = entry_id
    recovery.updated_at = now
    session.flush()
    record(
        session,
        actor,
        action="loans.recovery.booked",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={"recovery_id": str(recovery.id), "booked": amount, "recovered": loan.recovered},
    )


def on_outcome(session: Session, recovery_id: uuid.UUID, order_id: uuid.UUID, actor: Actor) -> str:
    """Book (or mark failed) a recovery whose payment order finished; idempotent."""
    done = order_outcome.finish(
        session, LoanRecovery, recovery_id, order_id, actor, noun="recovery"
    )
    if isinstance(done, str):
        return done
    loan, recovery = done.loan, done.row
    # The money is in the customer's balance now; book what is there of it.
    available = ledger.balance(session, loan.customer_account).available or 0
    if available <= 0:  # paid out again meanwhile: nothing to book
        recovery.status = RecoveryStatus.FAILED.value
        recovery.note = "the money is no longer in the customer's credit balance"
        recovery.updated_at = clock.now()
        session.flush()
        return "failed: no money in the balance"
    _book(session, loan, recovery, min(recovery.amount, available), actor)
    return "booked"


def concerns_recoveries(payload: Mapping[str, Any]) -> bool:
    return payload.get("event_type") == EVENT_TYPE


@events.subscribe(
    "payments.order.succeeded", "payments.order.failed", name=JOB, when=concerns_recoveries
)
def on_payment_outcome(ctx: jobs.JobContext, topic: str, payload: dict[str, Any]) -> None:
    with unit_of_work(ctx.factory) as session:
        effect = on_outcome(
            session,
            uuid.UUID(str(payload["event_id"])),
            uuid.UUID(str(payload["order_id"])),
            system_actor(JOB),
        )
    log.info("loan_recovery_outcome", topic=topic, order_id=payload.get("order_id"), effect=effect)


def to_out(recovery: LoanRecovery) -> RecoveryOut:
    return RecoveryOut(
        id=recovery.id,
        loan_id=recovery.loan_id,
        source=RecoverySource(recovery.source),
        amount=recovery.amount,
        currency=recovery.currency,
        channel=recovery.channel,
        order_id=recovery.order_id,
        status=RecoveryStatus(recovery.status),
        booked=recovery.booked,
        booked_on=recovery.booked_on,
        entry_id=recovery.entry_id,
        note=recovery.note,
        created_at=recovery.created_at,
    )


def list_recoveries(session: Session, loan_id: uuid.UUID, limit: int = 100) -> list[RecoveryOut]:
    """The loan's recoveries, newest first."""
    loans.load(session, loan_id)
    rows = session.scalars(
        select(LoanRecovery)
        .where(LoanRecovery.loan_id == loan_id)
        .order_by(LoanRecovery.id.desc())
        .limit(limit)
    )
    return [to_out(r) for r in rows]
