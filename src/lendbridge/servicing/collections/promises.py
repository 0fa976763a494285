"""Promises to pay (承诺还款): a collector records that the customer promised an amount by a
date; the close of business settles it as kept or broken once the date has passed
(``servicing/cob/promises.py``); staff may cancel an open one. Services flush; the edge
commits; every write is audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, idempotency
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import (
    ValidationFailed,
    field_error,
)
from lendbridge.kit.ids import new_id
from lendbridge.servicing import lifecycle, loans
from lendbridge.servicing.collections.errors import PromiseNotFound, PromiseNotOpen
from lendbridge.servicing.collections.models import PromiseStatus, PromiseToPay
from lendbridge.servicing.collections.schemas import PromiseIn, PromiseOut
from lendbridge.servicing.payoff import repayable


def promise_out(row: PromiseToPay) -> PromiseOut:
    return PromiseOut(
        id=row.id,
        loan_id=row.loan_id,
        amount=row.amount,
        currency=row.currency,
        promised_date=row.promised_date,
        status=PromiseStatus(row.status),
        created_on=row.created_on,
        created_at=row.created_at,
        created_by=row.created_by,
        received=row.received,
        evaluated_on=row.evaluated_on,
    )


def make_promise(
    session: Session,
    loan_id: uuid.UUID,
    request: PromiseIn,
    *,
    idempotency_key: str,
    actor: Actor,
) -> tuple[PromiseOut, bool]:
    """Record the customer's promise to pay ``amount`` (in the loan's currency) by
    ``promised_date``, which may not precede the business date; the loan must take
    repayments. The same key with the same request returns the first promise. Returns
    (promise, created)."""
    loan = loans.load(session, loan_id, lock=True)
    digest = loans.request_hash(f"{loan_id}:promise:{request.model_dump_json()}")
    known = idempotency.earlier(session, PromiseToPay, idempotency_key, digest, "promise")
    if known is not None:
        return promise_out(known), False
    repayable(loan)
    today = calendar.business_date(session)
    if request.promised_date < today:
        raise field_error(
            ValidationFailed, "promised_date", f"must be on or after the business date {today}"
        )
    now = clock.now()
    row = PromiseToPay(
        id=new_id(),
        loan_id=loan.id,
        idempotency_key=idempotency_key,
        request_hash=digest,
        amount=request.amount,
        currency=loan.currency,
        promised_date=request.promised_date,
        status=PromiseStatus.OPEN.value,
        created_on=today,
        created_at=now,
        created_by=actor.user_id or "unknown",
        received=None,
        evaluated_on=None,
        updated_at=now,
        updated_by=actor.user_id,
    )
    idempotency.insert_once(session, row)
    record(
        session,
        actor,
        action="collections.promise.open",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={
            "promise_id": str(row.id),
            "amount": row.amount,
            "promised_date": row.promised_date.isoformat(),
        },
    )
    return promise_out(row), True


def cancel_promise(
    session: Session, loan_id: uuid.UUID, promise_id: uuid.UUID, actor: Actor
) -> PromiseOut:
    """Cancel an open promise (a kept, broken or cancelled one is final)."""
    loans.load(session, loan_id, lock=True)  # serialises with the close's evaluation
    row = session.scalar(
        select(PromiseToPay)
        .where(PromiseToPay.id == promise_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or row.loan_id != loan_id:
        raise PromiseNotFound(f"loan {loan_id} has no promise {promise_id}")
    if row.status != PromiseStatus.OPEN.value:
        raise PromiseNotOpen(f"promise {promise_id} is {row.status}")
    row.status = PromiseStatus.CANCELLED.value
    row.updated_at = clock.now()
    row.updated_by = actor.user_id
    session.flush()
    record(
        session,
        actor,
        action="collections.promise.cancel",
        target_type=lifecycle.TARGET,
        target_id=str(loan_id),
        before={"promise_id": str(row.id), "status": PromiseStatus.OPEN.value},
        after={"promise_id": str(row.id), "status": row.status},
    )
    return promise_out(row)


def list_promises(session: Session, loan_id: uuid.UUID, limit: int = 100) -> list[PromiseOut]:
    """The loan's promises, newest first."""
    loans.load(session, loan_id)
    rows = session.scalars(
        select(PromiseToPay)
        .where(PromiseToPay.loan_id == loan_id)
        .order_by(PromiseToPay.id.desc())
        .limit(limit)
    )
    return [promise_out(r) for r in rows]
